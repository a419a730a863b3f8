"""Fixtures shared by every test package: where the real servers are."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from tests.servers import (
    DEFAULT_POSTGRES_URL,
    DEFAULT_REDIS_URL,
    RedisProcess,
    free_port,
    redis_binary_available,
    throwaway_postgres,
    unavailable,
    url_reachable,
)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server whose databases the tests may create and drop."""
    url = os.environ.get("AGENTHUB_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    if url_reachable(url, 5432):
        yield url
        return
    try:
        with throwaway_postgres() as started:
            yield started
    except Exception as exc:
        unavailable(f"no PostgreSQL at {url} and none could be started: {exc}")


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """URL of a Redis server shared with other programs; tests use their own key prefix."""
    url = os.environ.get("AGENTHUB_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    if url_reachable(url, 6379):
        yield url
        return
    if not redis_binary_available():
        unavailable(f"no Redis at {url} and no redis-server binary to start one")
    server = RedisProcess(port=free_port()).start()
    try:
        yield server.url
    finally:
        server.kill()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test or program uses."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_process() -> Iterator[Callable[..., RedisProcess]]:
    """Start private redis-server processes that a test may kill, freeze or restart."""
    if not redis_binary_available():
        unavailable("redis-server is not on the PATH")
    started: list[RedisProcess] = []

    def start(*extra_args: str, port: int | None = None) -> RedisProcess:
        server = RedisProcess(port=port or free_port(), extra_args=list(extra_args)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(Exception):
            server.kill()
