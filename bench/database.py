"""The bench database: created if missing, migrated, loaded once, vacuumed before each run."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from agenthub.benchdata import (
    bench_profile_counts,
    describe_bench_profile,
    expected_counts,
    load_bench_profile,
    organization_slug,
)
from agenthub.config import normalize_database_url
from agenthub.migrations import upgrade

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/agenthub_bench"
SEED = 42


def bench_database_url() -> str:
    url = os.environ.get("AGENTHUB_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    return normalize_database_url(url)


@dataclass(frozen=True, slots=True)
class Fixtures:
    """What the benchmarks read: the big organization and some of its rows."""

    organization_id: str
    agent_id: str
    server_id: str
    health_server_id: str
    big_organization_agents: int
    search_matches: int


async def _autocommit(url: str, *statements: str) -> list[Any]:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            results = [await connection.execute(text(s)) for s in statements]
            return [r.fetchall() if r.returns_rows else [] for r in results]
    finally:
        await engine.dispose()


async def _create_if_missing(url: str) -> bool:
    target = make_url(url)
    name = target.database
    if not name or not name.replace("_", "").isalnum():
        raise ValueError(f"a plain database name is needed in {url!r}")
    maintenance = target.set(database="postgres").render_as_string(hide_password=False)
    engine = create_async_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            return not exists
    finally:
        await engine.dispose()


def prepare_database(url: str, log: Any = print) -> dict[str, Any]:
    """Create, migrate, load (when the counts are not the bench profile's) and vacuum."""
    if asyncio.run(_create_if_missing(url)):
        log(f"created database {make_url(url).database}")
    upgrade(url)
    counts = asyncio.run(bench_profile_counts(url))
    expected = expected_counts(1.0)
    loaded = False
    load_seconds = None
    if any(counts.get(table) != count for table, count in expected.items()):
        log("loading the bench profile (100 orgs, 50,000 agents, 1,000,000 runs)...")
        started = time.perf_counter()
        counts = asyncio.run(load_bench_profile(url, seed=SEED, replace=True))
        load_seconds = round(time.perf_counter() - started, 1)
        loaded = True
        log(describe_bench_profile(counts, seed=SEED))
        log(f"loaded in {load_seconds} s")
    started = time.perf_counter()
    asyncio.run(_autocommit(url, "VACUUM ANALYZE"))
    log(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")
    return {"counts": counts, "loaded_now": loaded, "load_seconds": load_seconds}


def read_fixtures(url: str, health_url: str, search_word: str) -> Fixtures:
    """Find the rows the benchmarks use, and point one MCP server at `health_url`.

    That server becomes an http server on the local health target, so health probes
    measure agenthub rather than the network (the only change made to the loaded data).
    """
    return asyncio.run(_read_fixtures(url, health_url, search_word))


async def _read_fixtures(url: str, health_url: str, search_word: str) -> Fixtures:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            org_id = await connection.scalar(
                text("SELECT id FROM organizations WHERE slug = :slug"),
                {"slug": organization_slug(0)},
            )
            agent_id = await connection.scalar(
                text(
                    "SELECT id FROM agents WHERE organization_id = :org "
                    "ORDER BY created_at DESC, id DESC LIMIT 1"
                ),
                {"org": org_id},
            )
            servers = (
                await connection.execute(
                    text(
                        "SELECT s.id FROM servers s WHERE s.organization_id = :org "
                        "ORDER BY (SELECT count(*) FROM server_tools t WHERE t.server_id = s.id) "
                        "DESC, s.name"
                    ),
                    {"org": org_id},
                )
            ).scalars()
            server_ids = [uuid.UUID(str(s)) for s in servers]
            health_server = server_ids[-1]
            await connection.execute(
                text("UPDATE servers SET transport = 'http', url = :url WHERE id = :id"),
                {"url": health_url, "id": health_server},
            )
            agents = await connection.scalar(
                text("SELECT count(*) FROM agents WHERE organization_id = :org"), {"org": org_id}
            )
            matches = await connection.scalar(
                text(
                    "SELECT count(*) FROM agents WHERE organization_id = :org "
                    "AND (name ILIKE :p OR description ILIKE :p)"
                ),
                {"org": org_id, "p": f"%{search_word}%"},
            )
        return Fixtures(
            organization_id=str(org_id),
            agent_id=str(agent_id),
            server_id=str(server_ids[0]),
            health_server_id=str(health_server),
            big_organization_agents=int(agents),
            search_matches=int(matches),
        )
    finally:
        await engine.dispose()


async def server_version(url: str) -> str:
    rows = await _autocommit(url, "SHOW server_version")
    return str(rows[0][0][0])


def big_organization_agent_ids(url: str) -> list[str]:
    async def fetch() -> list[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text(
                        "SELECT a.id FROM agents a JOIN organizations o "
                        "ON o.id = a.organization_id WHERE o.slug = :slug ORDER BY a.id"
                    ),
                    {"slug": organization_slug(0)},
                )
                return [str(row[0]) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(fetch())
