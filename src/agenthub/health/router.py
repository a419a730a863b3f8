from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from agenthub.caching import Caching, CachingDep
from agenthub.db import SessionDep
from agenthub.exceptions import ServiceUnavailable, error_responses
from agenthub.responses import json_response

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


@router.get("/ready", responses=error_responses(503))
async def ready(session: SessionDep, caching: CachingDep) -> Response:
    """Readiness: the database answers. Also reports the cache, which never makes the
    service unready: without it, reads go to the database."""
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable("The database does not answer.", {"database": "down"}) from exc
    return json_response({"status": "ready", "database": "ok", "cache": _cache_state(caching)})


def _cache_state(caching: Caching | None) -> dict[str, object]:
    if caching is None:
        return {"backend": "none", "enabled": False, "breaker": "n/a"}
    cache = caching.cache
    return {
        **cache.backend.describe(),
        "enabled": cache.is_enabled(),
        "breaker": cache.breaker.state.value,
        "prefix": cache.keys.prefix,
        "hitRatio": round(cache.counters.hit_ratio, 4),
    }
