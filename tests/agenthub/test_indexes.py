"""On PostgreSQL, each list query of a big organization is served by an index.

Loads one organization of 10,000 agents among 99 of 400 (the realistic shape of the design)
and 5,000 tool definitions, then reads the plans of the very statements the repositories
build. With
AGENTHUB_WRITE_INDEX_DOCS=1 the plans are also written to docs/indexes.md.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Select, insert, make_url, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from agenthub.agents import repository as agents_repository
from agenthub.agents.models import Agent
from agenthub.agents.schemas import AgentListQuery
from agenthub.migrations import upgrade
from agenthub.organizations.models import Organization
from agenthub.servers.models import Server
from agenthub.tools import repository as tools_repository
from agenthub.tools.models import ToolDefinition
from agenthub.tools.schemas import ToolListQuery
from tests.agenthub.conftest import _run_admin

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BIG_ORG = uuid.UUID("00000000-0000-4000-8000-000000000001")
BIG_ORG_SERVER = uuid.UUID("00000000-0000-4000-8000-0000000000aa")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "indexes.md"


@pytest.fixture(scope="module")
def big_database(postgres_server_url: str) -> Iterator[str]:
    name = f"agenthub_explain_{uuid.uuid4().hex[:12]}"
    asyncio.run(_run_admin(postgres_server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        asyncio.run(_load(url))
        yield url
    finally:
        asyncio.run(
            _run_admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )


async def _load(url: str) -> None:
    # Seeded ids and timestamps, and statistics from every row (below): the plans are then
    # the same in every run. With random ids, the physical order of the organizations
    # (the correlation statistic) changed from run to run, and the deep page's plan with
    # it.
    rng = random.Random(7)

    def new_id() -> uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)

    now = datetime(2026, 1, 1, tzinfo=UTC)
    organizations = [{"id": BIG_ORG, "name": "Big", "slug": "big"}] + [
        {"id": new_id(), "name": f"Org {i}", "slug": f"org-{i}"} for i in range(99)
    ]
    for organization in organizations:
        organization.update(created_at=now, updated_at=now)
    servers = [
        {
            "id": BIG_ORG_SERVER if i == 0 else new_id(),
            "organization_id": BIG_ORG,
            "name": f"server-{i}",
            "url": f"http://127.0.0.1:9/{i}",
            "transport": "http",
            "status": "active",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(20)
    ]
    words = ["billing", "support", "research", "triage", "review", "planning", "coding"]
    agents = []
    for organization in organizations:
        count = 10_000 if organization["id"] == BIG_ORG else 400
        for i in range(count):
            created = now - timedelta(minutes=rng.randint(0, 200_000))
            word = "invoice" if rng.random() < 0.01 else rng.choice(words)
            agents.append(
                {
                    "id": new_id(),
                    "organization_id": organization["id"],
                    "server_id": rng.choice(servers)["id"]
                    if organization["id"] == BIG_ORG and rng.random() < 0.9
                    else None,
                    "name": f"{word.title()} agent {i}",
                    "description": f"Handles {word} work for team {rng.randint(1, 50)}.",
                    "role": rng.choice(["assistant", "researcher", "reviewer", "planner", "coder"]),
                    "status": rng.choice(["active"] * 7 + ["paused", "error", "archived"]),
                    "config": {},
                    "created_at": created,
                    "updated_at": created + timedelta(minutes=rng.randint(0, 10_000)),
                }
            )
    categories = [f"category-{i}" for i in range(25)]
    tools = [
        {
            "id": new_id(),
            "name": f"tool_{i:05d}_{rng.choice(words)}",
            "description": f"Does {rng.choice(words)} things ({i}).",
            "category": rng.choice(categories),
            "version": "1.0.0",
            "input_schema": {"type": "object"},
            "created_at": now,
            "updated_at": now,
        }
        for i in range(5_000)
    ]
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(insert(Organization), organizations)
            await connection.execute(insert(Server), servers)
            await connection.execute(insert(Agent), agents)
            await connection.execute(insert(ToolDefinition), tools)
        async with engine.connect() as connection:
            await connection.execute(text("COMMIT"))
            # ANALYZE samples 300 rows per unit of the target: 1000 reads every row.
            await connection.execute(text("SET default_statistics_target = 1000"))
            await connection.execute(text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


def _agents(**params: str) -> Select[Any]:
    return agents_repository.list_statement(BIG_ORG, AgentListQuery.model_validate(params))


def _tools(**params: str) -> Select[Any]:
    return tools_repository.list_statement(ToolListQuery.model_validate(params))


# 50,000 rows fit in a couple of thousand pages: for a rare search PostgreSQL would rather read
# them all than use an index. enable_seqscan=off shows the plan it switches to: the
# organization's index (the trigram indexes win when the organization filter is not
# selective enough, as for the global tool catalog).
RARE_SEARCH = "agents, search=rare text (enable_seqscan=off)"

# (title, statement, index that must appear (a|b: one of them), whether it gives the order).
# A common search word may be cheaper to find by walking the default-order index and
# filtering (the first 20 matches come early); a rare one goes through the trigram index.
CASES: list[tuple[str, Any, str, bool]] = [
    (
        "agents, page 1 (default sort createdAt desc)",
        lambda: _agents(),
        "ix_agents_org_created",
        True,
    ),
    # 8,000 rows must be read whatever the plan; PostgreSQL may fetch them by the
    # organization and sort, rather than walk the ordered index.
    ("agents, deep page 400", lambda: _agents(page="400"), "ix_agents_org", False),
    (
        "agents, sortBy=name",
        lambda: _agents(sortBy="name", sortOrder="asc"),
        "ix_agents_org_name",
        True,
    ),
    (
        "agents, sortBy=updatedAt",
        lambda: _agents(sortBy="updatedAt"),
        "ix_agents_org_updated",
        True,
    ),
    (
        "agents, sortBy=status",
        lambda: _agents(sortBy="status"),
        "ix_agents_org_status_created",
        True,
    ),
    (
        "agents, status=paused",
        lambda: _agents(status="paused"),
        "ix_agents_org_status_created",
        True,
    ),
    ("agents, role=planner", lambda: _agents(role="planner"), "ix_agents_org_role_created", True),
    (
        "agents, serverId=...",
        lambda: _agents(serverId=str(BIG_ORG_SERVER)),
        "ix_agents_org_server_created",
        True,
    ),
    (
        "agents, search=invoice",
        lambda: _agents(search="invoice"),
        "_trgm|ix_agents_org_created",
        False,
    ),
    (RARE_SEARCH, lambda: _agents(search="xylophone"), "_trgm|ix_agents_org_created", False),
    (
        "agents, count for page 1",
        lambda: agents_repository.count_statement(BIG_ORG, AgentListQuery()),
        "ix_agents_org",
        False,
    ),
    ("tool definitions, page 1 (sortBy name)", lambda: _tools(), "uq_tool_definitions_name", True),
    (
        "tool definitions, category=category-3",
        lambda: _tools(category="category-3"),
        "ix_tool_definitions_category_name|uq_tool_definitions_name",
        True,
    ),
    ("tool definitions, search=invoice", lambda: _tools(search="invoice"), "_trgm", False),
]


async def _explain(connection: AsyncConnection, statement: Select[Any]) -> str:
    sql = statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    rows = (await connection.execute(text(f"EXPLAIN {sql}"))).scalars().all()
    return "\n".join(rows)


@pytest.fixture
async def connection(big_database: str) -> AsyncIterator[AsyncConnection]:
    engine = create_async_engine(big_database)
    try:
        async with engine.connect() as connection:
            yield connection
    finally:
        await engine.dispose()


async def test_list_queries_use_indexes(connection: AsyncConnection) -> None:
    plans = []
    for title, build, index, ordered in CASES:
        seqscan = "off" if title == RARE_SEARCH else "on"
        await connection.execute(text(f"SET enable_seqscan = {seqscan}"))
        plan = await _explain(connection, build())
        plans.append((title, str(build().compile(dialect=postgresql.dialect())), plan))
        assert "Seq Scan" not in plan, f"{title}:\n{plan}"
        assert any(name in plan for name in index.split("|")), f"{title}:\n{plan}"
        if ordered:
            assert "Sort" not in plan, f"{title}: the index should give the order\n{plan}"
    if os.environ.get("AGENTHUB_WRITE_INDEX_DOCS") == "1":
        _write_docs(plans)


def _write_docs(plans: list[tuple[str, str, str]]) -> None:
    parts = [
        "# Indexes of the list queries (PostgreSQL plans)\n",
        "Written by `AGENTHUB_WRITE_INDEX_DOCS=1 .venv/bin/pytest tests/agenthub/test_indexes.py`",
        "on a database with one organization of 10,000 agents among 99 organizations of 400,",
        "and 5,000 tool definitions, after `VACUUM ANALYZE`. The test asserts, for each query,",
        "that no table is scanned sequentially, that the expected index is used and, where the",
        "index can give the order, that there is no Sort step.\n",
        "- Default sort and each filter: one index per filter, ending in `(created_at, id)`,",
        "  walked backwards: the first page reads 20 index entries, whatever the size.",
        "- Deep pages: OFFSET must skip the rows before the page whatever the plan; PostgreSQL",
        "  may prefer to fetch the organization's rows and sort them. Keyset pagination would",
        "  fix that if deep pages ever matter.",
        "- Search (`ILIKE '%text%'` on name or description, wildcards escaped): trigram GIN",
        "  indexes (`pg_trgm`) serve it where the other filters are not selective (the global",
        "  tool catalog); inside one organization PostgreSQL often finds it cheaper to walk the",
        "  organization's ordered index and filter.",
        "- SQLite uses the same b-tree indexes; it has no trigram index, so a search scans the",
        "  organization's rows there.\n",
    ]
    for title, sql, plan in plans:
        parts += [f"## {title}\n", "```sql", sql.strip(), "```", "```", plan, "```\n"]
    DOCS.write_text("\n".join(parts))
