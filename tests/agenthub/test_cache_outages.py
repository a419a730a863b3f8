"""The API with a Redis that is absent, killed, frozen or full: no 5xx, and no stale
read after an acknowledged write, even across a restart of agenthub.

These start their own redis-server processes on free ports.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from agenthub.config import Settings
from agenthub.main import create_app
from agenthub.organizations.schemas import Role
from tests.agenthub.conftest import empty_tables
from tests.agenthub.factories import create_agent, expect, make_tenant
from tests.servers import RedisProcess, free_port

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


async def eventually(check: Callable[[], object], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():  # type: ignore[misc]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def settings_for(database_url: str, redis: RedisProcess | str) -> Settings:
    url = redis if isinstance(redis, str) else redis.url
    return Settings(
        DATABASE_URL=database_url, REDIS_URL=url, CACHE_PREFIX="outage", CACHE_TIMEOUT_MS=100
    )


async def test_redis_absent_at_start_then_arriving(
    database_url: str, redis_process: Callable[..., RedisProcess]
) -> None:
    port = free_port()
    async with serving(settings_for(database_url, f"redis://127.0.0.1:{port}/0")) as (app, client):
        await empty_tables(app.state.engine)
        tenant = await make_tenant(app, "acme")
        await create_agent(client, tenant)
        for _ in range(5):
            response = await client.get("/api/agents", headers=tenant.headers(Role.viewer))
            assert response.status_code == 200 and response.headers["x-cache"] == "MISS"
        ready = (await client.get("/ready")).json()
        assert ready["cache"]["enabled"] is False and ready["cache"]["breaker"] == "open"

        redis_process(port=port)

        async def hits() -> bool:
            response = await client.get("/api/agents", headers=tenant.headers(Role.viewer))
            assert response.status_code == 200
            return response.headers["x-cache"] == "HIT"

        await eventually(hits)
        assert (await client.get("/ready")).json()["cache"]["enabled"] is True


@pytest.mark.parametrize("outage", ["kill", "freeze"])
async def test_no_5xx_and_bounded_latency_while_redis_fails(
    database_url: str, redis_process: Callable[..., RedisProcess], outage: str
) -> None:
    redis = redis_process()
    async with serving(settings_for(database_url, redis)) as (app, client):
        await empty_tables(app.state.engine)
        tenant = await make_tenant(app, "acme")
        agent = await create_agent(client, tenant)
        urls = ["/api/agents", f"/api/agents/{agent['id']}", f"/api/agents/{agent['id']}/stats"]
        headers = tenant.headers(Role.viewer)
        for url in urls:
            await client.get(url, headers=headers)

        redis.kill() if outage == "kill" else redis.freeze()
        slowest = 0.0
        for _ in range(20):
            for url in urls:
                started = time.monotonic()
                response = await client.get(url, headers=headers)
                slowest = max(slowest, time.monotonic() - started)
                assert response.status_code == 200, response.text
        # Each request pays at most about one Redis deadline (0.1 s) before the breaker
        # skips Redis; the bound is generous because the machine is shared.
        assert slowest < 1.5
        assert app.state.caching.cache.counters.bypassed > 0

        redis.start() if outage == "kill" else redis.thaw()

        async def hits() -> bool:
            response = await client.get(urls[0], headers=headers)
            return response.headers["x-cache"] == "HIT"

        await eventually(hits)


async def test_writes_succeed_while_redis_is_full(
    database_url: str, redis_process: Callable[..., RedisProcess]
) -> None:
    redis = redis_process("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    async with serving(settings_for(database_url, redis)) as (app, client):
        await empty_tables(app.state.engine)
        tenant = await make_tenant(app, "acme")
        agent = await create_agent(client, tenant, name="old")
        url = f"/api/agents/{agent['id']}"
        await client.get(url, headers=tenant.headers(Role.viewer))
        assert (await client.get(url, headers=tenant.headers(Role.viewer))).headers[
            "x-cache"
        ] == "HIT"
        backend = app.state.caching.cache.backend
        filler = b"x" * 10_000
        for i in range(1000):
            try:
                await backend.client.set(f"other-program:{i}", filler)
            except Exception:
                break  # Redis is full
        expect(
            await client.put(url, json={"name": "new"}, headers=tenant.headers(Role.member)), 200
        )
        for _ in range(3):
            response = await client.get(url, headers=tenant.headers(Role.viewer))
            assert response.status_code == 200 and response.json()["name"] == "new"
        await backend.client.delete(*(f"other-program:{i}" for i in range(1000)))


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "after-restart"])
async def test_an_invalidation_lost_while_redis_was_away_is_delivered_before_any_read(
    database_url: str, redis_process: Callable[..., RedisProcess], restart: bool
) -> None:
    redis = redis_process()
    settings = settings_for(database_url, redis)
    async with serving(settings) as (app, client):
        await empty_tables(app.state.engine)
        tenant = await make_tenant(app, "acme")
        agent = await create_agent(client, tenant, name="old")
        url = f"/api/agents/{agent['id']}"
        viewer = tenant.headers(Role.viewer)
        await client.get(url, headers=viewer)
        assert (await client.get(url, headers=viewer)).headers["x-cache"] == "HIT"

        redis.freeze()  # Redis keeps the old entry, but cannot be told to drop it
        expect(
            await client.put(url, json={"name": "new"}, headers=tenant.headers(Role.member)), 200
        )
        if not restart:
            redis.thaw()
            await _never_old_until_hit(client, url, viewer)
    if restart:
        redis.thaw()
        async with serving(settings) as (_app, client):
            await _never_old_until_hit(client, url, viewer)


async def _never_old_until_hit(
    client: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> None:
    async def fresh_hit() -> bool:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200
        assert response.json()["name"] == "new", "served the value from before the write"
        return response.headers["x-cache"] == "HIT"

    await eventually(fresh_hit)
