from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.caching import CacheKeys, Caching, commit_and_invalidate, read_through
from agenthub.db import new_id, utcnow
from agenthub.exceptions import Conflict, NotFound, ValidationFailed
from agenthub.pagination import page_of
from agenthub.servers import repository
from agenthub.servers.models import Server
from agenthub.servers.schemas import (
    HealthStatus,
    ServerCreate,
    ServerHealth,
    ServerListQuery,
    ServerPublic,
    ServerTools,
    ServerToolsUpdate,
    ServerUpdate,
    Transport,
    check_endpoint,
)
from cachelayer import Cached

ServerChangeKind = Literal["server.created", "server.updated", "server.deleted", "server.tools"]


@dataclass(frozen=True, slots=True)
class ServerChange:
    kind: ServerChangeKind
    organization_id: uuid.UUID
    server_id: uuid.UUID


def _invalidations(change: ServerChange) -> Callable[[CacheKeys], list[str]]:
    """What a committed change makes stale (see the table in agenthub.caching)."""
    org, server = change.organization_id, change.server_id

    def keys_of(keys: CacheKeys) -> list[str]:
        if change.kind == "server.created":
            return [keys.servers_list_generation(org)]
        if change.kind == "server.tools":
            return [keys.server_tools_generation(org, server)]
        stale = [keys.servers_list_generation(org), keys.server_generation(org, server)]
        if change.kind == "server.deleted":
            # The database unlinked the server's agents (serverId is now null).
            stale += [keys.agents_list_generation(org), keys.all_agents_generation(org)]
        return stale

    return keys_of


class ServerService:
    """MCP servers of one organization. Reads go through the cache; writes commit with
    their invalidation staged in the same transaction, then deliver it."""

    def __init__(
        self, http_client: httpx.AsyncClient, probe_timeout: float, caching: Caching | None = None
    ) -> None:
        self._http = http_client
        self._probe_timeout = probe_timeout
        self._caching = caching

    async def list_servers(
        self, session: AsyncSession, organization_id: uuid.UUID, query: ServerListQuery
    ) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.servers_page(organization_id, query),
            lambda: self.load_servers_page(session, organization_id, query),
        )

    async def get_server_tools(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.server_tools(organization_id, server_id),
            lambda: self.load_server_tools(session, organization_id, server_id),
        )

    async def get_server_health(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.server_health(organization_id, server_id),
            lambda: self.load_server_health(session, organization_id, server_id),
        )

    async def load_servers_page(
        self, session: AsyncSession, organization_id: uuid.UUID, query: ServerListQuery
    ) -> dict[str, Any]:
        servers, total = await repository.list_servers(session, organization_id, query)
        return page_of([_public(server) for server in servers], total, query)

    async def get_server(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> dict[str, Any]:
        return _public(await self._get(session, organization_id, server_id))

    async def create_server(
        self, session: AsyncSession, organization_id: uuid.UUID, data: ServerCreate
    ) -> dict[str, Any]:
        server = repository.add_server(
            session,
            Server(
                id=new_id(),
                organization_id=organization_id,
                name=data.name,
                url=data.url,
                transport=data.transport.value,
                status=data.status.value,
            ),
        )
        await self._commit(session, ServerChange("server.created", organization_id, server.id))
        return _public(server)

    async def update_server(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        server_id: uuid.UUID,
        data: ServerUpdate,
    ) -> dict[str, Any]:
        server = await self._get(session, organization_id, server_id)
        changes = {
            field: value
            for field, value in data.model_dump(exclude_unset=True).items()
            if getattr(server, field) != value
        }
        if not changes:
            return _public(server)
        transport = Transport(changes.get("transport", server.transport))
        try:
            check_endpoint(transport, changes.get("url", server.url))
        except ValueError as exc:
            raise ValidationFailed(f"Invalid server: {exc}.") from exc
        for field, value in changes.items():
            setattr(server, field, value)
        server.updated_at = utcnow()
        await self._commit(session, ServerChange("server.updated", organization_id, server.id))
        return _public(server)

    async def delete_server(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> None:
        if not await repository.delete_server(session, organization_id, server_id):
            raise NotFound("Server not found.")
        await self._commit(session, ServerChange("server.deleted", organization_id, server_id))

    async def load_server_tools(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> dict[str, Any]:
        server = await self._get(session, organization_id, server_id)
        rows = await repository.list_server_tools(session, server.id)
        items = [row._asdict() for row in rows]
        return ServerTools(server_id=server.id, items=items, total=len(items)).to_json_data()

    async def set_server_tools(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        server_id: uuid.UUID,
        data: ServerToolsUpdate,
    ) -> dict[str, Any]:
        server = await self._get(session, organization_id, server_id)
        wanted = {tool.tool_definition_id: tool.enabled for tool in data.tools}
        unknown = set(wanted) - await repository.existing_tool_ids(session, wanted.keys())
        if unknown:
            raise ValidationFailed(
                "Some toolDefinitionId are not in the tool catalog.",
                details={"unknownToolDefinitionIds": sorted(str(tool_id) for tool_id in unknown)},
            )
        now = utcnow()
        current = await repository.get_server_tools(session, server.id, wanted.keys())
        for tool_id, enabled in wanted.items():
            setting = current.get(tool_id)
            if setting is None:
                repository.add_server_tool(session, server.id, tool_id, enabled, now)
            elif setting.enabled != enabled:
                setting.enabled = enabled
                setting.updated_at = now
        await self._commit(session, ServerChange("server.tools", organization_id, server.id))
        return await self.load_server_tools(session, organization_id, server.id)

    async def load_server_health(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> dict[str, Any]:
        server = await self._get(session, organization_id, server_id)
        if server.transport == Transport.stdio:
            return ServerHealth(
                server_id=server.id,
                status=HealthStatus.unknown,
                latency_ms=None,
                checked_at=utcnow(),
                error="stdio servers cannot be probed over HTTP",
            ).to_json_data()
        server_id, url = server.id, server.url
        # Give the connection back before the network call, which may take seconds.
        await session.rollback()
        status, error, latency_ms = await self._probe(url)
        return ServerHealth(
            server_id=server_id,
            status=status,
            latency_ms=latency_ms,
            checked_at=utcnow(),
            error=error,
        ).to_json_data()

    async def _probe(self, url: str) -> tuple[HealthStatus, str | None, float]:
        """GET the URL and look at the status line only: an SSE endpoint never ends its body."""
        started = time.perf_counter()
        status, error = HealthStatus.unhealthy, None
        try:
            async with asyncio.timeout(self._probe_timeout):
                async with self._http.stream(
                    "GET",
                    url,
                    timeout=self._probe_timeout,
                    headers={"Accept": "application/json, text/event-stream"},
                ) as response:
                    if response.status_code < 500:
                        status = HealthStatus.healthy
                    else:
                        error = f"HTTP {response.status_code}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"no answer within {self._probe_timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        return status, error, round((time.perf_counter() - started) * 1000, 1)

    async def _get(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> Server:
        server = await repository.get_server(session, organization_id, server_id)
        if server is None:
            raise NotFound("Server not found.")
        return server

    async def _commit(self, session: AsyncSession, change: ServerChange) -> None:
        try:
            await commit_and_invalidate(self._caching, session, _invalidations(change))
        except IntegrityError as exc:
            await session.rollback()
            raise Conflict(
                "A server with this name already exists in the organization, or the server "
                "was deleted meanwhile."
            ) from exc


def _public(server: Server) -> dict[str, Any]:
    return ServerPublic.model_validate(server).to_json_data()
