from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from agenthub.organizations.schemas import Role
from tests.agenthub.factories import Tenant, assert_error, expect


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token ahk_abc",
        "Bearer ahk_not-a-real-token",
        "Bearer " + "x" * 5000,
        "bearer  ",
    ],
)
async def test_missing_or_garbled_token_is_401(
    client: httpx.AsyncClient, tenant: Tenant, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    for path in ("/api/agents", "/api/servers", "/api/tools/definitions", "/api/tokens"):
        response = await client.get(path, headers=headers)
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


async def test_non_latin1_header_bytes_are_401(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(
        "/api/agents", headers=[(b"Authorization", "Bearer ahk_\u00ff\u00fe".encode("latin-1"))]
    )
    assert_error(response, 401)


async def test_every_role_reads(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for role in Role:
        expect(await client.get("/api/agents", headers=tenant.headers(role)), 200)


async def test_admin_creates_lists_and_revokes_tokens(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = expect(
        await client.post(
            "/api/tokens", json={"name": "ci", "role": "member"}, headers=tenant.headers("admin")
        ),
        201,
    )
    assert created["token"].startswith("ahk_")
    assert created["role"] == "member"
    assert created["platformAdmin"] is False
    assert created["revokedAt"] is None
    assert created["organizationId"] == str(tenant.organization_id)

    new_headers = {"Authorization": f"Bearer {created['token']}"}
    expect(await client.get("/api/agents", headers=new_headers), 200)

    listing = expect(await client.get("/api/tokens", headers=tenant.headers("admin")), 200)
    assert listing["total"] == len(listing["items"]) == 6
    assert all("token" not in item for item in listing["items"])
    assert created["token"] not in str(listing)

    response = await client.delete(f"/api/tokens/{created['id']}", headers=tenant.headers("admin"))
    assert response.status_code == 204
    # Revocation takes effect on the very next request.
    assert_error(await client.get("/api/agents", headers=new_headers), 401)
    listing = expect(await client.get("/api/tokens", headers=tenant.headers("admin")), 200)
    revoked = next(item for item in listing["items"] if item["id"] == created["id"])
    assert revoked["revokedAt"] is not None
    # Revoking again changes nothing.
    response = await client.delete(f"/api/tokens/{created['id']}", headers=tenant.headers("admin"))
    assert response.status_code == 204


async def test_only_the_hash_of_a_token_is_stored(
    client: httpx.AsyncClient, app: FastAPI, tenant: Tenant
) -> None:
    created = expect(
        await client.post(
            "/api/tokens", json={"name": "x", "role": "viewer"}, headers=tenant.headers()
        ),
        201,
    )
    async with app.state.sessionmaker() as session:
        rows = (await session.execute(text("SELECT token_hash FROM api_tokens"))).scalars().all()
    assert created["token"] not in rows
    assert hashlib.sha256(created["token"].encode()).hexdigest() in rows


@pytest.mark.parametrize("role", [Role.viewer, Role.member])
async def test_viewers_and_members_cannot_manage_tokens(
    client: httpx.AsyncClient, tenant: Tenant, role: Role
) -> None:
    headers = tenant.headers(role)
    assert_error(await client.get("/api/tokens", headers=headers), 403, "forbidden")
    response = await client.post(
        "/api/tokens", json={"name": "x", "role": "viewer"}, headers=headers
    )
    assert_error(response, 403)
    response = await client.delete(f"/api/tokens/{uuid.uuid4()}", headers=headers)
    assert_error(response, 403)


async def test_a_token_cannot_grant_more_than_its_role(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    response = await client.post(
        "/api/tokens", json={"name": "x", "role": "owner"}, headers=tenant.headers("admin")
    )
    assert_error(response, 403)
    expect(
        await client.post(
            "/api/tokens", json={"name": "x", "role": "owner"}, headers=tenant.headers("owner")
        ),
        201,
    )


async def test_admin_cannot_revoke_owner_or_platform_tokens(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    listing = expect(await client.get("/api/tokens", headers=tenant.headers("owner")), 200)
    by_name = {item["name"]: item for item in listing["items"]}
    for name in ("owner token", "platform admin"):
        response = await client.delete(
            f"/api/tokens/{by_name[name]['id']}", headers=tenant.headers("admin")
        )
        assert_error(response, 403)
    # An owner that is no platform admin cannot revoke a platform admin's token either.
    response = await client.delete(
        f"/api/tokens/{by_name['platform admin']['id']}", headers=tenant.headers("owner")
    )
    assert_error(response, 403)
    response = await client.delete(
        f"/api/tokens/{by_name['admin token']['id']}", headers=tenant.headers("owner")
    )
    assert response.status_code == 204


async def test_tokens_are_scoped_to_their_organization(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = expect(await client.get("/api/tokens", headers=other_tenant.headers()), 200)
    ours = expect(await client.get("/api/tokens", headers=tenant.headers()), 200)
    assert {item["id"] for item in theirs["items"]}.isdisjoint(
        {item["id"] for item in ours["items"]}
    )
    # Another organization's token id answers 404, like a missing one.
    response = await client.delete(
        f"/api/tokens/{theirs['items'][0]['id']}", headers=tenant.headers()
    )
    assert_error(response, 404, "not_found")
    assert_error(await client.delete(f"/api/tokens/{uuid.uuid4()}", headers=tenant.headers()), 404)
    expect(await client.get("/api/agents", headers=other_tenant.headers()), 200)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x"},
        {"role": "viewer"},
        {"name": "x", "role": "superuser"},
        {"name": "", "role": "viewer"},
        {"name": "x" * 201, "role": "viewer"},
        {"name": 5, "role": "viewer"},
        {"name": "x", "role": "viewer", "platformAdmin": True},
        {"name": "a\u0000b", "role": "viewer"},
        [],
        "token",
    ],
)
async def test_invalid_token_bodies_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: object
) -> None:
    assert_error(await client.post("/api/tokens", json=body, headers=tenant.headers()), 422)


async def test_bad_token_id_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert_error(await client.delete("/api/tokens/123", headers=tenant.headers()), 422)
