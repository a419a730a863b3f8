"""The late-set race: a reader that read the database before a write and stores after it.

Sequence: the reader misses and loads "old" from the source, then is held between its
read and its cache store. A writer commits "new" and invalidates the entry's generation.
The reader is released. Its store must be refused, so that nothing started after the
write can see "old".
"""

from __future__ import annotations

import asyncio

from cachelayer import Cache, CacheStatus, Entry
from tests.cachelayer.conftest import HeldLoader, Source, lookups_done


def entry_of(cache: Cache) -> Entry:
    gen = cache.keys.key("org-1", "gen", "agents")
    return Entry(cache.keys.key("org-1", "agents", "list"), (gen,), ttl=60.0)


async def run_race(cache: Cache, item: Entry) -> Source:
    source = Source(b"old")
    reader = HeldLoader(source)
    task = asyncio.create_task(cache.get_or_load(item, reader))
    await asyncio.wait_for(reader.has_read.wait(), 10)

    source.value = b"new"  # the writer commits...
    assert await cache.invalidate_generations(item.generations) is True  # ...then invalidates

    reader.release.set()
    late = await asyncio.wait_for(task, 10)
    # The reader began before the write: returning what it read is allowed.
    assert late.payload == b"old"
    return source


async def assert_only_new_is_served(cache: Cache, item: Entry, source: Source) -> None:
    after = await cache.get_or_load(item, source.load)
    assert after.payload == b"new"
    assert after.status is CacheStatus.MISS  # the late "old" store was not kept
    looked = await cache.lookup(item)
    assert looked.hit is not None
    assert looked.hit.payload == b"new"
    again = await cache.get_or_load(item, source.load)
    assert (again.status, again.payload) == (CacheStatus.HIT, b"new")


async def test_late_store_is_refused_when_the_generation_existed(cache: Cache) -> None:
    item = entry_of(cache)
    await cache.ensure_generations(item.generations)  # warm: the generation key exists
    source = await run_race(cache, item)
    assert cache.counters.stores_refused == 1
    assert cache.counters.stores == 0
    assert (await cache.lookup(item)).hit is None
    await assert_only_new_is_served(cache, item, source)


async def test_late_store_is_refused_when_the_generation_was_cold(cache: Cache) -> None:
    item = entry_of(cache)
    assert (await cache.lookup(item)).tokens == (None,)  # cold: no generation key yet
    source = await run_race(cache, item)
    assert cache.counters.stores_refused == 1
    assert (await cache.lookup(item)).hit is None
    await assert_only_new_is_served(cache, item, source)


async def test_late_store_is_refused_over_an_existing_old_entry(cache: Cache) -> None:
    item = entry_of(cache)
    source = Source(b"older")
    await cache.get_or_load(item, source.load)
    await cache.invalidate_generations(item.generations)  # an earlier write
    source = await run_race(cache, item)
    assert cache.counters.stores_refused == 1
    await assert_only_new_is_served(cache, item, source)


async def test_a_second_reader_after_the_write_wins_over_the_late_one(cache: Cache) -> None:
    """Reader A is held with "old"; after the write, reader B (another process) loads "new"
    and stores it; A's late store must not overwrite B's entry."""
    item = entry_of(cache)
    other = Cache(cache.backend, prefix=cache.keys.prefix, timeout=cache.timeout)
    source = Source(b"old")
    reader = HeldLoader(source)
    task = asyncio.create_task(cache.get_or_load(item, reader))
    await asyncio.wait_for(reader.has_read.wait(), 10)
    source.value = b"new"
    await cache.invalidate_generations(item.generations)

    fresh = await other.get_or_load(item, source.load)
    assert (fresh.status, fresh.payload) == (CacheStatus.MISS, b"new")
    reader.release.set()
    await task
    assert cache.counters.stores_refused == 1
    assert (await other.get_or_load(item, source.load)).payload == b"new"
    assert (await cache.get_or_load(item, source.load)).payload == b"new"
    await other.breaker.close()


async def test_a_request_started_after_the_write_does_not_join_the_stale_load(
    cache: Cache,
) -> None:
    item = entry_of(cache)
    source = Source(b"old")
    reader = HeldLoader(source)
    first = asyncio.create_task(cache.get_or_load(item, reader))
    await asyncio.wait_for(reader.has_read.wait(), 10)
    source.value = b"new"
    assert await cache.invalidate_generations(item.generations) is True

    # The write is acknowledged: everything that starts from here on must see "new".
    after_write = asyncio.create_task(cache.get_or_load(item, source.load))
    await lookups_done(cache, 2)  # the held reader's, then this one's
    reader.release.set()
    await first
    assert (await after_write).payload == b"new"
