"""How settings choose the cache backend, and the small in-process caches of the hit path."""

from __future__ import annotations

import pytest

from agenthub.caching import PrincipalCache, build_cache, redis_url
from agenthub.config import Settings
from cachelayer import MemoryBackend, RedisBackend


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, None),
        ({"REDIS_URL": "rediss://:pw@cache:6380/2"}, "rediss://:pw@cache:6380/2"),
        ({"REDIS_HOST": "cache"}, "redis://cache:6379/0"),
        ({"REDIS_HOST": "cache", "REDIS_PORT": "6380"}, "redis://cache:6380/0"),
        (
            {"REDIS_HOST": "cache", "REDIS_PASSWORD": "p@ss:w/rd"},
            "redis://:p%40ss%3Aw%2Frd@cache:6379/0",
        ),
        ({"REDIS_URL": "redis://a:1/0", "REDIS_HOST": "b"}, "redis://a:1/0"),
    ],
)
def test_redis_url_follows_the_original_variables(
    environment: dict[str, str], expected: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert redis_url(Settings()) == expected


def test_no_redis_configured_means_the_bounded_memory_backend() -> None:
    cache = build_cache(Settings(REDIS_URL=None, REDIS_HOST=None, CACHE_MEMORY_MAX_BYTES=4096))
    assert isinstance(cache.backend, MemoryBackend)
    assert cache.backend.max_bytes == 4096


def test_a_redis_url_means_the_redis_backend_with_the_configured_deadline() -> None:
    cache = build_cache(Settings(REDIS_URL="redis://127.0.0.1:1/0", CACHE_TIMEOUT_MS=80))
    assert isinstance(cache.backend, RedisBackend)
    assert cache.timeout == pytest.approx(0.08)


def test_the_principal_cache_is_bounded_in_entries_and_age() -> None:
    principals = PrincipalCache(max_entries=2, max_age=60.0)
    principals.put("a", "alice", b"t1")
    principals.put("b", "bob", b"t1")
    principals.put("a", "alice", b"t1")  # checked again: now the most recent
    principals.put("c", "carol", b"t1")
    assert principals.get("b") is None  # the one checked longest ago went first
    assert principals.get("a") == ("alice", b"t1")
    assert len(principals) == 2
    principals.max_age = 0.0
    assert principals.get("a") is None
