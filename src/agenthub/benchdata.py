"""The bench profile: DESIGN's realistic data set, bulk-loaded into PostgreSQL.

100 organizations (one of them, the first, with 10,000 of the 50,000 agents), 2 MCP
servers per organization with some tools enabled on each, 5,000 tool definitions (the
shipped catalog plus `<name>_v<k>` variants of it), 1,000,000 agent runs (busier agents
in the big organization) and one admin token per organization plus a platform-admin
token in the big organization.

Everything but the timestamps is a function of the seed: ids, names, the tokens' secrets.
Timestamps are seeded offsets from the load time, so that "runs in the last 24 hours"
means something. Rows go in with asyncpg's binary COPY through the tables of the ORM
models, in one transaction: the full profile loads in well under two minutes on 2 cores.

    counts = await load_bench_profile("postgresql+asyncpg://postgres@127.0.0.1/agenthub_bench")
    print(describe_bench_profile(counts, seed=42))
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import itertools
import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, cast

from sqlalchemy import Table, text

from agenthub.agents.models import Agent, AgentRun
from agenthub.config import normalize_database_url
from agenthub.db import create_engine
from agenthub.migrations import upgrade_engine
from agenthub.organizations.models import ApiToken, Organization
from agenthub.organizations.service import TOKEN_PREFIX, hash_secret
from agenthub.servers.models import Server, ServerTool
from agenthub.tools.models import ToolDefinition

# Full-size counts; `scale` multiplies each of them.
ORGANIZATIONS = 100
AGENTS = 50_000
BIG_ORGANIZATION_AGENTS = 10_000
SERVERS_PER_ORGANIZATION = 2
TOOL_DEFINITIONS = 5_000
AGENT_RUNS = 1_000_000

# A word found in about 1% of the agents' names and descriptions (one subject in 100),
# and one found in about 5% of the tool definitions: what the benchmarks search for.
AGENT_SEARCH_WORD = "invoice"
TOOL_SEARCH_WORD = "github"

# The big organization's agents run four times as often as the others' (before the
# per-agent spread): about half of all runs are theirs.
BIG_ORGANIZATION_RUN_WEIGHT = 4.0

_COPY_BATCH = 50_000

# Tables in loading order (parents first); `TRUNCATE ... CASCADE` of the first and of
# the tool catalog empties them all.
_TABLES: tuple[Table, ...] = tuple(
    cast(Table, model.__table__)
    for model in (Organization, ApiToken, ToolDefinition, Server, ServerTool, Agent, AgentRun)
)

_ORG_PREFIXES = (
    "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Acme",
    "Tyrell", "Cyberdyne", "Soylent", "Wonka", "Gringotts", "Stark", "Wayne", "Oscorp",
    "Aperture", "Black Mesa", "Massive Dynamic", "Pied Piper", "Dunder Mifflin", "Sterling",
    "Blue Sun", "Monarch", "Prestige", "Virtucon", "Gekko", "Nakatomi", "Zorg", "Krusty",
)  # fmt: skip
_ORG_SUFFIXES = (
    "Analytics", "Labs", "Logistics", "Health", "Finance", "Robotics", "Retail", "Media",
    "Energy", "Insurance", "Systems", "Bank", "Foods", "Travel", "Biotech", "Security",
)  # fmt: skip

# One subject in 100 per agent: each word is in about 1% of the agents. None of them
# contains another vocabulary word, so a search for one matches only its own agents.
_SUBJECTS = (
    "invoice", "ticket", "lead", "incident", "contract", "refund", "payroll", "shipment",
    "inventory", "onboarding", "churn", "forecast", "resume", "expense", "compliance",
    "vendor", "pricing", "backlog", "deployment", "release", "changelog", "roadmap", "survey",
    "feedback", "outage", "alert", "budget", "audit", "tax", "procurement", "warranty",
    "subscription", "renewal", "campaign", "newsletter", "webinar", "podcast", "transcript",
    "meeting", "calendar", "travel", "booking", "claim", "policy", "patient", "prescription",
    "lab result", "shift", "timesheet", "recruiting", "interview", "candidate", "benchmark",
    "dataset", "schema", "migration", "query", "dashboard", "metric", "anomaly", "fraud",
    "chargeback", "dispute", "kyc", "sanctions", "portfolio", "trade", "quote", "order",
    "returns", "catalog", "product", "listing", "review", "sentiment", "translation",
    "localization", "documentation", "api", "sdk", "bug", "pull request", "code review",
    "test", "flaky test", "dependency", "vulnerability", "secret", "access request",
    "permission", "license", "asset", "facility", "fleet", "route", "delivery", "warehouse",
    "supplier", "energy", "emission",
)  # fmt: skip
_FUNCTIONS = (
    "Triager", "Summarizer", "Router", "Reviewer", "Assistant", "Classifier", "Extractor",
    "Monitor", "Planner", "Drafter", "Auditor", "Responder", "Scheduler", "Analyst", "Copilot",
    "Validator", "Enricher", "Tracker", "Escalator", "Notifier", "Researcher", "Writer",
    "Checker", "Optimizer", "Reconciler",
)  # fmt: skip
_PHRASES = (
    "reads new items as they arrive and escalates the ones it is unsure about",
    "prepares a daily digest and posts it to the team channel",
    "answers routine questions and hands anything unusual to a human",
    "checks each item against the team's rules and flags the exceptions",
    "drafts replies for review, never sending anything on its own",
    "keeps the tracker in sync with what actually happened",
    "collects the context a reviewer needs into one short note",
    "runs every night and reports what changed since the last run",
)  # fmt: skip
_TEAMS = (
    "finance", "support", "platform", "sales", "growth", "security", "data", "legal",
    "people", "operations", "marketing", "engineering",
)  # fmt: skip
_ROLES = (
    "support", "research", "coding", "data-analysis", "operations", "sales", "security",
    "qa", "writing", "finance",
)  # fmt: skip
_STATUSES = ("active", "paused", "error", "archived")
_STATUS_WEIGHTS = (72, 12, 4, 12)
_MODELS = (
    "gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "claude-3-haiku", "llama-3.1-70b",
    "mistral-large",
)  # fmt: skip
_SERVER_KINDS = (
    ("github", "http"), ("postgres", "stdio"), ("slack", "http"), ("jira", "sse"),
    ("filesystem", "stdio"), ("browser", "sse"), ("search", "http"), ("stripe", "http"),
)  # fmt: skip
_VARIANT_NOTES = (
    "adds pagination and a dry-run flag",
    "returns richer metadata for each result",
    "tuned for large accounts with stricter rate limits",
    "read-only flavour for auditors",
    "batch edition that accepts up to 100 items per call",
    "regional endpoint with data residency in the EU",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class BenchCounts:
    """How many rows of each kind a profile of a given scale holds."""

    organizations: int
    agents: int
    big_organization_agents: int
    servers: int
    tool_definitions: int
    agent_runs: int

    @classmethod
    def for_scale(cls, scale: float = 1.0) -> BenchCounts:
        if not 0 < scale <= 1:
            raise ValueError("scale is a fraction of the full profile: 0 < scale <= 1")
        organizations = max(2, round(ORGANIZATIONS * scale))
        agents = max(organizations, round(AGENTS * scale))
        big = max(1, min(round(BIG_ORGANIZATION_AGENTS * scale), agents - (organizations - 1)))
        return cls(
            organizations=organizations,
            agents=agents,
            big_organization_agents=big,
            servers=organizations * SERVERS_PER_ORGANIZATION,
            tool_definitions=max(1, round(TOOL_DEFINITIONS * scale)),
            agent_runs=max(1, round(AGENT_RUNS * scale)),
        )


@dataclass(frozen=True, slots=True)
class BenchTokens:
    """The secrets of the profile's tokens (derived from the seed, never random)."""

    platform_admin: str
    organization_admins: tuple[str, ...]

    @property
    def big_organization_admin(self) -> str:
        return self.organization_admins[0]


def bench_token_secret(seed: int, label: str) -> str:
    """A secret shaped like the generated ones (`ahk_` + 43 URL-safe characters)."""
    digest = hashlib.sha256(f"agenthub-bench:{seed}:{label}".encode()).digest()
    return TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def bench_tokens(seed: int = 42, scale: float = 1.0) -> BenchTokens:
    organizations = BenchCounts.for_scale(scale).organizations
    return BenchTokens(
        platform_admin=bench_token_secret(seed, "platform-admin"),
        organization_admins=tuple(
            bench_token_secret(seed, f"org-{index}-admin") for index in range(organizations)
        ),
    )


def organization_slug(index: int) -> str:
    return f"bench-{index:03d}"


def describe_bench_profile(counts: dict[str, int], *, seed: int = 42) -> str:
    """A summary for the terminal: the row counts and the tokens to call the API with."""
    tokens = bench_tokens(seed)
    lines = ["Loaded the bench profile:"]
    lines += [f"  {table:<18} {count:>9,}" for table, count in counts.items()]
    lines += [
        f"Big organization ({organization_slug(0)}) admin token: {tokens.big_organization_admin}",
        f"Platform admin token (in {organization_slug(0)}): {tokens.platform_admin}",
        f"Admin token of organization bench-NNN: bench_tokens(seed={seed})"
        ".organization_admins[NNN] (agenthub.benchdata)",
    ]
    return "\n".join(lines)


class BenchDataError(RuntimeError):
    """The bench profile cannot be loaded into this database."""


async def load_bench_profile(
    database_url: str, *, seed: int = 42, scale: float = 1.0, replace: bool = False
) -> dict[str, int]:
    """Migrate the database, load the bench profile and return the rows per table.

    PostgreSQL only (COPY). A database that already holds organizations is refused,
    unless `replace`, which empties every table of the profile first.
    """
    url = normalize_database_url(database_url)
    if not url.startswith("postgresql+asyncpg://"):
        raise BenchDataError(
            "the bench profile loads into PostgreSQL only (it uses COPY); "
            f"got {url.split(':', 1)[0]}: set DATABASE_URL=postgresql+asyncpg://..."
        )
    counts = BenchCounts.for_scale(scale)
    data = _Generator(seed, counts, now=datetime.now(UTC).replace(microsecond=0))
    engine = create_engine(url)
    try:
        await upgrade_engine(engine)
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            async with driver.transaction():
                if await driver.fetchval("SELECT EXISTS (SELECT 1 FROM organizations)"):
                    if not replace:
                        raise BenchDataError(
                            "the database already holds organizations; load the bench "
                            "profile into an empty database (or pass replace=True)"
                        )
                    await driver.execute("TRUNCATE organizations, tool_definitions CASCADE")
                loaded = {
                    "organizations": await _copy(driver, Organization, data.organizations()),
                    "api_tokens": await _copy(driver, ApiToken, data.tokens()),
                    "tool_definitions": await _copy(driver, ToolDefinition, data.tools()),
                    "servers": await _copy(driver, Server, data.servers()),
                    "server_tools": await _copy(driver, ServerTool, data.server_tools()),
                    "agents": await _copy(driver, Agent, data.agents()),
                    "agent_runs": await _copy(driver, AgentRun, data.runs()),
                }
            for table in _TABLES:
                await driver.execute(f"ANALYZE {table.name}")
        return loaded
    finally:
        await engine.dispose()


async def bench_profile_counts(database_url: str) -> dict[str, int]:
    """Rows per table of the profile in a migrated database (empty tables: 0)."""
    engine = create_engine(normalize_database_url(database_url))
    try:
        async with engine.connect() as connection:
            counts: dict[str, int] = {}
            for table in _TABLES:
                result = await connection.execute(text(f"SELECT count(*) FROM {table.name}"))
                counts[table.name] = int(result.scalar_one())
            return counts
    finally:
        await engine.dispose()


def expected_counts(scale: float = 1.0) -> dict[str, int]:
    """What `load_bench_profile` returns for this scale (server tools vary with the seed)."""
    counts = BenchCounts.for_scale(scale)
    return {
        "organizations": counts.organizations,
        "api_tokens": counts.organizations + 1,
        "tool_definitions": counts.tool_definitions,
        "servers": counts.servers,
        "agents": counts.agents,
        "agent_runs": counts.agent_runs,
    }


async def _copy(driver: Any, model: type[Any], rows: Iterable[dict[str, Any]]) -> int:
    table: Table = model.__table__
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return 0
    columns = list(first)
    unknown = set(columns) - set(table.columns.keys())
    missing = {
        column.name
        for column in table.columns
        if not column.nullable and column.server_default is None and column.name not in first
    }
    if unknown or missing:
        raise BenchDataError(f"{table.name}: unknown columns {unknown}, missing {missing}")
    total = 0
    records = (tuple(row.values()) for row in itertools.chain([first], rows))
    while batch := list(itertools.islice(records, _COPY_BATCH)):
        await driver.copy_records_to_table(table.name, records=batch, columns=columns)
        total += len(batch)
    return total


def _json(value: Any) -> str:
    # asyncpg's binary COPY takes json columns as text; keep the documents' key order.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _load_catalog() -> list[dict[str, Any]]:
    raw = resources.files("agenthub.tools").joinpath("catalog.json").read_bytes()
    catalog: list[dict[str, Any]] = json.loads(raw)
    return catalog


class _Generator:
    """The rows of one profile; every choice comes from one seeded random.Random."""

    def __init__(self, seed: int, counts: BenchCounts, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.counts = counts
        self.now = now
        self.catalog = _load_catalog()
        self.org_ids = [self._uuid() for _ in range(counts.organizations)]
        self.org_created = [now - timedelta(days=self.rng.uniform(400, 900)) for _ in self.org_ids]
        self.tool_ids = [self._uuid() for _ in range(counts.tool_definitions)]
        self.tool_names: list[str] = []
        # (server id, organization index) for each server, two per organization in order.
        self.server_ids = [self._uuid() for _ in range(counts.servers)]
        self.agent_ids: list[uuid.UUID] = []
        self.agent_created: list[datetime] = []
        self.agent_weights: list[float] = []

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def _between(self, start: datetime, end: datetime) -> datetime:
        seconds = max(0.0, (end - start).total_seconds())
        return start + timedelta(seconds=round(self.rng.uniform(0, seconds), 3))

    def organizations(self) -> Iterator[dict[str, Any]]:
        names = [f"{p} {s}" for p in _ORG_PREFIXES for s in _ORG_SUFFIXES]
        self.rng.shuffle(names)
        for index, org_id in enumerate(self.org_ids):
            created = self.org_created[index]
            yield {
                "id": org_id,
                "name": names[index % len(names)],
                "slug": organization_slug(index),
                "created_at": created,
                "updated_at": created,
            }

    def tokens(self) -> Iterator[dict[str, Any]]:
        secrets = bench_tokens(self.seed)
        for index, org_id in enumerate(self.org_ids):
            yield self._token(org_id, index, "bench admin", "admin", False,
                              secrets.organization_admins[index])  # fmt: skip
        yield self._token(self.org_ids[0], 0, "bench platform admin", "owner", True,
                          secrets.platform_admin)  # fmt: skip

    def _token(
        self, org_id: uuid.UUID, index: int, name: str, role: str, platform: bool, secret: str
    ) -> dict[str, Any]:
        created = self.org_created[index]
        return {
            "id": self._uuid(),
            "organization_id": org_id,
            "name": name,
            "role": role,
            "is_platform_admin": platform,
            "token_hash": hash_secret(secret),
            "revoked_at": None,
            "created_at": created,
            "updated_at": created,
        }

    def tools(self) -> Iterator[dict[str, Any]]:
        catalog = self.catalog
        for index, tool_id in enumerate(self.tool_ids):
            base = catalog[index % len(catalog)]
            variant = index // len(catalog)
            created = self.now - timedelta(days=self.rng.uniform(30, 700))
            if variant == 0:
                name, description, version = base["name"], base["description"], base["version"]
            else:
                k = variant + 1
                name = f"{base['name']}_v{k}"
                note = self.rng.choice(_VARIANT_NOTES)
                description = f"{base['description']} Variant {k}: {note}."
                version = f"{k}.{self.rng.randint(0, 9)}.{self.rng.randint(0, 20)}"
            self.tool_names.append(name)
            yield {
                "id": tool_id,
                "name": name,
                "description": description,
                "category": base["category"],
                "version": version,
                "input_schema": _json(base["inputSchema"]),
                "created_at": created,
                "updated_at": self._between(created, self.now),
            }

    def servers(self) -> Iterator[dict[str, Any]]:
        for index, server_id in enumerate(self.server_ids):
            org = index // SERVERS_PER_ORGANIZATION
            kind, transport = _SERVER_KINDS[self.rng.randrange(len(_SERVER_KINDS))]
            name = f"{kind}-mcp-{index % SERVERS_PER_ORGANIZATION + 1}"
            if transport == "stdio":
                url = f"npx -y @modelcontextprotocol/server-{kind}"
            else:
                # .invalid never resolves (RFC 6761): nothing is probed by accident.
                url = f"https://{kind}.{organization_slug(org)}.mcp.invalid/{transport}"
            created = self._between(self.org_created[org], self.now)
            yield {
                "id": server_id,
                "organization_id": self.org_ids[org],
                "name": name,
                "url": url,
                "transport": transport,
                "status": self.rng.choices(("active", "inactive", "error"), (85, 10, 5))[0],
                "created_at": created,
                "updated_at": self._between(created, self.now),
            }

    def server_tools(self) -> Iterator[dict[str, Any]]:
        for server_id in self.server_ids:
            count = min(len(self.tool_ids), self.rng.randint(5, 25))
            for tool_id in self.rng.sample(self.tool_ids, count):
                created = self.now - timedelta(days=self.rng.uniform(1, 300))
                yield {
                    "server_id": server_id,
                    "tool_definition_id": tool_id,
                    "enabled": self.rng.random() < 0.9,
                    "created_at": created,
                    "updated_at": created,
                }

    def _agents_per_organization(self) -> list[int]:
        counts = self.counts
        others = counts.organizations - 1
        spread = counts.agents - counts.big_organization_agents - others
        # Every other organization gets one agent, then the rest by uneven weights.
        weights = [self.rng.uniform(0.2, 1.8) for _ in range(others)]
        per_org = [1] * others
        for org in self.rng.choices(range(others), weights=weights, k=spread):
            per_org[org] += 1
        return [counts.big_organization_agents, *per_org]

    def agents(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        tool_names = self.tool_names[: len(self.catalog)] or ["web_search"]
        for org, count in enumerate(self._agents_per_organization()):
            servers = self.server_ids[
                org * SERVERS_PER_ORGANIZATION : (org + 1) * SERVERS_PER_ORGANIZATION
            ]
            since = max(self.org_created[org], self.now - timedelta(days=365))
            weight = BIG_ORGANIZATION_RUN_WEIGHT if org == 0 else 1.0
            for _ in range(count):
                agent_id = self._uuid()
                subject = rng.choice(_SUBJECTS)
                function = rng.choice(_FUNCTIONS)
                created = self._between(since, self.now - timedelta(hours=1))
                updated = created if rng.random() < 0.5 else self._between(created, self.now)
                config = {
                    "model": rng.choice(_MODELS),
                    "temperature": round(rng.uniform(0, 1), 1),
                    "maxTokens": rng.choice((1024, 2048, 4096, 8192)),
                    "tools": rng.sample(tool_names, min(len(tool_names), rng.randint(1, 3))),
                }
                self.agent_ids.append(agent_id)
                self.agent_created.append(created)
                self.agent_weights.append(weight * rng.lognormvariate(0, 0.75))
                yield {
                    "id": agent_id,
                    "organization_id": self.org_ids[org],
                    "server_id": rng.choice(servers) if rng.random() < 0.9 else None,
                    "name": f"{subject.title()} {function} {rng.randint(1, 99)}",
                    "description": (
                        f"{subject.capitalize()} {function.lower()} for the "
                        f"{rng.choice(_TEAMS)} team: {rng.choice(_PHRASES)}."
                    ),
                    "role": rng.choice(_ROLES),
                    "status": rng.choices(_STATUSES, _STATUS_WEIGHTS)[0],
                    "config": _json(config),
                    "created_at": created,
                    "updated_at": updated,
                }

    def runs(self) -> Iterator[dict[str, Any]]:
        rng = self.rng
        cumulative = list(itertools.accumulate(self.agent_weights))
        last = cumulative[-1]
        now = self.now
        first = rng.getrandbits(30)
        for index in range(self.counts.agent_runs):
            agent = bisect.bisect_left(cumulative, rng.random() * last)
            created = self.agent_created[agent]
            # Somewhat skewed towards recent runs: about 2% fall in the last 24 hours.
            started = now - (now - created) * (rng.random() ** 1.3)
            duration = min(int(rng.lognormvariate(8.3, 1.0)), 3_600_000)
            # Ids that grow with the row number, so that the primary key index is appended
            # (the top 32 bits; the version bits that follow are not part of the counter).
            run_id = uuid.UUID(int=((first + index) << 96) | rng.getrandbits(96), version=4)
            yield {
                "id": run_id,
                "agent_id": self.agent_ids[agent],
                "started_at": started,
                "duration_ms": duration,
                "status": "success" if rng.random() < 0.93 else "failed",
                "tool_calls": rng.randint(0, 20),
                "tokens": rng.randint(300, 60_000),
                "created_at": min(now, started + timedelta(milliseconds=duration)),
            }


def search_word_is_distinct(word: str, vocabulary: Sequence[str]) -> bool:
    """True when `word` appears in exactly one vocabulary entry (its own)."""
    return sum(word in entry.lower() for entry in vocabulary) == 1


def agent_vocabulary() -> tuple[str, ...]:
    """Every word list agent names and descriptions are made of (for tests)."""
    return _SUBJECTS + _FUNCTIONS + _PHRASES + _TEAMS
