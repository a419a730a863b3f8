from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from agenthub.agents.schemas import AgentPublic
from agenthub.organizations.schemas import Role
from agenthub.pagination import Page
from tests.agenthub.factories import Tenant, assert_error, create_agent, create_server, expect


async def test_create_and_get_agent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    server = await create_server(client, tenant)
    created = await create_agent(
        client,
        tenant,
        name="  Researcher  ",
        description="Finds papers.\nSummarises them.",
        role="researcher",
        serverId=server["id"],
        config={"model": "small", "tools": ["search"], "nested": {"depth": 2}},
    )
    assert created["name"] == "Researcher"
    assert created["status"] == "active"
    assert created["serverId"] == server["id"]
    assert created["organizationId"] == str(tenant.organization_id)
    assert created["createdAt"].endswith("Z")
    assert created["createdAt"] == created["updatedAt"]
    AgentPublic.model_validate(created)

    fetched = expect(
        await client.get(f"/api/agents/{created['id']}", headers=tenant.headers(Role.viewer)), 200
    )
    assert fetched == created


async def test_defaults_of_a_minimal_agent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_agent(client, tenant, name="min", role="r")
    assert created["description"] == ""
    assert created["config"] == {}
    assert created["serverId"] is None


async def test_update_changes_only_given_fields(client: httpx.AsyncClient, tenant: Tenant) -> None:
    server = await create_server(client, tenant)
    agent = await create_agent(client, tenant, serverId=server["id"], description="d")
    updated = expect(
        await client.put(
            f"/api/agents/{agent['id']}",
            json={"status": "paused", "config": {"a": 1}},
            headers=tenant.headers(Role.member),
        ),
        200,
    )
    assert updated["status"] == "paused"
    assert updated["config"] == {"a": 1}
    assert updated["name"] == agent["name"]
    assert updated["description"] == "d"
    assert updated["serverId"] == server["id"]
    assert updated["updatedAt"] >= agent["updatedAt"]
    assert updated["createdAt"] == agent["createdAt"]

    unlinked = expect(
        await client.put(
            f"/api/agents/{agent['id']}", json={"serverId": None}, headers=tenant.headers()
        ),
        200,
    )
    assert unlinked["serverId"] is None
    fetched = expect(await client.get(f"/api/agents/{agent['id']}", headers=tenant.headers()), 200)
    assert fetched == unlinked


async def test_delete_agent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await create_agent(client, tenant)
    run = {"durationMs": 5, "status": "success"}
    path = f"/api/agents/{agent['id']}"
    expect(await client.post(f"{path}/runs", json=run, headers=tenant.headers()), 201)
    response = await client.delete(
        f"/api/agents/{agent['id']}", headers=tenant.headers(Role.member)
    )
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await client.get(f"/api/agents/{agent['id']}", headers=tenant.headers()), 404)
    assert_error(await client.delete(f"/api/agents/{agent['id']}", headers=tenant.headers()), 404)


async def test_viewer_cannot_write_agents(client: httpx.AsyncClient, tenant: Tenant) -> None:
    agent = await create_agent(client, tenant)
    viewer = tenant.headers(Role.viewer)
    body = {"name": "x", "role": "r"}
    assert_error(await client.post("/api/agents", json=body, headers=viewer), 403, "forbidden")
    assert_error(await client.put(f"/api/agents/{agent['id']}", json=body, headers=viewer), 403)
    assert_error(await client.delete(f"/api/agents/{agent['id']}", headers=viewer), 403)
    run = {"durationMs": 1, "status": "success"}
    assert_error(
        await client.post(f"/api/agents/{agent['id']}/runs", json=run, headers=viewer), 403
    )
    for role in (Role.member, Role.admin, Role.owner):
        expect(await client.post("/api/agents", json=body, headers=tenant.headers(role)), 201)


async def test_another_organizations_agent_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_agent(client, other_tenant, name="secret")
    ours = tenant.headers(Role.owner)
    base = f"/api/agents/{theirs['id']}"
    missing = f"/api/agents/{uuid.uuid4()}"
    for path in (base, missing):
        assert_error(await client.get(path, headers=ours), 404, "not_found")
        assert_error(await client.get(f"{path}/stats", headers=ours), 404)
        assert_error(await client.put(path, json={"name": "x"}, headers=ours), 404)
        assert_error(await client.delete(path, headers=ours), 404)
        run = {"durationMs": 1, "status": "success"}
        assert_error(await client.post(f"{path}/runs", json=run, headers=ours), 404)
    listing = expect(await client.get("/api/agents", headers=ours), 200)
    assert listing["total"] == 0
    # Still there for its owner.
    expect(await client.get(base, headers=other_tenant.headers()), 200)


async def test_server_of_another_organization_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_server(client, other_tenant)
    response = await client.post(
        "/api/agents",
        json={"name": "x", "role": "r", "serverId": theirs["id"]},
        headers=tenant.headers(),
    )
    error = assert_error(response, 422)
    assert error["details"][0]["loc"] == ["body", "serverId"]
    agent = await create_agent(client, tenant)
    response = await client.put(
        f"/api/agents/{agent['id']}", json={"serverId": theirs["id"]}, headers=tenant.headers()
    )
    assert_error(response, 422)
    response = await client.put(
        f"/api/agents/{agent['id']}", json={"serverId": str(uuid.uuid4())}, headers=tenant.headers()
    )
    assert_error(response, 422)


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# --- listing ---------------------------------------------------------------------------


async def _agents(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    result: dict[str, Any] = expect(
        await client.get("/api/agents", params=params, headers=tenant.headers(Role.viewer)), 200
    )
    Page[AgentPublic].model_validate(result)
    return result


async def test_list_pages(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for index in range(7):
        await create_agent(client, tenant, name=f"agent-{index}")
    first = await _agents(client, tenant, limit=3)
    assert (first["total"], first["page"], first["limit"], first["totalPages"]) == (7, 1, 3, 3)
    assert [a["name"] for a in first["items"]] == ["agent-6", "agent-5", "agent-4"]
    third = await _agents(client, tenant, limit=3, page=3)
    assert [a["name"] for a in third["items"]] == ["agent-0"]
    beyond = await _agents(client, tenant, limit=3, page=50)
    assert beyond["items"] == []
    assert beyond["total"] == 7
    pages = [await _agents(client, tenant, limit=2, page=p) for p in (1, 2, 3, 4)]
    names = [a["name"] for page in pages for a in page["items"]]
    assert sorted(names) == sorted(f"agent-{i}" for i in range(7))


async def test_empty_list(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert await _agents(client, tenant) == {
        "items": [],
        "total": 0,
        "page": 1,
        "limit": 20,
        "totalPages": 0,
    }


@pytest.mark.parametrize("sort_by", ["name", "createdAt", "updatedAt", "status"])
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
async def test_list_sorts(
    client: httpx.AsyncClient, tenant: Tenant, sort_by: str, sort_order: str
) -> None:
    for name, status in [("b", "paused"), ("a", "active"), ("d", "error"), ("c", "archived")]:
        await create_agent(client, tenant, name=name, status=status)
    page = await _agents(client, tenant, sortBy=sort_by, sortOrder=sort_order)
    keys = [(item[sort_by], item["createdAt"]) for item in page["items"]]
    assert keys == sorted(keys, reverse=sort_order == "desc")


async def test_list_filters(client: httpx.AsyncClient, tenant: Tenant) -> None:
    server = await create_server(client, tenant)
    await create_agent(client, tenant, name="one", role="writer", serverId=server["id"])
    await create_agent(client, tenant, name="two", role="writer", status="paused")
    await create_agent(client, tenant, name="three", role="critic", serverId=server["id"])

    def names(page: dict[str, Any]) -> set[str]:
        return {item["name"] for item in page["items"]}

    assert names(await _agents(client, tenant, serverId=server["id"])) == {"one", "three"}
    assert names(await _agents(client, tenant, status="paused")) == {"two"}
    assert names(await _agents(client, tenant, role="writer")) == {"one", "two"}
    assert names(await _agents(client, tenant, role="writer", serverId=server["id"])) == {"one"}
    assert names(await _agents(client, tenant, serverId=str(uuid.uuid4()))) == set()
    assert names(await _agents(client, tenant, role="Writer")) == set()


async def test_search_is_case_insensitive_on_name_and_description(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await create_agent(client, tenant, name="Invoice Bot", description="pays bills")
    await create_agent(client, tenant, name="helper", description="Reads INVOICES daily")
    await create_agent(client, tenant, name="other", description="nothing")
    page = await _agents(client, tenant, search="invoice")
    assert {item["name"] for item in page["items"]} == {"Invoice Bot", "helper"}
    page = await _agents(client, tenant, search="  BILLS ")
    assert {item["name"] for item in page["items"]} == {"Invoice Bot"}
    assert (await _agents(client, tenant, search="   "))["total"] == 3


@pytest.mark.parametrize(
    ("search", "expected"),
    [("%", {"100% sure"}), ("_", {"snake_case"}), ("\\", {"back\\slash"}), ("*", set())],
)
async def test_search_treats_like_wildcards_literally(
    client: httpx.AsyncClient, tenant: Tenant, search: str, expected: set[str]
) -> None:
    for name in ("100% sure", "snake_case", "back\\slash", "plain"):
        await create_agent(client, tenant, name=name)
    page = await _agents(client, tenant, search=search)
    assert {item["name"] for item in page["items"]} == expected


@pytest.mark.parametrize(
    "search", ["\u200fשלום\u200e", "🤖 bot", "👩‍💻", "é", "a" * 200, "' OR 1=1 --", "{}[]:*?"]
)
async def test_odd_but_valid_search_text_is_answered(
    client: httpx.AsyncClient, tenant: Tenant, search: str
) -> None:
    await create_agent(client, tenant, description=f"x{search}x")
    page = await _agents(client, tenant, search=search)
    assert page["total"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "-1"},
        {"page": "abc"},
        {"page": "1e3"},
        {"page": str(10**30)},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "1000"},
        {"sortBy": "unknown"},
        {"sortBy": "organization_id"},
        {"sortOrder": "up"},
        {"status": "deleted"},
        {"serverId": "not-a-uuid"},
        {"search": "a\x00b"},
        {"search": "line\nbreak"},
        {"search": "x" * 201},
        {"search": "x" * 10_000},
        {"role": "r" * 101},
        {"unknown": "1"},
        {"sort_by": "name"},
    ],
)
async def test_invalid_list_parameters_are_422(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    response = await client.get("/api/agents", params=params, headers=tenant.headers())
    error = assert_error(response, 422, "validation_error")
    assert error["details"], error


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"role": "r"},
        {"name": 123, "role": "r"},
        {"name": ["x"], "role": "r"},
        {"name": "", "role": "r"},
        {"name": "   ", "role": "r"},
        {"name": "x" * 201, "role": "r"},
        {"name": "a\x00", "role": "r"},
        {"name": "x", "role": "r", "status": "deleted"},
        {"name": "x", "role": "r", "serverId": "nope"},
        {"name": "x", "role": "r", "config": []},
        {"name": "x", "role": "r", "config": "{}"},
        {"name": "x", "role": "r", "config": {"k": "nul\u0000"}},
        {"name": "x", "role": "r", "config": {"k\u0000": 1}},
        b'{"name": "x", "role": "r", "config": {"k": "\\ud800"}}',
        b'{"name": "\\udfff", "role": "r"}',
        b'{"name": "x", "role": "r", "config": {"k": NaN}}',
        b'{"name": "x", "role": "r", "config": {"k": [-Infinity]}}',
        b'{"name": "x", "role": "r", "config": {"k": 1e400}}',
        b'{"name": "x", "role": "r", "config": {"k": 123456789012345678901234567890}}',
        {"name": "x", "role": "r", "config": {"a": _nested(40)}},
        {"name": "x", "role": "r", "organizationId": str(uuid.uuid4())},
        {"name": "x", "role": "r", "id": str(uuid.uuid4())},
        {"name": "x", "role": "r", "description": 5},
        [],
        "agent",
        None,
    ],
)
async def test_invalid_agent_bodies_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: object
) -> None:
    if isinstance(body, bytes):
        headers = {**tenant.headers(), "Content-Type": "application/json"}
        response = await client.post("/api/agents", content=body, headers=headers)
    else:
        response = await client.post("/api/agents", json=body, headers=tenant.headers())
    assert_error(response, 422)


@pytest.mark.parametrize(
    "body",
    [
        {"name": None},
        {"status": None},
        {"config": None},
        {"role": ""},
        {"unknown": 1},
        {"status": "gone"},
    ],
)
async def test_invalid_agent_updates_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    agent = await create_agent(client, tenant)
    response = await client.put(f"/api/agents/{agent['id']}", json=body, headers=tenant.headers())
    assert_error(response, 422)


@pytest.mark.parametrize("path", ["/api/agents/1", "/api/agents/xyz/stats", "/api/agents/%00"])
async def test_bad_agent_ids_are_422(client: httpx.AsyncClient, tenant: Tenant, path: str) -> None:
    assert_error(await client.get(path, headers=tenant.headers()), 422)


async def test_malformed_json_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    for content in (b"{", b'{"name": "x", "role": }', b"\xff\xfe", b"[" * 5000, b""):
        response = await client.post("/api/agents", content=content, headers=headers)
        assert 400 <= response.status_code < 500, response.text
        assert_error(response, response.status_code)


async def test_update_without_changes_keeps_updated_at(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    agent = await create_agent(client, tenant, status="paused")
    for body in ({}, {"status": "paused", "name": agent["name"]}):
        same = expect(
            await client.put(f"/api/agents/{agent['id']}", json=body, headers=tenant.headers()),
            200,
        )
        assert same == agent
