"""Server health probes, against HTTP servers started here on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from agenthub.servers.schemas import ServerHealth
from tests.agenthub.factories import Tenant, create_server, expect
from tests.servers import free_port


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        if self.path == "/sse":
            # An event stream never ends: the probe must not wait for its body.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for _ in range(50):
                try:
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                except OSError:
                    return
                time.sleep(0.1)
            return
        status = {"/ok": 200, "/mcp": 405, "/fail": 503, "/slow": 200}.get(self.path, 404)
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def probe_target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def probe(client: httpx.AsyncClient, tenant: Tenant, **fields: str) -> dict[str, object]:
    server = await create_server(client, tenant, **fields)
    result: dict[str, object] = expect(
        await client.get(f"/api/servers/{server['id']}/health", headers=tenant.headers("viewer")),
        200,
    )
    ServerHealth.model_validate(result)
    assert result["serverId"] == server["id"]
    checked_at = datetime.fromisoformat(str(result["checkedAt"]).replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - checked_at).total_seconds()) < 10
    return result


@pytest.mark.parametrize("path", ["/ok", "/mcp", "/missing"])
async def test_answering_server_is_healthy(
    client: httpx.AsyncClient, tenant: Tenant, probe_target: str, path: str
) -> None:
    result = await probe(client, tenant, url=probe_target + path, transport="http")
    assert result["status"] == "healthy"
    assert result["error"] is None
    assert isinstance(result["latencyMs"], float)
    assert result["latencyMs"] >= 0


async def test_sse_server_is_healthy_without_reading_the_stream(
    client: httpx.AsyncClient, tenant: Tenant, probe_target: str
) -> None:
    started = time.monotonic()
    result = await probe(client, tenant, url=probe_target + "/sse", transport="sse")
    assert result["status"] == "healthy"
    assert time.monotonic() - started < 2


async def test_server_error_is_unhealthy(
    client: httpx.AsyncClient, tenant: Tenant, probe_target: str
) -> None:
    result = await probe(client, tenant, url=probe_target + "/fail", transport="http")
    assert result["status"] == "unhealthy"
    assert result["error"] == "HTTP 503"


async def test_refused_connection_is_unhealthy(client: httpx.AsyncClient, tenant: Tenant) -> None:
    result = await probe(client, tenant, url=f"http://127.0.0.1:{free_port()}/", transport="http")
    assert result["status"] == "unhealthy"
    assert result["error"]


async def test_slow_server_times_out(
    client: httpx.AsyncClient, tenant: Tenant, probe_target: str
) -> None:
    started = time.monotonic()
    result = await probe(client, tenant, url=probe_target + "/slow", transport="http")
    # The test settings use a 0.5 s probe timeout.
    assert time.monotonic() - started < 2
    assert result["status"] == "unhealthy"
    assert "0.5 s" in str(result["error"])


async def test_stdio_server_is_unknown(client: httpx.AsyncClient, tenant: Tenant) -> None:
    result = await probe(client, tenant, url="npx -y some-mcp-server", transport="stdio")
    assert result["status"] == "unknown"
    assert result["latencyMs"] is None
