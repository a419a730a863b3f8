"""Automatic pipelining of reads: concurrent MGETs share one write and one connection,
every request still gets its own reply, and a Redis that stops answering fails them all
within the deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import redis as sync_redis

from cachelayer import RedisBackend
from tests.servers import RedisProcess

pytestmark = pytest.mark.slow


async def test_concurrent_reads_each_get_their_own_reply(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    backend = RedisBackend.from_url(server.url, timeout=2.0)
    try:
        async with backend.client.pipeline(transaction=False) as pipe:
            for i in range(300):
                pipe.set(f"k{i}", f"v{i}".encode())
            await pipe.execute()
        replies = await asyncio.gather(
            *(backend.get_many([f"k{i}", "absent", f"k{(i + 1) % 300}"]) for i in range(300))
        )
        assert replies == [
            [f"v{i}".encode(), None, f"v{(i + 1) % 300}".encode()] for i in range(300)
        ]
        # 300 concurrent reads went out on a handful of connections, not one each.
        clients = sync_redis.Redis.from_url(server.url).info("clients")["connected_clients"]
        assert clients < 20
    finally:
        await backend.close()


async def test_a_frozen_redis_fails_every_waiting_read_within_the_deadline(
    redis_process: Callable[..., RedisProcess],
) -> None:
    server = redis_process()
    backend = RedisBackend.from_url(server.url, timeout=0.2)
    try:
        assert await backend.get_many(["warm"]) == [None]
        server.freeze()
        started = time.monotonic()
        results = await asyncio.gather(
            *(backend.get_many([f"k{i}"]) for i in range(50)), return_exceptions=True
        )
        assert all(isinstance(result, Exception) for result in results)
        assert time.monotonic() - started < 5.0  # a generous bound on a 0.2 s deadline
        server.thaw()
        assert await backend.get_many(["warm"]) == [None]
    finally:
        server.thaw()
        await backend.close()
