"""`python -m bench`: agenthub before and after its cache, two yardsticks, fastapi-cache2.

Every server under test is a uvicorn subprocess (one worker, uvloop, httptools) on a
free loopback port, started and stopped by this harness; wrk drives one at a time
(`-t1 -c32 -d10s` by default). Steps:

1. the bench database (PostgreSQL): created if missing, migrated, the bench profile
   loaded if its row counts are not there yet, VACUUM ANALYZE;
2. before: agenthub with its cache disabled, on the big organization's reads;
3. after: agenthub with Redis, under a key prefix of its own that is cleared (SCAN +
   UNLINK, never FLUSH*) at the start and at the end: hits with wrk, sequential hits
   and misses with a minimal socket client, in alternation (a forced miss, then a hit
   of the entry it stored again, and so on), miss throughput with wrk over unique keys;
4. three yardsticks: a bare FastAPI endpoint returning constant bytes of the agents
   page's size, and two plain ASGI apps reading such a body from Redis per request (one
   redis-py GET; one read through agenthub's pipelined backend; each key under a prefix
   of its own, deleted at shutdown and cleared after), and
5. the same agents list cached with fastapi-cache2 (its own prefix, cleared after):
   all five up at once with agenthub's cached agents page, driven one at a time in
   rounds; each comparison is made within a round, and the median round ratio counts;
6. a table and the ratios of this run, raw JSON in bench/results/ and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import redis

from agenthub.benchdata import AGENT_SEARCH_WORD, TOOL_SEARCH_WORD, bench_tokens
from agenthub.config import Settings
from bench import report
from bench.database import (
    SEED,
    Fixtures,
    bench_database_url,
    big_organization_agent_ids,
    prepare_database,
    read_fixtures,
)
from bench.machine import machine, versions
from bench.measure import (
    RawClient,
    RawResponse,
    delete_keys,
    interleaved_requests,
    scan_unlink,
    timed_requests,
)
from bench.servers import ROOT, Server, free_port, health_target, uvicorn_server
from bench.wrk import WrkMissing, WrkResult, WrkSettings, run_wrk, wrk_binary

RESULTS_DIR = ROOT / "bench" / "results"
DOCS_PATH = ROOT / "docs" / "benchmarks.md"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CACHE_PREFIX = "ahbench"
FASTAPI_CACHE_PREFIX = "fastapi-cache-bench"
RAW_REDIS_PREFIX = "raw-redis-bench"
TOOL_CATEGORY = "databases"
WARM_UP = "2s"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass(frozen=True, slots=True)
class RawApp:
    """A plain ASGI yardstick that reads its body from Redis on each request."""

    name: str
    module: str
    label: str


RAW_REDIS = RawApp("raw-redis", "bench.raw_redis_app:app", "raw ASGI + redis-py GET")
RAW_PIPELINED = RawApp(
    "raw-pipelined", "bench.raw_pipelined_app:app", "raw ASGI + one pipelined read"
)


@dataclass(frozen=True, slots=True)
class Contender:
    """A head-to-head server, up for all the rounds, and what was measured of it once."""

    server: Server
    client: RawClient
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    key: str
    label: str
    path: str
    before: bool  # also measured with the cache disabled


def endpoints(f: Fixtures) -> list[Endpoint]:
    return [
        Endpoint("agents.page1", "GET /api/agents (page 1)", "/api/agents", True),
        Endpoint(
            "agents.deep",
            "GET /api/agents?page=400&limit=20",
            "/api/agents?page=400&limit=20",
            True,
        ),
        Endpoint(
            "agents.search",
            f"GET /api/agents?search={AGENT_SEARCH_WORD}",
            f"/api/agents?search={AGENT_SEARCH_WORD}",
            True,
        ),
        Endpoint(
            "agents.filter", "GET /api/agents?status=paused", "/api/agents?status=paused", True
        ),
        Endpoint(
            "tools.page1", "GET /api/tools/definitions (page 1)", "/api/tools/definitions", True
        ),
        Endpoint(
            "tools.category",
            f"GET /api/tools/definitions?category={TOOL_CATEGORY}",
            f"/api/tools/definitions?category={TOOL_CATEGORY}",
            True,
        ),
        Endpoint(
            "tools.search",
            f"GET /api/tools/definitions?search={TOOL_SEARCH_WORD}",
            f"/api/tools/definitions?search={TOOL_SEARCH_WORD}",
            True,
        ),
        Endpoint("agent.details", "GET /api/agents/{id}", f"/api/agents/{f.agent_id}", False),
        Endpoint(
            "agent.stats", "GET /api/agents/{id}/stats", f"/api/agents/{f.agent_id}/stats", False
        ),
        Endpoint("servers.list", "GET /api/servers", "/api/servers", False),
        Endpoint(
            "server.tools",
            "GET /api/servers/{id}/tools",
            f"/api/servers/{f.server_id}/tools",
            False,
        ),
        Endpoint(
            "server.health",
            "GET /api/servers/{id}/health",
            f"/api/servers/{f.health_server_id}/health",
            False,
        ),
    ]


def unique_paths(key: str, agent_ids: list[str]) -> list[str] | None:
    """Paths that each name a different cache entry of one endpoint (for miss throughput):
    list pages near the default size (11-30 items, pages 1-100), or the big organization's
    agents one by one. More keys than wrk gets through in its run at miss speed, so that
    nearly every answer is a miss: 4,000 agents pages (both orders of the default sort)
    and 8,000 tool pages (both orders of the default sort, by name, and of the sort by
    category; both are served by an index, as the default sort of agents is)."""
    if key == "agents.page1":
        return [
            f"/api/agents?page={page}&limit={limit}&sortOrder={order}"
            for order in ("desc", "asc")
            for page in range(1, 101)
            for limit in range(11, 31)
        ]
    if key == "tools.page1":
        return [
            f"/api/tools/definitions?page={page}&limit={limit}&sortBy={sort}&sortOrder={order}"
            for sort in ("name", "category")
            for order in ("asc", "desc")
            for page in range(1, 101)
            for limit in range(11, 31)
        ]
    if key == "agent.details":
        return [f"/api/agents/{agent_id}" for agent_id in agent_ids]
    if key == "agent.stats":
        return [f"/api/agents/{agent_id}/stats" for agent_id in agent_ids]
    return None


# Generation keys ----------------------------------------------------------------------


def generation_keys(endpoint: Endpoint, f: Fixtures) -> list[str] | None:
    """The generation keys of the entry `endpoint` reads, built by agenthub's own key
    functions (the ones its routes and hit path use). None when they cannot be built."""
    try:
        from agenthub.agents.schemas import AgentListQuery
        from agenthub.caching import CacheKeys
        from agenthub.servers.schemas import ServerListQuery
        from agenthub.tools.schemas import ToolListQuery
        from cachelayer import Cache, MemoryBackend

        keys = CacheKeys(Cache(MemoryBackend(max_bytes=1 << 20), prefix=CACHE_PREFIX))
        org = uuid.UUID(f.organization_id)
        params = dict(parse_qsl(urlsplit(endpoint.path).query))
        section = endpoint.key.split(".")[0]
        if section == "agents":
            entry = keys.agents_page(org, AgentListQuery.model_validate(params))
        elif section == "tools":
            entry = keys.tool_definitions_page(ToolListQuery.model_validate(params))
        elif endpoint.key == "agent.details":
            entry = keys.agent_details(org, uuid.UUID(f.agent_id))
        elif endpoint.key == "agent.stats":
            entry = keys.agent_stats(org, uuid.UUID(f.agent_id))
        elif endpoint.key == "servers.list":
            entry = keys.servers_page(org, ServerListQuery.model_validate(params))
        elif endpoint.key == "server.tools":
            entry = keys.server_tools(org, uuid.UUID(f.server_id))
        elif endpoint.key == "server.health":
            entry = keys.server_health(org, uuid.UUID(f.health_server_id))
        else:
            return None
        return list(entry.generations)
    except Exception as exc:  # the cache's key API changed: fall back to a prefix flush
        log(f"generation keys of {endpoint.key} unavailable ({exc!r}); flushing the prefix")
        return None


# Servers -------------------------------------------------------------------------------


def cache_disabled_env() -> tuple[dict[str, str], str]:
    """Settings that turn agenthub's cache off, and how (for the report)."""
    if "CACHE_ENABLED" in Settings.model_fields:
        return {"CACHE_ENABLED": "false", "REDIS_URL": ""}, "CACHE_ENABLED=false"
    dead = f"redis://127.0.0.1:{free_port()}/0"
    return (
        {"REDIS_URL": dead},
        f"no CACHE_ENABLED setting: REDIS_URL={dead} (nothing listens there), so every "
        "request bypasses the cache once the breaker opens",
    )


@contextmanager
def agenthub(name: str, env: dict[str, str], headers: dict[str, str]) -> Iterator[Server]:
    base = {
        "DATABASE_URL": bench_database_url(),
        "REDIS_HOST": "",
        "LOG_LEVEL": "warning",
    }
    with uvicorn_server(
        name,
        "agenthub.main:create_app",
        {**base, **env},
        "/api/agents?limit=1",
        RESULTS_DIR / "logs",
        factory=True,
        ready_headers=headers,
    ) as server:
        yield server


# Steps ---------------------------------------------------------------------------------


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.wrk = WrkSettings(
            threads=args.threads, connections=args.connections, duration=args.duration
        )
        self.database_url = bench_database_url()
        self.redis_url = os.environ.get("AGENTHUB_BENCH_REDIS_URL", DEFAULT_REDIS_URL)
        self.redis = redis.Redis.from_url(self.redis_url)
        tokens = bench_tokens(SEED)
        self.headers = {"Authorization": f"Bearer {tokens.big_organization_admin}"}
        self.notes: list[str] = []
        self.results: dict[str, Any] = {}
        # How step 3 forced misses of page 1, and the alternations of each round.
        self.main_forget: Callable[[], None] | None = None
        self.main_seq_rounds: list[dict[str, Any]] = []

    def wrk_run(self, server: Server, path: str, rotate: list[str] | None = None) -> WrkResult:
        cpu_before = server.cpu_seconds()
        redis_before = self.redis_bytes_out()
        result = run_wrk(server.base_url + path, self.wrk, self.headers, rotate)
        if result.requests:
            cpu = server.cpu_seconds() - cpu_before
            result.server_cpu_us = round(cpu / result.requests * 1e6, 1)
            sent = self.redis_bytes_out() - redis_before
            result.redis_bytes_out_per_request = round(sent / result.requests, 1)
        bad = {k: v for k, v in result.errors.items() if v}
        if bad:
            self.notes.append(f"{server.name} {path}: wrk errors {bad}")
        return result

    def redis_bytes_out(self) -> int:
        """Redis's count of the bytes it has sent, to every client (the servers not under
        test sit idle during a wrk run)."""
        return int(self.redis.info("stats")["total_net_output_bytes"])

    def warm_up(self, server: Server, path: str) -> None:
        """A short wrk run whose figures are dropped: the first run of a fresh process
        also pays for connection pools, lazy imports and first-call caches."""
        run_wrk(server.base_url + path, replace(self.wrk, duration=WARM_UP), self.headers)

    def check(self, client: RawClient, path: str) -> RawResponse:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(
                f"GET {path} answered {response.status_code}: {response.content[:300]!r}"
            )
        return response

    def run(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        self.results.update(
            started_at=started.isoformat(timespec="seconds"),
            command=" ".join(["./dev bench", *sys.argv[1:]]),
            settings={
                "wrk": f"wrk -t{self.wrk.threads} -c{self.wrk.connections} -d{self.wrk.duration}",
                "sequential_requests": self.args.miss_requests,
                # cached endpoints: each forced miss followed by a hit of the same entry
                "sequential_hits_and_misses": "interleaved",
                "seed": SEED,
                "cache_prefix": CACHE_PREFIX,
            },
            machine=machine(),
            versions=versions(self.database_url, self.redis_url),
        )
        log("step 1: the bench database")
        self.results["database"] = prepare_database(self.database_url, log)
        with health_target() as health_url:
            agent_ids = big_organization_agent_ids(self.database_url)
            f = read_fixtures(self.database_url, health_url, AGENT_SEARCH_WORD)
            self.results["fixtures"] = {
                "big_organization_agents": f.big_organization_agents,
                "search_word": AGENT_SEARCH_WORD,
                "search_matches": f.search_matches,
                "tool_search_word": TOOL_SEARCH_WORD,
                "tool_category": TOOL_CATEGORY,
            }
            points = endpoints(f)
            self.results["endpoints"] = {p.key: p.label for p in points}
            self.before(points)
            self.after(points, f, agent_ids)
        self.head_to_head()
        self.results["ratios"] = report.ratios(self.results)
        self.results["notes"] = self.notes
        self.results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return self.results

    def before(self, points: list[Endpoint]) -> None:
        env, method = cache_disabled_env()
        self.results["baseline_method"] = method
        log(f"step 2: before (cache disabled: {method})")
        before: dict[str, Any] = {}
        with (
            agenthub("agenthub-before", env, self.headers) as server,
            RawClient(server.base_url, self.headers) as client,
        ):
            self.warm_up(server, points[0].path)
            for point in (p for p in points if p.before):
                self.check(client, point.path)
                result = self.wrk_run(server, point.path)
                sequential = timed_requests(client, point.path, self.args.miss_requests)
                before[point.key] = {**result.to_json(), "seq": sequential.to_json()}
                log(f"  before {point.label}: {_brief(result)}; seq p50 {sequential.p50_ms:.2f} ms")
        self.results["before"] = before

    def after(self, points: list[Endpoint], f: Fixtures, agent_ids: list[str]) -> None:
        log(f"step 3: after (Redis {self.redis_url}, prefix {CACHE_PREFIX!r})")
        cleared = scan_unlink(self.redis, CACHE_PREFIX)
        if cleared:
            log(f"  cleared {cleared} keys left under {CACHE_PREFIX}:")
        env = {"REDIS_URL": self.redis_url, "CACHE_PREFIX": CACHE_PREFIX}
        if "CACHE_ENABLED" in Settings.model_fields:
            env["CACHE_ENABLED"] = "true"
        after: dict[str, Any] = {}
        miss_methods: set[str] = set()
        try:
            with (
                agenthub("agenthub-after", env, self.headers) as server,
                RawClient(server.base_url, self.headers) as client,
            ):
                self.check(client, points[0].path)
                self.warm_up(server, points[0].path)
                for point in points:
                    after[point.key] = self._after_one(server, client, point, f, miss_methods)
                self.results["page_bytes"] = len(self.check(client, "/api/agents").content)
                log("  miss throughput (wrk over unique keys)")
                for point in points:
                    paths = unique_paths(point.key, agent_ids)
                    if paths is None:
                        continue
                    scan_unlink(self.redis, CACHE_PREFIX)
                    self.check(client, point.path)  # principal cached again
                    result = self.wrk_run(server, "", rotate=paths)
                    after[point.key]["miss_wrk"] = result.to_json()
                    after[point.key]["miss_wrk_keys"] = len(paths)
                    log(f"  miss {point.label}: {_brief(result)} X-Cache {result.xcache}")
                    scan_unlink(self.redis, CACHE_PREFIX)
        finally:
            scan_unlink(self.redis, CACHE_PREFIX)
        self.results["after"] = after
        self.results["miss_method"] = " / ".join(sorted(miss_methods))

    def _after_one(
        self,
        server: Server,
        client: RawClient,
        point: Endpoint,
        f: Fixtures,
        miss_methods: set[str],
    ) -> dict[str, Any]:
        n = self.args.miss_requests
        self.check(client, point.path)
        self.check(client, point.path)
        probe = self.check(client, point.path)
        xcache = probe.headers.get("x-cache", "absent")
        if xcache != "HIT":
            self.notes.append(f"{point.key}: warm probe answered X-Cache {xcache}")
        hit = self.wrk_run(server, point.path)
        generations = generation_keys(point, f)
        if generations:
            forget: Callable[[], None] = delete_keys(self.redis, generations)
            miss_methods.add(
                "the entry's generation keys, from agenthub's own key functions, "
                "deleted in Redis before each timed miss"
            )
        else:

            def forget() -> None:
                scan_unlink(self.redis, CACHE_PREFIX)

            miss_methods.add("the cache prefix flushed (SCAN + UNLINK) before each timed miss")
        if point.key == report.MAIN:
            self.main_forget = forget  # the head-to-head rounds alternate again
        # Interleaved: a forced miss, then a hit of the entry it stored, n times each.
        hit_seq, miss_seq = interleaved_requests(client, point.path, n, forget)
        if not hit_seq.all_hits:
            self.notes.append(f"{point.key}: sequential hits answered X-Cache {hit_seq.xcache}")
        if not miss_seq.all_misses:
            self.notes.append(f"{point.key}: forced misses answered X-Cache {miss_seq.xcache}")
        log(
            f"  after {point.label}: probe {xcache}; hit {_brief(hit)}; "
            f"seq hit p50 {hit_seq.p50_ms:.2f} ms, seq miss p50 {miss_seq.p50_ms:.2f} ms"
        )
        return {
            "probe_xcache": xcache,
            "probe_bytes": len(probe.content),
            "hit": hit.to_json(),
            "hit_seq": hit_seq.to_json(),
            "miss_seq": miss_seq.to_json(),
            "generation_keys": len(generations or []),
        }

    def head_to_head(self) -> None:
        """Steps 4 and 5: agenthub's cached agents page, the bare endpoint, the two raw
        ASGI apps (one redis-py GET; one read through agenthub's pipelined backend) and
        fastapi-cache2. All five servers run side by side (idle but for the one being
        driven); each round drives each of them once, one after the other, in one order
        and the next round in the reverse order: agenthub's run is always right next to
        the bare endpoint's and to the pipelined yardstick's, and neither side of a
        comparison always goes first. The machine is shared: a comparison is made within
        each round, and the verdict is the median of the rounds'."""
        size = int(self.results.get("page_bytes") or 6900)
        log(
            f"steps 4-5: {self.args.rounds} rounds of agenthub hit / bare endpoint "
            f"({size} bytes) / raw ASGI + one redis-py GET / raw ASGI + one pipelined read "
            f"(prefixes {RAW_REDIS_PREFIX}-*) / fastapi-cache2 (prefix {FASTAPI_CACHE_PREFIX!r})"
        )
        with ExitStack() as stack:
            # In the order of a round: agenthub between the two yardsticks it is
            # compared with most.
            contenders = {
                "raw_pipelined": stack.enter_context(self._raw_redis(RAW_PIPELINED, size)),
                "agenthub": stack.enter_context(self._agenthub_hit()),
                "bare": stack.enter_context(self._bare(size)),
                "raw_redis": stack.enter_context(self._raw_redis(RAW_REDIS, size)),
                "fastapi_cache2": stack.enter_context(self._fastapi_cache2()),
            }
            for contender in contenders.values():
                self.warm_up(contender.server, "/api/agents")
            rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
            names = list(contenders)
            for number in range(self.args.rounds):
                for name in names if number % 2 == 0 else names[::-1]:
                    contender = contenders[name]
                    # The cached servers' entries have a 300 s TTL, shorter than all the
                    # rounds: this request stores the page again if it expired.
                    self.check(contender.client, "/api/agents")
                    result = self.wrk_run(contender.server, "/api/agents")
                    rounds[name].append(result.to_json())
                    log(f"  round {number + 1} {name}: {_brief(result)}")
                if self.main_forget is not None:
                    self._alternate_again(contenders["agenthub"].client)
        head_to_head = {
            name: {**contender.details, "hit": _median_run(rounds[name]), "rounds": rounds[name]}
            for name, contender in contenders.items()
        }
        head_to_head["agenthub"]["seq_rounds"] = self.main_seq_rounds
        self.results["head_to_head"] = head_to_head
        self.results["bare"] = head_to_head["bare"]
        self.results["raw_redis"] = head_to_head["raw_redis"]
        self.results["raw_pipelined"] = head_to_head["raw_pipelined"]
        self.results["fastapi_cache2"] = head_to_head["fastapi_cache2"]

    @contextmanager
    def _agenthub_hit(self) -> Iterator[Contender]:
        env = {"REDIS_URL": self.redis_url, "CACHE_PREFIX": CACHE_PREFIX, "CACHE_ENABLED": "true"}
        scan_unlink(self.redis, CACHE_PREFIX)
        try:
            with (
                agenthub("agenthub-hit", env, self.headers) as server,
                RawClient(server.base_url, self.headers) as client,
            ):
                self.check(client, "/api/agents")
                probe = self.check(client, "/api/agents")
                xcache = probe.headers.get("x-cache", "absent")
                if xcache != "HIT":
                    self.notes.append(f"head-to-head agenthub: probe answered X-Cache {xcache}")
                # Timed as the yardsticks' are: a series of hits only.
                hits_only = timed_requests(client, "/api/agents", self.args.miss_requests)
                if not hits_only.all_hits:
                    self.notes.append(f"head-to-head agenthub: hits answered {hits_only.xcache}")
                log(f"  agenthub sequential hits only p50 {hits_only.p50_ms:.3f} ms")
                details = {"probe_xcache": xcache, "hits_only_seq": hits_only.to_json()}
                yield Contender(server, client, details)
        finally:
            scan_unlink(self.redis, CACHE_PREFIX)

    def _alternate_again(self, client: RawClient) -> None:
        """Step 3's alternation of forced misses and hits of page 1, once per round: the
        hit-vs-miss ratio is then the median of several moments of this shared machine."""
        assert self.main_forget is not None
        n = self.args.miss_requests
        hit_seq, miss_seq = interleaved_requests(client, "/api/agents", n, self.main_forget)
        self.main_seq_rounds.append({"hit_seq": hit_seq.to_json(), "miss_seq": miss_seq.to_json()})
        log(f"  seq hit p50 {hit_seq.p50_ms:.2f} ms, seq miss p50 {miss_seq.p50_ms:.2f} ms")

    @contextmanager
    def _bare(self, size: int) -> Iterator[Contender]:
        with (
            uvicorn_server(
                "bare",
                "bench.bare_app:app",
                {"BENCH_BODY_BYTES": str(size)},
                "/api/agents",
                RESULTS_DIR / "logs",
            ) as server,
            RawClient(server.base_url) as client,
        ):
            n = self.args.miss_requests
            hit_seq = timed_requests(client, "/api/agents", n)
            with httpx.Client(base_url=server.base_url) as httpx_client:
                httpx_seq = timed_requests(httpx_client, "/api/agents", n)
            log(
                f"  bare sequential p50 {hit_seq.p50_ms:.3f} ms "
                f"(with an httpx client: {httpx_seq.p50_ms:.3f} ms)"
            )
            details = {
                "bytes": size,
                "hit_seq": hit_seq.to_json(),
                "httpx_seq": httpx_seq.to_json(),
            }
            yield Contender(server, client, details)

    @contextmanager
    def _raw_redis(self, app: RawApp, size: int) -> Iterator[Contender]:
        # A prefix per app: both run at once, and each one's cleanup must spare the other.
        prefix = f"{RAW_REDIS_PREFIX}-{app.name}"
        env = {"BENCH_BODY_BYTES": str(size), "REDIS_URL": self.redis_url}
        env["RAW_REDIS_PREFIX"] = prefix
        scan_unlink(self.redis, prefix)  # what an interrupted run left
        try:
            with (
                uvicorn_server(
                    app.name, app.module, env, "/api/agents", RESULTS_DIR / "logs"
                ) as server,
                RawClient(server.base_url) as client,
            ):
                probe = self.check(client, "/api/agents")
                if len(probe.content) != size:
                    self.notes.append(f"{app.label}: {len(probe.content)} bytes, not {size}")
                hit_seq = timed_requests(client, "/api/agents", self.args.miss_requests)
                log(f"  {app.label} sequential p50 {hit_seq.p50_ms:.3f} ms")
                details = {"bytes": len(probe.content), "hit_seq": hit_seq.to_json()}
                yield Contender(server, client, details)
        finally:
            # Each app deletes its own key at shutdown; whatever is left is reported.
            left = scan_unlink(self.redis, prefix)
            if left:
                self.notes.append(f"{app.label}: {left} keys left at shutdown")

    def _forget_fc2(self) -> None:
        scan_unlink(self.redis, FASTAPI_CACHE_PREFIX)

    @contextmanager
    def _fastapi_cache2(self) -> Iterator[Contender]:
        env = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "FASTAPI_CACHE_PREFIX": FASTAPI_CACHE_PREFIX,
        }
        details: dict[str, Any] = {}
        scan_unlink(self.redis, FASTAPI_CACHE_PREFIX)
        try:
            with (
                uvicorn_server(
                    "fastapi-cache2",
                    "bench.fastapi_cache2_app:app",
                    env,
                    "/api/agents?limit=1",
                    RESULTS_DIR / "logs",
                    ready_headers=self.headers,
                ) as server,
                RawClient(server.base_url, self.headers) as client,
            ):
                self.check(client, "/api/agents")
                probe = self.check(client, "/api/agents")
                details["probe_status"] = probe.headers.get("x-fastapi-cache", "absent")
                details["probe_bytes"] = len(probe.content)
                header = "x-fastapi-cache"
                hit_seq, miss_seq = interleaved_requests(
                    client, "/api/agents", self.args.miss_requests, self._forget_fc2, header
                )
                if not (hit_seq.all_hits and miss_seq.all_misses):
                    self.notes.append(
                        f"fastapi-cache2: {header} of hits {hit_seq.xcache}, "
                        f"of forced misses {miss_seq.xcache}"
                    )
                details["hit_seq"] = hit_seq.to_json()
                details["miss_seq"] = miss_seq.to_json()
                self.check(client, "/api/agents")  # cached again for the rounds
                yield Contender(server, client, details)
        finally:
            scan_unlink(self.redis, FASTAPI_CACHE_PREFIX)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda run: float(run["requests_per_second"]))
    return ordered[(len(ordered) - 1) // 2]


def _brief(result: WrkResult) -> str:
    return (
        f"{result.requests_per_second:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
        f"p99 {result.p99_ms:.2f} ms"
    )


def save(results: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = results["started_at"].replace(":", "").replace("-", "")
    path = RESULTS_DIR / f"bench-{stamp}.json"
    text = json.dumps(results, indent=2)
    path.write_text(text)
    (RESULTS_DIR / "latest.json").write_text(text)
    return path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", default="10s", help="wrk -d per run (default 10s)")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument(
        "--miss-requests",
        type=int,
        default=200,
        help="sequential timed requests per endpoint, for hits and for misses, which "
        "alternate (default 200 of each)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=6,
        help="rounds of agenthub hit / bare / the two raw ASGI apps / fastapi-cache2, "
        "each driven once per round (default 6)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        wrk_binary()
    except WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    harness = Harness(args)
    try:
        harness.redis.ping()
    except redis.RedisError as exc:
        print(f"bench: Redis at {harness.redis_url} does not answer ({exc})", file=sys.stderr)
        return 2
    results = harness.run()
    path = save(results)
    print()
    print(report.render_terminal(results))
    log(f"raw results: {path.relative_to(ROOT)}")
    if not args.no_docs:
        DOCS_PATH.write_text(report.render_markdown(results))
        log(f"wrote {DOCS_PATH.relative_to(ROOT)}")
    return 0
