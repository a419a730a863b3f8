"""What the benchmarks ran on: the machine and the versions of everything involved."""

from __future__ import annotations

import asyncio
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import redis

from bench.database import server_version
from bench.wrk import wrk_version

PACKAGES = (
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "pydantic",
    "sqlalchemy",
    "asyncpg",
    "redis",
    "hiredis",
    "orjson",
    "fastapi-cache2",
    "httpx",
)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo")
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    meminfo = _read("/proc/meminfo")
    total_kb = next(
        (int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")),
        0,
    )
    os_release = _read("/etc/os-release")
    pretty = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in os_release.splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "memory_gib": round(total_kb / 1024 / 1024, 1),
        "os": pretty,
        "kernel": platform.release(),
    }


def versions(database_url: str, redis_url: str) -> dict[str, str]:
    found: dict[str, str] = {"python": platform.python_version()}
    try:
        found["postgresql"] = asyncio.run(server_version(database_url))
    except Exception as exc:  # the figures stay useful without it
        found["postgresql"] = f"unknown ({exc.__class__.__name__})"
    try:
        info = redis.Redis.from_url(redis_url).info("server")
        found["redis"] = str(info.get("redis_version", "unknown"))
    except redis.RedisError as exc:
        found["redis"] = f"unknown ({exc.__class__.__name__})"
    found["wrk"] = wrk_version()
    for package in PACKAGES:
        name = "redis-py" if package == "redis" else package  # not the server's version
        try:
            found[name] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
