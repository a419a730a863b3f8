"""What the yardstick apps share: the body they send, and the bare ASGI plumbing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# TTL of the body the Redis yardsticks store: a safety net only, as they delete it at
# shutdown and the harness clears their prefix.
KEY_TTL_MS = 3_600_000


def body_of_size(size: int) -> bytes:
    """JSON of exactly `size` bytes (at least 14): the agents page's stand-in."""
    return b'{"padding":"' + b"x" * (max(size, 14) - 14) + b'"}'


async def answer(send: Send, status: int, body: bytes) -> None:
    """A response with a content-type and a content-length, and nothing else."""
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


def body_app(
    start: Callable[[], Awaitable[None]],
    read: Callable[[], Awaitable[bytes | None]],
    stop: Callable[[], Awaitable[None]],
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """A plain ASGI app: `GET /api/agents` answers the bytes `read()` gives, and nothing
    else happens per request. `start` and `stop` run at the lifespan's start and end."""

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await start()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] != "GET" or scope["path"] != "/api/agents":
            await answer(send, 404, b'{"detail":"Not Found"}')
            return
        body = await read()
        if body is None:
            await answer(send, 503, b'{"detail":"bench key missing"}')
            return
        await answer(send, 200, body)

    return app
