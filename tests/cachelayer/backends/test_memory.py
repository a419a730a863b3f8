"""The memory backend's own promises: bounded in bytes, least recently used goes first."""

from __future__ import annotations

import pytest

from cachelayer import MemoryBackend


async def test_it_stays_within_its_byte_bound() -> None:
    backend = MemoryBackend(max_bytes=10_000)
    for i in range(200):
        await backend.set(f"k{i}", b"x" * 100, 60_000)
        assert backend.used_bytes <= 10_000
    assert backend.evictions > 0
    assert len(backend) < 200
    assert backend.describe()["usedBytes"] == backend.used_bytes


async def test_the_least_recently_used_key_is_evicted_first() -> None:
    backend = MemoryBackend(max_bytes=3 * (2 + 100 + 64))
    for name in ("k1", "k2", "k3"):
        await backend.set(name, b"x" * 100, 60_000)
    await backend.get_many(["k1"])  # k1 is now the most recent
    await backend.set("k4", b"x" * 100, 60_000)
    assert await backend.get_many(["k1", "k2", "k3", "k4"]) == [b"x" * 100, None] + [b"x" * 100] * 2


async def test_a_value_larger_than_the_bound_is_not_stored_and_evicts_nothing() -> None:
    backend = MemoryBackend(max_bytes=1_000)
    await backend.set("small", b"s", 60_000)
    await backend.set("huge", b"x" * 5_000, 60_000)
    assert await backend.get_many(["small", "huge"]) == [b"s", None]


async def test_overwriting_keeps_the_accounting_exact() -> None:
    backend = MemoryBackend()
    await backend.set("k", b"x" * 100, 60_000)
    await backend.set("k", b"y" * 10, 60_000)
    await backend.ensure_generations(["g"], [b"t" * 16], 60_000)
    assert backend.used_bytes == (1 + 10 + 64) + (1 + 16 + 64)
    await backend.delete(["k", "g"])
    assert backend.used_bytes == 0
    await backend.set("k", b"x", 60_000)
    await backend.close()
    assert (len(backend), backend.used_bytes) == (0, 0)


def test_the_bound_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        MemoryBackend(max_bytes=0)
