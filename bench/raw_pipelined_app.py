"""The third yardstick: a plain ASGI app doing one read per request through agenthub's
own Redis backend (`RedisBackend.read`: the hit path's pipelined connection).

Like `bench/raw_redis_app.py`, it stores a body of the agents page's size at start-up
under a bench-only prefix and deletes it at shutdown; each `GET /api/agents` is one
`MGET` of that key, sent back with a content-type and a content-length. Nothing else
happens per request: no routing, authentication or key building. Its throughput is the
ceiling of agenthub's hit path on this machine: the difference between the two is what
authenticating, scoping and checking generations cost.

Environment: REDIS_URL, RAW_REDIS_PREFIX, BENCH_BODY_BYTES.
"""

from __future__ import annotations

import os

from bench.yardsticks import KEY_TTL_MS, body_app, body_of_size
from cachelayer import RedisBackend

BODY = body_of_size(int(os.environ.get("BENCH_BODY_BYTES", "6900")))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("RAW_REDIS_PREFIX", "raw-redis-bench")
KEY = f"{PREFIX}:agents-page-pipelined:{os.getpid()}"

backend = RedisBackend.from_url(REDIS_URL, timeout=1.0)
prepared = backend.prepare_read([KEY])


async def _start() -> None:
    await backend.set(KEY, BODY, KEY_TTL_MS)


async def _read() -> bytes | None:
    return (await backend.read(prepared))[0]


async def _stop() -> None:
    await backend.delete([KEY])
    await backend.close()


app = body_app(_start, _read, _stop)
