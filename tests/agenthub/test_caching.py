"""The cache as the API's users see it: X-Cache, ETags, invalidation after every write,
tenant isolation, revoked tokens, and no stale read after an acknowledged write.

Every test runs on SQLite and PostgreSQL, and on the memory and the Redis backend.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from agenthub.config import Settings
from agenthub.main import create_app
from agenthub.organizations.schemas import Role
from tests.agenthub.conftest import empty_tables
from tests.agenthub.factories import Tenant, create_agent, create_server, expect, make_tenant


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def cache_settings(request: pytest.FixtureRequest, key_prefix: str) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    return {"REDIS_URL": request.getfixturevalue("redis_server_url"), "CACHE_PREFIX": key_prefix}


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app
        await app.state.caching.cache.clear()


@pytest.fixture
async def app(database_url: str, cache_settings: dict[str, Any]) -> AsyncIterator[FastAPI]:
    async with running(Settings(DATABASE_URL=database_url, **cache_settings)) as app:
        await empty_tables(app.state.engine)
        yield app


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
async def tenant(app: FastAPI) -> Tenant:
    return await make_tenant(app, "acme")


class QueryCounter:
    def __init__(self, app: FastAPI) -> None:
        self.statements: list[str] = []
        self._engine = app.state.engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._record)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements.append(statement)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._record)


@pytest.fixture
def queries(app: FastAPI) -> Iterator[QueryCounter]:
    counter = QueryCounter(app)
    yield counter
    counter.close()


async def get(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> httpx.Response:
    response = await client.get(url, headers=headers)
    assert response.status_code in (200, 304), response.text
    return response


async def test_second_read_is_a_hit_with_the_same_bytes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await create_agent(client, tenant)
    first = await get(client, "/api/agents", tenant.headers(Role.viewer))
    second = await get(client, "/api/agents", tenant.headers(Role.viewer))
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert first.headers["etag"].startswith('"') and first.headers["etag"].endswith('"')
    assert "private" in second.headers["cache-control"]


async def test_a_hit_sends_the_route_s_headers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    # The hit path builds a payload's headers once and reuses them: every hit must carry
    # what the route sends, but for X-Cache.
    await create_agent(client, tenant)
    headers = tenant.headers(Role.viewer)
    miss, *hits = [await get(client, "/api/agents", headers) for _ in range(3)]
    for hit in hits:
        assert hit.headers["x-cache"] == "HIT"
        assert {**hit.headers, "x-cache": "MISS"} == dict(miss.headers)
        assert hit.content == miss.content


async def test_matching_if_none_match_gets_304_on_hit_and_miss(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers(Role.viewer)
    etag = (await get(client, "/api/servers", headers)).headers["etag"]
    hit = await client.get("/api/servers", headers={**headers, "If-None-Match": etag})
    assert (hit.status_code, hit.headers["x-cache"], hit.content) == (304, "HIT", b"")
    await create_server(client, tenant)
    changed = await client.get("/api/servers", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["x-cache"] == "MISS"
    again = await client.get(
        "/api/servers", headers={**headers, "If-None-Match": f'W/{changed.headers["etag"]}, "x"'}
    )
    assert again.status_code == 304


async def test_a_hit_costs_no_database_query(
    client: httpx.AsyncClient, tenant: Tenant, queries: QueryCounter
) -> None:
    agent = await create_agent(client, tenant)
    for url in ("/api/agents", f"/api/agents/{agent['id']}", f"/api/agents/{agent['id']}/stats"):
        await get(client, url, tenant.headers(Role.viewer))
        queries.statements.clear()
        response = await get(client, url, tenant.headers(Role.viewer))
        assert response.headers["x-cache"] == "HIT"
        assert queries.statements == [], url


@pytest.mark.parametrize(
    "variant",
    [
        "?page=1&limit=20",
        "?limit=20&page=1",
        "?sortOrder=desc&sortBy=createdAt",
        "?sortBy=createdAt&page=1&sortOrder=desc&limit=20",
        "?search=",
    ],
)
async def test_parameter_order_and_explicit_defaults_share_a_key(
    client: httpx.AsyncClient, tenant: Tenant, variant: str
) -> None:
    await get(client, "/api/agents", tenant.headers(Role.viewer))
    response = await get(client, f"/api/agents{variant}", tenant.headers(Role.viewer))
    assert response.headers["x-cache"] == "HIT"


async def test_different_parameters_do_not_share_a_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await get(client, "/api/agents?page=1", tenant.headers(Role.viewer))
    for variant in ("?page=2", "?limit=19", "?sortBy=name", "?search=a", "?status=paused"):
        response = await get(client, f"/api/agents{variant}", tenant.headers(Role.viewer))
        assert response.headers["x-cache"] == "MISS", variant


async def test_errors_and_bad_input_are_never_cached(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers(Role.viewer)
    counters = app.state.caching.cache.counters
    before = counters.stores
    for url in (
        f"/api/agents/{uuid.uuid4()}",
        f"/api/agents/{uuid.uuid4()}/stats",
        "/api/agents?page=0",
    ):
        first = await client.get(url, headers=headers)
        second = await client.get(url, headers=headers)
        assert first.status_code >= 400 and second.status_code == first.status_code
        assert "x-cache" not in second.headers
    assert counters.stores == before


async def test_another_organization_never_reads_an_entry(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    other = await make_tenant(app, "globex")
    agent = await create_agent(client, tenant)
    await get(client, f"/api/agents/{agent['id']}", tenant.headers(Role.viewer))
    for url in (f"/api/agents/{agent['id']}", f"/api/agents/{agent['id']}/stats"):
        assert (await client.get(url, headers=other.headers(Role.owner))).status_code == 404
    mine = (await get(client, "/api/agents", tenant.headers(Role.viewer))).json()
    theirs = (await get(client, "/api/agents", other.headers(Role.viewer))).json()
    assert mine["total"] == 1 and theirs["total"] == 0


# -- the hit path answers exactly like the route -----------------------------------------


async def test_a_malformed_id_is_refused_warm_or_cold(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await create_agent(client, tenant)
    headers = tenant.headers(Role.viewer)
    await get(client, f"/api/agents/{agent['id']}", headers)
    hex_digits = agent["id"].replace("-", "")
    odd = f"{hex_digits[:31]}----{hex_digits[31:]}"  # 36 characters, dashes misplaced
    assert (await client.get(f"/api/agents/{odd}", headers=headers)).status_code == 422


async def test_a_repeated_authorization_header_is_decided_by_the_route(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = tenant.headers(Role.viewer)
    await get(client, "/api/agents", headers)
    assert (await get(client, "/api/agents", headers)).headers["x-cache"] == "HIT"
    raw = [("Authorization", "Bearer ahk_not-a-token"), ("Authorization", headers["Authorization"])]
    response = await client.get("/api/agents", headers=httpx.Headers(raw))
    assert response.status_code == 401


async def test_a_cached_principal_is_trusted_for_a_bounded_time(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, queries: QueryCounter
) -> None:
    headers = tenant.headers(Role.viewer)
    await get(client, "/api/agents", headers)
    app.state.caching.principals.max_age = 0.0
    queries.statements.clear()
    assert (await get(client, "/api/agents", headers)).headers["x-cache"] == "HIT"
    # the route answered (the cached entry is still good), after looking at the token again
    assert any("api_tokens" in statement for statement in queries.statements)


# -- every write invalidates what it changed --------------------------------------------


async def test_agent_writes_show_in_the_next_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    viewer, member = tenant.headers(Role.viewer), tenant.headers(Role.member)
    agent = await create_agent(client, tenant, name="before")
    details, stats = f"/api/agents/{agent['id']}", f"/api/agents/{agent['id']}/stats"
    for url in ("/api/agents", details, stats):
        await get(client, url, viewer)

    expect(await client.put(details, json={"name": "after"}, headers=member), 200)
    assert (await get(client, details, viewer)).json()["name"] == "after"
    assert [a["name"] for a in (await get(client, "/api/agents", viewer)).json()["items"]] == [
        "after"
    ]

    expect(
        await client.post(
            f"{details}/runs", json={"durationMs": 10, "status": "success"}, headers=member
        ),
        201,
    )
    assert (await get(client, stats, viewer)).json()["totalRuns"] == 1

    await create_agent(client, tenant, name="second")
    assert (await get(client, "/api/agents", viewer)).json()["total"] == 2

    expect(await client.delete(details, headers=member), 204)
    assert (await client.get(details, headers=viewer)).status_code == 404
    assert (await client.get(stats, headers=viewer)).status_code == 404
    assert (await get(client, "/api/agents", viewer)).json()["total"] == 1


async def test_server_writes_show_in_the_next_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    viewer, admin = tenant.headers(Role.viewer), tenant.headers(Role.admin)
    server = await create_server(client, tenant, name="alpha", transport="stdio")
    agent = await create_agent(client, tenant, serverId=server["id"])
    urls = [
        "/api/servers",
        f"/api/servers/{server['id']}/tools",
        f"/api/servers/{server['id']}/health",
        "/api/agents",
        f"/api/agents/{agent['id']}",
    ]
    for url in urls:
        await get(client, url, viewer)

    expect(
        await client.put(f"/api/servers/{server['id']}", json={"name": "beta"}, headers=admin), 200
    )
    assert [s["name"] for s in (await get(client, "/api/servers", viewer)).json()["items"]] == [
        "beta"
    ]

    await create_server(client, tenant, name="gamma")
    assert (await get(client, "/api/servers", viewer)).json()["total"] == 2

    expect(await client.delete(f"/api/servers/{server['id']}", headers=admin), 204)
    assert (await get(client, "/api/servers", viewer)).json()["total"] == 1
    assert (
        await client.get(f"/api/servers/{server['id']}/tools", headers=viewer)
    ).status_code == 404
    assert (
        await client.get(f"/api/servers/{server['id']}/health", headers=viewer)
    ).status_code == 404
    after = await client.get(f"/api/agents/{agent['id']}", headers=viewer)
    listed = (await get(client, "/api/agents", viewer)).json()["items"]
    if after.status_code == 200:  # agents outlive their server, unlinked
        assert after.json()["serverId"] is None
        assert [a["serverId"] for a in listed] == [None]
    else:  # or they go with it
        assert after.status_code == 404 and listed == []


async def test_tool_changes_show_in_the_next_read(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    viewer = tenant.headers(Role.viewer)
    assert (await get(client, "/api/tools/definitions", viewer)).json()["total"] == 0
    server = await create_server(client, tenant)
    tools_url = f"/api/servers/{server['id']}/tools"
    assert (await get(client, tools_url, viewer)).json()["items"] == []

    expect(await client.post("/api/tools/seed", headers=tenant.platform_admin), 200)
    definitions = (await get(client, "/api/tools/definitions?limit=100", viewer)).json()
    assert definitions["total"] >= 200

    first = definitions["items"][0]
    body = {"tools": [{"toolDefinitionId": first["id"], "enabled": True}]}
    expect(await client.put(tools_url, json=body, headers=tenant.headers(Role.admin)), 200)
    assert [
        t["toolDefinitionId"] for t in (await get(client, tools_url, viewer)).json()["items"]
    ] == [first["id"]]


# -- tokens -----------------------------------------------------------------------------


async def test_a_revoked_token_fails_at_once_on_the_hit_path(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = expect(
        await client.post(
            "/api/tokens",
            json={"name": "short-lived", "role": "viewer"},
            headers=tenant.headers(Role.admin),
        ),
        201,
    )
    headers = {"Authorization": f"Bearer {created['token']}"}
    await get(client, "/api/agents", headers)
    assert (await get(client, "/api/agents", headers)).headers["x-cache"] == "HIT"
    expect(
        await client.delete(f"/api/tokens/{created['id']}", headers=tenant.headers(Role.admin)), 204
    )
    assert (await client.get("/api/agents", headers=headers)).status_code == 401
    # the organization's other tokens still read from the cache
    await get(client, "/api/agents", tenant.headers(Role.viewer))
    assert (await get(client, "/api/agents", tenant.headers(Role.viewer))).headers[
        "x-cache"
    ] == "HIT"


async def test_each_answer_counts_once_in_the_cache_stats(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A hit served before routing counts one hit; one the hit path hands to the route
    (its principal is stale) counts once too, where the route reads it."""
    counters = app.state.caching.cache.counters
    headers = tenant.headers(Role.viewer)
    await get(client, "/api/agents", headers)  # a miss: loads and stores
    before = (counters.hits, counters.misses)
    assert (await get(client, "/api/agents", headers)).headers["x-cache"] == "HIT"
    assert (counters.hits, counters.misses) == (before[0] + 1, before[1])
    # Revoking another token of the organization makes every cached principal stale:
    # the hit path reads the entry, then leaves the request to the route.
    admin = tenant.headers(Role.admin)
    created = expect(
        await client.post("/api/tokens", json={"name": "other", "role": "viewer"}, headers=admin),
        201,
    )
    expect(await client.delete(f"/api/tokens/{created['id']}", headers=admin), 204)
    before = (counters.hits, counters.misses)
    assert (await get(client, "/api/agents", headers)).headers["x-cache"] == "HIT"
    assert (counters.hits, counters.misses) == (before[0] + 1, before[1])


@asynccontextmanager
async def two_processes(
    database_url: str, redis_url: str, prefix: str
) -> AsyncIterator[tuple[Tenant, httpx.AsyncClient, httpx.AsyncClient]]:
    """Two apps sharing one database and one Redis, as two instances would."""
    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url, CACHE_PREFIX=prefix)
    async with running(settings) as first, running(settings) as second:
        await empty_tables(first.state.engine)
        tenant = await make_tenant(first, "acme")
        async with client_for(first) as one, client_for(second) as two:
            yield tenant, one, two


@pytest.mark.redis
async def test_revocation_reaches_every_process_at_once(
    database_url: str, redis_server_url: str, key_prefix: str
) -> None:
    async with two_processes(database_url, redis_server_url, key_prefix) as (tenant, one, two):
        body = {"name": "t", "role": "viewer"}
        created = expect(
            await one.post("/api/tokens", json=body, headers=tenant.headers(Role.admin)), 201
        )
        headers = {"Authorization": f"Bearer {created['token']}"}
        await get(two, "/api/agents", headers)
        assert (await get(two, "/api/agents", headers)).headers["x-cache"] == "HIT"
        revoke = await one.delete(
            f"/api/tokens/{created['id']}", headers=tenant.headers(Role.admin)
        )
        expect(revoke, 204)
        assert (await two.get("/api/agents", headers=headers)).status_code == 401


@pytest.mark.redis
async def test_a_write_in_one_process_is_seen_by_the_next_read_in_another(
    database_url: str, redis_server_url: str, key_prefix: str
) -> None:
    async with two_processes(database_url, redis_server_url, key_prefix) as (tenant, one, two):
        agent = await create_agent(one, tenant, name="old")
        url = f"/api/agents/{agent['id']}"
        await get(two, url, tenant.headers(Role.viewer))
        assert (await get(two, url, tenant.headers(Role.viewer))).headers["x-cache"] == "HIT"
        expect(await one.put(url, json={"name": "new"}, headers=tenant.headers(Role.member)), 200)
        assert (await get(two, url, tenant.headers(Role.viewer))).json()["name"] == "new"


# -- stampede ---------------------------------------------------------------------------


async def test_a_cold_stampede_runs_one_database_load(
    client: httpx.AsyncClient, tenant: Tenant, queries: QueryCounter
) -> None:
    await create_agent(client, tenant)
    headers = tenant.headers(Role.viewer)
    await get(client, "/api/servers", headers)  # fills the principal cache
    queries.statements.clear()
    responses = await asyncio.gather(
        *(client.get("/api/agents?limit=7", headers=headers) for _ in range(100))
    )
    assert {r.status_code for r in responses} == {200}
    assert len({r.content for r in responses}) == 1
    list_queries = [s for s in queries.statements if "FROM agents" in s]
    assert 1 <= len(list_queries) <= 2  # one page query (and its count), not one per request
