"""Payload copies: a hit reads only the entry's head, and a copy never changes an answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.exceptions import ResponseError

from cachelayer import Cache, Entry, MemoryBackend, RedisBackend
from cachelayer.copies import PayloadCopies
from tests.cachelayer.conftest import RELAXED_TIMEOUT, dispose
from tests.servers import RedisProcess

COPY_BYTES = 1 << 20


def copying_cache(backend_name: str, redis_url: str, prefix: str) -> Cache:
    backend: MemoryBackend | RedisBackend
    if backend_name == "memory":
        backend = MemoryBackend()
    else:
        backend = RedisBackend.from_url(redis_url, timeout=RELAXED_TIMEOUT)
    return Cache(backend, prefix=prefix, timeout=RELAXED_TIMEOUT, copies_max_bytes=COPY_BYTES)


@pytest.fixture(params=["memory", "redis"])
async def cache(
    request: pytest.FixtureRequest, key_prefix: str, redis_server_url: str
) -> AsyncIterator[Cache]:
    made = copying_cache(request.param, redis_server_url, key_prefix)
    yield made
    await dispose(made)


def entry_of(cache: Cache, name: str) -> Entry:
    return Entry(cache.keys.key(name), (cache.keys.key(f"gen:{name}"),))


async def store(cache: Cache, entry: Entry, payload: bytes) -> None:
    """Make payload the entry's current value, as a write then a read-through would."""
    await cache.invalidate_generations(entry.generations)

    async def load() -> bytes:
        return payload

    await cache.get_or_load(entry, load)


class ReadCounter:
    """Counts the backend's full reads and head reads."""

    def __init__(self, cache: Cache) -> None:
        self.full = self.head = 0
        backend: Any = cache.backend
        full, head = backend.read, backend.read_head

        def counted_full(prepared: Any) -> Any:
            self.full += 1
            return full(prepared)

        def counted_head(prepared: Any) -> Any:
            self.head += 1
            return head(prepared)

        backend.read, backend.read_head = counted_full, counted_head


async def test_a_kept_copy_is_served_on_its_head_alone(cache: Cache) -> None:
    entry = entry_of(cache, "page")
    await store(cache, entry, b'{"items":[1,2,3]}')
    prepared = cache.prepare(entry)
    reads = ReadCounter(cache)

    first, _ = await cache.read_current(prepared)
    second, _ = await cache.read_current(prepared)

    assert first is not None and second == first
    assert first[0] == b'{"items":[1,2,3]}'
    assert (reads.full, reads.head) == (1, 1)
    assert cache.counters.copy_hits == 1


async def test_an_invalidated_entry_is_a_miss_even_with_a_copy(cache: Cache) -> None:
    entry = entry_of(cache, "page")
    await store(cache, entry, b"old")
    prepared = cache.prepare(entry)
    await cache.read_current(prepared)
    await cache.invalidate_generations(entry.generations)

    current, _ = await cache.read_current(prepared)

    assert current is None
    assert cache.copies is not None and cache.copies.get(entry.key) is None


async def test_an_entry_deleted_from_the_backend_is_a_miss_even_with_a_copy(
    cache: Cache,
) -> None:
    entry = entry_of(cache, "page")
    await store(cache, entry, b"old")
    prepared = cache.prepare(entry)
    await cache.read_current(prepared)
    await cache.backend.delete([entry.key])

    assert (await cache.read_current(prepared))[0] is None


async def test_an_entry_stored_again_is_read_whole_then_kept(cache: Cache) -> None:
    entry = entry_of(cache, "page")
    prepared = cache.prepare(entry)
    await store(cache, entry, b"first")
    await cache.read_current(prepared)
    await store(cache, entry, b"second")
    reads = ReadCounter(cache)

    again, _ = await cache.read_current(prepared)
    then, _ = await cache.read_current(prepared)

    assert again is not None and again[0] == b"second"
    assert then == again
    # The head named another digest: one whole read, then the new copy serves.
    assert (reads.full, reads.head) == (1, 2)


async def test_the_extra_keys_come_back_in_both_kinds_of_read(cache: Cache) -> None:
    entry = entry_of(cache, "page")
    extra = cache.keys.key("auth")
    await cache.backend.set(extra, b"auth-token", 60_000)
    await store(cache, entry, b"payload")
    prepared = cache.prepare(entry, also=(extra,))

    _, whole = await cache.read_current(prepared)
    _, by_head = await cache.read_current(prepared)

    assert list(whole) == list(by_head) == [b"auth-token"]
    assert cache.counters.copy_hits == 1


operations = st.lists(
    st.tuples(
        st.sampled_from(["store", "invalidate", "delete", "read"]),
        st.sampled_from(["a", "b"]),
        st.binary(max_size=40),
    ),
    max_size=14,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(backend_name=st.sampled_from(["memory", "redis"]), steps=operations)
def test_a_copy_never_changes_what_a_read_returns(
    redis_server_url: str, key_prefix: str, backend_name: str, steps: list[tuple[str, str, bytes]]
) -> None:
    """Whatever writes, invalidations and deletions happen between reads, a read with
    copies returns exactly what a whole read returns, and that is the last stored
    payload of that entry (of that entry only) unless it was invalidated or deleted."""

    async def scenario() -> None:
        cache = copying_cache(backend_name, redis_server_url, key_prefix)
        try:
            entries = {name: entry_of(cache, name) for name in ("a", "b")}
            expected: dict[str, bytes | None] = {"a": None, "b": None}
            for action, name, payload in steps:
                entry = entries[name]
                if action == "store":
                    await store(cache, entry, payload)
                    expected[name] = payload
                elif action == "invalidate":
                    await cache.invalidate_generations(entry.generations)
                    expected[name] = None
                elif action == "delete":
                    await cache.backend.delete([entry.key])
                    expected[name] = None
                for other, other_entry in entries.items():
                    prepared = cache.prepare(other_entry)
                    current, _ = await cache.read_current(prepared)
                    whole = cache.current_payload(prepared, await cache.read_prepared(prepared))
                    assert current == whole
                    assert (None if current is None else current[0]) == expected[other]
        finally:
            await dispose(cache)

    asyncio.run(scenario())


def test_copies_stay_within_their_byte_bound_oldest_out_first() -> None:
    copies = PayloadCopies(max_bytes=1000)
    for index in range(10):
        copies.put(f"k{index}", (b"x" * 150, b"d"))
        assert copies.used <= 1000
    assert copies.get("k0") is None
    assert copies.get("k9") == (b"x" * 150, b"d")
    copies.put("huge", (b"x" * 2000, b"d"))
    assert copies.get("huge") is None  # larger than the bound: not kept
    copies.put("k9", (b"y", b"e"))  # replacing a copy gives its bytes back
    kept = len(copies)
    copies.discard("k9")
    assert len(copies) == kept - 1
    copies.clear()
    assert (len(copies), copies.used) == (0, 0)


async def test_a_failing_command_of_a_head_read_leaves_the_connection_in_step(
    redis_server_url: str, key_prefix: str
) -> None:
    """GETRANGE on a list fails (WRONGTYPE): that read fails, the MGET's reply written
    with it is skipped, and the next read gets its own replies."""
    backend = RedisBackend.from_url(redis_server_url, timeout=RELAXED_TIMEOUT)
    client = aioredis.Redis.from_url(redis_server_url)
    listed, plain = f"{key_prefix}:list", f"{key_prefix}:plain"
    try:
        await client.rpush(listed, b"x")
        await client.set(plain, b"value")
        with pytest.raises(ResponseError):
            await backend.read_head(backend.prepare_head_read(listed, 8, [plain]))
        head, values = await backend.read_head(backend.prepare_head_read(plain, 3, [plain]))
        assert (head, values) == (b"val", [b"value"])
        assert await backend.read(backend.prepare_read([plain])) == [b"value"]
    finally:
        await client.delete(listed, plain)
        await client.aclose()
        await backend.close()


async def test_a_hit_on_a_copy_does_not_bring_the_payload_over_the_wire(
    redis_process: Callable[..., RedisProcess], key_prefix: str
) -> None:
    """Counted by a private Redis's own output counter: 100 hits of a 10 KB entry, with
    copies and without."""
    server = redis_process()
    client = aioredis.Redis.from_url(server.url)
    payload = b"x" * 10_000
    sent_per_hit = {}
    try:
        for copies in (0, COPY_BYTES):
            cache = Cache(
                RedisBackend.from_url(server.url, timeout=RELAXED_TIMEOUT),
                prefix=f"{key_prefix}c{copies}",
                timeout=RELAXED_TIMEOUT,
                copies_max_bytes=copies,
            )
            entry = entry_of(cache, "page")
            await store(cache, entry, payload)
            prepared = cache.prepare(entry)
            await cache.read_current(prepared)  # the first read is whole either way
            before = (await client.info("stats"))["total_net_output_bytes"]
            for _ in range(100):
                current, _ = await cache.read_current(prepared)
                assert current is not None and current[0] == payload
            sent = (await client.info("stats"))["total_net_output_bytes"] - before
            sent_per_hit[copies] = sent / 100
            await dispose(cache)
    finally:
        await client.aclose()
    assert sent_per_hit[0] > len(payload)
    assert sent_per_hit[COPY_BYTES] < 200  # the head and the generation token
