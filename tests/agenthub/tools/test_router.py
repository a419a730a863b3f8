from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from agenthub.organizations.schemas import Role
from agenthub.pagination import Page
from agenthub.tools.schemas import ToolDefinitionPublic
from agenthub.tools.service import load_catalog
from tests.agenthub.factories import Tenant, assert_error, expect


async def seed(client: httpx.AsyncClient, tenant: Tenant) -> dict[str, Any]:
    result: dict[str, Any] = expect(
        await client.post("/api/tools/seed", headers=tenant.platform_admin), 200
    )
    return result


async def definitions(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = expect(
        await client.get(
            "/api/tools/definitions", params=params, headers=tenant.headers(Role.viewer)
        ),
        200,
    )
    Page[ToolDefinitionPublic].model_validate(page)
    return page


def test_the_shipped_catalog_is_big_and_varied() -> None:
    catalog = load_catalog()
    assert len(catalog) >= 200
    assert len({entry.category for entry in catalog}) >= 15
    assert len({entry.name for entry in catalog}) == len(catalog)
    for entry in catalog:
        assert entry.input_schema.get("type") == "object", entry.name
        assert entry.description, entry.name


async def test_seed_is_idempotent(client: httpx.AsyncClient, tenant: Tenant) -> None:
    total = len(load_catalog())
    assert await seed(client, tenant) == {
        "created": total,
        "updated": 0,
        "unchanged": 0,
        "total": total,
    }
    first = await definitions(client, tenant, limit=100)
    assert await seed(client, tenant) == {
        "created": 0,
        "updated": 0,
        "unchanged": total,
        "total": total,
    }
    assert await definitions(client, tenant, limit=100) == first
    assert first["total"] == total


async def test_seed_restores_a_changed_definition(
    client: httpx.AsyncClient, app: FastAPI, tenant: Tenant
) -> None:
    await seed(client, tenant)
    name = load_catalog()[0].name
    async with app.state.sessionmaker() as session:
        await session.execute(
            text("UPDATE tool_definitions SET description = 'stale' WHERE name = :name"),
            {"name": name},
        )
        await session.commit()
    result = await seed(client, tenant)
    assert (result["created"], result["updated"]) == (0, 1)
    page = await definitions(client, tenant, search=name)
    assert page["items"][0]["description"] == load_catalog()[0].description


@pytest.mark.parametrize("role", list(Role))
async def test_seed_needs_a_platform_admin(
    client: httpx.AsyncClient, tenant: Tenant, role: Role
) -> None:
    assert_error(await client.post("/api/tools/seed", headers=tenant.headers(role)), 403)
    assert_error(await client.post("/api/tools/seed"), 401)


async def test_definitions_are_global_and_sorted_by_name(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    await seed(client, tenant)
    page = await definitions(client, tenant)
    names = [item["name"] for item in page["items"]]
    assert names == sorted(names)
    assert page["limit"] == 20
    assert page["totalPages"] == -(-page["total"] // 20)
    theirs = expect(
        await client.get("/api/tools/definitions", headers=other_tenant.headers(Role.viewer)), 200
    )
    assert theirs == page
    item = page["items"][0]
    entry = next(e for e in load_catalog() if e.name == item["name"])
    assert item["inputSchema"] == entry.input_schema
    assert list(item["inputSchema"]) == list(entry.input_schema)


async def test_definitions_filter_search_and_sort(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    await seed(client, tenant)
    catalog = load_catalog()
    category = catalog[0].category
    page = await definitions(client, tenant, category=category, limit=100)
    assert page["total"] == sum(1 for e in catalog if e.category == category)
    assert {item["category"] for item in page["items"]} == {category}

    word = catalog[0].name.split("_")[0].upper()
    page = await definitions(client, tenant, search=word, limit=100)
    expected = {
        e.name
        for e in catalog
        if word.lower() in e.name.lower() or word.lower() in e.description.lower()
    }
    assert {item["name"] for item in page["items"]} == expected

    page = await definitions(client, tenant, sortBy="category", sortOrder="desc", limit=100)
    keys = [(item["category"], item["name"]) for item in page["items"]]
    assert keys == sorted(keys, reverse=True)
    assert (await definitions(client, tenant, category="no-such-category"))["total"] == 0


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"limit": "1000"},
        {"sortBy": "inputSchema"},
        {"sortOrder": "random"},
        {"category": ""},
        {"category": "c" * 101},
        {"search": "\x00"},
        {"search": "q" * 201},
        {"status": "active"},
    ],
)
async def test_invalid_definition_parameters_are_422(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    response = await client.get("/api/tools/definitions", params=params, headers=tenant.headers())
    assert_error(response, 422)
