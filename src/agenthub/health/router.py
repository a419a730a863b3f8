from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from agenthub.db import SessionDep
from agenthub.exceptions import ServiceUnavailable, error_responses
from agenthub.responses import json_response

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


@router.get("/ready", responses=error_responses(503))
async def ready(session: SessionDep) -> Response:
    """Readiness: the database answers."""
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable("The database does not answer.", {"database": "down"}) from exc
    return json_response({"status": "ready", "database": "ok"})
