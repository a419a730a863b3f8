"""The cache hit path: answer a cached read before routing, validation and serialization.

It runs in front of the FastAPI app for GET requests on the cached endpoints. A request
is answered here only when all of this holds, else it goes on to the app untouched:

* its bearer token is in the in-process principal cache (filled by the normal
  authentication path), so there is no database query;
* its query parameters validate with the endpoint's own query model, and the entry is
  built by the same function the route's read-through uses (the keys cannot drift);
* one round trip reads the entry (only its head when the process keeps a copy of its
  payload), its generation tokens and the organization's auth generation, and the entry
  is current and the principal's auth generation unchanged (a revoked token falls
  through and fails on the normal path).

The answer is the stored bytes with the route's own headers (ETag, X-Cache, 304).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.types import Scope, Send

from agenthub.agents.schemas import AgentListQuery
from agenthub.caching import CacheKeys, Caching, cached_answer, send_cached
from agenthub.organizations.schemas import Principal
from agenthub.organizations.service import hash_secret
from agenthub.servers.schemas import ServerListQuery
from agenthub.tools.schemas import ToolListQuery
from cachelayer import (
    Cached,
    CacheUnavailable,
    Entry,
    PreparedLookup,
)

K = TypeVar("K")
V = TypeVar("V")

EntryBuilder = Callable[[CacheKeys, Principal, uuid.UUID | None, BaseModel | None], Entry]


@dataclass(frozen=True, slots=True)
class CachedRead:
    path: str  # the route's path; "{id}" stands for a UUID
    query_model: type[BaseModel] | None
    entry: EntryBuilder


_UUID = "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
# Query strings longer than this are not memoized (the memo is bounded in entries).
_MAX_MEMO_QUERY = 1024


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
    CachedRead("/api/agents", AgentListQuery, _list(CacheKeys.agents_page)),
    CachedRead("/api/agents/{id}", None, _by_id(CacheKeys.agent_details)),
    CachedRead("/api/agents/{id}/stats", None, _by_id(CacheKeys.agent_stats)),
    CachedRead("/api/servers", ServerListQuery, _list(CacheKeys.servers_page)),
    CachedRead("/api/servers/{id}/tools", None, _by_id(CacheKeys.server_tools)),
    CachedRead("/api/servers/{id}/health", None, _by_id(CacheKeys.server_health)),
    CachedRead(
        "/api/tools/definitions",
        ToolListQuery,
        lambda keys, _principal, _id, query: keys.tool_definitions_page(_required(query)),
    ),
)


# Paths without an id are matched by a dict lookup, the others by a pattern each.
_EXACT = {read.path: read for read in READS if "{id}" not in read.path}
_WITH_ID = tuple(
    (re.compile(re.escape(read.path).replace(re.escape("{id}"), _UUID) + "$"), read)
    for read in READS
    if "{id}" in read.path
)


class _FallThrough(Exception):
    """This request is not for the hit path: the app answers it."""


class BoundedMemo(Generic[K, V]):
    """A dict that forgets everything when full: cheaper than LRU bookkeeping per hit,
    and right for values that are cheap to rebuild."""

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._items: dict[K, V] = {}
        # The dict's own get: no Python frame per lookup on the hit path.
        self.get: Callable[[K], V | None] = self._items.get

    def put(self, key: K, value: V) -> None:
        if len(self._items) >= self.max_entries:
            self._items.clear()
        self._items[key] = value


class HitPath:
    """Answers cached reads in front of the app; one per running app.

    Everything a hit needs but the read itself comes from process memory: the lookup
    (command bytes included) per path, query string and organization, the token hash
    per Authorization header, and the response headers per stored payload, so a plain
    hit (no If-None-Match) builds little more than the two messages it sends.
    """

    def __init__(self, caching: Caching) -> None:
        self._caching = caching
        self._cache = caching.cache
        self._principals = caching.principals
        self._lookups: BoundedMemo[tuple[str, bytes, int], PreparedLookup] = BoundedMemo()
        self._token_hashes: BoundedMemo[bytes, str] = BoundedMemo()
        # (payload digest, payload length) -> the headers of a 200 with that payload;
        # a tuple, as every hit shares it.
        self._ok_headers: BoundedMemo[tuple[bytes, int], tuple[tuple[bytes, bytes], ...]] = (
            BoundedMemo()
        )

    async def answer(self, scope: Scope, send: Send) -> bool:
        """Send the cached answer to this request if it has one; False to let the app
        answer."""
        cache = self._cache
        if scope["type"] != "http" or scope["method"] != "GET" or not cache.is_enabled():
            return False
        # Everything but the read, from process memory.
        try:
            read, item_id = _match(scope["path"])
            authorization, if_none_match = _request_headers(scope["headers"])
            token_hash = self._token_hash(authorization)
            known = self._principals.get(token_hash)
            if known is None:
                return False  # the route authenticates against the database
            principal, auth_token = known
            lookup = self._lookup_for(read, item_id, principal, scope)
        except _FallThrough:
            return False
        try:
            # Counted below only if served: a miss or a stale principal falls through to
            # the route, whose read-through counts what it finds.
            current, also = await cache.read_current(lookup)
        except CacheUnavailable:
            return False
        if also[0] != auth_token:
            # A token of the organization was revoked since this principal was cached:
            # forget it; the route authenticates against the database (and re-caches).
            self._principals.discard(token_hash)
            return False
        if current is None:
            return False  # a miss: the route loads and stores it
        cache.record_hit(lookup.entry.key)
        payload, digest = current
        if if_none_match is None:
            headers = self._headers_of(payload, digest)
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": payload})
        else:
            await send_cached(send, Cached.hit(payload, digest), if_none_match.decode("latin-1"))
        return True

    def _headers_of(self, payload: bytes, digest: bytes) -> tuple[tuple[bytes, bytes], ...]:
        # The length is part of the key: the digest comes from the stored envelope, and
        # Content-Length must come from the bytes actually sent.
        memo_key = (digest, len(payload))
        headers = self._ok_headers.get(memo_key)
        if headers is None:
            headers = tuple(cached_answer(Cached.hit(payload, digest), None)[1])
            self._ok_headers.put(memo_key, headers)
        return headers

    def _lookup_for(
        self, read: CachedRead, item_id: uuid.UUID | None, principal: Principal, scope: Scope
    ) -> PreparedLookup:
        """The lookup of a request's entry and of its organization's auth generation,
        memoized: it depends only on the path, the query string and the organization,
        and building it (validation, digest, the command's bytes) would be a large share
        of a hit's cost."""
        query_string: bytes = scope["query_string"]
        # The id's int: hashing a UUID runs a Python-level __hash__, on every hit.
        memo_key = (scope["path"], query_string, principal.organization_id.int)
        known = self._lookups.get(memo_key)
        if known is not None:
            return known
        query = _validated_query(read, query_string)
        keys = self._caching.keys
        entry = read.entry(keys, principal, item_id, query)
        lookup = self._cache.prepare(entry, also=(keys.auth_generation(principal.organization_id),))
        if len(query_string) <= _MAX_MEMO_QUERY:
            self._lookups.put(memo_key, lookup)
        return lookup

    def _token_hash(self, authorization: bytes) -> str:
        """The stored hash of the header's bearer token (memoized: sha256 on every hit is
        a cost worth saving, and the hash says nothing about whether the token is valid)."""
        known = self._token_hashes.get(authorization)
        if known is not None:
            return known
        scheme, _, secret = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer":
            raise _FallThrough
        token_hash = hash_secret(secret.strip())
        self._token_hashes.put(authorization, token_hash)
        return token_hash


def _request_headers(raw: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes | None]:
    """The request's Authorization and If-None-Match; a repeated one falls through, so
    that the route, not a guess here, decides which one counts."""
    authorization = if_none_match = None
    for name, value in raw:
        if name == b"authorization":
            if authorization is not None:
                raise _FallThrough
            authorization = value
        elif name == b"if-none-match":
            if if_none_match is not None:
                raise _FallThrough
            if_none_match = value
    if authorization is None:
        raise _FallThrough
    return authorization, if_none_match


def _match(path: str) -> tuple[CachedRead, uuid.UUID | None]:
    exact = _EXACT.get(path)
    if exact is not None:
        return exact, None
    for pattern, read in _WITH_ID:
        found = pattern.match(path)
        if found is None:
            continue
        try:
            return read, uuid.UUID(found.group(1))
        except ValueError:
            raise _FallThrough from None
    raise _FallThrough


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
