"""Logs as the original: debug HIT/MISS with the key, warnings that an outage cannot flood."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from cachelayer import Cache, CacheStatus, Entry
from cachelayer.logs import RateLimitedLogger
from tests.cachelayer.conftest import Counter, dispose, redis_cache
from tests.servers import free_port


async def test_hits_and_misses_are_logged_at_debug_with_the_key(
    cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cachelayer")
    item = Entry(cache.keys.key("o.1", "agents", "list"), (cache.keys.key("o.1", "gen", "a"),))
    await cache.get_or_load(item, Counter())
    await cache.get_or_load(item, Counter())
    records = [r for r in caplog.records if r.msg in {"Cache HIT %s", "Cache MISS %s"}]
    assert [r.getMessage().split()[:2] for r in records] == [["Cache", "MISS"], ["Cache", "HIT"]]
    assert all(r.getMessage().endswith(r.cache_key) for r in records)
    assert all(r.levelno == logging.DEBUG for r in records)
    assert all(getattr(r, "cache_key", None) == item.key for r in records)
    assert all(r.name == "cachelayer" for r in records)


async def test_a_refused_late_store_is_logged_at_debug(
    cache: Cache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="cachelayer")
    item = Entry(cache.keys.key("o.1", "x"), (cache.keys.key("o.1", "gen", "a"),))
    release = asyncio.Event()

    async def slow() -> bytes:
        await release.wait()
        return b"old"

    task = asyncio.create_task(cache.get_or_load(item, slow))
    await asyncio.sleep(0.05)
    await cache.invalidate_generations(item.generations)
    release.set()
    await task
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1
    assert getattr(refused[0], "cache_key", None) == item.key


async def test_warnings_during_an_outage_are_rate_limited(
    key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cachelayer")
    # Nothing listens on the port: every call fails at once. The breaker is kept closed
    # so that every call really tries, and fails, and wants to warn.
    cache = redis_cache(
        f"redis://127.0.0.1:{free_port()}/0",
        key_prefix,
        timeout=0.25,
        breaker_threshold=10**9,
        warning_interval=1.0,
    )
    try:
        item = Entry(cache.keys.key("o.1", "x"))
        for _ in range(50):
            found = await cache.get_or_load(item, Counter(b"v"))
            assert found.status is CacheStatus.BYPASS
        first = [r for r in caplog.records if r.name == "cachelayer"]
        assert cache.counters.errors == 50
        assert len(first) == 1
        assert "Cache GET failed" in first[0].getMessage()

        await asyncio.sleep(1.1)
        await cache.get_or_load(item, Counter(b"v"))
        later = [r for r in caplog.records if r.name == "cachelayer"]
        assert len(later) == 2
        assert "(49 similar warnings held back)" in later[1].getMessage()
    finally:
        await dispose(cache)


def test_rate_limited_logger_counts_what_it_held_back(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.ratelimit")
    limited = RateLimitedLogger(logging.getLogger("test.ratelimit"), interval=3600)
    for i in range(10):
        limited.warning("get", "GET failed %d", i)
    limited.warning("set", "SET failed")
    assert [r.getMessage() for r in caplog.records] == ["GET failed 0", "SET failed"]

    every_time = RateLimitedLogger(logging.getLogger("test.ratelimit"), interval=0)
    every_time.warning("get", "again")
    assert caplog.records[-1].getMessage() == "again"


def test_the_held_back_count_is_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="test.ratelimit")
    limited = RateLimitedLogger(logging.getLogger("test.ratelimit"), interval=0.2)
    for _ in range(5):
        limited.warning("get", "GET failed")
    time.sleep(0.25)
    limited.warning("get", "GET failed")
    time.sleep(0.25)
    limited.warning("get", "GET failed")
    assert [r.getMessage() for r in caplog.records] == [
        "GET failed",
        "GET failed (4 similar warnings held back)",
        "GET failed",
    ]
