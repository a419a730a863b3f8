from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agenthub.db import Base, TimestampMixin, new_id


class ToolDefinition(TimestampMixin, Base):
    """A tool of the global catalog (not owned by an organization)."""

    __tablename__ = "tool_definitions"
    __table_args__ = (Index("ix_tool_definitions_category_name", "category", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    input_schema: Mapped[dict[str, Any]] = mapped_column()
