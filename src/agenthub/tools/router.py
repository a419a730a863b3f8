from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from agenthub.caching import CachedResponse, CachingDep, IfNoneMatch
from agenthub.db import SessionDep
from agenthub.exceptions import error_responses
from agenthub.organizations.dependencies import PlatformAdmin, Viewer
from agenthub.responses import json_response
from agenthub.tools.schemas import SeedResult, ToolDefinitionPage, ToolListQuery
from agenthub.tools.service import ToolService

router = APIRouter(prefix="/api/tools", tags=["tools"])


def get_tool_service(caching: CachingDep) -> ToolService:
    return ToolService(caching)


ToolServiceDep = Annotated[ToolService, Depends(get_tool_service)]


@router.get("/definitions", response_model=ToolDefinitionPage, responses=error_responses(401, 422))
async def list_tool_definitions(
    query: Annotated[ToolListQuery, Query()],
    _principal: Viewer,
    session: SessionDep,
    service: ToolServiceDep,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """List the global tool catalog, filtered by category, searched, sorted and paged."""
    return CachedResponse(await service.list_tool_definitions(session, query), if_none_match)


@router.post("/seed", response_model=SeedResult, responses=error_responses(401, 403, 409))
async def seed_tools(
    _principal: PlatformAdmin, session: SessionDep, service: ToolServiceDep
) -> Response:
    """Load the shipped catalog into the database (platform admins only; idempotent)."""
    return json_response(await service.seed(session))
