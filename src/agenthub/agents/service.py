from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.agents import repository
from agenthub.agents.models import Agent, AgentRun
from agenthub.agents.schemas import (
    AgentCreate,
    AgentListQuery,
    AgentPublic,
    AgentStats,
    AgentUpdate,
    RunCreate,
    RunPublic,
)
from agenthub.caching import CacheKeys, Caching, commit_and_invalidate, read_through
from agenthub.db import new_id, utcnow
from agenthub.exceptions import Conflict, NotFound, ValidationFailed
from agenthub.pagination import page_of
from cachelayer import Cached


@dataclass(frozen=True, slots=True)
class AgentChange:
    kind: Literal["agent.created", "agent.updated", "agent.deleted", "run.recorded"]
    organization_id: uuid.UUID
    agent_id: uuid.UUID


def _invalidations(change: AgentChange) -> Callable[[CacheKeys], list[str]]:
    """What a committed change makes stale (see the table in agenthub.caching)."""
    org, agent = change.organization_id, change.agent_id

    def keys_of(keys: CacheKeys) -> list[str]:
        if change.kind == "agent.created":
            return [keys.agents_list_generation(org)]
        if change.kind == "run.recorded":
            return [keys.agent_runs_generation(org, agent)]
        return [keys.agents_list_generation(org), keys.agent_generation(org, agent)]

    return keys_of


class AgentService:
    """Agents of one organization. Reads go through the cache; writes commit with their
    invalidation staged in the same transaction, then deliver it."""

    def __init__(self, caching: Caching | None = None) -> None:
        self._caching = caching

    async def list_agents(
        self, session: AsyncSession, organization_id: uuid.UUID, query: AgentListQuery
    ) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.agents_page(organization_id, query),
            lambda: self.load_agents_page(session, organization_id, query),
        )

    async def get_agent(
        self, session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
    ) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.agent_details(organization_id, agent_id),
            lambda: self.load_agent(session, organization_id, agent_id),
        )

    async def get_agent_stats(
        self, session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
    ) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.agent_stats(organization_id, agent_id),
            lambda: self.load_agent_stats(session, organization_id, agent_id),
        )

    async def load_agents_page(
        self, session: AsyncSession, organization_id: uuid.UUID, query: AgentListQuery
    ) -> dict[str, Any]:
        agents, total = await repository.list_agents(session, organization_id, query)
        return page_of([_public(agent) for agent in agents], total, query)

    async def load_agent(
        self, session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
    ) -> dict[str, Any]:
        return _public(await self._get(session, organization_id, agent_id))

    async def load_agent_stats(
        self, session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
    ) -> dict[str, Any]:
        agent = await self._get(session, organization_id, agent_id)
        stats = await repository.run_stats(session, agent.id, since=utcnow() - timedelta(hours=24))
        total = stats.total_runs
        return AgentStats(
            agent_id=agent.id,
            total_runs=total,
            success_rate=round(stats.successful_runs / total, 4) if total else None,
            avg_duration_ms=_round(stats.avg_duration_ms),
            p95_duration_ms=_round(stats.p95_duration_ms),
            last_run_at=stats.last_run_at,
            runs_last_24h=stats.runs_since,
        ).to_json_data()

    async def create_agent(
        self, session: AsyncSession, organization_id: uuid.UUID, data: AgentCreate
    ) -> dict[str, Any]:
        if data.server_id is not None:
            await self._check_server(session, organization_id, data.server_id)
        agent = repository.add_agent(
            session,
            Agent(
                id=new_id(),
                organization_id=organization_id,
                server_id=data.server_id,
                name=data.name,
                description=data.description,
                role=data.role,
                status=data.status.value,
                config=data.config,
            ),
        )
        await self._commit(
            session,
            AgentChange("agent.created", organization_id, agent.id),
            "The agent's server was deleted meanwhile; try again.",
        )
        return _public(agent)

    async def update_agent(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        agent_id: uuid.UUID,
        data: AgentUpdate,
    ) -> dict[str, Any]:
        agent = await self._get(session, organization_id, agent_id)
        changes = {
            field: value
            for field, value in data.model_dump(exclude_unset=True).items()
            if getattr(agent, field) != value
        }
        if not changes:
            return _public(agent)
        if changes.get("server_id") is not None:
            await self._check_server(session, organization_id, changes["server_id"])
        for field, value in changes.items():
            setattr(agent, field, value)
        agent.updated_at = utcnow()
        await self._commit(
            session,
            AgentChange("agent.updated", organization_id, agent.id),
            "The agent's server was deleted meanwhile; try again.",
        )
        return _public(agent)

    async def delete_agent(
        self, session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
    ) -> None:
        if not await repository.delete_agent(session, organization_id, agent_id):
            raise NotFound("Agent not found.")
        await self._commit(
            session, AgentChange("agent.deleted", organization_id, agent_id), "Already deleted."
        )

    async def record_run(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        agent_id: uuid.UUID,
        data: RunCreate,
    ) -> dict[str, Any]:
        agent = await self._get(session, organization_id, agent_id)
        run = repository.add_run(
            session,
            AgentRun(
                agent_id=agent.id,
                started_at=data.started_at or utcnow(),
                duration_ms=data.duration_ms,
                status=data.status.value,
                tool_calls=data.tool_calls,
                tokens=data.tokens,
            ),
        )
        await self._commit(
            session,
            AgentChange("run.recorded", organization_id, agent.id),
            "The agent was deleted meanwhile.",
        )
        return RunPublic.model_validate(run).to_json_data()

    async def _get(
        self, session: AsyncSession, organization_id: uuid.UUID, agent_id: uuid.UUID
    ) -> Agent:
        agent = await repository.get_agent(session, organization_id, agent_id)
        if agent is None:
            raise NotFound("Agent not found.")
        return agent

    async def _check_server(
        self, session: AsyncSession, organization_id: uuid.UUID, server_id: uuid.UUID
    ) -> None:
        if not await repository.server_in_organization(session, organization_id, server_id):
            raise ValidationFailed(
                "serverId does not name a server of this organization.",
                details=[
                    {"loc": ["body", "serverId"], "msg": "unknown server", "type": "not_found"}
                ],
            )

    async def _commit(
        self, session: AsyncSession, change: AgentChange, conflict_message: str
    ) -> None:
        try:
            await commit_and_invalidate(self._caching, session, _invalidations(change))
        except IntegrityError as exc:
            # Only a foreign key can fail for a validated request: what it points to was
            # deleted by a concurrent request between our check and this commit.
            await session.rollback()
            raise Conflict(conflict_message) from exc


def _public(agent: Agent) -> dict[str, Any]:
    return AgentPublic.model_validate(agent).to_json_data()


def _round(value: float | None) -> float | None:
    return round(value, 2) if value is not None else None
