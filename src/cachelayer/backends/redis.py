"""The Redis backend: redis-py asyncio (hiredis parser when installed)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.driver_info import DriverInfo

from cachelayer.backends.base import PreparedRead
from cachelayer.backends.pipelining import PipelinedReads, pack_command

# KEYS[1] is the entry, KEYS[2..] its generation keys; ARGV[1] the value, ARGV[2] the TTL
# in ms, ARGV[3..] the tokens the reader saw before loading. All keys share a hash tag.
_SET_IF_CURRENT = """
for i = 2, #KEYS do
  if redis.call('GET', KEYS[i]) ~= ARGV[i + 1] then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_SCAN_BATCH = 500


class RedisBackend:
    name = "redis"
    reads_have_deadline = True  # `PipelinedReads` fails a write's reads at the deadline

    def __init__(
        self,
        client: redis.Redis,
        *,
        display_url: str = "",
        timeout: float = 0.25,
        max_in_flight: int = 1024,
    ) -> None:
        self.client = client
        self.display_url = display_url
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._reads = PipelinedReads(client.connection_pool, timeout)
        self._set_if_current = client.register_script(_SET_IF_CURRENT)

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float = 0.25, max_connections: int = 64, **options: Any
    ) -> RedisBackend:
        """A backend for ``redis://`` or ``rediss://`` URLs.

        Commands are not retried inside a request (the `Cache` gives each call one short
        deadline and a breaker handles reconnection with backoff), so the client's own
        retry is off. At most `max_connections` commands are in flight: a burst queues
        for a warm connection instead of opening hundreds at once.
        """
        pool = redis.ConnectionPool.from_url(
            url,
            # The semaphore below is the bound; the pool itself must never refuse.
            max_connections=max_connections * 2,
            # No socket timeout: with one, redis-py wraps every send in asyncio.wait_for
            # (a task per command). The Cache's per-call deadline bounds calls instead.
            socket_timeout=None,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            # No CLIENT SETINFO round trips on each new connection.
            driver_info=DriverInfo(name=None, lib_version=None),
            **options,
        )
        return cls(
            redis.Redis.from_pool(pool),
            display_url=_without_password(url),
            timeout=timeout,
            max_in_flight=max_connections,
        )

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The hit path's one command, pipelined with the other reads of this loop turn."""
        return await self.read(self.prepare_read(keys))

    def prepare_read(self, keys: Sequence[str]) -> bytes:
        return pack_command("MGET", *keys)

    def read(self, prepared: PreparedRead) -> Awaitable[list[bytes | None]]:
        # What prepare_read built: bytes. No cast(): a function call, on every hit.
        return self._reads.send(prepared)  # type: ignore[arg-type]

    def prepare_head_read(self, key: str, size: int, keys: Sequence[str]) -> bytes:
        return pack_command("GETRANGE", key, "0", str(size - 1)) + pack_command("MGET", *keys)

    def read_head(self, prepared: PreparedRead) -> Awaitable[list[Any]]:
        # GETRANGE and MGET written together, as one read of the pipelined connection.
        return self._reads.send_many(prepared, 2)  # type: ignore[arg-type]

    async def set(self, key: str, value: bytes, ttl_ms: int) -> None:
        async with self._in_flight:
            await self.client.set(key, value, px=ttl_ms)

    async def set_if_current(
        self, key: str, value: bytes, ttl_ms: int, generations: Sequence[tuple[str, bytes]]
    ) -> bool:
        keys = [key, *(gen_key for gen_key, _ in generations)]
        args: list[bytes | int] = [value, ttl_ms, *(token for _, token in generations)]
        async with self._in_flight:
            stored = await self._set_if_current(keys=keys, args=args)
        return bool(stored)

    async def ensure_generations(
        self, keys: Sequence[str], proposed: Sequence[bytes], ttl_ms: int
    ) -> list[bytes]:
        async with self._in_flight, self.client.pipeline(transaction=False) as pipe:
            for key, token in zip(keys, proposed, strict=True):
                pipe.set(key, token, nx=True, get=True, px=ttl_ms)
            previous: list[bytes | None] = await pipe.execute()
        return [
            token if old is None else old for old, token in zip(previous, proposed, strict=True)
        ]

    async def delete(self, keys: Sequence[str]) -> int:
        if not keys:
            return 0
        async with self._in_flight:
            removed: int = await self.client.unlink(*keys)
        return removed

    async def delete_matching(self, pattern: str) -> int:
        removed = 0
        async for batch in self._scan(pattern):
            async with self._in_flight:
                removed += await self.client.unlink(*batch)
        return removed

    async def _scan(self, pattern: str) -> Any:
        batch: list[bytes] = []
        async for key in self.client.scan_iter(match=pattern, count=_SCAN_BATCH):
            batch.append(key)
            if len(batch) >= _SCAN_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    async def ping(self) -> None:
        async with self._in_flight:
            await self.client.ping()

    async def close(self) -> None:
        await self._reads.close()
        await self.client.aclose()

    def describe(self) -> dict[str, object]:
        return {"backend": self.name, "url": self.display_url}


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))
