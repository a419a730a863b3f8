"""The cache service: the original operations, plus generation-checked read-through.

How an entry stays correct:

* An `Entry` names its key and the generation keys it depends on (e.g. "the agents
  list of organization X"). Generation keys hold random tokens. An entry is stored with
  the tokens its loader saw, and is a hit only while every generation key still holds
  them. Invalidating is deleting generation keys: O(1) whatever the number of cached
  keys, no KEYS, no SCAN, and it works even when Redis is out of memory.
* A load first makes sure every generation key exists (SET NX), reads the database,
  then stores only if the tokens are still current (one Lua script). A write that
  commits and invalidates while a slow reader is loading makes that reader's late store
  fail: the late-set race cannot leave stale data behind.
* Concurrent misses of one key in this process run one load (`SingleFlight`).
* Every backend call has a deadline; failures open a breaker; while it is open nothing
  is read from or written to the backend, so requests pay nothing for a dead Redis. The
  breaker closes only after a probe answers and the recovery hooks (e.g. re-applying
  invalidations that could not be delivered) have run.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import orjson

from cachelayer.backends.base import Backend, PreparedRead
from cachelayer.breaker import CircuitBreaker, RecoveryHook
from cachelayer.copies import Copy, PayloadCopies
from cachelayer.envelope import (
    TOKEN_SIZE,
    Codec,
    UnreadableEnvelope,
    digest_if_current,
    etag_of,
    etag_of_digest,
    head_size,
    open_envelope,
    payload_digest,
    payload_if_current,
    seal,
)
from cachelayer.keys import KeySpace
from cachelayer.logs import RateLimitedLogger
from cachelayer.singleflight import SingleFlight
from cachelayer.stats import CacheStats

logger = logging.getLogger("cachelayer")

T = TypeVar("T")


# Deadline of operator commands (clear, pattern invalidation), which SCAN the keyspace.
OPERATOR_TIMEOUT = 60.0
# How many loads a request joins before it stops waiting for one that is still current.
_JOIN_ATTEMPTS = 3


class _Missing(enum.Enum):
    MISSING = "MISSING"


MISSING: Final = _Missing.MISSING
"""What `Cache.get` returns for an absent key: None, 0, [] and False are values."""


class CacheStatus(enum.StrEnum):
    HIT = "HIT"
    MISS = "MISS"  # loaded, and stored unless refused
    BYPASS = "BYPASS"  # the backend was not used (breaker open, or it failed)


@dataclass(frozen=True, slots=True)
class Entry:
    """One cacheable thing: its key, the generation keys it depends on, its TTL."""

    key: str
    generations: tuple[str, ...] = ()
    ttl: float = 300.0


@dataclass(frozen=True, slots=True)
class Cached:
    payload: bytes
    etag: str
    status: CacheStatus

    @classmethod
    def hit(cls, payload: bytes, digest: bytes) -> Cached:
        """A hit of a stored payload, from the digest its envelope carries."""
        return cls(payload, etag_of_digest(digest), CacheStatus.HIT)


@dataclass(frozen=True, slots=True)
class NoStore:
    """A loader result to return but not to cache (e.g. built from a failed source)."""

    payload: bytes


Loader = Callable[[], Awaitable[bytes | NoStore]]


@dataclass(frozen=True, slots=True)
class PreparedLookup:
    """An entry's lookup in the backend's own form, built once (`Cache.prepare`)."""

    entry: Entry
    split: int  # values[:split] are the entry and its generation tokens, the rest `also`
    read: PreparedRead
    head: PreparedRead | None  # the same read with the entry's head only (payload copies)


@dataclass(frozen=True, slots=True)
class Lookup:
    hit: Cached | None
    tokens: tuple[bytes | None, ...]  # the entry's generation tokens as read
    also: tuple[bytes | None, ...]  # the extra keys asked for, as read


@dataclass(frozen=True, slots=True)
class _Filled:
    """A load's result and the generation tokens it is current for (None: unknown)."""

    cached: Cached
    tokens: tuple[bytes, ...] | None


def _present(tokens: Sequence[bytes | None]) -> tuple[bytes, ...]:
    return tuple(token for token in tokens if token is not None)


class CacheUnavailable(Exception):
    """The backend was skipped or failed; callers fall back to the source."""


def _new_token() -> bytes:
    return secrets.token_hex(TOKEN_SIZE // 2).encode()


class Cache:
    def __init__(
        self,
        backend: Backend,
        *,
        prefix: str = "cache",
        timeout: float = 0.25,
        breaker_threshold: int = 3,
        generation_ttl: float = 86400.0,
        warning_interval: float = 10.0,
        copies_max_bytes: int = 0,
    ) -> None:
        self.backend = backend
        self.keys = KeySpace(prefix)
        self.timeout = timeout
        self.generation_ttl_ms = int(generation_ttl * 1000)
        self.breaker = CircuitBreaker(
            self._probe, threshold=breaker_threshold, probe_timeout=max(timeout, 0.5)
        )
        self.counters = CacheStats()
        self._flights: SingleFlight[_Filled] = SingleFlight()
        self._warn = RateLimitedLogger(logger, warning_interval)
        # Payloads kept in process so that `read_current` reads only their heads: worth
        # it when the backend is across a network (see cachelayer.copies).
        self.copies = PayloadCopies(copies_max_bytes) if copies_max_bytes > 0 else None

    # -- life cycle ---------------------------------------------------------------

    def add_recovery_hook(self, hook: RecoveryHook) -> None:
        """Run hook after the backend comes back, before anything is read from it."""
        self.breaker.add_recovery_hook(hook)

    async def start(self) -> None:
        """Probe the backend and run the recovery hooks once, as after an outage.

        Whatever could not be invalidated before a restart is reconciled before the
        first read; if the backend is down, the breaker opens and keeps probing.
        """
        self.breaker.open(quiet=True, probe=False)
        if not await self.breaker.try_recover():
            self._warn.warning("start", "Cache backend unavailable at start: reads use the source")
            self.breaker.open()

    async def close(self) -> None:
        await self.breaker.close()
        await self.backend.close()

    async def _probe(self) -> None:
        await self.backend.ping()

    def is_enabled(self) -> bool:
        return self.breaker.is_closed

    # -- the guarded call ---------------------------------------------------------

    async def _call(
        self, operation: str, call: Callable[[], Awaitable[T]], force: bool = False
    ) -> T:
        if not (force or self.breaker.is_closed):
            self.counters.bypassed += 1
            raise CacheUnavailable(operation)
        try:
            async with asyncio.timeout(self.timeout):
                result = await call()
        except Exception as exc:
            raise self._failed(operation, exc) from exc
        self.breaker.record_success()
        return result

    def _failed(self, operation: str, exc: Exception) -> CacheUnavailable:
        self.counters.errors += 1
        self.breaker.record_failure()
        self._warn.warning(operation, "Cache %s failed: %r", operation.upper(), exc)
        return CacheUnavailable(operation)

    # -- generation-checked read-through --------------------------------------------

    def prepare(self, entry: Entry, also: Sequence[str] = ()) -> PreparedLookup:
        """A lookup of entry (and of the extra keys) to make many times: `read_prepared`."""
        keys = [entry.key, *entry.generations, *also]
        head = None
        if self.copies is not None:
            size = head_size(len(entry.generations))
            head = self.backend.prepare_head_read(entry.key, size, keys[1:])
        return PreparedLookup(
            entry, 1 + len(entry.generations), self.backend.prepare_read(keys), head
        )

    async def lookup(self, entry: Entry, also: Sequence[str] = ()) -> Lookup:
        """Read an entry, its generation tokens and any extra keys in one round trip,
        and count what it was."""
        prepared = self.prepare(entry, also)
        values = await self.read_prepared(prepared)
        current = self.current_payload(prepared, values)
        hit = None if current is None else Cached.hit(*current)
        if hit is None:
            self.counters.misses += 1
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("Cache MISS %s", entry.key, extra={"cache_key": entry.key})
        else:
            self.record_hit(entry.key)
        split = prepared.split
        return Lookup(hit, tuple(values[1:split]), tuple(values[split:]))

    def record_hit(self, key: str) -> None:
        """Count and log a hit (one found by `read_prepared` is counted by its caller)."""
        self.counters.hits += 1
        # Guarded: building the call's arguments is a share of a hit's cost.
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("Cache HIT %s", key, extra={"cache_key": key})

    def read_prepared(self, prepared: PreparedLookup) -> Awaitable[list[bytes | None]]:
        """The raw values of a prepared lookup, in one round trip: the entry's stored
        bytes, its generation tokens, then the extra keys (from `prepared.split` on).

        Check the values with `current_payload`; count a hit with `record_hit`.
        """
        return self._read(self.backend.read, prepared.read)

    async def read_current(
        self, prepared: PreparedLookup
    ) -> tuple[Copy | None, Sequence[bytes | None]]:
        """(payload, digest) of the entry if it is current, else None; and the values of
        the extra keys read with it (`also`), in one round trip.

        With payload copies, an entry this process has read before is checked by its
        head alone and served from the copy when the head names the copy's digest; an
        entry stored again since then takes a second round trip, once per process.
        """
        copies = self.copies
        split = prepared.split
        if copies is not None and prepared.head is not None:
            kept = copies.get(prepared.entry.key)
            if kept is not None:
                head, values = await self._read(self.backend.read_head, prepared.head)
                # values: the generation tokens, then `also` (the head stands for the entry)
                digest = self._current_digest(head, values[: split - 1])
                if digest == kept[1]:
                    self.counters.copy_hits += 1
                    return kept, values[split - 1 :]
                copies.discard(prepared.entry.key)
                if digest is None:
                    return None, values[split - 1 :]  # stale or gone: a miss
        values = await self.read_prepared(prepared)
        current = self.current_payload(prepared, values)
        if current is not None and copies is not None:
            copies.put(prepared.entry.key, current)
        return current, values[split:]

    async def _read(
        self, read: Callable[[PreparedRead], Awaitable[list[Any]]], prepared: PreparedRead
    ) -> list[Any]:
        if not self.backend.reads_have_deadline:
            return await self._call("get", lambda: read(prepared))
        # `_call` without its deadline: the backend fails the read by itself, and a
        # timer per read is a share of a hit's cost.
        if not self.breaker.is_closed:
            self.counters.bypassed += 1
            raise CacheUnavailable("get")
        try:
            values = await read(prepared)
        except Exception as exc:
            raise self._failed("get", exc) from exc
        self.breaker.record_success()
        return values

    def _current_digest(self, head: bytes | None, tokens: Sequence[bytes | None]) -> bytes | None:
        try:
            return digest_if_current(head or b"", tokens)
        except UnreadableEnvelope:
            self.counters.unreadable += 1
            return None

    def current_payload(
        self, prepared: PreparedLookup, values: Sequence[bytes | None]
    ) -> tuple[bytes, bytes] | None:
        """(payload, digest) of the entry read by `read_prepared`, if it was stored under
        the generation tokens read with it; None for a miss."""
        return self._current(values[0], values[1 : prepared.split])

    def _current(
        self, raw: bytes | None, tokens: Sequence[bytes | None]
    ) -> tuple[bytes, bytes] | None:
        if raw is None:
            return None
        try:
            # None if a generation changed (or expired) since the entry was stored.
            return payload_if_current(raw, tokens)
        except UnreadableEnvelope:
            self.counters.unreadable += 1
            return None

    async def get_or_load(self, entry: Entry, loader: Loader) -> Cached:
        """The entry's bytes from the cache, or from loader (once per key at a time).

        A request that joins another's load takes its result only if the generations it
        was loaded under are still current: a load that started before a write must not
        answer a request that started after the write was acknowledged.
        """
        try:
            found = await self.lookup(entry)
        except CacheUnavailable:
            return await self._load_without_cache(loader)
        if found.hit is not None:
            return found.hit
        for _ in range(_JOIN_ATTEMPTS):
            filled, led = await self._flights.run(entry.key, lambda: self._fill(entry, loader))
            if led:
                return filled.cached
            if await self._still_current(entry, filled.tokens):
                self.counters.coalesced += 1
                return filled.cached
        return await self._load_without_cache(loader)  # writes kept overtaking the loads

    async def _still_current(self, entry: Entry, tokens: tuple[bytes, ...] | None) -> bool:
        if tokens is None:
            return False
        if not entry.generations:
            return True
        try:
            current = await self._call("get", lambda: self.backend.get_many(entry.generations))
        except CacheUnavailable:
            return False
        return tuple(current) == tokens

    async def _fill(self, entry: Entry, loader: Loader) -> _Filled:
        try:
            # Another flight may have stored it since this request's lookup.
            again = await self._call(
                "get", lambda: self.backend.get_many([entry.key, *entry.generations])
            )
            current = self._current(again[0], again[1:])
            if current is not None:
                return _Filled(Cached.hit(*current), _present(again[1:]))
            tokens = await self._ensure_generations(entry, tuple(again[1:]))
        except CacheUnavailable:
            return _Filled(await self._load_without_cache(loader), None)
        result = await self._load(loader)
        if isinstance(result, NoStore):
            self.counters.not_stored += 1
            return _Filled(
                Cached(result.payload, etag_of(result.payload), CacheStatus.MISS), tokens
            )
        digest = payload_digest(result)
        stored = seal(result, Codec.RAW, tokens, digest)
        await self._store(entry, stored, tokens)
        return _Filled(Cached(result, etag_of_digest(digest), CacheStatus.MISS), tokens)

    async def _load(self, loader: Loader) -> bytes | NoStore:
        self.counters.loads += 1
        return await loader()

    async def _load_without_cache(self, loader: Loader) -> Cached:
        result = await self._load(loader)
        payload = result.payload if isinstance(result, NoStore) else result
        return Cached(payload, etag_of(payload), CacheStatus.BYPASS)

    async def _ensure_generations(
        self, entry: Entry, seen: tuple[bytes | None, ...]
    ) -> tuple[bytes, ...]:
        missing = [i for i, token in enumerate(seen) if token is None]
        if not missing:
            return _present(seen)
        keys = [entry.generations[i] for i in missing]
        proposed = [_new_token() for _ in missing]
        created = await self._call(
            "generation",
            lambda: self.backend.ensure_generations(keys, proposed, self.generation_ttl_ms),
        )
        tokens = list(seen)
        for index, token in zip(missing, created, strict=True):
            tokens[index] = token
        return _present(tokens)

    async def _store(self, entry: Entry, stored: bytes, tokens: tuple[bytes, ...]) -> None:
        generations = list(zip(entry.generations, tokens, strict=True))
        ttl_ms = int(entry.ttl * 1000)
        try:
            accepted = await self._call(
                "set",
                lambda: self.backend.set_if_current(entry.key, stored, ttl_ms, generations),
            )
        except CacheUnavailable:
            return
        if accepted:
            self.counters.stores += 1
        else:
            self.counters.stores_refused += 1
            logger.debug(
                "Cache SET refused: invalidated while loading", extra={"cache_key": entry.key}
            )

    async def ensure_generations(self, keys: Sequence[str]) -> tuple[bytes, ...]:
        """The current tokens of generation keys, creating the missing ones."""
        return await self._ensure_generations(Entry("", tuple(keys)), (None,) * len(keys))

    async def invalidate_generations(self, keys: Sequence[str]) -> bool:
        """Invalidate every entry that depends on these generation keys.

        Sent even while the breaker is open (the breaker spares reads the latency of a
        dead backend; an invalidation is worth one deadline). Returns False when the
        backend could not be reached: the caller must keep the invalidation and deliver
        it later. The breaker is open by then, and it does not close before its recovery
        hooks ran without such a failure, so nothing is read from the backend first.
        """
        if not keys:
            return True
        try:
            await self._call("invalidate", lambda: self.backend.delete(keys), force=True)
        except CacheUnavailable:
            self.counters.invalidation_failures += 1
            self.breaker.open()
            return False
        self.counters.invalidations += 1
        return True

    # -- the original service's operations ----------------------------------------------

    async def get(self, key: str) -> Any:
        """The value stored under key, or MISSING. Falsy values are values."""
        try:
            values = await self._call("get", lambda: self.backend.get_many([self.keys.plain(key)]))
        except CacheUnavailable:
            return MISSING
        envelope = open_envelope(values[0]) if values[0] is not None else None
        if envelope is None:
            self.counters.misses += 1
            self.counters.unreadable += values[0] is not None
            return MISSING
        self.counters.hits += 1
        if envelope.codec is Codec.JSON:
            return orjson.loads(envelope.payload)
        return envelope.payload

    async def set(self, key: str, value: Any, ttl: float = 300.0) -> bool:
        """Store a JSON-encodable value (or bytes, kept as is) for ttl seconds."""
        if isinstance(value, bytes):
            stored = seal(value, Codec.RAW)
        else:
            stored = seal(orjson.dumps(value), Codec.JSON)
        full_key = self.keys.plain(key)
        try:
            await self._call("set", lambda: self.backend.set(full_key, stored, int(ttl * 1000)))
        except CacheUnavailable:
            return False
        self.counters.stores += 1
        return True

    async def delete(self, *keys: str) -> int:
        full_keys = [self.keys.plain(key) for key in keys]
        try:
            return await self._call("delete", lambda: self.backend.delete(full_keys))
        except CacheUnavailable:
            return 0

    async def invalidate(self, pattern: str) -> int:
        """Delete every key of this cache matching a glob, with SCAN + UNLINK.

        For operators and the original API; request paths invalidate by generation.
        Only keys under this cache's prefix can match.
        """
        return await self._delete_matching(self.keys.pattern(pattern))

    async def clear(self) -> int:
        """Delete this cache's keys, and nothing else in a shared Redis."""
        if self.copies is not None:
            self.copies.clear()  # not needed to be correct (heads are checked): memory back
        return await self._delete_matching(self.keys.pattern("*"))

    async def _delete_matching(self, pattern: str) -> int:
        # A SCAN over a big keyspace outlives a request deadline: a generous one instead.
        if not self.breaker.is_closed:
            raise CacheUnavailable("invalidate")
        try:
            async with asyncio.timeout(OPERATOR_TIMEOUT):
                removed = await self.backend.delete_matching(pattern)
        except Exception as exc:
            self.counters.errors += 1
            self.breaker.record_failure()
            self._warn.warning("invalidate", "Cache pattern delete failed: %r", exc)
            raise CacheUnavailable("invalidate") from exc
        return removed

    def stats(self) -> dict[str, object]:
        return {
            "enabled": self.is_enabled(),
            "breaker": self.breaker.state.value,
            "hitRatio": round(self.counters.hit_ratio, 4),
            "copies": 0 if self.copies is None else len(self.copies),
            "copyBytes": 0 if self.copies is None else self.copies.used,
            **self.backend.describe(),
            **self.counters.as_dict(),
        }
