"""Fail-open: Redis absent, killed, frozen or full never turns a call into an error.

Each test starts its own redis-server on a free port. Time bounds here are generous
upper bounds on the per-call deadline (a call must not wait for Redis much longer than
`cache.timeout`), never performance claims.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from cachelayer import MISSING, Cache, CacheStatus, CacheUnavailable, Entry
from cachelayer.breaker import RecoveryHook
from tests.cachelayer.conftest import Counter, bounded, dispose, eventually, redis_cache
from tests.servers import RedisProcess, free_port

pytestmark = pytest.mark.slow

TIMEOUT = 0.25


def call_bound(cache: Cache) -> float:
    """The most one call may take while Redis misbehaves: its deadline, with slack."""
    return cache.timeout * 2 + 0.5


def entry_of(cache: Cache, name: str = "list") -> Entry:
    return Entry(
        cache.keys.key("o.1", "agents", name), (cache.keys.key("o.1", "gen", "agents"),), 60
    )


@pytest.fixture
async def caches() -> AsyncIterator[list[Cache]]:
    """Caches a test builds; closed at the end whatever happened."""
    made: list[Cache] = []
    yield made
    for cache in made:
        await dispose(cache)


class Load:
    """Drives get_or_load from concurrent workers and records every outcome."""

    def __init__(self, cache: Cache, keys: int = 8) -> None:
        self.cache = cache
        self.entries = [entry_of(cache, f"k{i}") for i in range(keys)]
        self.durations: list[float] = []
        self.errors: list[BaseException] = []
        self.statuses: list[CacheStatus] = []
        self.payloads: set[bytes] = set()

    async def one(self, index: int) -> None:
        item = self.entries[index % len(self.entries)]
        start = time.monotonic()
        try:
            loader = Counter(item.key.encode(), delay=0.002)
            found = await bounded(self.cache.get_or_load(item, loader))
        except BaseException as exc:  # anything escaping is a failure of the test
            self.errors.append(exc)
            return
        finally:
            self.durations.append(time.monotonic() - start)
        self.statuses.append(found.status)
        self.payloads.add(found.payload)

    async def run(self, seconds: float, workers: int = 16) -> None:
        end = time.monotonic() + seconds

        async def worker(n: int) -> None:
            i = n
            while time.monotonic() < end:
                await self.one(i)
                i += workers
                await asyncio.sleep(0.005)

        await asyncio.gather(*(worker(n) for n in range(workers)))

    def check(self) -> None:
        assert self.errors == []
        assert self.payloads <= {item.key.encode() for item in self.entries}
        assert max(self.durations) < call_bound(self.cache), max(self.durations)


async def hit_again(cache: Cache, item: Entry, within: float = 10.0) -> None:
    """Caching resumes: a HIT appears (storing first if needed), on the same Cache object."""

    async def is_hit() -> bool:
        found = await cache.get_or_load(item, Counter(b"value"))
        return found.status is CacheStatus.HIT

    await eventually(is_hit, within=within)


async def test_redis_absent_at_start_then_started(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    port = free_port()
    cache = redis_cache(f"redis://127.0.0.1:{port}/0", key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    await asyncio.wait_for(cache.start(), 5)
    assert cache.is_enabled() is False
    assert cache.stats()["breaker"] == "open"

    item = entry_of(cache)
    loader = Counter(b"from the database")
    for _ in range(5):
        found = await cache.get_or_load(item, loader)
        assert (found.status, found.payload) == (CacheStatus.BYPASS, b"from the database")
    assert loader.calls == 5
    assert await cache.get("k") is MISSING
    assert await cache.set("k", 1) is False
    assert await cache.delete("k") == 0
    assert await cache.invalidate_generations(item.generations) is False
    assert cache.counters.bypassed >= 5

    await asyncio.to_thread(redis_process, port=port)
    await hit_again(cache, item)
    assert cache.is_enabled()


async def test_redis_killed_under_load_then_restarted(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    server = redis_process()
    cache = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    await cache.start()
    load = Load(cache)

    async def kill_midway() -> None:
        await asyncio.sleep(0.8)
        await asyncio.to_thread(server.kill)

    await asyncio.gather(load.run(2.0), kill_midway())
    load.check()
    assert CacheStatus.HIT in load.statuses  # it was caching before the kill
    assert CacheStatus.BYPASS in load.statuses  # and kept answering after it
    assert not cache.is_enabled()

    await asyncio.to_thread(server.start)  # the same port
    await hit_again(cache, load.entries[0])
    assert cache.breaker.times_opened >= 1


async def test_redis_frozen_then_thawed(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    server = redis_process()
    cache = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    await cache.start()
    item = entry_of(cache)
    await hit_again(cache, item)

    server.freeze()
    # Slow, not refusing: the first calls each wait for their deadline, then the
    # breaker opens and the backend is skipped.
    load = Load(cache)
    await load.run(1.0, workers=8)
    load.check()
    assert not cache.is_enabled()
    assert cache.counters.errors >= cache.breaker.threshold

    errors, bypassed = cache.counters.errors, cache.counters.bypassed
    skipped = Load(cache)
    await skipped.run(0.5, workers=8)
    skipped.check()
    assert set(skipped.statuses) == {CacheStatus.BYPASS}
    assert cache.counters.bypassed - bypassed >= len(skipped.durations)
    assert cache.counters.errors == errors  # no call waited on the frozen server

    server.thaw()
    await hit_again(cache, item)


async def test_redis_out_of_memory(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    server = redis_process("--maxmemory-policy", "noeviction")
    cache = redis_cache(server.url, key_prefix, timeout=1.0)
    caches.append(cache)
    admin = aioredis.Redis.from_url(server.url)
    try:
        await cache.start()
        item = entry_of(cache)
        await cache.get_or_load(item, Counter(b"old"))
        assert (await cache.get_or_load(item, Counter(b"x"))).status is CacheStatus.HIT

        # Full: more data than maxmemory, and nothing may be evicted.
        async with admin.pipeline(transaction=False) as pipe:
            for i in range(32):
                pipe.set(f"filler:{i}", b"f" * 64 * 1024)
            await pipe.execute()
        await admin.config_set("maxmemory", "1mb")
        with pytest.raises(ResponseError, match="maxmemory"):
            await admin.set("one-more", b"x")

        # Reads still work; writes fail silently and the value is still served.
        assert (await cache.get_or_load(item, Counter(b"x"))).payload == b"old"
        other = await cache.get_or_load(entry_of(cache, "other"), Counter(b"computed"))
        assert other.payload == b"computed"
        assert await cache.set("k", [1, 2]) is False
        assert cache.counters.errors >= 2

        # Deleting works when Redis is full: the invalidation goes through.
        assert cache.is_enabled()
        assert await cache.invalidate_generations(item.generations) is True
        for _ in range(5):
            found = await cache.get_or_load(item, Counter(b"new"))
            assert found.payload == b"new"
            assert found.status is not CacheStatus.HIT

        # Once there is room again, caching resumes.
        await admin.flushall()
        await admin.config_set("maxmemory", "64mb")
        await hit_again(cache, item)
        assert (await cache.get_or_load(item, Counter(b"x"))).payload == b"value"
    finally:
        await admin.aclose()


class Outbox:
    """Invalidations recorded with the write, delivered after commit and on recovery."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.deliveries = 0

    async def write(self, cache: Cache, generations: tuple[str, ...]) -> bool:
        self.pending.update(generations)  # in the same transaction as the change
        delivered = await cache.invalidate_generations(generations)
        if delivered:
            self.pending.difference_update(generations)
        return delivered

    def hook(self, cache: Cache) -> RecoveryHook:
        async def deliver() -> None:
            self.deliveries += 1
            keys = sorted(self.pending)
            if keys and not await cache.invalidate_generations(keys):
                raise RuntimeError("the pending invalidation could not be delivered")
            self.pending.difference_update(keys)

        return deliver


async def test_an_invalidation_lost_while_frozen_is_delivered_before_any_read(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    server = redis_process()
    cache = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    outbox = Outbox()
    cache.add_recovery_hook(outbox.hook(cache))
    await cache.start()
    item = entry_of(cache)
    source_value = b"old"

    async def load() -> bytes:
        return source_value

    await cache.get_or_load(item, load)
    assert (await cache.get_or_load(item, load)).status is CacheStatus.HIT

    server.freeze()
    source_value = b"new"  # the write commits
    assert await bounded(outbox.write(cache, item.generations)) is False
    assert outbox.pending == set(item.generations)
    assert not cache.is_enabled()

    served: list[tuple[CacheStatus, bytes]] = []

    async def new_hit() -> bool:
        found = await cache.get_or_load(item, load)
        served.append((found.status, found.payload))
        return found.status is CacheStatus.HIT

    for _ in range(10):
        assert not await bounded(new_hit())
        await asyncio.sleep(0.05)
    server.thaw()  # Redis is back, the old entry still in it
    await eventually(new_hit, within=10)

    assert outbox.pending == set()
    assert [payload for _, payload in served] == [b"new"] * len(served)
    assert served[-1] == (CacheStatus.HIT, b"new")


async def _dump(url: str, keys: list[str]) -> dict[str, tuple[bytes, int]]:
    """Each key's serialized value and remaining TTL (ms), as DUMP and PTTL give them."""
    client = aioredis.Redis.from_url(url)
    try:
        return {key: (await client.dump(key), await client.pttl(key)) for key in keys}
    finally:
        await client.aclose()


async def _restore(url: str, snapshot: dict[str, tuple[bytes, int]]) -> None:
    client = aioredis.Redis.from_url(url)
    try:
        for key, (value, ttl_ms) in snapshot.items():
            await client.restore(key, max(ttl_ms, 0), value, replace=True)
    finally:
        await client.aclose()


async def test_an_invalidation_lost_before_a_restart_is_delivered_by_start(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    server = redis_process()
    source_value = b"old"

    async def load() -> bytes:
        return source_value

    before = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(before)
    await before.start()
    item = entry_of(before)
    await before.get_or_load(item, load)
    outbox = Outbox()  # survives the restart: it lives in the database
    snapshot = await _dump(server.url, [item.key, *item.generations])

    server.freeze()
    for _ in range(before.breaker.threshold):  # reads time out until the breaker opens
        assert (await bounded(before.get_or_load(item, load))).status is CacheStatus.BYPASS
    assert not before.is_enabled()
    source_value = b"new"
    assert await bounded(outbox.write(before, item.generations)) is False  # not acknowledged
    await bounded(before.close())  # the process stops with the invalidation undelivered
    server.thaw()
    # A frozen Redis may still run a command that reached its socket before the client
    # gave up; one that lost it comes back as it was. Put it back as it was, so that the
    # rest of the test does not depend on which of the two happened.
    await _restore(server.url, snapshot)

    # Without reconciliation the old entry would be served: the danger is real.
    careless = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(careless)
    await careless.start()
    stale = await careless.get_or_load(item, load)
    assert (stale.status, stale.payload) == (CacheStatus.HIT, b"old")
    await careless.close()

    after = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(after)
    after.add_recovery_hook(outbox.hook(after))
    await after.start()
    assert after.is_enabled()
    assert outbox.pending == set()
    first = await after.get_or_load(item, load)
    assert (first.status, first.payload) == (CacheStatus.MISS, b"new")
    assert (await after.get_or_load(item, load)).payload == b"new"


async def test_start_keeps_the_breaker_open_while_the_hook_cannot_deliver(
    redis_process: Callable[..., RedisProcess], key_prefix: str, caches: list[Cache]
) -> None:
    server = redis_process()
    cache = redis_cache(server.url, key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    attempts = 0

    async def not_yet() -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise RuntimeError("the outbox is not readable yet")

    cache.add_recovery_hook(not_yet)
    await cache.start()
    assert not cache.is_enabled()
    found = await cache.get_or_load(entry_of(cache), Counter(b"v"))
    assert found.status is CacheStatus.BYPASS

    async def enabled() -> bool:
        return cache.is_enabled()

    await eventually(enabled, within=5)
    assert attempts == 3


async def test_redis_closed_connections_are_released(
    redis_process: Callable[..., RedisProcess], key_prefix: str
) -> None:
    server = redis_process()
    admin = aioredis.Redis.from_url(server.url)
    try:
        baseline = int((await admin.info("clients"))["connected_clients"])
        cache = redis_cache(server.url, key_prefix, timeout=2.0)
        await asyncio.gather(
            *(cache.get_or_load(entry_of(cache, str(i)), Counter()) for i in range(20))
        )
        assert (await admin.info("clients"))["connected_clients"] > baseline
        await cache.close()

        async def released() -> bool:
            return int((await admin.info("clients"))["connected_clients"]) == baseline

        await eventually(released, within=5)
    finally:
        await admin.aclose()


async def test_pattern_operations_report_an_unreachable_backend_as_unavailable(
    key_prefix: str, caches: list[Cache]
) -> None:
    cache = redis_cache(f"redis://127.0.0.1:{free_port()}/0", key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    await cache.start()  # breaker open: skipped
    with pytest.raises(CacheUnavailable):
        await cache.clear()
    with pytest.raises(CacheUnavailable):
        await cache.invalidate("agents:*")


async def test_pattern_operations_wrap_backend_failures(
    key_prefix: str, caches: list[Cache]
) -> None:
    cache = redis_cache(f"redis://127.0.0.1:{free_port()}/0", key_prefix, timeout=TIMEOUT)
    caches.append(cache)
    assert cache.is_enabled()  # not started: the breaker does not know yet
    with pytest.raises(CacheUnavailable):
        await cache.clear()
