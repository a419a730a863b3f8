"""The hit path's reads: one pipelined connection, replies parsed straight off the socket.

Every MGET asked for during one turn of the event loop is written to Redis in one write
on one connection; replies come back in order and hiredis parses them as the bytes
arrive, each one settling its request's future from the protocol's callback. A read
costs a future and a share of one write: no pool checkout, no per-command task or
deadline, no stream reader. `docs/benchmarks.md` compares a plain ASGI app reading this
way with one making an ordinary redis-py call per request.

The connection is set up from the same redis-py pool settings as every other command
(host and port, Unix socket path, TLS context, username and password, database), so
``REDIS_URL`` means the same thing for both.

Deadline: each write arms one timer. If any read of that write is still unanswered
when it fires, Redis is stuck: every waiting read fails, and the connection is closed
(replies are ordered, so a late one cannot be skipped). The next read reconnects; the
cache's breaker decides when reads are tried again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

import hiredis
from redis.asyncio import ConnectionPool
from redis.asyncio.connection import SSLConnection, UnixDomainSocketConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

T = TypeVar("T")


def pack_command(*parts: str | bytes) -> bytes:
    """One command in RESP: an array of bulk strings."""
    chunks = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        chunks.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(chunks)


class Waiter(Protocol):
    """What waits in the queue for one reply: a future, or a `_Collected`."""

    def done(self) -> bool: ...
    def set_result(self, result: Any, /) -> None: ...
    def set_exception(self, exception: BaseException, /) -> None: ...


class _Collected:
    """Stands in the queue for each reply of a read of several commands, and settles
    its one future with all of them, in order (or with the first error)."""

    __slots__ = ("count", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], count: int) -> None:
        self.future = future
        self.count = count
        self.replies: list[Any] = []

    def done(self) -> bool:
        return self.future.done()

    def set_result(self, reply: Any) -> None:
        self.replies.append(reply)
        if len(self.replies) == self.count:
            self.future.set_result(self.replies)

    def set_exception(self, error: BaseException) -> None:
        self.future.set_exception(error)


class _Replies(asyncio.Protocol):
    """The connection's protocol: settles the waiting futures, in order, as replies come."""

    def __init__(self) -> None:
        # The loop it was opened on, kept: asyncio.get_running_loop() makes a getpid()
        # system call (a fork check) each time, too dear for once per read.
        self.loop = asyncio.get_running_loop()
        self.parser = hiredis.Reader(replyError=ResponseError)
        self.waiting: collections.deque[Waiter] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.sent = 0  # replies expected for what was written so far
        self.answered = 0  # replies read so far

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        while (reply := self.parser.gets()) is not False:
            if not self.waiting:  # a reply nobody asked for: the stream is out of step
                self.fail(RedisConnectionError("unexpected reply from Redis"))
                return
            waiter = self.waiting.popleft()
            self.answered += 1
            if waiter.done():  # its request gave up waiting
                continue
            if isinstance(reply, ResponseError):
                waiter.set_exception(reply)
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._fail_waiting(RedisConnectionError(f"connection to Redis lost: {exc!r}"))

    def fail(self, error: Exception) -> None:
        """Fail every waiting read and drop the connection."""
        self.lost = True
        self._fail_waiting(error)
        if self.transport is not None:
            self.transport.abort()

    def _fail_waiting(self, error: Exception) -> None:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_exception(error)


class PipelinedReads:
    """MGETs of concurrent requests, written together on one connection."""

    def __init__(self, pool: ConnectionPool, timeout: float) -> None:
        self._pool = pool
        self._timeout = timeout
        self._replies: _Replies | None = None
        self._connecting: asyncio.Task[_Replies] | None = None
        self._unsent: list[bytes] = []
        self._unsent_waiters: list[Waiter] = []
        self._closed = False

    def send(self, command: bytes) -> Awaitable[Any]:
        """Send one packed command with this loop turn's others; await its reply.

        A plain function returning the reply's future: on the hit path, one coroutine
        frame less per read."""
        if self._closed:
            raise RedisConnectionError("the reads of a closed backend")
        replies = self._replies
        if replies is None or replies.lost:
            return self._when_connected(lambda live: self._enqueue(live, command))
        return self._enqueue(replies, command)

    def send_many(self, commands: bytes, count: int) -> Awaitable[list[Any]]:
        """Send `count` packed commands as one read; await the list of their replies.

        A plain function returning one future, as `send` does."""
        if self._closed:
            raise RedisConnectionError("the reads of a closed backend")
        replies = self._replies
        if replies is None or replies.lost:
            return self._when_connected(lambda live: self._enqueue_many(live, commands, count))
        return self._enqueue_many(replies, commands, count)

    async def _when_connected(self, enqueue: Callable[[_Replies], Awaitable[T]]) -> T:
        # Connecting and reading share one deadline: a read never pays two.
        async with asyncio.timeout(self._timeout):
            return await enqueue(await self._connected())

    def _enqueue_many(
        self, replies: _Replies, commands: bytes, count: int
    ) -> asyncio.Future[list[Any]]:
        collected = _Collected(replies.loop.create_future(), count)
        self._unsent.append(commands)
        # The same collector waits for each of the replies, in the queue's order.
        self._unsent_waiters.extend([collected] * count)
        self._schedule_flush(replies)
        return collected.future

    def _enqueue(self, replies: _Replies, command: bytes) -> asyncio.Future[Any]:
        waiter = replies.loop.create_future()
        self._unsent.append(command)
        self._unsent_waiters.append(waiter)
        self._schedule_flush(replies)
        return waiter

    def _schedule_flush(self, replies: _Replies) -> None:
        if len(self._unsent) == 1:
            if replies.waiting:
                # Written on the next loop turn, with every read asked for until then.
                replies.loop.call_soon(self._flush)
            else:
                self._flush()  # nothing in flight: a lone read goes at once

    def _flush(self) -> None:
        commands, self._unsent = self._unsent, []
        waiters, self._unsent_waiters = self._unsent_waiters, []
        replies = self._replies
        if replies is None or replies.lost or replies.transport is None:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(RedisConnectionError("connection to Redis lost"))
            return
        replies.waiting.extend(waiters)
        replies.transport.write(b"".join(commands))
        replies.sent += len(waiters)  # one reply per waiter; a read may send several commands
        replies.loop.call_later(self._timeout, self._check_answered, replies, replies.sent)

    def _check_answered(self, replies: _Replies, sent: int) -> None:
        # Replies come in order: this write is answered once `sent` replies were read.
        if replies.answered < sent and not replies.lost:
            replies.fail(RedisTimeoutError(f"Redis did not answer within {self._timeout}s"))

    async def _connected(self) -> _Replies:
        """The live connection, opened by the first read that needs it (one at a time)."""
        if self._connecting is None:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())
            self._connecting.add_done_callback(self._connected_done)
        # Shielded: a request that gives up does not cancel the others' connection.
        return await asyncio.shield(self._connecting)

    def _connected_done(self, task: asyncio.Task[_Replies]) -> None:
        self._connecting = None
        if not task.cancelled():
            task.exception()  # retrieved: each waiting request sees it

    async def _connect(self) -> _Replies:
        async with asyncio.timeout(self._timeout):
            replies = await _open(self._pool)
            try:
                await _handshake(replies, self._pool.connection_kwargs)
            except BaseException:
                replies.fail(RedisConnectionError("Redis handshake failed"))
                raise
        if self._closed:  # closed while connecting: nobody will close this one
            replies.fail(RedisConnectionError("closed"))
            raise RedisConnectionError("the reads of a closed backend")
        self._replies = replies
        return replies

    async def close(self) -> None:
        """Drop the connection; later reads fail. A connection being opened is left to
        finish (its own deadline bounds it) rather than cancelled under the requests
        waiting for it, and is dropped as soon as it is open."""
        self._closed = True
        connecting = self._connecting
        if connecting is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(connecting)
        if self._replies is not None:
            self._replies.fail(RedisConnectionError("closed"))
            self._replies = None


async def _open(pool: ConnectionPool) -> _Replies:
    loop = asyncio.get_running_loop()
    options = pool.connection_kwargs
    transport: asyncio.BaseTransport
    if issubclass(pool.connection_class, UnixDomainSocketConnection):
        transport, replies = await loop.create_unix_connection(_Replies, options["path"])
        return replies
    host, port = options.get("host", "localhost"), int(options.get("port", 6379))
    tls = None
    if issubclass(pool.connection_class, SSLConnection):
        # redis-py builds the TLS context from the URL's ssl_* options, as for its own
        # connections; nothing is connected by building it.
        tls = pool.connection_class(**options).ssl_context.get()
    transport, replies = await loop.create_connection(
        _Replies, host, port, ssl=tls, server_hostname=host if tls else None
    )
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except BaseException:
            transport.close()
            raise
    return replies


async def _handshake(replies: _Replies, options: dict[str, Any]) -> None:
    """AUTH and SELECT as the URL asks, before any read."""
    commands: list[bytes] = []
    password, username = options.get("password"), options.get("username")
    if password is not None:
        commands.append(
            pack_command("AUTH", username, password) if username else pack_command("AUTH", password)
        )
    database = int(options.get("db") or 0)
    if database:
        commands.append(pack_command("SELECT", str(database)))
    if not commands:
        return
    assert replies.transport is not None
    loop = asyncio.get_running_loop()
    waiters = [loop.create_future() for _ in commands]
    replies.waiting.extend(waiters)
    replies.transport.write(b"".join(commands))
    replies.sent += len(commands)
    await asyncio.gather(*waiters)
