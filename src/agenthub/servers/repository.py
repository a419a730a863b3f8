from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    Text,
    Uuid,
    column,
    delete,
    func,
    or_,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.db import ordered_page
from agenthub.pagination import SortOrder, contains_pattern
from agenthub.servers.models import Server, ServerTool
from agenthub.servers.schemas import ServerListQuery, ServerSortBy

# The tools domain is not imported (domains stay independent): a server's tool list
# reads these columns of the global catalog table.
_tools = table(
    "tool_definitions",
    column("id", Uuid()),
    column("name", String()),
    column("description", Text()),
    column("category", String()),
    column("version", String()),
)

_SORT_KEYS: dict[ServerSortBy, tuple[Any, ...]] = {
    ServerSortBy.name: (Server.name, Server.id),
    ServerSortBy.created_at: (Server.created_at, Server.id),
    ServerSortBy.updated_at: (Server.updated_at, Server.id),
    ServerSortBy.status: (Server.status, Server.name, Server.id),
}


def _filters(organization_id: uuid.UUID, query: ServerListQuery) -> list[ColumnElement[bool]]:
    filters = [Server.organization_id == organization_id]
    if query.status is not None:
        filters.append(Server.status == query.status.value)
    if query.transport is not None:
        filters.append(Server.transport == query.transport.value)
    if query.search is not None:
        pattern = contains_pattern(query.search)
        filters.append(
            or_(Server.name.ilike(pattern, escape="\\"), Server.url.ilike(pattern, escape="\\"))
        )
    return filters


def list_statement(organization_id: uuid.UUID, query: ServerListQuery) -> Select[Server]:
    return ordered_page(
        select(Server).where(*_filters(organization_id, query)),
        _SORT_KEYS[query.sort_by],
        query.sort_order is SortOrder.desc,
        query.limit,
        query.offset,
    )


async def list_servers(
    session: AsyncSession, organization_id: uuid.UUID, query: ServerListQuery
) -> tuple[Sequence[Server], int]:
    count = select(func.count()).select_from(Server).where(*_filters(organization_id, query))
    total = (await session.execute(count)).scalar_one()
    if total <= query.offset:
        return [], total
    servers = (await session.execute(list_statement(organization_id, query))).scalars().all()
    return servers, total


async def get_server(
    session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
) -> Server | None:
    statement = select(Server).where(
        Server.organization_id == organization_id, Server.id == server_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


def add_server(session: AsyncSession, server: Server) -> Server:
    session.add(server)
    return server


async def delete_server(
    session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
) -> bool:
    """Delete the server; the database unlinks its agents (ON DELETE SET NULL) and drops
    its tool settings (ON DELETE CASCADE) in the same statement."""
    result = await session.execute(
        delete(Server).where(Server.organization_id == organization_id, Server.id == server_id)
    )
    return bool(getattr(result, "rowcount", 0))


async def list_server_tools(session: AsyncSession, server_id: uuid.UUID) -> Sequence[Row[Any]]:
    """The server's tools with their catalog fields; the caller has checked the server's
    organization."""
    statement = (
        select(
            ServerTool.tool_definition_id,
            _tools.c.name,
            _tools.c.description,
            _tools.c.category,
            _tools.c.version,
            ServerTool.enabled,
            ServerTool.updated_at,
        )
        .join(_tools, _tools.c.id == ServerTool.tool_definition_id)
        .where(ServerTool.server_id == server_id)
        .order_by(_tools.c.category, _tools.c.name)
    )
    return (await session.execute(statement)).all()


async def existing_tool_ids(
    session: AsyncSession, tool_ids: Collection[uuid.UUID]
) -> set[uuid.UUID]:
    statement = select(_tools.c.id).where(_tools.c.id.in_(list(tool_ids)))
    return set((await session.execute(statement)).scalars().all())


async def get_server_tools(
    session: AsyncSession, server_id: uuid.UUID, tool_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, ServerTool]:
    statement = select(ServerTool).where(
        ServerTool.server_id == server_id, ServerTool.tool_definition_id.in_(list(tool_ids))
    )
    return {row.tool_definition_id: row for row in (await session.execute(statement)).scalars()}


def add_server_tool(
    session: AsyncSession, server_id: uuid.UUID, tool_id: uuid.UUID, enabled: bool, now: datetime
) -> None:
    session.add(
        ServerTool(
            server_id=server_id,
            tool_definition_id=tool_id,
            enabled=enabled,
            created_at=now,
            updated_at=now,
        )
    )
