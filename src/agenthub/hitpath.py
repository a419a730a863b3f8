"""The cache hit path: answer a cached read before routing, validation and serialization.

It runs in front of the FastAPI app for GET requests on the cached endpoints. A request
is answered here only when all of this holds, else it goes on to the app untouched:

* its bearer token is in the in-process principal cache (filled by the normal
  authentication path), so there is no database query;
* its query parameters validate with the endpoint's own query model, and the entry is
  built by the same function the route's read-through uses (the keys cannot drift);
* one round trip reads the entry, its generation tokens and the organization's auth
  generation, and the entry is current and the principal's auth generation unchanged
  (a revoked token falls through and fails on the normal path).

The answer is the stored bytes with the route's own headers (ETag, X-Cache, 304).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope, Send

from agenthub.agents.schemas import AgentListQuery
from agenthub.caching import CachedResponse, CacheKeys, Caching
from agenthub.organizations.schemas import Principal
from agenthub.organizations.service import hash_secret
from agenthub.servers.schemas import ServerListQuery
from agenthub.tools.schemas import ToolListQuery
from cachelayer import CacheUnavailable, Entry

EntryBuilder = Callable[[CacheKeys, Principal, uuid.UUID | None, BaseModel | None], Entry]


@dataclass(frozen=True, slots=True)
class CachedRead:
    path: re.Pattern[str]
    query_model: type[BaseModel] | None
    entry: EntryBuilder


_UUID = "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
# Query strings longer than this are not memoized (the memo is bounded in entries).
_MAX_MEMO_QUERY = 1024


def _path(template: str) -> re.Pattern[str]:
    return re.compile("^" + template.replace("{id}", _UUID) + "$")


def _required(query: BaseModel | None) -> BaseModel:
    assert query is not None, "list reads have a query model"
    return query


def _list(build: Callable[[CacheKeys, Any, Any], Entry]) -> EntryBuilder:
    return lambda keys, principal, _id, query: build(
        keys, principal.organization_id, _required(query)
    )


def _by_id(build: Callable[[CacheKeys, Any, Any], Entry]) -> EntryBuilder:
    return lambda keys, principal, item_id, _query: build(keys, principal.organization_id, item_id)


READS: tuple[CachedRead, ...] = (
    CachedRead(_path("/api/agents"), AgentListQuery, _list(CacheKeys.agents_page)),
    CachedRead(_path("/api/agents/{id}"), None, _by_id(CacheKeys.agent_details)),
    CachedRead(_path("/api/agents/{id}/stats"), None, _by_id(CacheKeys.agent_stats)),
    CachedRead(_path("/api/servers"), ServerListQuery, _list(CacheKeys.servers_page)),
    CachedRead(_path("/api/servers/{id}/tools"), None, _by_id(CacheKeys.server_tools)),
    CachedRead(_path("/api/servers/{id}/health"), None, _by_id(CacheKeys.server_health)),
    CachedRead(
        _path("/api/tools/definitions"),
        ToolListQuery,
        lambda keys, _principal, _id, query: keys.tool_definitions_page(_required(query)),
    ),
)


class _FallThrough(Exception):
    """This request is not for the hit path: the app answers it."""


async def answer_from_cache(
    caching: Caching | None, scope: Scope, receive: Receive, send: Send
) -> bool:
    """Send the cached answer to this request if it has one; False to let the app answer."""
    if caching is None or scope["type"] != "http" or scope["method"] != "GET":
        return False
    try:
        response = await _hit(caching, scope)
    except _FallThrough:
        return False
    await response(scope, receive, send)
    return True


async def _hit(caching: Caching, scope: Scope) -> CachedResponse:
    if not caching.cache.is_enabled():
        raise _FallThrough
    read, item_id = _match(scope["path"])
    headers = _single_headers(scope["headers"])
    token_hash = _token_hash(headers.get(b"authorization"))
    known = caching.principals.get(token_hash)
    if known is None:
        raise _FallThrough
    principal, auth_token = known
    entry, auth_key = _entry_for(caching, read, item_id, principal, scope)
    try:
        # A miss is not counted here: the route's read-through counts it.
        found = await caching.cache.lookup(entry, also=(auth_key,), count_miss=False)
    except CacheUnavailable:
        raise _FallThrough from None
    if found.also[0] != auth_token:
        # A token of the organization was revoked since this principal was cached:
        # forget it; the route authenticates against the database (and re-caches).
        caching.principals.discard(token_hash)
        raise _FallThrough
    if found.hit is None:
        raise _FallThrough  # a miss: the route loads and stores it
    if_none_match = headers.get(b"if-none-match")
    return CachedResponse(found.hit, if_none_match.decode("latin-1") if if_none_match else None)


def _entry_for(
    caching: Caching,
    read: CachedRead,
    item_id: uuid.UUID | None,
    principal: Principal,
    scope: Scope,
) -> tuple[Entry, str]:
    """The entry and auth generation key of a request, memoized: they depend only on
    the path, the query string and the organization, and building them (validation,
    digest) would be a large share of a hit's cost."""
    query_string: bytes = scope["query_string"]
    memo_key = (scope["path"], query_string, principal.organization_id)
    known = caching.hit_entries.get(memo_key)
    if known is not None:
        return known
    query = _validated_query(read, query_string)
    entry = read.entry(caching.keys, principal, item_id, query)
    found = entry, caching.keys.auth_generation(principal.organization_id)
    if len(query_string) <= _MAX_MEMO_QUERY:
        caching.hit_entries.put(memo_key, found)
    return found


def _single_headers(raw: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The request's headers; a repeated Authorization or If-None-Match falls through,
    so that the route, not a guess here, decides which one counts."""
    headers = dict(raw)
    if len(headers) != len(raw):
        names = [name for name, _ in raw]
        if names.count(b"authorization") > 1 or names.count(b"if-none-match") > 1:
            raise _FallThrough
    return headers


def _match(path: str) -> tuple[CachedRead, uuid.UUID | None]:
    for read in READS:
        found = read.path.match(path)
        if found is None:
            continue
        if not found.groups():
            return read, None
        try:
            return read, uuid.UUID(found.group(1))
        except ValueError:
            raise _FallThrough from None
    raise _FallThrough


def _token_hash(authorization: bytes | None) -> str:
    if authorization is None:
        raise _FallThrough
    scheme, _, secret = authorization.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer":
        raise _FallThrough
    return hash_secret(secret.strip())


def _validated_query(read: CachedRead, query_string: bytes) -> BaseModel | None:
    """The endpoint's validated query model (None for reads that take no query)."""
    if read.query_model is None:
        if query_string:
            raise _FallThrough
        return None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        raise _FallThrough  # repeated parameters: the route's validation answers
    try:
        return read.query_model.model_validate(params)
    except ValidationError:
        raise _FallThrough from None
