from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from agenthub.db import SessionDep
from agenthub.exceptions import error_responses
from agenthub.organizations.dependencies import Admin, OrganizationServiceDep
from agenthub.organizations.schemas import TokenCreate, TokenCreated, TokenList
from agenthub.responses import json_response

router = APIRouter(prefix="/api/tokens", tags=["tokens"])

_ERRORS = error_responses(401, 403, 422)


@router.post("", status_code=201, response_model=TokenCreated, responses=_ERRORS)
async def create_token(
    body: TokenCreate, principal: Admin, session: SessionDep, service: OrganizationServiceDep
) -> Response:
    """Create a token in the caller's organization; the secret is in this answer only."""
    return json_response(await service.create_token(session, principal, body), status_code=201)


@router.get("", response_model=TokenList, responses=_ERRORS)
async def list_tokens(
    principal: Admin, session: SessionDep, service: OrganizationServiceDep
) -> Response:
    """List the organization's tokens (never their secrets)."""
    return json_response(await service.list_tokens(session, principal.organization_id))


@router.delete("/{token_id}", status_code=204, responses=error_responses(401, 403, 404, 422))
async def revoke_token(
    token_id: uuid.UUID, principal: Admin, session: SessionDep, service: OrganizationServiceDep
) -> Response:
    """Revoke a token: it stops working at once."""
    await service.revoke_token(session, principal, token_id)
    return Response(status_code=204)
