from __future__ import annotations

import uuid
from typing import Annotated, cast

import httpx
from fastapi import APIRouter, Depends, Query, Request, Response

from agenthub.caching import CachedResponse, CachingDep, IfNoneMatch
from agenthub.config import Settings
from agenthub.db import SessionDep
from agenthub.exceptions import error_responses
from agenthub.organizations.dependencies import Admin, Viewer
from agenthub.responses import json_response
from agenthub.servers.schemas import (
    ServerCreate,
    ServerHealth,
    ServerListQuery,
    ServerPage,
    ServerPublic,
    ServerTools,
    ServerToolsUpdate,
    ServerUpdate,
)
from agenthub.servers.service import ServerService

router = APIRouter(prefix="/api/servers", tags=["servers"])


def get_server_service(request: Request, caching: CachingDep) -> ServerService:
    settings = cast(Settings, request.app.state.settings)
    client = cast(httpx.AsyncClient, request.app.state.http_client)
    return ServerService(client, settings.HEALTH_PROBE_TIMEOUT_SECONDS, caching)


ServerServiceDep = Annotated[ServerService, Depends(get_server_service)]

_READ_ERRORS = error_responses(401, 404, 422)
_WRITE_ERRORS = error_responses(401, 403, 404, 409, 413, 422)


@router.get("", response_model=ServerPage, responses=error_responses(401, 422))
async def list_servers(
    query: Annotated[ServerListQuery, Query()],
    principal: Viewer,
    session: SessionDep,
    service: ServerServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """List the organization's MCP servers."""
    page = await service.list_servers(session, principal.organization_id, query)
    return CachedResponse(page, if_none_match)


@router.post("", status_code=201, response_model=ServerPublic, responses=_WRITE_ERRORS)
async def create_server(
    body: ServerCreate, principal: Admin, session: SessionDep, service: ServerServiceDep
) -> Response:
    """Register an MCP server (names are unique in an organization)."""
    data = await service.create_server(session, principal.organization_id, body)
    return json_response(data, status_code=201)


@router.get("/{server_id}", response_model=ServerPublic, responses=_READ_ERRORS)
async def get_server(
    server_id: uuid.UUID, principal: Viewer, session: SessionDep, service: ServerServiceDep
) -> Response:
    """One server of the organization."""
    return json_response(await service.get_server(session, principal.organization_id, server_id))


@router.put("/{server_id}", response_model=ServerPublic, responses=_WRITE_ERRORS)
async def update_server(
    server_id: uuid.UUID,
    body: ServerUpdate,
    principal: Admin,
    session: SessionDep,
    service: ServerServiceDep,
) -> Response:
    """Change a server; fields left out keep their value."""
    data = await service.update_server(session, principal.organization_id, server_id, body)
    return json_response(data)


@router.delete("/{server_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_server(
    server_id: uuid.UUID, principal: Admin, session: SessionDep, service: ServerServiceDep
) -> Response:
    """Delete a server. Its agents stay, with `serverId` set to null; its tool settings go."""
    await service.delete_server(session, principal.organization_id, server_id)
    return Response(status_code=204)


@router.get("/{server_id}/tools", response_model=ServerTools, responses=_READ_ERRORS)
async def get_server_tools(
    server_id: uuid.UUID,
    principal: Viewer,
    session: SessionDep,
    service: ServerServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """The catalog tools attached to a server, enabled or not."""
    tools = await service.get_server_tools(session, principal.organization_id, server_id)
    return CachedResponse(tools, if_none_match)


@router.put("/{server_id}/tools", response_model=ServerTools, responses=_WRITE_ERRORS)
async def set_server_tools(
    server_id: uuid.UUID,
    body: ServerToolsUpdate,
    principal: Admin,
    session: SessionDep,
    service: ServerServiceDep,
) -> Response:
    """Enable or disable catalog tools on a server (tools not listed are unchanged)."""
    data = await service.set_server_tools(session, principal.organization_id, server_id, body)
    return json_response(data)


@router.get("/{server_id}/health", response_model=ServerHealth, responses=_READ_ERRORS)
async def get_server_health(
    server_id: uuid.UUID,
    principal: Viewer,
    session: SessionDep,
    service: ServerServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Probe the server's URL over HTTP (short timeout); stdio servers answer unknown."""
    health = await service.get_server_health(session, principal.organization_id, server_id)
    return CachedResponse(health, if_none_match)
