"""Prometheus metrics of the cache, read from its counters at scrape time.

Nothing is counted twice and the hit path does no extra work: the collector turns the
cache's plain integer counters into metric families when /metrics is scraped.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from agenthub.caching import Caching

router = APIRouter(tags=["health"])

_COUNTERS = {
    "hits": "Reads answered from the cache.",
    "misses": "Reads not found (or no longer current) in the cache.",
    "loads": "Loads from the database caused by misses.",
    "coalesced": "Misses that waited for a concurrent load of the same key.",
    "stores": "Entries written to the cache.",
    "stores_refused": "Late stores refused because a write invalidated the entry meanwhile.",
    "not_stored": "Loads whose result must not be cached.",
    "invalidations": "Invalidations delivered.",
    "invalidation_failures": "Invalidations not delivered at once (kept in the outbox).",
    "errors": "Cache backend calls that failed or timed out.",
    "bypassed": "Cache backend calls skipped because the breaker was open.",
    "unreadable": "Entries of another format version or corrupt, treated as misses.",
    "copy_hits": "Hits served from the process's payload copy after reading only the head.",
}


class CacheCollector(Collector):
    def __init__(self, caching: Caching) -> None:
        self.caching = caching

    def collect(self) -> Iterator[Metric]:
        counters = self.caching.cache.counters.as_dict()
        for name, help_text in _COUNTERS.items():
            family = CounterMetricFamily(f"agenthub_cache_{name}", help_text)
            family.add_metric([], counters[name])
            yield family
        enabled = GaugeMetricFamily(
            "agenthub_cache_enabled", "1 when the cache backend is in use (breaker closed)."
        )
        enabled.add_metric([], 1.0 if self.caching.cache.is_enabled() else 0.0)
        yield enabled
        opened = CounterMetricFamily("agenthub_cache_breaker_opened", "Times the breaker opened.")
        opened.add_metric([], self.caching.cache.breaker.times_opened)
        yield opened
        copies = self.caching.cache.copies
        kept = GaugeMetricFamily(
            "agenthub_cache_copy_bytes", "Bytes of payload copies this process keeps."
        )
        kept.add_metric([], float(copies.used if copies is not None else 0))
        yield kept


def build_registry(caching: Caching) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CacheCollector(caching))
    return registry


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
