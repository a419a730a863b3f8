"""A shared Redis: clear() and pattern flushes leave other programs' keys alone."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from cachelayer import MISSING, Cache, Entry
from tests.cachelayer.conftest import Counter, dispose, redis_cache


@pytest.fixture
async def foreign_keys(raw_redis: aioredis.Redis, key_prefix: str) -> AsyncIterator[list[str]]:
    """Keys another program owns, named so that a careless glob would reach them."""
    p = key_prefix
    keys = [
        f"other:{p}",
        f"{{{p}}}",
        f"{{x}}{p}",
        p,  # the prefix itself, without the colon
        f"{p}x:a",  # a neighbour whose prefix extends ours
        f"{p}:"[:-1] + ";a",
        f"x{p}:a",
        f"{p.upper()}:a",
        f"*{p}:a",
    ]
    for key in keys:
        await raw_redis.set(key, b"theirs", ex=300)
    yield keys
    await raw_redis.delete(*keys)


async def fill(cache: Cache) -> int:
    await cache.set("test", {"foo": "bar"}, 60)
    await cache.set("agents:list:org1:a", [], 60)
    gen = cache.keys.key("o.1", "gen", "agents")
    await cache.get_or_load(Entry(cache.keys.key("o.1", "agents", "list"), (gen,)), Counter())
    return 4  # two plain keys, an entry and its generation key


async def test_clear_leaves_other_programs_keys_alone(
    shared_redis_cache: Cache, raw_redis: aioredis.Redis, foreign_keys: list[str]
) -> None:
    own = await fill(shared_redis_cache)
    assert await shared_redis_cache.clear() == own
    assert await raw_redis.mget(foreign_keys) == [b"theirs"] * len(foreign_keys)
    assert await shared_redis_cache.get("test") is MISSING
    assert [k async for k in raw_redis.scan_iter(match=f"{shared_redis_cache.keys.prefix}:*")] == []


@pytest.mark.parametrize("pattern", ["*", "agents:*", "*:*", "?*", "[a-z]*", "\\*"])
async def test_pattern_flushes_leave_other_programs_keys_alone(
    shared_redis_cache: Cache,
    raw_redis: aioredis.Redis,
    foreign_keys: list[str],
    pattern: str,
) -> None:
    await fill(shared_redis_cache)
    await shared_redis_cache.invalidate(pattern)
    assert await raw_redis.mget(foreign_keys) == [b"theirs"] * len(foreign_keys)


async def test_clear_removes_more_keys_than_one_scan_batch(
    shared_redis_cache: Cache, raw_redis: aioredis.Redis, foreign_keys: list[str]
) -> None:
    prefix = shared_redis_cache.keys.prefix
    async with raw_redis.pipeline(transaction=False) as pipe:
        for i in range(1_234):
            pipe.set(f"{prefix}:bulk:{i}", b"x", ex=300)
        await pipe.execute()
    assert await shared_redis_cache.clear() == 1_234
    assert await raw_redis.exists(*(f"{prefix}:bulk:{i}" for i in range(0, 1_234, 97))) == 0
    assert await raw_redis.mget(foreign_keys) == [b"theirs"] * len(foreign_keys)


async def test_two_caches_with_different_prefixes_share_one_redis(
    redis_server_url: str, key_prefix: str
) -> None:
    mine = redis_cache(redis_server_url, key_prefix)
    theirs = redis_cache(redis_server_url, f"{key_prefix}x")
    try:
        await mine.set("k", "mine")
        await theirs.set("k", "theirs")
        assert await mine.clear() == 1
        assert await theirs.get("k") == "theirs"
        assert await mine.get("k") is MISSING
    finally:
        await dispose(mine)
        await dispose(theirs)
