from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from agenthub.agents.schemas import (
    AgentCreate,
    AgentListQuery,
    AgentPage,
    AgentPublic,
    AgentStats,
    AgentUpdate,
    RunCreate,
    RunPublic,
)
from agenthub.agents.service import AgentService
from agenthub.caching import CachedResponse, CachingDep, IfNoneMatch
from agenthub.db import SessionDep
from agenthub.exceptions import error_responses
from agenthub.organizations.dependencies import Member, Viewer
from agenthub.responses import json_response

router = APIRouter(prefix="/api/agents", tags=["agents"])


def get_agent_service(caching: CachingDep) -> AgentService:
    return AgentService(caching)


AgentServiceDep = Annotated[AgentService, Depends(get_agent_service)]

_READ_ERRORS = error_responses(401, 404, 422)
_WRITE_ERRORS = error_responses(401, 403, 404, 409, 413, 422)


@router.get("", response_model=AgentPage, responses=error_responses(401, 422))
async def list_agents(
    query: Annotated[AgentListQuery, Query()],
    principal: Viewer,
    session: SessionDep,
    service: AgentServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """List the organization's agents, filtered, searched, sorted and paged."""
    page = await service.list_agents(session, principal.organization_id, query)
    return CachedResponse(page, if_none_match)


@router.post("", status_code=201, response_model=AgentPublic, responses=_WRITE_ERRORS)
async def create_agent(
    body: AgentCreate, principal: Member, session: SessionDep, service: AgentServiceDep
) -> Response:
    """Create an agent; `serverId`, if given, must be a server of the organization."""
    data = await service.create_agent(session, principal.organization_id, body)
    return json_response(data, status_code=201)


@router.get("/{agent_id}", response_model=AgentPublic, responses=_READ_ERRORS)
async def get_agent(
    agent_id: uuid.UUID,
    principal: Viewer,
    session: SessionDep,
    service: AgentServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """One agent of the organization."""
    agent = await service.get_agent(session, principal.organization_id, agent_id)
    return CachedResponse(agent, if_none_match)


@router.put("/{agent_id}", response_model=AgentPublic, responses=_WRITE_ERRORS)
async def update_agent(
    agent_id: uuid.UUID,
    body: AgentUpdate,
    principal: Member,
    session: SessionDep,
    service: AgentServiceDep,
) -> Response:
    """Change an agent; fields left out keep their value."""
    data = await service.update_agent(session, principal.organization_id, agent_id, body)
    return json_response(data)


@router.delete("/{agent_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def delete_agent(
    agent_id: uuid.UUID, principal: Member, session: SessionDep, service: AgentServiceDep
) -> Response:
    """Delete an agent and its runs."""
    await service.delete_agent(session, principal.organization_id, agent_id)
    return Response(status_code=204)


@router.get("/{agent_id}/stats", response_model=AgentStats, responses=_READ_ERRORS)
async def get_agent_stats(
    agent_id: uuid.UUID,
    principal: Viewer,
    session: SessionDep,
    service: AgentServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """Run statistics of an agent: totals, success rate, average and p95 duration."""
    stats = await service.get_agent_stats(session, principal.organization_id, agent_id)
    return CachedResponse(stats, if_none_match)


@router.post("/{agent_id}/runs", status_code=201, response_model=RunPublic, responses=_WRITE_ERRORS)
async def record_run(
    agent_id: uuid.UUID,
    body: RunCreate,
    principal: Member,
    session: SessionDep,
    service: AgentServiceDep,
) -> Response:
    """Record a finished run of an agent."""
    data = await service.record_run(session, principal.organization_id, agent_id, body)
    return json_response(data, status_code=201)
