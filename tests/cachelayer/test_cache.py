"""`Cache` itself: deadlines, the breaker around the backend, start-up and counters.

A wrapper around the memory backend makes it hang or fail on demand, so that these
rules are checked without timing a real server (the outage tests do that on Redis).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from cachelayer import MISSING, Cache, CacheStatus, CacheUnavailable, Entry, MemoryBackend
from tests.cachelayer.conftest import Counter, bounded, eventually


class Unreliable(MemoryBackend):
    """A memory backend that can be told to hang or to fail, and counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.mode = "ok"
        self.calls = 0
        self.failing: set[str] = set()

    async def _maybe(self, operation: str) -> None:
        self.calls += 1
        if self.mode == "hang":
            await asyncio.sleep(3600)
        if self.mode == "fail" or operation in self.failing:
            raise ConnectionError(f"{operation} failed")

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        await self._maybe("get_many")
        return await super().get_many(keys)

    async def set_if_current(
        self, key: str, value: bytes, ttl_ms: int, generations: Sequence[tuple[str, bytes]]
    ) -> bool:
        await self._maybe("set_if_current")
        return await super().set_if_current(key, value, ttl_ms, generations)

    async def ensure_generations(
        self, keys: Sequence[str], proposed: Sequence[bytes], ttl_ms: int
    ) -> list[bytes]:
        await self._maybe("ensure_generations")
        return await super().ensure_generations(keys, proposed, ttl_ms)

    async def delete(self, keys: Sequence[str]) -> int:
        await self._maybe("delete")
        return await super().delete(keys)

    async def ping(self) -> None:
        await self._maybe("ping")


@pytest.fixture
async def unreliable() -> AsyncIterator[tuple[Cache, Unreliable]]:
    backend = Unreliable()
    cache = Cache(backend, prefix="c", timeout=0.1, breaker_threshold=3)
    yield cache, backend
    await cache.close()


def entry_of(cache: Cache, name: str = "x") -> Entry:
    return Entry(cache.keys.key("o.1", name), (cache.keys.key("o.1", "gen", "g"),), 60)


async def test_a_hanging_backend_costs_one_deadline_then_nothing(
    unreliable: tuple[Cache, Unreliable],
) -> None:
    cache, backend = unreliable
    backend.mode = "hang"
    loader = Counter(b"db")
    for _ in range(cache.breaker.threshold):
        start = time.monotonic()
        found = await bounded(cache.get_or_load(entry_of(cache), loader))
        assert time.monotonic() - start < cache.timeout * 2 + 0.5
        assert (found.status, found.payload) == (CacheStatus.BYPASS, b"db")
    assert not cache.is_enabled()
    assert cache.counters.errors == cache.breaker.threshold

    calls = backend.calls
    for _ in range(20):
        assert (await cache.get_or_load(entry_of(cache), loader)).status is CacheStatus.BYPASS
    assert backend.calls - calls <= 2  # only the background probe may have tried
    assert cache.counters.bypassed == 20
    assert cache.counters.errors == cache.breaker.threshold
    assert loader.calls == cache.breaker.threshold + 20


async def test_caching_resumes_when_the_backend_recovers(
    unreliable: tuple[Cache, Unreliable],
) -> None:
    cache, backend = unreliable
    backend.mode = "fail"
    for _ in range(3):
        await cache.get_or_load(entry_of(cache), Counter())
    assert not cache.is_enabled()
    backend.mode = "ok"

    async def hit() -> bool:
        return (await cache.get_or_load(entry_of(cache), Counter())).status is CacheStatus.HIT

    await eventually(hit, within=5)
    assert cache.stats()["breaker"] == "closed"


async def test_a_failing_store_is_silent(unreliable: tuple[Cache, Unreliable]) -> None:
    cache, backend = unreliable
    backend.failing = {"set_if_current"}
    found = await cache.get_or_load(entry_of(cache), Counter(b"v"))
    assert (found.status, found.payload) == (CacheStatus.MISS, b"v")
    assert cache.counters.stores == 0
    assert cache.counters.errors == 1
    backend.failing = set()
    assert (await cache.get_or_load(entry_of(cache), Counter(b"w"))).payload == b"w"


async def test_a_failing_generation_read_loads_without_caching(
    unreliable: tuple[Cache, Unreliable],
) -> None:
    cache, backend = unreliable
    backend.failing = {"ensure_generations"}
    found = await cache.get_or_load(entry_of(cache), Counter(b"v"))
    assert (found.status, found.payload) == (CacheStatus.BYPASS, b"v")
    assert cache.counters.stores == 0


async def test_an_invalidation_that_fails_opens_the_breaker(
    unreliable: tuple[Cache, Unreliable],
) -> None:
    cache, backend = unreliable
    item = entry_of(cache)
    await cache.get_or_load(item, Counter(b"old"))
    backend.failing = {"delete", "ping"}
    assert await cache.invalidate_generations(item.generations) is False
    assert cache.counters.invalidation_failures == 1
    assert not cache.is_enabled()  # at once, not after `threshold` failures
    # nothing is read from the backend until the invalidation is delivered
    assert (await cache.get_or_load(item, Counter(b"new"))).payload == b"new"
    assert await cache.invalidate_generations(item.generations) is False  # skipped
    backend.failing = {"ping"}
    assert await cache.invalidate_generations(item.generations) is True
    assert cache.counters.invalidations == 1


async def test_start_runs_the_hooks_before_the_first_read() -> None:
    backend = Unreliable()
    cache = Cache(backend, prefix="c")
    events: list[str] = []

    async def hook() -> None:
        events.append(f"hook after {backend.calls} backend call(s)")

    cache.add_recovery_hook(hook)
    await cache.start()
    assert cache.is_enabled()
    assert events == ["hook after 1 backend call(s)"]  # the probe only
    await cache.get_or_load(entry_of(cache), Counter())
    assert len(events) == 1
    await cache.close()


async def test_pattern_operations_refuse_while_the_breaker_is_open(
    unreliable: tuple[Cache, Unreliable],
) -> None:
    cache, backend = unreliable
    await cache.set("a", 1)
    backend.failing = {"ping"}
    cache.breaker.open()
    with pytest.raises(CacheUnavailable):
        await cache.invalidate("*")
    with pytest.raises(CacheUnavailable):
        await cache.clear()
    assert await cache.get("a") is MISSING  # skipped, not read
    assert await cache.set("a", 2) is False
    assert await cache.delete("a") == 0
    backend.failing = set()
    await eventually(lambda: asyncio.sleep(0, cache.is_enabled()), within=5)
    assert await cache.get("a") == 1


async def test_stats_lists_every_counter(unreliable: tuple[Cache, Unreliable]) -> None:
    cache, _ = unreliable
    stats = cache.stats()
    assert set(stats) == {
        "enabled",
        "breaker",
        "hitRatio",
        "copies",
        "copyBytes",
        "backend",
        "keys",
        "usedBytes",
        "maxBytes",
        "evictions",
        "hits",
        "misses",
        "loads",
        "coalesced",
        "stores",
        "stores_refused",
        "not_stored",
        "invalidations",
        "invalidation_failures",
        "errors",
        "bypassed",
        "unreadable",
        "copy_hits",
    }
    assert stats["hitRatio"] == 0.0


async def test_loader_exceptions_are_not_cache_failures(
    unreliable: tuple[Cache, Unreliable],
) -> None:
    cache, _ = unreliable

    async def broken() -> bytes:
        raise LookupError("no such agent")

    for _ in range(5):
        with pytest.raises(LookupError):
            await cache.get_or_load(entry_of(cache), broken)
    assert cache.is_enabled()
    assert cache.counters.errors == 0
