"""The stored envelope: versioned, and anything unreadable is a miss, never an error."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cachelayer import MISSING, Cache, CacheStatus, Entry, MemoryBackend
from cachelayer.envelope import (
    _HEADER,
    FORMAT_VERSION,
    MAGIC,
    TOKEN_SIZE,
    Codec,
    UnreadableEnvelope,
    open_envelope,
    payload_digest,
    payload_if_current,
    seal,
)
from tests.cachelayer.conftest import Counter

TOKENS = (b"0123456789abcdef", b"fedcba9876543210")
VERSION_OFFSET = len(MAGIC)
CODEC_OFFSET = VERSION_OFFSET + 1


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(
    payload=st.binary(max_size=2048),
    codec=st.sampled_from(list(Codec)),
    tokens=st.lists(st.binary(min_size=TOKEN_SIZE, max_size=TOKEN_SIZE), max_size=5),
)
def test_round_trip(payload: bytes, codec: Codec, tokens: list[bytes]) -> None:
    before = int(time.time() * 1000)
    opened = open_envelope(seal(payload, codec, tuple(tokens)))
    assert opened is not None
    assert opened.payload == payload
    assert opened.codec is codec
    assert opened.tokens == tuple(tokens)
    assert opened.digest == payload_digest(payload)
    assert before - 1000 <= opened.created_ms <= int(time.time() * 1000) + 1000


def test_the_payload_follows_the_header_untouched() -> None:
    payload = b'{"items":[]}'
    sealed = seal(payload, Codec.RAW, TOKENS)
    assert sealed.endswith(payload)
    assert sealed[:2] == MAGIC
    assert sealed[VERSION_OFFSET] == FORMAT_VERSION
    assert len(sealed) == _HEADER.size + 2 * TOKEN_SIZE + len(payload)


def test_etag_is_strong_quoted_and_from_the_payload_only() -> None:
    a = open_envelope(seal(b"same", Codec.RAW, TOKENS[:1]))
    time.sleep(0.002)
    b = open_envelope(seal(b"same", Codec.JSON, ()))
    assert a is not None
    assert b is not None
    assert a.etag == b.etag == f'"{payload_digest(b"same").hex()}"'
    assert not a.etag.startswith("W/")
    other = open_envelope(seal(b"other"))
    assert other is not None
    assert other.etag != a.etag


def test_seal_rejects_bad_tokens() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        seal(b"x", Codec.RAW, (b"short",))
    with pytest.raises(ValueError, match="255"):
        seal(b"x", Codec.RAW, (TOKENS[0],) * 256)


def with_byte(raw: bytes, offset: int, value: int) -> bytes:
    return raw[:offset] + bytes([value]) + raw[offset + 1 :]


SEALED = seal(b"payload", Codec.RAW, TOKENS)
UNREADABLE = {
    "empty": b"",
    "not an envelope": b'{"json":"from an older release"}',
    "truncated header": SEALED[: _HEADER.size - 1],
    "truncated tokens": SEALED[: _HEADER.size + TOKEN_SIZE],
    "wrong magic": b"XX" + SEALED[2:],
    "next format version": with_byte(SEALED, VERSION_OFFSET, FORMAT_VERSION + 1),
    "previous format version": with_byte(SEALED, VERSION_OFFSET, FORMAT_VERSION - 1),
    "unknown codec": with_byte(SEALED, CODEC_OFFSET, 200),
    "token count past the end": with_byte(SEALED, _HEADER.size - 1, 255),
}


def corrupted(noise: bytes) -> bytes:
    """SEALED with noise XORed into its first bytes."""
    return bytes(a ^ b for a, b in zip(SEALED, noise.ljust(len(SEALED), b"\0"), strict=True))


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_unreadable_values_open_as_none(raw: bytes) -> None:
    assert open_envelope(raw) is None


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(st.binary(max_size=200))
def test_any_bytes_open_without_raising(raw: bytes) -> None:
    opened = open_envelope(raw)
    assert opened is None or isinstance(opened.payload, bytes)


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(st.binary(min_size=1, max_size=len(SEALED) - 1))
def test_corrupting_a_sealed_value_never_raises(noise: bytes) -> None:
    open_envelope(corrupted(noise))
    open_envelope(corrupted(noise)[: len(noise)])


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_the_hit_path_check_raises_on_unreadable_values(raw: bytes) -> None:
    with pytest.raises(UnreadableEnvelope):
        payload_if_current(raw, TOKENS)


# A pure function: many examples are cheap. No deadline: a busy machine must not fail one.
@settings(deadline=None, max_examples=1000)
@given(
    raw=st.one_of(
        st.binary(max_size=120),
        st.builds(
            lambda offset, value, cut: with_byte(SEALED, offset, value)[:cut],
            st.integers(min_value=0, max_value=_HEADER.size - 1),
            st.integers(min_value=0, max_value=255),
            st.one_of(st.just(len(SEALED)), st.integers(min_value=0, max_value=len(SEALED))),
        ),
    )
)
def test_the_hit_path_check_reads_what_opening_the_envelope_reads(raw: bytes) -> None:
    """The hit path reads the header at fixed offsets, without unpacking it: on any
    bytes, it finds unreadable exactly what the full reader finds unreadable, and
    otherwise the same payload and digest."""
    opened = open_envelope(raw)
    for tokens in (TOKENS, TOKENS[:1], ()):
        if opened is None:
            with pytest.raises(UnreadableEnvelope):
                payload_if_current(raw, tokens)
        elif opened.tokens == tokens:
            assert payload_if_current(raw, tokens) == (opened.payload, opened.digest)
        else:
            assert payload_if_current(raw, tokens) is None


@settings(deadline=None)  # a busy shared machine must not fail an example
@given(
    payload=st.binary(max_size=512),
    stored=st.lists(st.binary(min_size=TOKEN_SIZE, max_size=TOKEN_SIZE), max_size=4),
    current=st.lists(
        st.one_of(st.none(), st.binary(min_size=TOKEN_SIZE, max_size=TOKEN_SIZE)), max_size=4
    ),
)
def test_the_hit_path_check_agrees_with_opening_the_envelope(
    payload: bytes, stored: list[bytes], current: list[bytes | None]
) -> None:
    """A hit exactly when the tokens read now are the ones the entry was stored under."""
    raw = seal(payload, Codec.RAW, tuple(stored))
    opened = open_envelope(raw)
    assert opened is not None
    for tokens in (tuple(stored), tuple(current)):
        found = payload_if_current(raw, tokens)
        if opened.tokens == tokens:
            assert found == (payload, payload_digest(payload))
        else:
            assert found is None


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_get_or_load_treats_unreadable_entries_as_misses(cache: Cache, raw: bytes) -> None:
    gen = cache.keys.key("org-1", "gen", "g")
    item = Entry(cache.keys.key("org-1", "thing"), (gen,), ttl=60)
    await cache.ensure_generations([gen])
    await cache.backend.set(item.key, raw, 60_000)
    loader = Counter(b"fresh")
    found = await cache.get_or_load(item, loader)
    assert (found.status, found.payload, loader.calls) == (CacheStatus.MISS, b"fresh", 1)
    assert cache.counters.unreadable >= 1
    assert cache.counters.errors == 0
    again = await cache.get_or_load(item, loader)  # replaced by a readable entry
    assert (again.status, again.payload, loader.calls) == (CacheStatus.HIT, b"fresh", 1)


async def test_an_entry_of_another_format_version_is_reloaded_and_counted(cache: Cache) -> None:
    gen = cache.keys.key("org-1", "gen", "g")
    item = Entry(cache.keys.key("org-1", "thing"), (gen,), ttl=60)
    await cache.get_or_load(item, Counter(b"v1 data"))
    stored = (await cache.backend.get_many([item.key]))[0]
    assert stored is not None
    await cache.backend.set(item.key, with_byte(stored, VERSION_OFFSET, FORMAT_VERSION + 1), 60_000)

    found = await cache.get_or_load(item, Counter(b"reloaded"))
    assert (found.status, found.payload) == (CacheStatus.MISS, b"reloaded")
    assert cache.counters.unreadable == 2  # the lookup, and the re-read before loading


@pytest.mark.parametrize("raw", UNREADABLE.values(), ids=UNREADABLE.keys())
async def test_get_treats_unreadable_values_as_missing(cache: Cache, raw: bytes) -> None:
    await cache.backend.set(cache.keys.plain("k"), raw, 60_000)
    assert await cache.get("k") is MISSING


async def test_etag_is_the_same_across_caches_and_statuses(cache: Cache) -> None:
    item = Entry(cache.keys.key("org-1", "page"), (cache.keys.key("org-1", "gen", "g"),), 60)
    payload = b'{"page":1}'
    miss = await cache.get_or_load(item, Counter(payload))
    hit = await cache.get_or_load(item, Counter(b"unused"))
    other_process = Cache(cache.backend, prefix=cache.keys.prefix, timeout=cache.timeout)
    hit_elsewhere = await other_process.get_or_load(item, Counter(b"unused"))
    unrelated = Cache(MemoryBackend(), prefix="elsewhere")
    loaded_elsewhere = await unrelated.get_or_load(
        Entry(unrelated.keys.key("x", "y")), Counter(payload)
    )
    assert hit.status is hit_elsewhere.status is CacheStatus.HIT
    etags = {miss.etag, hit.etag, hit_elsewhere.etag, loaded_elsewhere.etag}
    assert etags == {f'"{payload_digest(payload).hex()}"'}
