"""The app factory: one function that builds the API and the resources it runs on."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agenthub.agents.router import router as agents_router
from agenthub.caching import Caching
from agenthub.config import Settings
from agenthub.db import create_engine, create_sessionmaker
from agenthub.exceptions import PayloadTooLarge, add_exception_handlers, error_response
from agenthub.health.router import router as health_router
from agenthub.hitpath import HitPath
from agenthub.metrics import build_registry
from agenthub.metrics import router as metrics_router
from agenthub.organizations.router import router as tokens_router
from agenthub.servers.router import router as servers_router
from agenthub.tools.router import router as tools_router

logger = logging.getLogger(__name__)

DESCRIPTION = """\
Multi-tenant registry of AI agents, the MCP servers they use and the tools those servers
expose. Every call needs `Authorization: Bearer <token>`; every answer is scoped to the
token's organization. Errors have one shape: `{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: AgentHubAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        # Shared by server health probes; each probe sets its own short timeout.
        app.state.http_client = httpx.AsyncClient(verify=_ssl_context(), follow_redirects=False)
        async with _cache_running(app, settings):
            # What start-up built lives as long as the app: keep it out of the cyclic
            # garbage collector's full passes, which otherwise stall hot requests.
            gc.collect()
            gc.freeze()
            try:
                yield
            finally:
                await app.state.http_client.aclose()
        await engine.dispose()

    app = AgentHubAPI(
        title="agenthub",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    add_exception_handlers(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(agents_router)
    app.include_router(servers_router)
    app.include_router(tools_router)
    app.include_router(tokens_router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.MAX_BODY_BYTES)
    return app


class AgentHubAPI(FastAPI):
    """FastAPI with the cache hit path in front of everything, middleware included."""

    # Set while the app runs with its cache on (an attribute: `app.state` lookups cost a
    # Python call per request).
    hit_path: HitPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hit_path = self.hit_path
        if hit_path is not None and await hit_path.answer(scope, send):
            return
        await super().__call__(scope, receive, send)


@asynccontextmanager
async def _cache_running(app: AgentHubAPI, settings: Settings) -> AsyncIterator[None]:
    """Build the cache once; deliver pending invalidations before the first read."""
    caching = Caching.build(settings, app.state.sessionmaker) if settings.CACHE_ENABLED else None
    app.state.caching = caching
    if caching is None:
        app.state.metrics_registry = CollectorRegistry()
        yield
        return
    app.state.metrics_registry = build_registry(caching)
    await caching.cache.start()
    drain = None
    if caching.invalidator.durable:
        drain = asyncio.create_task(
            caching.invalidator.drain_periodically(settings.CACHE_OUTBOX_POLL_SECONDS)
        )
    app.hit_path = HitPath(caching)
    try:
        yield
    finally:
        app.hit_path = None
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        await caching.cache.close()


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once per process is enough.
    return httpx.create_ssl_context()


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, declared (Content-Length) or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and not declared.isdigit():
            response = error_response(400, "bad_request", "Invalid Content-Length header.")
            await response(scope, receive, send)
            return
        if declared is not None and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        # Read the body up front (it is small by now), then replay it to the app.
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(f"The request body is larger than {self.max_bytes} bytes.")
        response = error_response(error.status_code, error.code, error.message)
        await response(scope, receive, send)
