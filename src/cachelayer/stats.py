"""Counters of what the cache did, as plain integers (exporters read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    loads: int = 0  # loader calls: the database queries a miss caused
    coalesced: int = 0  # requests that waited for another request's load
    stores: int = 0
    stores_refused: int = 0  # a write invalidated the entry while it was loading
    not_stored: int = 0  # the loader said its result must not be cached
    invalidations: int = 0
    invalidation_failures: int = 0
    errors: int = 0  # backend calls that failed or timed out
    bypassed: int = 0  # calls skipped because the breaker was open
    unreadable: int = 0  # entries of another format version or corrupt: treated as misses
    copy_hits: int = 0  # hits served from a payload copy after reading only the head

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def hit_ratio(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0
