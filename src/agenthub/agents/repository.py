from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Uuid, case, column, delete, func, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.agents.models import Agent, AgentRun
from agenthub.agents.schemas import AgentListQuery, AgentSortBy
from agenthub.db import is_postgresql, ordered_page
from agenthub.pagination import SortOrder, contains_pattern

# The servers domain is not imported (domains stay independent): the tenancy check of
# `serverId` needs only these two columns of its table.
_servers = table("servers", column("id", Uuid()), column("organization_id", Uuid()))

_SORT_KEYS: dict[AgentSortBy, tuple[Any, ...]] = {
    AgentSortBy.name: (Agent.name, Agent.id),
    AgentSortBy.created_at: (Agent.created_at, Agent.id),
    AgentSortBy.updated_at: (Agent.updated_at, Agent.id),
    AgentSortBy.status: (Agent.status, Agent.created_at, Agent.id),
}

P95 = 0.95


def _filters(organization_id: uuid.UUID, query: AgentListQuery) -> list[ColumnElement[bool]]:
    filters = [Agent.organization_id == organization_id]
    if query.server_id is not None:
        filters.append(Agent.server_id == query.server_id)
    if query.status is not None:
        filters.append(Agent.status == query.status.value)
    if query.role is not None:
        filters.append(Agent.role == query.role)
    if query.search is not None:
        pattern = contains_pattern(query.search)
        filters.append(
            or_(
                Agent.name.ilike(pattern, escape="\\"),
                Agent.description.ilike(pattern, escape="\\"),
            )
        )
    return filters


def list_statement(organization_id: uuid.UUID, query: AgentListQuery) -> Select[Agent]:
    return ordered_page(
        select(Agent).where(*_filters(organization_id, query)),
        _SORT_KEYS[query.sort_by],
        query.sort_order is SortOrder.desc,
        query.limit,
        query.offset,
    )


def count_statement(organization_id: uuid.UUID, query: AgentListQuery) -> Select[int]:
    return select(func.count()).select_from(Agent).where(*_filters(organization_id, query))


async def list_agents(
    session: AsyncSession, organization_id: uuid.UUID, query: AgentListQuery
) -> tuple[Sequence[Agent], int]:
    total = (await session.execute(count_statement(organization_id, query))).scalar_one()
    if total <= query.offset:
        return [], total
    agents = (await session.execute(list_statement(organization_id, query))).scalars().all()
    return agents, total


async def get_agent(
    session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
) -> Agent | None:
    statement = select(Agent).where(Agent.organization_id == organization_id, Agent.id == agent_id)
    return (await session.execute(statement)).scalar_one_or_none()


async def server_in_organization(
    session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
) -> bool:
    statement = select(_servers.c.id).where(
        _servers.c.organization_id == organization_id, _servers.c.id == server_id
    )
    return (await session.execute(statement)).first() is not None


def add_agent(session: AsyncSession, agent: Agent) -> Agent:
    session.add(agent)
    return agent


async def delete_agent(
    session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
) -> bool:
    result = await session.execute(
        delete(Agent).where(Agent.organization_id == organization_id, Agent.id == agent_id)
    )
    return bool(getattr(result, "rowcount", 0))


def add_run(session: AsyncSession, run: AgentRun) -> AgentRun:
    session.add(run)
    return run


@dataclass(frozen=True, slots=True)
class RunStats:
    total_runs: int
    successful_runs: int
    avg_duration_ms: float | None
    p95_duration_ms: float | None
    last_run_at: datetime | None
    runs_since: int


async def run_stats(session: AsyncSession, agent_id: uuid.UUID, since: datetime) -> RunStats:
    """Aggregates over the agent's runs; the caller has checked the agent's organization."""
    success = case((AgentRun.status == "success", 1), else_=0)
    recent = case((AgentRun.started_at >= since, 1), else_=0)
    statement = select(
        func.count(),
        func.coalesce(func.sum(success), 0),
        func.avg(AgentRun.duration_ms),
        func.max(AgentRun.started_at),
        func.coalesce(func.sum(recent), 0),
    ).where(AgentRun.agent_id == agent_id)
    total, successes, average, last_run_at, runs_since = (await session.execute(statement)).one()
    p95 = await _p95_duration(session, agent_id, int(total)) if total else None
    return RunStats(
        total_runs=int(total),
        successful_runs=int(successes),
        avg_duration_ms=float(average) if average is not None else None,
        p95_duration_ms=p95,
        last_run_at=last_run_at,
        runs_since=int(runs_since),
    )


async def _p95_duration(session: AsyncSession, agent_id: uuid.UUID, total: int) -> float | None:
    if is_postgresql(session):
        statement = select(
            func.percentile_cont(P95).within_group(AgentRun.duration_ms.asc())
        ).where(AgentRun.agent_id == agent_id)
        value = (await session.execute(statement)).scalar_one()
        return float(value) if value is not None else None
    # SQLite has no percentile_cont: the same linear interpolation between the two runs
    # around position 0.95 * (n - 1), reading only those two rows.
    position = P95 * (total - 1)
    lower = math.floor(position)
    statement = (
        select(AgentRun.duration_ms)
        .where(AgentRun.agent_id == agent_id)
        .order_by(AgentRun.duration_ms)
        .limit(2)
        .offset(lower)
    )
    values = [float(v) for v in (await session.execute(statement)).scalars().all()]
    if not values:
        return None
    if len(values) == 1 or position == lower:
        return values[0]
    return values[0] + (values[1] - values[0]) * (position - lower)
