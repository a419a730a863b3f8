"""One contract, two backends: what `Cache` promises holds over memory and over Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from cachelayer import MISSING, Backend, Cache, CacheStatus, Entry, MemoryBackend, RedisBackend
from tests.cachelayer.conftest import Counter, eventually

FALSY_VALUES: list[Any] = [[], 0, False, None, "", {}, 0.0]


def entry(cache: Cache, *parts: str, generations: tuple[str, ...] = (), ttl: float = 60.0) -> Entry:
    return Entry(cache.keys.key("org-1", *parts), generations, ttl)


def generation(cache: Cache, name: str) -> str:
    return cache.keys.key("org-1", "gen", name)


# -- the original service's operations -------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{"foo": "bar"}, [1, 2, 3], "text", 42, 3.5, True, {"nested": {"list": [None, "é"]}}],
)
async def test_set_then_get_returns_the_value(cache: Cache, value: Any) -> None:
    assert await cache.set("k", value, ttl=60) is True
    assert await cache.get("k") == value


async def test_bytes_are_kept_as_bytes(cache: Cache) -> None:
    await cache.set("raw", b"\x00\xffbytes", ttl=60)
    assert await cache.get("raw") == b"\x00\xffbytes"


async def test_get_of_an_absent_key_is_missing(cache: Cache) -> None:
    assert await cache.get("never-set") is MISSING


@pytest.mark.parametrize("value", FALSY_VALUES, ids=repr)
async def test_falsy_values_are_values_not_misses(cache: Cache, value: Any) -> None:
    await cache.set("falsy", value, ttl=60)
    got = await cache.get("falsy")
    assert got is not MISSING
    assert got == value
    assert type(got) is type(value)
    assert cache.counters.hits == 1
    assert cache.counters.misses == 0


async def test_set_overwrites(cache: Cache) -> None:
    await cache.set("k", "one", ttl=60)
    await cache.set("k", "two", ttl=60)
    assert await cache.get("k") == "two"


async def test_delete_removes_and_counts(cache: Cache) -> None:
    await cache.set("a", 1, ttl=60)
    await cache.set("b", 2, ttl=60)
    await cache.set("c", 3, ttl=60)
    assert await cache.delete("a", "b", "absent") == 2
    assert await cache.get("a") is MISSING
    assert await cache.get("b") is MISSING
    assert await cache.get("c") == 3


async def test_invalidate_deletes_only_matching_keys(cache: Cache) -> None:
    for name in ("agents:list:org1:a", "agents:list:org1:b", "agents:list:org2:a", "tools:x"):
        await cache.set(name, {"n": name}, ttl=60)
    assert await cache.invalidate("agents:list:org1*") == 2
    assert await cache.get("agents:list:org1:a") is MISSING
    assert await cache.get("agents:list:org1:b") is MISSING
    assert await cache.get("agents:list:org2:a") == {"n": "agents:list:org2:a"}
    assert await cache.get("tools:x") == {"n": "tools:x"}


async def test_invalidate_with_glob_classes(cache: Cache) -> None:
    for name in ("item:1", "item:2", "item:3", "item:a"):
        await cache.set(name, name, ttl=60)
    assert await cache.invalidate("item:[12]") == 2
    assert await cache.invalidate("item:?") == 2
    for name in ("item:1", "item:2", "item:3", "item:a"):
        assert await cache.get(name) is MISSING


async def test_clear_removes_every_key_of_the_cache(cache: Cache) -> None:
    await cache.set("a", 1, ttl=60)
    await cache.set("b", [], ttl=60)
    found = await cache.get_or_load(
        entry(cache, "x", generations=(generation(cache, "g"),)), Counter()
    )
    assert found.status is CacheStatus.MISS
    # two plain keys, one entry and its generation key
    assert await cache.clear() == 4
    assert await cache.get("a") is MISSING
    assert await cache.get("b") is MISSING
    assert await cache.clear() == 0


async def test_is_enabled_and_stats(cache: Cache) -> None:
    assert cache.is_enabled() is True
    await cache.set("a", 1, ttl=60)
    await cache.get("a")
    await cache.get("a")
    await cache.get("absent")
    stats = cache.stats()
    assert stats["enabled"] is True
    assert stats["breaker"] == "closed"
    assert stats["backend"] == cache.backend.name
    assert stats["hits"] == 2
    assert stats["misses"] == 1
    assert stats["stores"] == 1
    assert stats["hitRatio"] == pytest.approx(2 / 3, abs=1e-4)
    assert stats["errors"] == 0
    assert stats["bypassed"] == 0


# -- read-through ---------------------------------------------------------------------


async def test_get_or_load_miss_then_hit(cache: Cache) -> None:
    loader = Counter(b'{"items":[1,2]}')
    item = entry(cache, "agents", "list")
    first = await cache.get_or_load(item, loader)
    second = await cache.get_or_load(item, loader)
    assert first.status is CacheStatus.MISS
    assert second.status is CacheStatus.HIT
    assert first.payload == second.payload == b'{"items":[1,2]}'
    assert first.etag == second.etag
    assert loader.calls == 1
    assert cache.counters.loads == 1
    assert cache.counters.stores == 1


@pytest.mark.parametrize("payload", [b"", b"[]", b"0", b"null", b"false", b"{}"])
async def test_empty_and_falsy_payloads_are_hits(cache: Cache, payload: bytes) -> None:
    loader = Counter(payload)
    item = entry(cache, "falsy", generations=(generation(cache, "g"),))
    assert (await cache.get_or_load(item, loader)).status is CacheStatus.MISS
    again = await cache.get_or_load(item, loader)
    assert again.status is CacheStatus.HIT
    assert again.payload == payload
    assert loader.calls == 1


async def test_entries_with_different_keys_are_separate(cache: Cache) -> None:
    a = await cache.get_or_load(entry(cache, "a"), Counter(b"A"))
    b = await cache.get_or_load(entry(cache, "b"), Counter(b"B"))
    assert (a.payload, b.payload) == (b"A", b"B")
    assert (await cache.get_or_load(entry(cache, "a"), Counter(b"other"))).payload == b"A"


async def test_set_ttl_expires(cache: Cache) -> None:
    await cache.set("short", [], ttl=0.2)
    assert await cache.get("short") == []

    async def gone() -> bool:
        return await cache.get("short") is MISSING

    await eventually(gone, within=5.0)


async def test_entry_ttl_expires_and_reloads(cache: Cache) -> None:
    loader = Counter(b"v")
    item = entry(cache, "short", ttl=0.2)
    await cache.get_or_load(item, loader)
    assert (await cache.get_or_load(item, loader)).status is CacheStatus.HIT

    async def reloaded() -> bool:
        return (await cache.get_or_load(item, loader)).status is CacheStatus.MISS

    await eventually(reloaded, within=5.0)
    assert loader.calls == 2


async def test_expired_generation_key_makes_its_entries_misses(cache: Cache) -> None:
    short = Cache(cache.backend, prefix=cache.keys.prefix, generation_ttl=0.2, timeout=2.0)
    loader = Counter(b"v")
    item = entry(short, "x", generations=(generation(short, "g"),))
    await short.get_or_load(item, loader)
    assert (await short.get_or_load(item, loader)).status is CacheStatus.HIT

    async def reloaded() -> bool:
        return (await short.get_or_load(item, loader)).status is CacheStatus.MISS

    await eventually(reloaded, within=5.0)
    await short.breaker.close()


# -- generations ----------------------------------------------------------------------


async def test_invalidating_a_generation_invalidates_its_entries_only(cache: Cache) -> None:
    org_list, other = generation(cache, "agents-list"), generation(cache, "servers-list")
    page1 = entry(cache, "agents", "p1", generations=(org_list,))
    page2 = entry(cache, "agents", "p2", generations=(org_list,))
    servers = entry(cache, "servers", generations=(other,))
    for item in (page1, page2, servers):
        await cache.get_or_load(item, Counter(b"old"))

    assert await cache.invalidate_generations([org_list]) is True
    assert cache.counters.invalidations == 1

    fresh = Counter(b"new")
    assert (await cache.get_or_load(page1, fresh)).payload == b"new"
    assert (await cache.get_or_load(page2, fresh)).payload == b"new"
    assert fresh.calls == 2
    untouched = await cache.get_or_load(servers, fresh)
    assert (untouched.status, untouched.payload) == (CacheStatus.HIT, b"old")
    assert fresh.calls == 2


async def test_an_entry_depending_on_two_generations_is_invalidated_by_either(
    cache: Cache,
) -> None:
    g1, g2 = generation(cache, "one"), generation(cache, "two")
    item = entry(cache, "both", generations=(g1, g2))
    for gen in (g1, g2):
        await cache.get_or_load(item, Counter(b"old"))
        assert (await cache.get_or_load(item, Counter(b"x"))).status is CacheStatus.HIT
        await cache.invalidate_generations([gen])
        reloaded = await cache.get_or_load(item, Counter(b"new"))
        assert (reloaded.status, reloaded.payload) == (CacheStatus.MISS, b"new")
        await cache.invalidate_generations([g1, g2])


async def test_invalidating_no_generations_is_a_no_op(cache: Cache) -> None:
    assert await cache.invalidate_generations([]) is True
    assert cache.counters.invalidations == 0


async def test_ensure_generations_is_stable_until_invalidated(cache: Cache) -> None:
    keys = [generation(cache, "a"), generation(cache, "b")]
    first = await cache.ensure_generations(keys)
    assert len(first) == 2
    assert first[0] != first[1]
    assert await cache.ensure_generations(keys) == first
    await cache.invalidate_generations(keys[:1])
    after = await cache.ensure_generations(keys)
    assert after[0] != first[0]
    assert after[1] == first[1]


async def test_lookup_reads_entry_tokens_and_extra_keys(cache: Cache) -> None:
    gen = generation(cache, "g")
    item = entry(cache, "x", generations=(gen,))
    await cache.set("extra", 1, ttl=60)
    before = await cache.lookup(item, also=[cache.keys.plain("extra"), cache.keys.plain("no")])
    assert before.hit is None
    assert before.tokens == (None,)
    assert before.also[0] is not None
    assert before.also[1] is None
    await cache.get_or_load(item, Counter(b"v"))
    after = await cache.lookup(item)
    assert after.hit is not None
    assert after.hit.payload == b"v"
    assert after.tokens == await cache.ensure_generations([gen])


# -- the backends themselves ----------------------------------------------------------


@pytest.fixture(params=["memory", "redis"])
async def backend(
    request: pytest.FixtureRequest, key_prefix: str
) -> AsyncIterator[tuple[Backend, str]]:
    """A bare backend and the prefix its keys must use."""
    made: Backend
    if request.param == "memory":
        made = MemoryBackend()
    else:
        made = RedisBackend.from_url(request.getfixturevalue("redis_server_url"), timeout=2.0)
    yield made, key_prefix
    await made.delete_matching(f"{key_prefix}:*")
    await made.close()


TOKEN_A = b"a" * 16
TOKEN_B = b"b" * 16


async def test_backend_get_many_keeps_order(backend: tuple[Backend, str]) -> None:
    store, p = backend
    await store.set(f"{p}:1", b"one", 60_000)
    await store.set(f"{p}:3", b"", 60_000)
    assert await store.get_many([f"{p}:1", f"{p}:2", f"{p}:3"]) == [b"one", None, b""]


async def test_backend_set_if_current(backend: tuple[Backend, str]) -> None:
    store, p = backend
    gen = f"{p}:gen"
    assert await store.set_if_current(f"{p}:e", b"v", 60_000, [(gen, TOKEN_A)]) is False
    assert await store.get_many([f"{p}:e"]) == [None]
    assert await store.ensure_generations([gen], [TOKEN_A], 60_000) == [TOKEN_A]
    assert await store.set_if_current(f"{p}:e", b"v", 60_000, [(gen, TOKEN_B)]) is False
    assert await store.set_if_current(f"{p}:e", b"v", 60_000, [(gen, TOKEN_A)]) is True
    assert await store.get_many([f"{p}:e"]) == [b"v"]
    assert await store.set_if_current(f"{p}:f", b"w", 60_000, []) is True


async def test_backend_ensure_generations_only_creates_missing(
    backend: tuple[Backend, str],
) -> None:
    store, p = backend
    assert await store.ensure_generations([f"{p}:g1"], [TOKEN_A], 60_000) == [TOKEN_A]
    got = await store.ensure_generations([f"{p}:g1", f"{p}:g2"], [TOKEN_B, TOKEN_B], 60_000)
    assert got == [TOKEN_A, TOKEN_B]
    assert await store.get_many([f"{p}:g1", f"{p}:g2"]) == [TOKEN_A, TOKEN_B]


async def test_backend_delete_counts_existing(backend: tuple[Backend, str]) -> None:
    store, p = backend
    await store.set(f"{p}:a", b"1", 60_000)
    assert await store.delete([f"{p}:a", f"{p}:b"]) == 1
    assert await store.delete([]) == 0


async def test_backend_ttl_expires(backend: tuple[Backend, str]) -> None:
    store, p = backend
    await store.set(f"{p}:a", b"1", 150)
    await store.ensure_generations([f"{p}:g"], [TOKEN_A], 150)

    async def gone() -> bool:
        return await store.get_many([f"{p}:a", f"{p}:g"]) == [None, None]

    await eventually(gone, within=5.0)


async def test_backend_delete_matching_follows_redis_globs(backend: tuple[Backend, str]) -> None:
    store, p = backend
    names = ["a*b", "axb", "a?b", "a[b", "a\\b", "{t}:x", "{t}x"]
    for name in names:
        await store.set(f"{p}:{name}", b"1", 60_000)
    assert await store.delete_matching(f"{p}:a\\*b") == 1  # the literal star only
    assert await store.get_many([f"{p}:axb"]) == [b"1"]
    assert await store.delete_matching(f"{p}:{{t}}:*") == 1
    assert await store.delete_matching(f"{p}:a?b") == 4  # axb, a?b, a[b and a\\b
    remaining = await store.get_many([f"{p}:{name}" for name in names])
    assert remaining == [None] * 6 + [b"1"]


async def test_backend_describe(backend: tuple[Backend, str]) -> None:
    store, _ = backend
    described = store.describe()
    assert described["backend"] == store.name
    await store.ping()


async def test_redis_describe_hides_the_password() -> None:
    backend = RedisBackend.from_url("redis://user:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(backend.describe())
    assert "127.0.0.1:1" in str(backend.describe()["url"])
    anonymous = RedisBackend.from_url("rediss://:s3cret@example.invalid:6380/2")
    assert "s3cret" not in str(anonymous.describe())
    await backend.close()
    await anonymous.close()
