"""The cache of agenthub: built from settings, and the keys of every cached read.

Each cached read is an `Entry`: its key, and the generation keys whose deletion
invalidates it. Everything an organization owns sits under the hash tag of that
organization, so a hit reads the entry, its generations and the organization's auth
generation in one round trip (and on one Redis Cluster slot). The hit path and the
routes build entries with the same functions below, so the key a hit looks up and the
key a miss stores under cannot drift apart.

What invalidates what (services call these after their commit):

| write                      | generations deleted                                  |
|----------------------------|------------------------------------------------------|
| agent create               | agents list                                          |
| agent update / delete      | agents list, that agent                              |
| agent run recorded         | that agent's runs (its stats)                        |
| server create              | servers list                                         |
| server update              | servers list, that server                            |
| server delete              | servers list, that server, agents list, all agents'  |
|                            | details (their serverId became null)                 |
| server tools change        | that server's tools                                  |
| tool catalog seed / change | tool catalog (definitions and every server's tools)  |
| token revoke               | the organization's auth generation                   |
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import Depends, Header, Request
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import Response
from starlette.types import Send

from agenthub.config import Settings
from agenthub.invalidation import Invalidator
from cachelayer import (
    Cache,
    Cached,
    CacheStatus,
    Entry,
    MemoryBackend,
    RedisBackend,
    canonical_params,
    etag_of,
)

AGENTS_LIST_TTL = 300.0
AGENT_DETAILS_TTL = 300.0
AGENT_STATS_TTL = 600.0
TOOL_DEFINITIONS_TTL = 3600.0
SERVERS_LIST_TTL = 300.0
SERVER_TOOLS_TTL = 300.0
SERVER_HEALTH_TTL = 60.0

_GLOBAL_TAG = "global"


def redis_url(settings: Settings) -> str | None:
    """REDIS_URL, else one built from REDIS_HOST/PORT/PASSWORD, else None (memory)."""
    if settings.REDIS_URL:
        return settings.REDIS_URL
    if settings.REDIS_HOST:
        auth = f":{quote(settings.REDIS_PASSWORD, safe='')}@" if settings.REDIS_PASSWORD else ""
        return f"redis://{auth}{settings.REDIS_HOST}:{settings.REDIS_PORT}/0"
    return None


def build_cache(settings: Settings) -> Cache:
    timeout = settings.CACHE_TIMEOUT_MS / 1000
    url = redis_url(settings)
    backend: MemoryBackend | RedisBackend
    copies = 0  # the in-process backend's values are in process already
    if url is None:
        backend = MemoryBackend(max_bytes=settings.CACHE_MEMORY_MAX_BYTES)
    else:
        backend = RedisBackend.from_url(url, timeout=timeout)
        copies = settings.CACHE_COPY_MAX_BYTES
    return Cache(
        backend,
        prefix=settings.CACHE_PREFIX,
        timeout=timeout,
        breaker_threshold=settings.CACHE_BREAKER_THRESHOLD,
        copies_max_bytes=copies,
    )


class CacheKeys:
    """The original service's key helpers, on one key space (the configured prefix)."""

    def __init__(self, cache: Cache) -> None:
        self._space = cache.keys

    @staticmethod
    def _tag(organization_id: Any) -> str:
        return f"o.{organization_id}"

    def _org(self, organization_id: Any, *parts: str) -> str:
        return self._space.key(self._tag(organization_id), *parts)

    # generation keys ------------------------------------------------------------------

    def agents_list_generation(self, organization_id: Any) -> str:
        return self._org(organization_id, "gen", "agents")

    def all_agents_generation(self, organization_id: Any) -> str:
        """Every agent of the organization at once (bulk changes such as a server delete)."""
        return self._org(organization_id, "gen", "agents", "all")

    def agent_generation(self, organization_id: Any, agent_id: Any) -> str:
        return self._org(organization_id, "gen", "agent", str(agent_id))

    def agent_runs_generation(self, organization_id: Any, agent_id: Any) -> str:
        return self._org(organization_id, "gen", "agent", str(agent_id), "runs")

    def servers_list_generation(self, organization_id: Any) -> str:
        return self._org(organization_id, "gen", "servers")

    def server_generation(self, organization_id: Any, server_id: Any) -> str:
        return self._org(organization_id, "gen", "server", str(server_id))

    def server_tools_generation(self, organization_id: Any, server_id: Any) -> str:
        return self._org(organization_id, "gen", "server", str(server_id), "tools")

    def tool_catalog_generation(self) -> str:
        return self._space.key(_GLOBAL_TAG, "gen", "tools")

    def auth_generation(self, organization_id: Any) -> str:
        """Deleted when a token of the organization is revoked: cached principals drop."""
        return self._org(organization_id, "gen", "auth")

    # entries --------------------------------------------------------------------------

    def agent_list(self, organization_id: Any, params: Mapping[str, Any]) -> Entry:
        return Entry(
            self._org(organization_id, "agents", "list", canonical_params(params)),
            (self.agents_list_generation(organization_id),),
            AGENTS_LIST_TTL,
        )

    def agent_details(self, organization_id: Any, agent_id: Any) -> Entry:
        return Entry(
            self._org(organization_id, "agents", "details", str(agent_id)),
            (
                self.agent_generation(organization_id, agent_id),
                self.all_agents_generation(organization_id),
            ),
            AGENT_DETAILS_TTL,
        )

    def agent_stats(self, organization_id: Any, agent_id: Any) -> Entry:
        return Entry(
            self._org(organization_id, "agents", "stats", str(agent_id)),
            (
                self.agent_generation(organization_id, agent_id),
                self.agent_runs_generation(organization_id, agent_id),
            ),
            AGENT_STATS_TTL,
        )

    def tool_definitions(self, params: Mapping[str, Any]) -> Entry:
        return Entry(
            self._space.key(_GLOBAL_TAG, "tools", "definitions", canonical_params(params)),
            (self.tool_catalog_generation(),),
            TOOL_DEFINITIONS_TTL,
        )

    def server_list(self, organization_id: Any, params: Mapping[str, Any]) -> Entry:
        return Entry(
            self._org(organization_id, "servers", "list", canonical_params(params)),
            (self.servers_list_generation(organization_id),),
            SERVERS_LIST_TTL,
        )

    def server_tools(self, organization_id: Any, server_id: Any) -> Entry:
        return Entry(
            self._org(organization_id, "servers", "tools", str(server_id)),
            (
                self.server_generation(organization_id, server_id),
                self.server_tools_generation(organization_id, server_id),
                self.tool_catalog_generation(),
            ),
            SERVER_TOOLS_TTL,
        )

    def server_health(self, organization_id: Any, server_id: Any) -> Entry:
        return Entry(
            self._org(organization_id, "servers", "health", str(server_id)),
            (self.server_generation(organization_id, server_id),),
            SERVER_HEALTH_TTL,
        )

    # entries of list endpoints, from their validated query models: the one place where
    # both the hit path and the routes turn a query into a key

    def agents_page(self, organization_id: Any, query: BaseModel) -> Entry:
        return self.agent_list(organization_id, query.model_dump(mode="json"))

    def servers_page(self, organization_id: Any, query: BaseModel) -> Entry:
        return self.server_list(organization_id, query.model_dump(mode="json"))

    def tool_definitions_page(self, query: BaseModel) -> Entry:
        return self.tool_definitions(query.model_dump(mode="json"))

    # operator patterns (SCAN + UNLINK, never on a request path) -----------------------

    def org_pattern(self, organization_id: Any) -> str:
        return self._space.tag_pattern(self._tag(organization_id))

    def agent_list_pattern(self, organization_id: Any) -> str:
        return self.org_pattern(organization_id).removesuffix("*") + "agents:list:*"

    def tool_definitions_pattern(self) -> str:
        return self._space.tag_pattern(_GLOBAL_TAG).removesuffix("*") + "tools:definitions:*"


class CachedResponse(Response):
    """The answer for a cached read on the route: the same bytes and headers as the hit
    path sends (`send_cached`)."""

    def __init__(self, cached: Cached, if_none_match: str | None) -> None:
        self.status_code, self.raw_headers, self.body = cached_answer(cached, if_none_match)
        self.background = None


# private: no shared cache stores tenant data; no-cache: a browser revalidates each reuse,
# with the token of the moment, so a `Vary: Authorization` would add nothing (and costs
# the server a header to validate on every hit).
_CACHED_HEADERS = ((b"cache-control", b"private, no-cache"),)
# X-Cache is HIT or MISS: an answer built without the cache (BYPASS) is a miss to clients.
_X_CACHE = {
    status: (b"x-cache", b"HIT" if status is CacheStatus.HIT else b"MISS") for status in CacheStatus
}


def cached_answer(
    cached: Cached, if_none_match: str | None
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body for a cached read.

    The body is the stored bytes as they are. The ETag comes from those bytes, so it is
    the same in every process and after a restart; a matching If-None-Match gets 304
    without a body.
    """
    headers = [(b"etag", cached.etag.encode()), _X_CACHE[cached.status], *_CACHED_HEADERS]
    if if_none_match is not None and etag_matches(cached.etag, if_none_match):
        return 304, headers, b""
    headers.append((b"content-type", b"application/json"))
    headers.append((b"content-length", str(len(cached.payload)).encode()))
    return 200, headers, cached.payload


async def send_cached(send: Send, cached: Cached, if_none_match: str | None) -> None:
    """The hit path's answer, sent straight to the server (no Response object)."""
    status, headers, body = cached_answer(cached, if_none_match)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def etag_matches(etag: str, if_none_match: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match asks for."""
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


class PrincipalCache:
    """Token hash -> (principal, auth generation token), for the hit path only.

    Filled by the normal authentication path; an entry is trusted only while the
    organization's auth generation in the cache still holds the token it was filled
    under, which the hit path reads in the same round trip as the entry. Revoking a
    token deletes that generation, so the revoked token stops working at once in every
    process sharing the cache.

    When full, the entry checked longest ago goes first: it is the closest to max_age,
    and every entry in use is checked again within max_age, so insertion order is
    enough (no LRU bookkeeping on each hit).
    """

    def __init__(self, max_entries: int = 10_000, max_age: float = 30.0) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._items: dict[str, tuple[Any, bytes, float]] = {}

    def get(self, token_hash: str) -> tuple[Any, bytes] | None:
        """The principal and its auth token, if seen in the database within max_age.

        The age bound covers revocations that do not go through agenthub (a token row
        changed by hand): the hit path trusts a principal for max_age seconds at most.
        """
        item = self._items.get(token_hash)
        if item is None:
            return None
        principal, auth_token, checked_at = item
        if time.monotonic() - checked_at > self.max_age:
            del self._items[token_hash]
            return None
        return principal, auth_token

    def put(self, token_hash: str, principal: Any, auth_token: bytes) -> None:
        self._items.pop(token_hash, None)  # re-inserted last: checked most recently
        self._items[token_hash] = (principal, auth_token, time.monotonic())
        while len(self._items) > self.max_entries:
            del self._items[next(iter(self._items))]

    def discard(self, token_hash: str) -> None:
        self._items.pop(token_hash, None)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class Caching:
    """What services and the hit path need of the cache, built once per app."""

    cache: Cache
    keys: CacheKeys
    invalidator: Invalidator
    principals: PrincipalCache

    @classmethod
    def build(cls, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> Caching:
        cache = build_cache(settings)
        invalidator = Invalidator(cache, sessionmaker)
        cache.add_recovery_hook(invalidator.drain)
        return cls(cache, CacheKeys(cache), invalidator, PrincipalCache())


def get_caching(request: Request) -> Caching | None:
    """The app's cache; None when CACHE_ENABLED is off."""
    caching: Caching | None = request.app.state.caching
    return caching


CachingDep = Annotated[Caching | None, Depends(get_caching)]

IfNoneMatch = Annotated[
    str | None,
    Header(description="An ETag from an earlier answer: 304 Not Modified if it still matches."),
]


async def read_through(
    caching: Caching | None,
    session: AsyncSession,
    entry: Callable[[CacheKeys], Entry],
    load: Callable[[], Awaitable[Any]],
) -> Cached:
    """A service read through the cache: load returns JSON-ready data, stored encoded."""

    # The load must read the database after the cache read the generation tokens, so
    # that a write committed in between is either in the result or has deleted those
    # tokens. It does: PostgreSQL (READ COMMITTED) takes a snapshot per statement, and
    # SQLite runs these SELECTs outside a transaction.
    async def encoded() -> bytes:
        return orjson.dumps(await load())

    if caching is None:
        payload = await encoded()
        return Cached(payload, etag_of(payload), CacheStatus.BYPASS)
    return await caching.cache.get_or_load(entry(caching.keys), encoded)


async def commit_and_invalidate(
    caching: Caching | None,
    session: AsyncSession,
    invalidations: Callable[[CacheKeys], Sequence[str]],
) -> None:
    """Commit a write with its invalidation in the same transaction, then deliver it."""
    if caching is None:
        await session.commit()
        return
    staged = caching.invalidator.stage(session, invalidations(caching.keys))
    await session.commit()
    await caching.invalidator.deliver(staged)
