"""The two example tests of the original cache service, against a real Redis.

The original returned null for an absent key; here an absent key is MISSING, because
null is a value that can be cached like any other.
"""

from __future__ import annotations

from cachelayer import MISSING, Cache


async def test_should_cache_and_retrieve_values(shared_redis_cache: Cache) -> None:
    cache = shared_redis_cache
    await cache.set("test", {"foo": "bar"}, 60)
    result = await cache.get("test")
    assert result == {"foo": "bar"}


async def test_should_invalidate_by_pattern(shared_redis_cache: Cache) -> None:
    cache = shared_redis_cache
    await cache.set("agents:list:org1:a", {})
    await cache.set("agents:list:org1:b", {})
    await cache.set("agents:list:org10:a", {})
    await cache.set("agents:list:org2:a", {})
    await cache.invalidate("agents:list:org1*")
    assert await cache.get("agents:list:org1:a") is MISSING
    assert await cache.get("agents:list:org1:b") is MISSING
    # the original's pattern has no separator before the star: org10 goes too
    assert await cache.get("agents:list:org10:a") is MISSING
    assert await cache.get("agents:list:org2:a") == {}
