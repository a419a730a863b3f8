"""Cold stampedes run one load per key; keys do not wait on each other."""

from __future__ import annotations

import asyncio

import pytest

from cachelayer import Cache, CacheStatus, Entry, MemoryBackend, NoStore
from tests.cachelayer.conftest import Counter, lookups_done


class Boom(Exception):
    pass


def entry_of(cache: Cache, name: str = "list") -> Entry:
    gen = cache.keys.key("org-1", "gen", "agents")
    return Entry(cache.keys.key("org-1", "agents", name), (gen,), ttl=60.0)


async def test_200_concurrent_misses_run_the_loader_once(cache: Cache) -> None:
    loader = Counter(b'{"big":"page"}', delay=0.05)
    item = entry_of(cache)
    results = await asyncio.gather(*(cache.get_or_load(item, loader) for _ in range(200)))
    assert loader.calls == 1
    assert cache.counters.loads == 1
    assert {r.payload for r in results} == {b'{"big":"page"}'}
    assert len({r.etag for r in results}) == 1
    assert all(r.status in (CacheStatus.MISS, CacheStatus.HIT) for r in results)
    assert cache.counters.errors == 0


async def test_followers_are_counted_as_coalesced(cache: Cache) -> None:
    release = asyncio.Event()

    async def slow() -> bytes:
        await release.wait()
        return b"v"

    item = entry_of(cache)
    tasks = [asyncio.create_task(cache.get_or_load(item, slow)) for _ in range(20)]
    await lookups_done(cache, 20)
    release.set()
    results = await asyncio.gather(*tasks)
    assert {r.payload for r in results} == {b"v"}
    assert cache.counters.coalesced == 19
    assert cache.counters.loads == 1


async def test_different_keys_do_not_wait_on_each_other(cache: Cache) -> None:
    release_a = asyncio.Event()

    async def slow_a() -> bytes:
        await release_a.wait()
        return b"A"

    task_a = asyncio.create_task(cache.get_or_load(entry_of(cache, "a"), slow_a))
    await asyncio.sleep(0.05)
    b = await asyncio.wait_for(cache.get_or_load(entry_of(cache, "b"), Counter(b"B")), 10)
    assert b.payload == b"B"
    assert not task_a.done()  # B completed while A's load is still pending
    release_a.set()
    assert (await task_a).payload == b"A"


async def test_a_loader_exception_reaches_every_waiter_and_nothing_is_cached(
    cache: Cache,
) -> None:
    calls = 0
    release = asyncio.Event()

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        raise Boom("database down")

    item = entry_of(cache)
    tasks = [asyncio.create_task(cache.get_or_load(item, failing)) for _ in range(50)]
    await lookups_done(cache, 50)
    release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(outcome, Boom) for outcome in outcomes)
    assert calls == 1
    assert len({id(outcome) for outcome in outcomes}) == 1  # the very same exception
    assert cache.counters.stores == 0

    after = Counter(b"ok")
    found = await cache.get_or_load(item, after)
    assert (found.status, found.payload, after.calls) == (CacheStatus.MISS, b"ok", 1)


async def test_a_loader_exception_is_shared_by_concurrent_waiters_memory() -> None:
    """With the in-process backend every waiter is known to have joined: one load."""
    cache = Cache(MemoryBackend(), prefix="stampede")
    calls = 0
    release = asyncio.Event()

    async def failing() -> bytes:
        nonlocal calls
        calls += 1
        await release.wait()
        raise Boom("database down")

    item = entry_of(cache)
    tasks = [asyncio.create_task(cache.get_or_load(item, failing)) for _ in range(200)]
    await asyncio.sleep(0.05)
    release.set()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == 1
    assert all(isinstance(outcome, Boom) for outcome in outcomes)
    assert len({id(outcome) for outcome in outcomes}) == 1  # the very same exception
    assert cache.counters.coalesced == 0  # coalescing is counted on success only
    await cache.close()


async def test_no_store_results_are_returned_but_not_cached(cache: Cache) -> None:
    loader = Counter(NoStore(b'{"partial":true}'))
    item = entry_of(cache)
    first = await cache.get_or_load(item, loader)
    second = await cache.get_or_load(item, loader)
    assert first.payload == second.payload == b'{"partial":true}'
    assert first.status is second.status is CacheStatus.MISS
    assert first.etag.startswith('"')
    assert loader.calls == 2
    assert cache.counters.not_stored == 2
    assert cache.counters.stores == 0
    assert (await cache.lookup(item)).hit is None


async def test_no_store_stampede_shares_the_one_result(cache: Cache) -> None:
    loader = Counter(NoStore(b"degraded"), delay=0.05)
    item = entry_of(cache)
    results = await asyncio.gather(*(cache.get_or_load(item, loader) for _ in range(50)))
    assert {r.payload for r in results} == {b"degraded"}
    assert loader.calls >= 1
    assert (await cache.lookup(item)).hit is None


@pytest.mark.parametrize("count", [2, 30])
async def test_cancelled_leader_hands_the_load_to_a_follower(cache: Cache, count: int) -> None:
    started = asyncio.Event()
    calls = 0

    async def loader() -> bytes:
        nonlocal calls
        calls += 1
        started.set()
        await asyncio.sleep(0.05 if calls > 1 else 3600)
        return b"v"

    item = entry_of(cache)
    leader = asyncio.create_task(cache.get_or_load(item, loader))
    await asyncio.wait_for(started.wait(), 10)
    followers = [asyncio.create_task(cache.get_or_load(item, loader)) for _ in range(count)]
    await lookups_done(cache, 1 + count)
    leader.cancel()
    results = await asyncio.wait_for(asyncio.gather(*followers), 10)
    assert {r.payload for r in results} == {b"v"}
    assert calls == 2
    with pytest.raises(asyncio.CancelledError):
        await leader
