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
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import redis.asyncio
import redis.driver_info

BODY_BYTES = max(14, int(os.environ.get("BENCH_BODY_BYTES", "6900")))
BODY = b'{"padding":"' + b"x" * (BODY_BYTES - 14) + b'"}'
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("RAW_REDIS_PREFIX", "raw-redis-bench")
KEY = f"{PREFIX}:agents-page:{os.getpid()}"
# A safety net only: the key is deleted at shutdown, and the harness clears the prefix.
KEY_TTL_MS = 3_600_000

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

client: redis.asyncio.Redis | None = None


async def _lifespan(receive: Receive, send: Send) -> None:
    global client
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            try:
                client = redis.asyncio.Redis.from_url(
                    REDIS_URL,
                    socket_timeout=None,
                    driver_info=redis.driver_info.DriverInfo(name=None, lib_version=None),
                )
                await client.set(KEY, BODY, px=KEY_TTL_MS)
            except Exception as exc:
                await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                return
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if client is not None:
                await client.delete(KEY)
                await client.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    if scope["method"] != "GET" or scope["path"] != "/api/agents":
        await _answer(send, 404, b'{"detail":"Not Found"}')
        return
    assert client is not None  # set by the lifespan before any request
    body = await client.get(KEY)
    if body is None:
        await _answer(send, 503, b'{"detail":"bench key missing"}')
        return
    await _answer(send, 200, body)
