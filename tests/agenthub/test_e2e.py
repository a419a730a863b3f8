"""The README's way: start the real server process with demo data, call it over HTTP."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port, wait_for_port

AGENTHUB = Path(sys.executable).parent / "agenthub"


@pytest.mark.slow
def test_serve_demo_answers_over_http(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_"))}
    env["PYTHONUNBUFFERED"] = "1"
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [str(AGENTHUB), "serve", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert process.stdout is not None
        output = ""
        deadline = time.monotonic() + 60
        while "Platform admin token" not in output and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output += line
        admin = re.search(r"Admin token for acme \(Acme Corp\): (ahk_\S+)", output)
        platform = re.search(r"Platform admin token: (ahk_\S+)", output)
        assert admin, output + (tmp_path / "server.log").read_text()
        assert platform, output
        wait_for_port(port, seconds=30)

        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {admin.group(1)}"}
        with httpx.Client(base_url=base, timeout=10) as client:
            assert client.get("/health").json() == {"status": "ok"}
            assert client.get("/ready").status_code == 200
            agents = client.get("/api/agents", params={"limit": 5}, headers=headers)
            assert agents.status_code == 200, agents.text
            body = agents.json()
            assert body["total"] == 40
            assert len(body["items"]) == 5
            agent_id = body["items"][0]["id"]
            stats = client.get(f"/api/agents/{agent_id}/stats", headers=headers)
            assert stats.status_code == 200
            servers = client.get("/api/servers", headers=headers).json()
            assert servers["total"] == 4
            tools = client.get("/api/tools/definitions", headers=headers).json()
            assert tools["total"] >= 200
            # The demo's own server entry points at this process, so it probes healthy.
            own = next(s for s in servers["items"] if s["name"] == "agenthub-self")
            assert own["url"] == f"http://127.0.0.1:{port}/health"
            health = client.get(f"/api/servers/{own['id']}/health", headers=headers).json()
            assert health["status"] == "healthy"
            seeded = client.post(
                "/api/tools/seed", headers={"Authorization": f"Bearer {platform.group(1)}"}
            )
            assert seeded.json()["created"] == 0
            unauthorized = client.get("/api/agents")
            assert unauthorized.status_code == 401
            assert unauthorized.json()["error"]["code"] == "unauthorized"
        assert (tmp_path / "data" / "agenthub.db").exists()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
        log.close()
