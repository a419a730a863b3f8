"""The second yardstick: a plain ASGI app (no framework) doing one redis-py GET per request.

At start-up (lifespan) it stores a body of the agents page's size (BENCH_BODY_BYTES, the
same bytes as `bench/bare_app.py`) under one key of a bench-only prefix
(RAW_REDIS_PREFIX); each `GET /api/agents` is one redis-py asyncio `GET` of that key,
sent back with a content-type and a content-length; at shutdown the key is deleted.
The client has the settings agenthub's Redis backend uses (no socket timeout, so no
`asyncio.wait_for` per command; no `CLIENT SETINFO` on connect). Nothing else happens
per request: no routing, validation, authentication or key building. Its throughput is
what any design that does one redis-py round trip per hit can reach on this machine and
stack. Served with the same uvicorn options as agenthub.

Environment: REDIS_URL, RAW_REDIS_PREFIX, BENCH_BODY_BYTES.
"""

from __future__ import annotations

import os

import redis.asyncio
import redis.driver_info

from bench.yardsticks import KEY_TTL_MS, body_app, body_of_size

BODY = body_of_size(int(os.environ.get("BENCH_BODY_BYTES", "6900")))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("RAW_REDIS_PREFIX", "raw-redis-bench")
KEY = f"{PREFIX}:agents-page:{os.getpid()}"

client = redis.asyncio.Redis.from_url(
    REDIS_URL,
    socket_timeout=None,
    driver_info=redis.driver_info.DriverInfo(name=None, lib_version=None),
)


async def _start() -> None:
    await client.set(KEY, BODY, px=KEY_TTL_MS)


async def _read() -> bytes | None:
    return await client.get(KEY)


async def _stop() -> None:
    await client.delete(KEY)
    await client.aclose()


app = body_app(_start, _read, _stop)
