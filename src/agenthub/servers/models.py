from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agenthub.db import Base, TimestampMixin, new_id


class Server(TimestampMixin, Base):
    __tablename__ = "servers"
    __table_args__ = (
        # Names are unique in an organization; the index also serves the default sort.
        UniqueConstraint("organization_id", "name", name="uq_servers_org_name"),
        Index("ix_servers_org_created", "organization_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    transport: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))


class ServerTool(TimestampMixin, Base):
    __tablename__ = "server_tools"
    __table_args__ = (Index("ix_server_tools_tool", "tool_definition_id"),)

    server_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    tool_definition_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tool_definitions.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=True)
