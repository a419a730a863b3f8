"""The OpenAPI document describes every route, parameter, body, answer and error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agenthub.config import Settings
from agenthub.main import create_app


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app(Settings(DATABASE_URL="sqlite+aiosqlite:///:memory:")).openapi()


EXPECTED_OPERATIONS = {
    ("get", "/api/agents"),
    ("post", "/api/agents"),
    ("get", "/api/agents/{agent_id}"),
    ("put", "/api/agents/{agent_id}"),
    ("delete", "/api/agents/{agent_id}"),
    ("get", "/api/agents/{agent_id}/stats"),
    ("post", "/api/agents/{agent_id}/runs"),
    ("get", "/api/servers"),
    ("post", "/api/servers"),
    ("get", "/api/servers/{server_id}"),
    ("put", "/api/servers/{server_id}"),
    ("delete", "/api/servers/{server_id}"),
    ("get", "/api/servers/{server_id}/tools"),
    ("put", "/api/servers/{server_id}/tools"),
    ("get", "/api/servers/{server_id}/health"),
    ("get", "/api/tools/definitions"),
    ("post", "/api/tools/seed"),
    ("post", "/api/tokens"),
    ("get", "/api/tokens"),
    ("delete", "/api/tokens/{token_id}"),
    ("get", "/health"),
    ("get", "/ready"),
}


def _operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_endpoint_is_documented(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    assert set(operations) == EXPECTED_OPERATIONS
    for key, operation in operations.items():
        assert operation.get("description") or operation.get("summary"), key
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, key
        if key[1].startswith("/api/"):
            assert "401" in operation["responses"], key
            assert operation.get("security"), key
        for code, response in operation["responses"].items():
            if code[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (key, code)


def test_list_parameters_are_documented(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    expected = {
        "/api/agents": {
            "page",
            "limit",
            "sortBy",
            "sortOrder",
            "serverId",
            "status",
            "role",
            "search",
        },
        "/api/servers": {"page", "limit", "sortBy", "sortOrder", "status", "transport", "search"},
        "/api/tools/definitions": {"page", "limit", "sortBy", "sortOrder", "category", "search"},
    }
    for path, names in expected.items():
        parameters = operations[("get", path)]["parameters"]
        query = [p for p in parameters if p["in"] == "query"]
        headers = [p for p in parameters if p["in"] == "header"]
        assert {p["name"] for p in query} == names
        # Cached reads answer 304 to a matching If-None-Match.
        assert [p["name"] for p in headers] == ["if-none-match"]


def test_bodies_and_answers_have_schemas(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    for key in [("post", "/api/agents"), ("put", "/api/servers/{server_id}/tools")]:
        assert "requestBody" in operations[key]
    page = operations[("get", "/api/agents")]["responses"]["200"]["content"]
    schema_ref = page["application/json"]["schema"]["$ref"]
    page_schema = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert set(page_schema["properties"]) == {"items", "total", "page", "limit", "totalPages"}
    agent = spec["components"]["schemas"]["AgentPublic"]
    assert "serverId" in agent["properties"]
    assert "createdAt" in agent["properties"]


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "agenthub"
