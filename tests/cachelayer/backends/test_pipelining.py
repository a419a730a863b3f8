"""The hit path's pipelined reads: concurrent MGETs share one connection and one write,
every request still gets its own reply, the connection is set up as the URL says (AUTH,
SELECT, Unix socket, TLS), and a Redis that stops answering fails them all within the
deadline."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis as sync_redis
import uvloop
from redis.exceptions import ConnectionError as RedisConnectionError

from cachelayer import RedisBackend
from tests.cachelayer.conftest import eventually
from tests.servers import RedisProcess, free_port

pytestmark = pytest.mark.slow


def _fill(url: str, values: dict[str, bytes]) -> None:
    client = sync_redis.Redis.from_url(url)
    try:
        client.mset(values)
    finally:
        client.close()


@contextlib.asynccontextmanager
async def _backend(url: str, deadline: float = 2.0) -> AsyncIterator[RedisBackend]:
    backend = RedisBackend.from_url(url, timeout=deadline)
    try:
        yield backend
    finally:
        await backend.close()


def _clients(url: str) -> int:
    client = sync_redis.Redis.from_url(url)
    try:
        return int(client.info("clients")["connected_clients"]) - 1  # less this one
    finally:
        client.close()


async def test_concurrent_reads_each_get_their_own_reply_on_one_connection(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    _fill(server.url, {f"k{i}": f"v{i}".encode() for i in range(300)})
    async with _backend(server.url) as backend:
        replies = await asyncio.gather(
            *(backend.get_many([f"k{i}", "absent", f"k{(i + 1) % 300}"]) for i in range(300))
        )
        assert replies == [
            [f"v{i}".encode(), None, f"v{(i + 1) % 300}".encode()] for i in range(300)
        ]
        assert _clients(server.url) == 1  # 300 concurrent reads, one connection


async def test_a_prepared_read_is_the_same_read(redis_process: Callable[..., RedisProcess]) -> None:
    server = redis_process()
    _fill(server.url, {"a": b"1", "b": b""})
    async with _backend(server.url) as backend:
        prepared = backend.prepare_read(["a", "b", "c"])
        assert await backend.read(prepared) == [b"1", b"", None]
        assert await backend.read(prepared) == await backend.get_many(["a", "b", "c"])


async def test_a_read_that_gives_up_does_not_shift_the_others_replies(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    _fill(server.url, {f"k{i}": f"v{i}".encode() for i in range(100)})
    async with _backend(server.url) as backend:
        tasks = [asyncio.ensure_future(backend.get_many([f"k{i}"])) for i in range(100)]
        for task in tasks[::3]:
            task.cancel()  # their replies still arrive, and must be skipped
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for i, result in enumerate(results):
            if i % 3 == 0:
                assert isinstance(result, asyncio.CancelledError)
            else:
                assert result == [f"v{i}".encode()]
        assert await backend.get_many(["k7"]) == [b"v7"]


async def test_a_frozen_redis_fails_every_waiting_read_within_the_deadline(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    async with _backend(server.url, deadline=0.2) as backend:
        assert await backend.get_many(["warm"]) == [None]
        server.freeze()
        try:
            started = time.monotonic()
            results = await asyncio.gather(
                *(backend.get_many([f"k{i}"]) for i in range(50)), return_exceptions=True
            )
            assert all(isinstance(result, Exception) for result in results)
            assert time.monotonic() - started < 5.0  # a generous bound on a 0.2 s deadline
        finally:
            server.thaw()
        assert await backend.get_many(["warm"]) == [None]


async def test_a_killed_connection_fails_its_reads_and_the_next_read_reconnects(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    _fill(server.url, {"k": b"v"})
    admin = sync_redis.Redis.from_url(server.url)
    async with _backend(server.url) as backend:
        assert await backend.get_many(["k"]) == [b"v"]
        # A read left waiting on the connection: Redis holds every client's commands.
        admin.client_pause(500, all=True)
        waiting = asyncio.ensure_future(backend.get_many(["k"]))
        await asyncio.sleep(0.1)
        admin.client_kill_filter(_type="normal", skipme=True)
        with pytest.raises(RedisConnectionError):
            await waiting
        assert await backend.get_many(["k"]) == [b"v"]
    admin.close()


async def test_reads_authenticate_and_select_the_database(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process(
        "--requirepass", "s3cret:/@", "--user", "reader", "on", ">r3ad", "~*", "+@all"
    )
    admin_url = f"redis://:s3cret%3A%2F%40@127.0.0.1:{server.port}/3"
    _fill(admin_url, {"k": b"in db 3"})
    for url in (admin_url, f"redis://reader:r3ad@127.0.0.1:{server.port}/3"):
        async with _backend(url) as backend:
            assert await backend.get_many(["k"]) == [b"in db 3"]


async def test_a_wrong_password_fails_the_read(redis_process: Callable[..., RedisProcess]) -> None:
    server = redis_process("--requirepass", "right")
    async with _backend(f"redis://:wrong@127.0.0.1:{server.port}/0") as backend:
        with pytest.raises(Exception, match=r"WRONGPASS|invalid"):
            await backend.get_many(["k"])


async def test_reads_over_a_unix_socket(
    redis_process: Callable[..., RedisProcess], tmp_path: Path
) -> None:
    socket_path = tmp_path / "redis.sock"
    server = redis_process("--unixsocket", str(socket_path), "--unixsocketperm", "700")
    _fill(server.url, {"k": b"over the socket"})
    async with _backend(f"unix://{socket_path}?db=0") as backend:
        assert await backend.get_many(["k"]) == [b"over the socket"]
        await backend.set("k2", b"written over it too", 60_000)  # redis-py's pool
        assert await backend.get_many(["k2"]) == [b"written over it too"]


def _certificates(directory: Path) -> tuple[str, str, str]:
    """A CA and a certificate for 127.0.0.1 signed by it (openssl CLI)."""
    ca_key, ca_cert = str(directory / "ca.key"), str(directory / "ca.pem")
    key, request, cert = (
        str(directory / name) for name in ("server.key", "server.csr", "server.pem")
    )
    extensions = directory / "san.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    new_key = ("-newkey", "rsa:2048", "-nodes")
    commands = [
        ["req", "-x509", *new_key, "-days", "1", "-subj", "/CN=test-ca", "-keyout", ca_key],
        ["req", *new_key, "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", request],
        ["x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial"],
    ]
    commands[0] += ["-out", ca_cert]
    commands[2] += ["-days", "1", "-extfile", str(extensions), "-out", cert]
    for command in commands:
        subprocess.run(["openssl", *command], check=True, capture_output=True)
    return ca_cert, cert, key


async def test_reads_over_tls(redis_process: Callable[..., RedisProcess], tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not on the PATH: no certificate for a TLS Redis")
    ca_cert, cert, key = _certificates(tmp_path)
    port = free_port()
    try:
        server = redis_process(
            *("--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"),
            *("--tls-cert-file", str(cert), "--tls-key-file", str(key)),
            *("--tls-ca-cert-file", str(ca_cert)),
            port=port,
        )
    except RuntimeError as exc:  # a redis-server built without TLS exits at once
        pytest.skip(f"this redis-server does not serve TLS: {exc}")
    url = f"rediss://127.0.0.1:{server.port}/0?ssl_ca_certs={ca_cert}"
    async with _backend(url) as backend:
        await backend.set("k", b"over TLS", 60_000)
        assert await backend.get_many(["k"]) == [b"over TLS"]


def test_reads_under_uvloop(redis_process: Callable[..., RedisProcess]) -> None:
    """agenthub serves with uvloop, whose transports are not asyncio's."""
    server = redis_process()
    _fill(server.url, {f"k{i}": f"v{i}".encode() for i in range(50)})

    async def scenario() -> list[list[bytes | None]]:
        async with _backend(server.url) as backend:
            return await asyncio.gather(*(backend.get_many([f"k{i}"]) for i in range(50)))

    assert uvloop.run(scenario()) == [[f"v{i}".encode()] for i in range(50)]


async def test_a_closed_backend_reads_nothing_and_holds_no_connection(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    backend = RedisBackend.from_url(server.url, timeout=2.0)
    assert await backend.get_many(["k"]) == [None]
    await backend.close()
    with pytest.raises(RedisConnectionError):
        await backend.get_many(["k"])

    async def disconnected() -> bool:  # Redis notices the closed socket on its next turn
        return _clients(server.url) == 0

    await eventually(disconnected)
