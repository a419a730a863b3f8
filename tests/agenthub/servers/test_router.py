from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from agenthub.organizations.schemas import Role
from agenthub.pagination import Page
from agenthub.servers.schemas import ServerPublic, ServerTools
from tests.agenthub.factories import Tenant, assert_error, create_agent, create_server, expect


async def seed_tools(client: httpx.AsyncClient, tenant: Tenant) -> list[dict[str, Any]]:
    expect(await client.post("/api/tools/seed", headers=tenant.platform_admin), 200)
    page = expect(await client.get("/api/tools/definitions?limit=5", headers=tenant.headers()), 200)
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_server_lifecycle(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_server(
        client, tenant, name="files", url="https://mcp.example.com/files", transport="sse"
    )
    ServerPublic.model_validate(created)
    assert created["status"] == "active"
    assert created["organizationId"] == str(tenant.organization_id)
    path = f"/api/servers/{created['id']}"
    assert expect(await client.get(path, headers=tenant.headers(Role.viewer)), 200) == created

    updated = expect(
        await client.put(path, json={"status": "inactive"}, headers=tenant.headers(Role.admin)),
        200,
    )
    assert updated["status"] == "inactive"
    assert updated["url"] == created["url"]
    stdio = expect(
        await client.put(
            path,
            json={"transport": "stdio", "url": "npx -y @mcp/server-files /data"},
            headers=tenant.headers(Role.admin),
        ),
        200,
    )
    assert stdio["transport"] == "stdio"

    response = await client.delete(path, headers=tenant.headers(Role.admin))
    assert response.status_code == 204
    assert_error(await client.get(path, headers=tenant.headers()), 404)


async def test_list_servers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_server(client, tenant, name="beta", transport="sse")
    await create_server(client, tenant, name="alpha", status="inactive")
    await create_server(client, tenant, name="gamma", transport="stdio", url="run-gamma")
    page = expect(await client.get("/api/servers", headers=tenant.headers(Role.viewer)), 200)
    Page[ServerPublic].model_validate(page)
    assert [s["name"] for s in page["items"]] == ["alpha", "beta", "gamma"]
    assert (page["total"], page["totalPages"]) == (3, 1)

    async def names(**params: str) -> list[str]:
        page = expect(
            await client.get("/api/servers", params=params, headers=tenant.headers()), 200
        )
        return [s["name"] for s in page["items"]]

    assert await names(sortOrder="desc") == ["gamma", "beta", "alpha"]
    assert await names(status="inactive") == ["alpha"]
    assert await names(transport="stdio") == ["gamma"]
    assert await names(search="ALP") == ["alpha"]
    assert await names(limit="1", page="2") == ["beta"]
    assert await names(sortBy="createdAt") == ["beta", "alpha", "gamma"]


async def test_server_names_are_unique_per_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    first = await create_server(client, tenant, name="shared")
    response = await client.post(
        "/api/servers",
        json={"name": "shared", "url": "http://x.test/", "transport": "http"},
        headers=tenant.headers(),
    )
    assert_error(response, 409, "conflict")
    await create_server(client, other_tenant, name="shared")
    second = await create_server(client, tenant, name="other")
    response = await client.put(
        f"/api/servers/{second['id']}", json={"name": "shared"}, headers=tenant.headers()
    )
    assert_error(response, 409)
    # The failed update left the session usable and the data intact.
    fetched = expect(await client.get(f"/api/servers/{first['id']}", headers=tenant.headers()), 200)
    assert fetched == first


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_only_admins_manage_servers(
    client: httpx.AsyncClient, tenant: Tenant, role: Role
) -> None:
    server = await create_server(client, tenant)
    headers = tenant.headers(role)
    body = {"name": "x", "url": "http://x.test/", "transport": "http"}
    path = f"/api/servers/{server['id']}"
    assert_error(await client.post("/api/servers", json=body, headers=headers), 403)
    assert_error(await client.put(path, json={"name": "y"}, headers=headers), 403)
    assert_error(await client.delete(path, headers=headers), 403)
    tools = {"tools": [{"toolDefinitionId": str(uuid.uuid4()), "enabled": True}]}
    assert_error(await client.put(f"{path}/tools", json=tools, headers=headers), 403)
    # Reads are fine.
    expect(await client.get(path, headers=headers), 200)
    expect(await client.get(f"{path}/tools", headers=headers), 200)


async def test_another_organizations_server_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_server(client, other_tenant, transport="stdio", url="cmd")
    ours = tenant.headers(Role.owner)
    tools = {"tools": [{"toolDefinitionId": str(uuid.uuid4()), "enabled": True}]}
    for server_id in (theirs["id"], str(uuid.uuid4())):
        path = f"/api/servers/{server_id}"
        assert_error(await client.get(path, headers=ours), 404, "not_found")
        assert_error(await client.put(path, json={"name": "x"}, headers=ours), 404)
        assert_error(await client.delete(path, headers=ours), 404)
        assert_error(await client.get(f"{path}/tools", headers=ours), 404)
        assert_error(await client.put(f"{path}/tools", json=tools, headers=ours), 404)
        assert_error(await client.get(f"{path}/health", headers=ours), 404)
    assert expect(await client.get("/api/servers", headers=ours), 200)["total"] == 0
    expect(await client.get(f"/api/servers/{theirs['id']}", headers=other_tenant.headers()), 200)


async def test_deleting_a_server_keeps_its_agents_unlinked(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    server = await create_server(client, tenant)
    other = await create_server(client, tenant)
    linked = await create_agent(client, tenant, serverId=server["id"], status="paused")
    untouched = await create_agent(client, tenant, serverId=other["id"])
    run = {"durationMs": 10, "status": "success"}
    expect(
        await client.post(f"/api/agents/{linked['id']}/runs", json=run, headers=tenant.headers()),
        201,
    )

    response = await client.delete(f"/api/servers/{server['id']}", headers=tenant.headers())
    assert response.status_code == 204

    after = expect(await client.get(f"/api/agents/{linked['id']}", headers=tenant.headers()), 200)
    assert after["serverId"] is None
    assert after["status"] == "paused"
    assert {k: v for k, v in after.items() if k != "serverId"} == {
        k: v for k, v in linked.items() if k != "serverId"
    }
    stats = expect(
        await client.get(f"/api/agents/{linked['id']}/stats", headers=tenant.headers()), 200
    )
    assert stats["totalRuns"] == 1
    kept = expect(await client.get(f"/api/agents/{untouched['id']}", headers=tenant.headers()), 200)
    assert kept["serverId"] == other["id"]
    listing = expect(
        await client.get(f"/api/agents?serverId={server['id']}", headers=tenant.headers()), 200
    )
    assert listing["total"] == 0


async def test_server_tools(client: httpx.AsyncClient, tenant: Tenant) -> None:
    tools = await seed_tools(client, tenant)
    server = await create_server(client, tenant)
    path = f"/api/servers/{server['id']}/tools"
    empty = expect(await client.get(path, headers=tenant.headers(Role.viewer)), 200)
    assert empty == {"serverId": server["id"], "items": [], "total": 0}

    body = {
        "tools": [
            {"toolDefinitionId": tools[0]["id"], "enabled": True},
            {"toolDefinitionId": tools[1]["id"], "enabled": False},
        ]
    }
    result = expect(await client.put(path, json=body, headers=tenant.headers(Role.admin)), 200)
    ServerTools.model_validate(result)
    assert result["total"] == 2
    by_id = {item["toolDefinitionId"]: item for item in result["items"]}
    assert by_id[tools[0]["id"]]["enabled"] is True
    assert by_id[tools[1]["id"]]["enabled"] is False
    assert by_id[tools[0]["id"]]["name"] == tools[0]["name"]
    assert by_id[tools[0]["id"]]["category"] == tools[0]["category"]

    # Flip one; the other is not listed and keeps its setting.
    body = {"tools": [{"toolDefinitionId": tools[1]["id"], "enabled": True}]}
    result = expect(await client.put(path, json=body, headers=tenant.headers(Role.admin)), 200)
    assert all(item["enabled"] for item in result["items"])
    assert expect(await client.get(path, headers=tenant.headers()), 200) == result


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"tools": []},
        {"tools": "all"},
        {"tools": [{"toolDefinitionId": "nope", "enabled": True}]},
        {"tools": [{"toolDefinitionId": str(uuid.uuid4())}]},
        {"tools": [{"enabled": True}]},
        {"tools": [{"toolDefinitionId": str(uuid.uuid4()), "enabled": True, "x": 1}]},
        {"tools": [{"toolDefinitionId": str(uuid.uuid4()), "enabled": True}] * 501},
        {
            "tools": [{"toolDefinitionId": "00000000-0000-0000-0000-000000000001", "enabled": True}]
            * 2
        },
        {"tools": [{"toolDefinitionId": str(uuid.uuid4()), "enabled": True}]},
    ],
)
async def test_invalid_server_tool_updates_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    server = await create_server(client, tenant)
    response = await client.put(
        f"/api/servers/{server['id']}/tools", json=body, headers=tenant.headers()
    )
    assert_error(response, 422)


async def test_deleting_a_server_drops_its_tool_settings(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    tools = await seed_tools(client, tenant)
    server = await create_server(client, tenant)
    body = {"tools": [{"toolDefinitionId": tools[0]["id"], "enabled": True}]}
    expect(
        await client.put(f"/api/servers/{server['id']}/tools", json=body, headers=tenant.headers()),
        200,
    )
    assert (
        await client.delete(f"/api/servers/{server['id']}", headers=tenant.headers())
    ).status_code == 204
    # The catalog entry stays.
    definitions = expect(
        await client.get(
            f"/api/tools/definitions?search={tools[0]['name']}", headers=tenant.headers()
        ),
        200,
    )
    assert definitions["total"] >= 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x", "url": "http://x.test"},
        {"name": "x", "url": "http://x.test", "transport": "grpc"},
        {"name": "x", "url": "ftp://x.test", "transport": "http"},
        {"name": "x", "url": "not a url", "transport": "sse"},
        {"name": "x", "url": "http://", "transport": "http"},
        {"name": "x", "url": "http://x.test:99999/", "transport": "http"},
        {"name": "x", "url": "", "transport": "stdio"},
        {"name": "x", "url": "http://x.test", "transport": "http", "status": "on"},
        {"name": "", "url": "http://x.test", "transport": "http"},
        {"name": "x\u0000", "url": "http://x.test", "transport": "http"},
        {"name": "x", "url": "http://x.test/" + "a" * 2000, "transport": "http"},
        {"name": "x", "url": "http://x.test", "transport": "http", "organizationId": "x"},
        {"name": 1, "url": "http://x.test", "transport": "http"},
    ],
)
async def test_invalid_server_bodies_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    assert_error(await client.post("/api/servers", json=body, headers=tenant.headers()), 422)


@pytest.mark.parametrize(
    "body",
    [{"name": None}, {"transport": "http"}, {"url": ""}, {"status": "bad"}, {"x": 1}],
)
async def test_invalid_server_updates_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    server = await create_server(client, tenant, transport="stdio", url="run-it")
    response = await client.put(f"/api/servers/{server['id']}", json=body, headers=tenant.headers())
    assert_error(response, 422)


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"limit": "1000"},
        {"sortBy": "url"},
        {"sortOrder": "sideways"},
        {"transport": "pigeon"},
        {"status": "x"},
        {"search": "\x00"},
        {"search": "s" * 10_000},
        {"serverId": str(uuid.uuid4())},
    ],
)
async def test_invalid_server_list_parameters_are_422(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    response = await client.get("/api/servers", params=params, headers=tenant.headers())
    assert_error(response, 422)


async def test_bad_server_ids_are_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for path in ("/api/servers/1", "/api/servers/x/tools", "/api/servers/%20/health"):
        assert_error(await client.get(path, headers=tenant.headers()), 422)
