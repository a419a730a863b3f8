"""cachelayer: a read-through cache over Redis or memory that stays correct.

Generation tokens make invalidation O(1) and close the late-set race; a breaker and
per-call deadlines make a slow or absent backend cost nothing; stored values are
enveloped bytes, served without decoding. See `cachelayer.cache` for the design.
"""

from cachelayer.backends.base import Backend
from cachelayer.backends.memory import MemoryBackend
from cachelayer.backends.redis import RedisBackend
from cachelayer.breaker import BreakerState, CircuitBreaker, reconnect_delay
from cachelayer.cache import (
    MISSING,
    Cache,
    Cached,
    CacheStatus,
    CacheUnavailable,
    Entry,
    Loader,
    Lookup,
    NoStore,
    PreparedLookup,
)
from cachelayer.envelope import etag_of
from cachelayer.keys import KeySpace, canonical_params, digest, escape_glob
from cachelayer.stats import CacheStats

__all__ = [
    "MISSING",
    "Backend",
    "BreakerState",
    "Cache",
    "CacheStats",
    "CacheStatus",
    "CacheUnavailable",
    "Cached",
    "CircuitBreaker",
    "Entry",
    "KeySpace",
    "Loader",
    "Lookup",
    "MemoryBackend",
    "NoStore",
    "PreparedLookup",
    "RedisBackend",
    "canonical_params",
    "digest",
    "escape_glob",
    "etag_of",
    "reconnect_delay",
]
