"""Fixtures for the cache tests: a `Cache` over each backend, and small test doubles."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
import redis.asyncio as aioredis

from cachelayer import Cache, MemoryBackend, NoStore, RedisBackend
from tests.servers import RedisProcess, free_port, redis_binary_available, unavailable

T = TypeVar("T")

# Contract tests are about behaviour, not deadlines: a generous per-call deadline keeps
# a busy shared machine from turning a slow round trip into a spurious miss.
RELAXED_TIMEOUT = 2.0


def redis_cache(
    url: str,
    prefix: str,
    *,
    timeout: float = RELAXED_TIMEOUT,
    breaker_threshold: int = 3,
    warning_interval: float = 10.0,
) -> Cache:
    """A cache over a fresh Redis client whose connection deadline matches the cache's."""
    return Cache(
        RedisBackend.from_url(url, timeout=timeout),
        prefix=prefix,
        timeout=timeout,
        breaker_threshold=breaker_threshold,
        warning_interval=warning_interval,
    )


async def dispose(cache: Cache) -> None:
    """Remove what the cache stored and release its connections, whatever state it is in."""
    with contextlib.suppress(Exception):  # a frozen server must not hang the teardown
        if cache.is_enabled():
            await asyncio.wait_for(cache.clear(), 5)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(cache.close(), 5)


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest, key_prefix: str) -> AsyncIterator[Cache]:
    """A cache over the memory backend, then over the shared Redis."""
    if request.param == "memory":
        made = Cache(MemoryBackend(), prefix=key_prefix, timeout=RELAXED_TIMEOUT)
    else:
        made = redis_cache(request.getfixturevalue("redis_server_url"), key_prefix)
    yield made
    await dispose(made)


@pytest.fixture
async def shared_redis_cache(redis_server_url: str, key_prefix: str) -> AsyncIterator[Cache]:
    made = redis_cache(redis_server_url, key_prefix)
    yield made
    await dispose(made)


@pytest.fixture
async def raw_redis(redis_server_url: str) -> AsyncIterator[aioredis.Redis]:
    """A plain client on the shared Redis, to look behind the cache's back."""
    client = aioredis.Redis.from_url(redis_server_url)
    yield client
    await client.aclose()


@pytest.fixture(scope="module")
def module_redis() -> Iterator[RedisProcess]:
    """A private redis-server for a whole module, free to be flushed between examples."""
    if not redis_binary_available():
        unavailable("redis-server is not on the PATH")
    server = RedisProcess(port=free_port()).start()
    yield server
    server.kill()


class Counter:
    """A loader that returns fixed bytes and counts its calls."""

    def __init__(self, payload: bytes | NoStore = b"value", delay: float = 0.0) -> None:
        self.payload = payload
        self.delay = delay
        self.calls = 0

    async def __call__(self) -> bytes | NoStore:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.payload


class Source:
    """A stand-in for the database: a value that writers change and readers load."""

    def __init__(self, value: bytes) -> None:
        self.value = value
        self.reads = 0

    async def load(self) -> bytes:
        self.reads += 1
        return self.value


class HeldLoader:
    """Reads the source, then waits to be released before returning what it read.

    This is the slow reader of the late-set race: its database read happened before a
    write, its cache store happens after.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.has_read = asyncio.Event()
        self.release = asyncio.Event()
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        value = self.source.value
        self.has_read.set()
        await self.release.wait()
        return value


async def eventually(
    check: Callable[[], Awaitable[bool]], *, within: float = 10.0, every: float = 0.05
) -> None:
    """Poll check until it is true; fail after `within` seconds, even if a check hangs."""
    deadline = time.monotonic() + within
    while True:
        try:
            if await asyncio.wait_for(check(), max(deadline - time.monotonic(), 0.1)):
                return
        except TimeoutError:
            pytest.fail(f"a check hung past {within}s")
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within}s")
        await asyncio.sleep(every)


async def lookups_done(cache: Cache, count: int) -> None:
    """Wait until `count` lookups have missed: each such request has then joined the
    in-process load of its key (or started it), with no await in between."""

    async def done() -> bool:
        return bool(cache.counters.misses >= count)

    await eventually(done, every=0.005)
    for _ in range(3):
        await asyncio.sleep(0)


async def bounded(call: Awaitable[T], seconds: float = 10.0) -> T:
    """Await call, failing the test (instead of hanging the run) if it takes too long."""
    try:
        return await asyncio.wait_for(call, seconds)
    except TimeoutError:
        pytest.fail(f"a cache call hung for more than {seconds}s")


@contextlib.contextmanager
def elapsed() -> Iterator[list[float]]:
    """Measure a block: the list holds the duration once the block ends."""
    box: list[float] = []
    start = time.monotonic()
    try:
        yield box
    finally:
        box.append(time.monotonic() - start)
