"""`python -m bench.instructions`: CPU instructions per cache hit, counted by callgrind.

Throughput on a shared machine moves by a quarter within a minute; instruction counts
move by about 1% between runs (how the replies' bytes arrive from Redis varies). This
runs agenthub's app in-process (a temporary SQLite file with the demo data, the cache
on Redis under a prefix of its own) and counts, with valgrind's callgrind, the
instructions of:

* `hit`: one `GET /api/agents` answered by the hit path, through the app's ASGI entry
  (with the payload copy it keeps: a read of the entry's head, not of the page);
* `read`: one pipelined read of a page of that size through agenthub's Redis backend and
  the same two ASGI messages, with nothing else (what `bench/raw_pipelined_app.py` does
  per request).

Both send to a no-op `send`, so the server's own work (uvicorn, sockets) is left out:
the difference is what authenticating, scoping, checking the generations and the copy
cost in user space (the kernel's copies of the page, which the head read saves, are
not counted by callgrind). Each
is counted twice, over N and 3N requests after a warm-up, with instrumentation switched
on after the warm-up (`callgrind_control -i on`); the per-request figure is the
difference over 2N, which cancels what runs after the loop (shutdown).

Needs valgrind (`apt-get install valgrind`) and Redis (REDIS_URL, default
redis://127.0.0.1:6379/0). Takes a few minutes: callgrind runs Python ~50x slower.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvloop

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = "instructions-bench"
WARM_UP = 200


def _inner(mode: str, count: int, database: Path) -> None:
    """The inner run, under callgrind."""
    from agenthub import migrations
    from agenthub.config import Settings

    settings = Settings(
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL=REDIS_URL,
        CACHE_PREFIX=PREFIX,
        LOG_LEVEL="warning",
    )
    migrations.upgrade(settings.database_url)  # runs its own event loop
    # The event loop agenthub is served on (uvicorn --loop uvloop).
    uvloop.run(_measure(settings, mode, count))


async def _measure(settings: Any, mode: str, count: int) -> None:
    """Load the demo data, start the app, warm up, switch instrumentation on, loop."""
    from agenthub import demo
    from agenthub.db import create_engine, create_sessionmaker
    from agenthub.main import create_app

    engine = create_engine(settings.database_url)
    async with create_sessionmaker(engine)() as session:
        token = (await demo.prepare_demo(session, settings.PORT)).admin_token
    await engine.dispose()

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        request = _get_scope("/api/agents", token)
        answers: list[MutableMapping[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            answers.append(message)

        async def hit() -> None:
            await app(dict(request), receive, send)

        backend = app.state.caching.cache.backend
        key = f"{PREFIX}:read"
        await backend.set(key, b"x" * 8192, 600_000)
        prepared = backend.prepare_read([key])
        headers = [(b"content-type", b"application/json"), (b"content-length", b"8192")]

        async def read() -> None:
            body = (await backend.read(prepared))[0]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        run: Callable[[], Awaitable[None]] = {"hit": hit, "read": read}[mode]
        for _ in range(WARM_UP):
            await run()
        if mode == "hit" and dict(answers[-2]["headers"]).get(b"x-cache") != b"HIT":
            raise RuntimeError("the warmed-up request was not a cache hit")
        answers.clear()
        _instrument_from_here()
        for _ in range(count):
            await run()
            answers.clear()
        # Counted too from here to the exit, the same for N and 3N: the difference of the
        # two runs cancels it.
        await backend.delete([key])
        await app.state.caching.cache.clear()


def _get_scope(path: str, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", f"Bearer {token}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


def _instrument_from_here() -> None:
    subprocess.run(
        ["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True
    )


def _count(mode: str, count: int, workdir: Path) -> int:
    """Total instructions of one inner run (instrumented part only)."""
    out = workdir / f"callgrind.{mode}.{count}.out"
    database = workdir / f"{mode}-{count}.db"
    command = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instructions",
        "--inner",
        mode,
        str(count),
        str(database),
    ]
    # A fixed hash seed: dict and set layouts, hence instruction counts, repeat.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{mode} x{count} failed:\n{completed.stderr[-3000:]}")
    totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    if totals is None:
        raise RuntimeError(f"no totals in {out}")
    return int(totals.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    parser.add_argument("--requests", type=int, default=1000, help="N (default 1000)")
    parser.add_argument("--inner", nargs=3, metavar=("MODE", "COUNT", "DATABASE"))
    args = parser.parse_args(argv)
    if args.inner:
        mode, count, database = args.inner
        _inner(mode, int(count), Path(database))
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    n = args.requests
    per_request = {}
    with tempfile.TemporaryDirectory(prefix="agenthub-instructions-") as directory:
        for mode in ("read", "hit"):
            small = _count(mode, n, Path(directory))
            large = _count(mode, 3 * n, Path(directory))
            per_request[mode] = (large - small) / (2 * n)
            print(f"{mode}: {per_request[mode]:,.0f} instructions per request", flush=True)
    extra = per_request["hit"] - per_request["read"]
    print(
        f"the hit path beyond its one read: {extra:,.0f} instructions per request "
        f"({per_request['hit'] / per_request['read']:.2f}x the read alone)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
