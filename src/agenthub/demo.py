"""Demo data: a few organizations with servers, tools, agents and runs to click through.

The rows are the same on every load (seeded random numbers, ids included); timestamps
are placed relative to the moment of loading, so that "last 24 hours" has something in it.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.agents.models import Agent, AgentRun
from agenthub.db import utcnow
from agenthub.organizations import repository as organizations_repository
from agenthub.organizations.models import Organization
from agenthub.organizations.schemas import Role
from agenthub.organizations.service import OrganizationService
from agenthub.servers.models import Server, ServerTool
from agenthub.tools import repository as tools_repository
from agenthub.tools.service import ToolService, load_catalog

SEED = 20251213


class Profile(StrEnum):
    small = "small"
    bench = "bench"


ORGANIZATIONS = [("acme", "Acme Corp", 40), ("globex", "Globex", 25), ("initech", "Initech", 15)]
ADJECTIVES = ["Swift", "Careful", "Curious", "Quiet", "Bold", "Patient", "Bright", "Steady"]
NOUNS = ["Researcher", "Reviewer", "Planner", "Scribe", "Triager", "Analyst", "Helper", "Coder"]
ROLES = ["assistant", "researcher", "reviewer", "planner", "support", "analyst", "coder"]
STATUSES = ["active"] * 6 + ["paused", "paused", "error", "archived"]
MODELS = ["small-fast", "medium", "large-reasoning"]


def _servers(port: int) -> list[tuple[str, str, str, str]]:
    return [
        ("agenthub-self", f"http://127.0.0.1:{port}/health", "http", "active"),
        (
            "filesystem",
            "npx -y @modelcontextprotocol/server-filesystem /srv/data",
            "stdio",
            "active",
        ),
        ("web-search", "http://127.0.0.1:8931/sse", "sse", "active"),
        ("tickets", "http://127.0.0.1:8932/mcp", "http", "inactive"),
    ]


@dataclass(frozen=True)
class DemoSummary:
    loaded: bool
    organization: Organization
    admin_token: str
    platform_admin_token: str


async def prepare_demo(session: AsyncSession, port: int) -> DemoSummary:
    """Load the small demo data into an empty database, then issue fresh demo tokens
    (for an admin of the first organization, and a platform admin)."""
    loaded = False
    if not await organizations_repository.any_organization_exists(session):
        await load(session, Profile.small, port)
        loaded = True
    organization = (await organizations_repository.list_organizations(session))[0]
    service = OrganizationService()
    admin = await service.issue_token(session, organization.id, "demo admin", Role.admin)
    platform_admin = await service.issue_token(
        session, organization.id, "demo platform admin", Role.owner, is_platform_admin=True
    )
    return DemoSummary(loaded, organization, admin, platform_admin)


async def load(session: AsyncSession, profile: Profile, port: int = 8000) -> None:
    if profile is Profile.bench:
        raise ValueError("the bench profile is bulk-loaded by agenthub.benchdata")
    await ToolService().seed(session)
    tools = await tools_repository.get_by_names(session, (e.name for e in load_catalog()))
    # In name order: tool ids are random, the choice of tools per server must not be.
    tool_ids = [tools[name].id for name in sorted(tools)]
    rng = random.Random(SEED)
    now = utcnow()
    for slug, name, agent_count in ORGANIZATIONS:
        organization = Organization(
            id=_id(rng), name=name, slug=slug, created_at=now - timedelta(days=120)
        )
        session.add(organization)
        await session.flush()
        servers = await _add_servers(session, rng, organization, tool_ids, port, now)
        # The models declare no relationships, so the session does not order inserts by
        # foreign key: flush parents first.
        await session.flush()
        runs = [_add_agent(session, rng, organization, servers, i, now) for i in range(agent_count)]
        await session.flush()
        session.add_all(run for agent_runs in runs for run in agent_runs)
        await session.flush()
    await session.commit()


def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _ago(now: datetime, rng: random.Random, max_days: float) -> datetime:
    return now - timedelta(seconds=rng.randint(60, int(max_days * 86400)))


async def _add_servers(
    session: AsyncSession,
    rng: random.Random,
    organization: Organization,
    tool_ids: list[uuid.UUID],
    port: int,
    now: datetime,
) -> list[Server]:
    servers = []
    for name, url, transport, status in _servers(port):
        created = _ago(now, rng, 100)
        server = Server(
            id=_id(rng),
            organization_id=organization.id,
            name=name,
            url=url,
            transport=transport,
            status=status,
            created_at=created,
            updated_at=created,
        )
        session.add(server)
        servers.append(server)
    await session.flush()  # servers before their tool settings (see `load`)
    for server in servers:
        for tool_id in rng.sample(tool_ids, k=min(len(tool_ids), rng.randint(5, 12))):
            session.add(
                ServerTool(
                    server_id=server.id,
                    tool_definition_id=tool_id,
                    enabled=rng.random() < 0.8,
                    created_at=server.created_at,
                    updated_at=server.created_at,
                )
            )
    return servers


def _add_agent(
    session: AsyncSession,
    rng: random.Random,
    organization: Organization,
    servers: list[Server],
    index: int,
    now: datetime,
) -> list[AgentRun]:
    created = _ago(now, rng, 90)
    role = rng.choice(ROLES)
    agent = Agent(
        id=_id(rng),
        organization_id=organization.id,
        server_id=rng.choice(servers).id if rng.random() < 0.9 else None,
        name=f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {index + 1}",
        description=f"A {role} agent of {organization.name}.",
        role=role,
        status=rng.choice(STATUSES),
        config={
            "model": rng.choice(MODELS),
            "temperature": round(rng.uniform(0, 1), 1),
            "maxSteps": rng.randint(5, 50),
        },
        created_at=created,
        updated_at=created + (now - created) * rng.random(),
    )
    session.add(agent)
    return [
        AgentRun(
            id=_id(rng),
            agent_id=agent.id,
            started_at=_ago(now, rng, 14),
            duration_ms=int(rng.lognormvariate(7, 1)),
            status="success" if rng.random() < 0.85 else "failed",
            tool_calls=rng.randint(0, 25),
            tokens=rng.randint(200, 40_000),
            created_at=now,
        )
        for _ in range(rng.randint(0, 30))
    ]
