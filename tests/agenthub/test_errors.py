"""Every error, whoever raises it, answers with the same envelope."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from agenthub.config import Settings
from agenthub.main import create_app
from tests.agenthub.factories import Tenant, assert_error


@pytest.mark.parametrize("path", ["/", "/api", "/api/agent", "/api/agents/x/y/z", "/%00"])
async def test_unknown_routes_are_404(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/health"), ("PATCH", "/api/agents"), ("POST", "/api/tools/definitions")],
)
async def test_wrong_method_is_405(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"]


async def test_oversize_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = b'{"name": "x", "role": "r", "description": "' + b"a" * 1_100_000 + b'"}'
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post("/api/agents", content=body, headers=headers)
    assert_error(response, 413, "payload_too_large")


async def test_oversize_streamed_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"a" * 65_536

    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post("/api/agents", content=chunks(), headers=headers)
    assert_error(response, 413)


async def test_unexpected_errors_are_500_envelopes(settings: Settings) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    error = assert_error(response, 500, "internal_error")
    assert "secret" not in response.text
    assert error["details"] is None
