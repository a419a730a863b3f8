"""Plain helpers that create test data through the service layer or the API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from agenthub.organizations import repository
from agenthub.organizations.schemas import Role
from agenthub.organizations.service import generate_secret, hash_secret


@dataclass
class Tenant:
    organization_id: uuid.UUID
    slug: str
    tokens: dict[Role, str] = field(default_factory=dict)
    platform_admin_token: str = ""

    def headers(self, role: Role | str = Role.owner) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[Role(role)]}"}

    @property
    def platform_admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.platform_admin_token}"}


async def make_tenant(app: FastAPI, slug: str) -> Tenant:
    """An organization with a token per role and a platform-admin token (one commit)."""
    async with app.state.sessionmaker() as session:
        organization = repository.add_organization(session, name=slug.title(), slug=slug)
        await session.flush()
        tenant = Tenant(organization_id=organization.id, slug=slug)
        grants = [(f"{role} token", role, False) for role in Role]
        grants.append(("platform admin", Role.owner, True))
        for name, role, platform_admin in grants:
            secret = generate_secret()
            repository.add_token(
                session, organization.id, name, role.value, hash_secret(secret), platform_admin
            )
            if platform_admin:
                tenant.platform_admin_token = secret
            else:
                tenant.tokens[role] = secret
        await session.commit()
    return tenant


def expect(response: httpx.Response, status: int) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def create_server(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {
        "name": f"server-{uuid.uuid4().hex[:8]}",
        "url": "http://127.0.0.1:9/mcp",
        "transport": "http",
        **fields,
    }
    result: dict[str, Any] = expect(
        await client.post("/api/servers", json=body, headers=tenant.headers(Role.admin)), 201
    )
    return result


async def create_agent(client: httpx.AsyncClient, tenant: Tenant, **fields: Any) -> dict[str, Any]:
    body = {"name": f"agent-{uuid.uuid4().hex[:8]}", "role": "assistant", **fields}
    result: dict[str, Any] = expect(
        await client.post("/api/agents", json=body, headers=tenant.headers(Role.member)), 201
    )
    return result


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error envelope with this status (and code)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    error: dict[str, Any] = body["error"]
    return error
