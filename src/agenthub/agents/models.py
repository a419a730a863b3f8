from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agenthub.db import Base, TimestampMixin, new_id, utcnow


class Agent(TimestampMixin, Base):
    __tablename__ = "agents"
    # Each list query of a big organization walks one of these in order: the default sort
    # (created_at) alone or under an equality filter, and the other sort keys. `id` last
    # makes the order total, so pages never overlap.
    __table_args__ = (
        Index("ix_agents_org_created", "organization_id", "created_at", "id"),
        Index("ix_agents_org_updated", "organization_id", "updated_at", "id"),
        Index("ix_agents_org_name", "organization_id", "name", "id"),
        Index("ix_agents_org_status_created", "organization_id", "status", "created_at", "id"),
        Index("ix_agents_org_role_created", "organization_id", "role", "created_at", "id"),
        Index("ix_agents_org_server_created", "organization_id", "server_id", "created_at", "id"),
        Index("ix_agents_server", "server_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    # Deleting a server keeps its agents and their history: they lose the link only.
    server_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("servers.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AgentRun(Base):
    __tablename__ = "agent_runs"
    __table_args__ = (Index("ix_agent_runs_agent_started", "agent_id", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    tool_calls: Mapped[int] = mapped_column(default=0)
    tokens: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
