from __future__ import annotations

import httpx

from agenthub.config import Settings
from agenthub.main import create_app
from tests.agenthub.factories import assert_error, expect


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    assert expect(await client.get("/health"), 200) == {"status": "ok"}


async def test_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    ready = expect(await client.get("/ready"), 200)
    assert (ready["status"], ready["database"]) == ("ready", "ok")
    assert ready["cache"]["backend"] == "memory"
    assert (ready["cache"]["enabled"], ready["cache"]["breaker"]) == (True, "closed")


async def test_not_ready_without_a_database(tmp_path: object) -> None:
    app = create_app(Settings(DATABASE_URL="sqlite+aiosqlite:////nonexistent/dir/agenthub.db"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert expect(await client.get("/health"), 200) == {"status": "ok"}
            error = assert_error(await client.get("/ready"), 503, "service_unavailable")
            assert error["details"] == {"database": "down"}
