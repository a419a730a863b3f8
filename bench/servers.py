"""The processes under test: one uvicorn worker each, on a free loopback port.

Plus the tiny HTTP server that MCP server health probes reach during the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent

# The same for every server measured: one worker, uvloop and httptools, no access log.
UVICORN_OPTIONS = (
    "--workers",
    "1",
    "--loop",
    "uvloop",
    "--http",
    "httptools",
    "--no-access-log",
    "--log-level",
    "warning",
)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all its threads included (/proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        return process_cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def uvicorn_server(
    name: str,
    app: str,
    env: Mapping[str, str],
    ready_path: str,
    log_dir: Path,
    *,
    factory: bool = False,
    ready_headers: Mapping[str, str] | None = None,
) -> Iterator[Server]:
    """Start `uvicorn app` in a subprocess, wait until `ready_path` answers, stop it after."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if factory:
        command.append("--factory")
    command += UVICORN_OPTIONS
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    process_env = {**os.environ, **env, "PYTHONPATH": _pythonpath()}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=process_env, stdout=log, stderr=subprocess.STDOUT
        )
    server = Server(name, port, process, log_path)
    try:
        _wait_ready(server, ready_path, ready_headers or {})
        yield server
    finally:
        server.stop()


def _pythonpath() -> str:
    parts = [str(ROOT), str(ROOT / "src")]
    existing = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*parts, existing] if existing else parts)


def _wait_ready(server: Server, path: str, headers: Mapping[str, str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    last_error = ""
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
                )
            try:
                response = client.get(path, headers=dict(headers))
                if response.status_code < 500:
                    return
                last_error = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last_error = repr(exc)
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(
        f"{server.name} not ready after {seconds}s ({last_error}):\n{server.log_tail()}"
    )


class _HealthyHandler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b'{"status":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = _answer
    do_HEAD = _answer
    do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        return


@contextlib.contextmanager
def health_target() -> Iterator[str]:
    """A local HTTP endpoint that answers 200: the URL a benchmarked MCP server points at."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HealthyHandler)
    thread = threading.Thread(target=server.serve_forever, name="health-target", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/mcp"
    finally:
        server.shutdown()
        server.server_close()
