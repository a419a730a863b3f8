"""Running wrk and reading its results: a Lua `done()` prints them as one JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MARKER = "BENCH_JSON "

# Latency percentiles in microseconds, requests and errors, and (when the script counts
# them) the X-Cache header values the responses carried.
_DONE = r"""
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local cache = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("xcache")
    if counts then
      for status, n in pairs(counts) do cache[status] = (cache[status] or 0) + n end
    end
  end
  local parts = {}
  for status, n in pairs(cache) do table.insert(parts, string.format('"%s":%d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d},"xcache":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, table.concat(parts, ",")))
end
"""

# Optional: send each request to the next path of a list (each thread takes its own
# share of it), and count the X-Cache header of every response.
_ROTATE = r"""
local paths = {%s}
local position = 0
local step = 1
xcache = {}

function init(args)
  position = wrk.thread:get("id") or 0
  step = tonumber(args[1]) or 1
end

function request()
  position = position + step
  local path = paths[((position - 1) %% #paths) + 1]
  return wrk.format(nil, path)
end

function response(status, headers, body)
  local value = headers["x-cache"] or headers["X-Cache"] or "none"
  xcache[value] = (xcache[value] or 0) + 1
end
"""


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class WrkSettings:
    threads: int = 1
    connections: int = 32
    duration: str = "10s"
    timeout: str = "5s"


@dataclass(slots=True)
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: dict[str, int]
    bytes_per_response: float
    xcache: dict[str, int] = field(default_factory=dict)
    # CPU time the server process spent per answered request during the run (user +
    # system): what a request costs the server, whatever share of the machine it got.
    server_cpu_us: float | None = None
    # Bytes the Redis server sent (to anyone) per answered request during the run: what
    # a request costs the network between the server and Redis.
    redis_bytes_out_per_request: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk_binary() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing("wrk is not installed: apt-get install wrk")
    return path


def wrk_version() -> str:
    completed = subprocess.run(
        [wrk_binary(), "--version"], capture_output=True, text=True, check=False
    )
    first = (completed.stdout or completed.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def run_wrk(
    url: str,
    settings: WrkSettings,
    headers: dict[str, str] | None = None,
    rotate_paths: Sequence[str] | None = None,
) -> WrkResult:
    """One wrk run against `url` (or the `rotate_paths` of its host, one per request)."""
    script = _DONE
    if rotate_paths:
        listed = ",".join(json.dumps(path) for path in rotate_paths)
        script = _ROTATE % listed + script
    with tempfile.TemporaryDirectory(prefix="agenthub-wrk-") as directory:
        script_path = Path(directory) / "bench.lua"
        script_path.write_text(script)
        command = [
            wrk_binary(),
            f"-t{settings.threads}",
            f"-c{settings.connections}",
            f"-d{settings.duration}",
            f"--timeout={settings.timeout}",
            "-s",
            str(script_path),
        ]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        command.append(url)
        if rotate_paths:
            command += ["--", str(settings.threads)]
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
    return parse_wrk_output(completed.stdout, completed.stderr, completed.returncode)


def parse_wrk_output(stdout: str, stderr: str = "", returncode: int = 0) -> WrkResult:
    line = next((ln for ln in stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk failed (exit {returncode}): {stderr.strip() or stdout.strip()}")
    raw = json.loads(line[len(MARKER) :])
    seconds = raw["duration_us"] / 1e6
    latency = raw["latency_us"]
    requests = raw["requests"]
    return WrkResult(
        requests=requests,
        seconds=round(seconds, 3),
        requests_per_second=round(requests / seconds, 1) if seconds else 0.0,
        p50_ms=latency["p50"] / 1000,
        p90_ms=latency["p90"] / 1000,
        p99_ms=latency["p99"] / 1000,
        mean_ms=round(latency["mean"] / 1000, 3),
        max_ms=latency["max"] / 1000,
        errors=raw["errors"],
        bytes_per_response=round(raw["bytes"] / requests, 1) if requests else 0.0,
        xcache=raw["xcache"],
    )
