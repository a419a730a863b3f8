"""The comparison: the same agents list, cached with fastapi-cache2 as its README shows.

`FastAPICache.init(RedisBackend(redis), prefix=...)` in the lifespan with a
`redis.asyncio` client, and `@cache(expire=300)` on the route. The page is built by
agenthub's own loader (the service's uncached `load_agents_page`) on the same database,
so a miss does the same work. Authentication is a plain dependency: the bearer token's
sha256 looked up in a dict of the active tokens read at start-up (no database query per
request), the same cost as agenthub's in-process principal cache. fastapi-cache2's
default key builder hashes the endpoint's arguments, which include the principal, so
entries are per tenant.

Environment: DATABASE_URL, REDIS_URL, FASTAPI_CACHE_PREFIX.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_cache import FastAPICache
from fastapi_cache.backends.redis import RedisBackend
from fastapi_cache.decorator import cache
from sqlalchemy import select

from agenthub.agents.schemas import AgentListQuery
from agenthub.agents.service import AgentService
from agenthub.config import normalize_database_url
from agenthub.db import create_engine, create_sessionmaker
from agenthub.organizations.models import ApiToken
from agenthub.organizations.schemas import Principal, Role
from agenthub.organizations.service import hash_secret

PREFIX = os.environ.get("FASTAPI_CACHE_PREFIX", "fastapi-cache-bench")
DATABASE_URL = normalize_database_url(os.environ["DATABASE_URL"])
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

engine = create_engine(DATABASE_URL)
sessionmaker = create_sessionmaker(engine)
service = AgentService()
principals: dict[str, Principal] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    async with sessionmaker() as session:
        tokens = await session.execute(select(ApiToken).where(ApiToken.revoked_at.is_(None)))
        for token in tokens.scalars():
            principals[token.token_hash] = Principal(
                token_id=token.id,
                organization_id=token.organization_id,
                role=Role(token.role),
                is_platform_admin=token.is_platform_admin,
            )
    redis = aioredis.from_url(REDIS_URL)
    FastAPICache.init(RedisBackend(redis), prefix=PREFIX)
    yield
    await redis.aclose()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)
bearer = HTTPBearer(auto_error=False)


async def current_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal = credentials and principals.get(hash_secret(credentials.credentials.strip()))
    if not principal:
        raise HTTPException(status_code=401, detail="Unknown or revoked token.")
    return principal


@app.get("/api/agents")
@cache(expire=300)
async def list_agents(
    query: Annotated[AgentListQuery, Query()],
    principal: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    async with sessionmaker() as session:
        # The uncached loader of agenthub's own read-through: the same queries and page.
        page: dict[str, Any] = await service.load_agents_page(
            session, principal.organization_id, query
        )
        return page
