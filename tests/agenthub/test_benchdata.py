"""The bench profile loader, at 1% of its size, into a fresh PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from agenthub.benchdata import (
    AGENT_SEARCH_WORD,
    BenchDataError,
    agent_vocabulary,
    bench_profile_counts,
    bench_tokens,
    expected_counts,
    load_bench_profile,
    search_word_is_distinct,
)
from agenthub.config import Settings
from agenthub.main import create_app

SCALE = 0.01


async def _admin(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
async def fresh_database(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"agenthub_benchdata_{uuid.uuid4().hex[:12]}"
    await _admin(postgres_server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _snapshot(url: str) -> list[tuple[str, str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT id::text, name FROM agents ORDER BY id"))
            return [(row[0], row[1]) for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
async def test_loads_a_deterministic_profile_whose_tokens_work(fresh_database: str) -> None:
    # The loader migrates the empty database itself, then copies the rows in.
    counts = await load_bench_profile(fresh_database, seed=7, scale=SCALE)

    expected = expected_counts(SCALE)
    assert {table: counts[table] for table in expected} == expected
    assert counts["server_tools"] > 0
    assert await bench_profile_counts(fresh_database) == counts

    first = await _snapshot(fresh_database)
    with pytest.raises(BenchDataError, match="already holds"):
        await load_bench_profile(fresh_database, seed=7, scale=SCALE)
    await load_bench_profile(fresh_database, seed=7, scale=SCALE, replace=True)
    assert await _snapshot(fresh_database) == first

    tokens = bench_tokens(seed=7, scale=SCALE)
    app = create_app(Settings(DATABASE_URL=fresh_database))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            big = await client.get(
                "/api/agents",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {tokens.big_organization_admin}"},
            )
            other = await client.get(
                "/api/agents",
                params={"limit": 1},
                headers={"Authorization": f"Bearer {tokens.organization_admins[1]}"},
            )
            tools = await client.get(
                "/api/tools/definitions",
                headers={"Authorization": f"Bearer {tokens.platform_admin}"},
            )
    assert big.status_code == 200, big.text
    assert big.json()["total"] == 100  # the big organization: 10,000 agents at full size
    assert other.status_code == 200, other.text
    assert big.json()["total"] + other.json()["total"] == expected["agents"]
    assert tools.json()["total"] == expected["tool_definitions"]


async def test_refuses_sqlite() -> None:
    with pytest.raises(BenchDataError, match="PostgreSQL only"):
        await load_bench_profile("sqlite+aiosqlite:///bench.db", scale=SCALE)


def test_the_search_word_matches_only_its_own_subject() -> None:
    assert search_word_is_distinct(AGENT_SEARCH_WORD, agent_vocabulary())


def test_tokens_depend_on_the_seed_only() -> None:
    assert bench_tokens(seed=1) == bench_tokens(seed=1)
    assert bench_tokens(seed=1).platform_admin != bench_tokens(seed=2).platform_admin
    assert len(set(bench_tokens(seed=1).organization_admins)) == 100
