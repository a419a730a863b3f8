"""Initial schema: organizations, tokens, servers, tools, agents and their runs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Plain JSON on both dialects: JSONB would reorder the keys of stored documents.
JSON = sa.JSON()


def _id() -> sa.Column[uuid.UUID]:
    return sa.Column("id", sa.Uuid(), nullable=False)


def _timestamps() -> list[sa.Column[datetime]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _organization_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        name=f"fk_{table}_organization_id_organizations",
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "organizations",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(100), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
        sa.UniqueConstraint("slug", name="uq_organizations_slug"),
    )
    op.create_table(
        "api_tokens",
        _id(),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_platform_admin", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _organization_fk("api_tokens"),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_org_created", "api_tokens", ["organization_id", "created_at"])

    op.create_table(
        "tool_definitions",
        _id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("input_schema", JSON, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_tool_definitions"),
        sa.UniqueConstraint("name", name="uq_tool_definitions_name"),
    )
    op.create_index("ix_tool_definitions_category_name", "tool_definitions", ["category", "name"])

    op.create_table(
        "servers",
        _id(),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_timestamps(),
        _organization_fk("servers"),
        sa.PrimaryKeyConstraint("id", name="pk_servers"),
        sa.UniqueConstraint("organization_id", "name", name="uq_servers_org_name"),
    )
    op.create_index("ix_servers_org_created", "servers", ["organization_id", "created_at", "id"])

    op.create_table(
        "server_tools",
        sa.Column("server_id", sa.Uuid(), nullable=False),
        sa.Column("tool_definition_id", sa.Uuid(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name="fk_server_tools_server_id_servers",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tool_definition_id"],
            ["tool_definitions.id"],
            name="fk_server_tools_tool_definition_id_tool_definitions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("server_id", "tool_definition_id", name="pk_server_tools"),
    )
    op.create_index("ix_server_tools_tool", "server_tools", ["tool_definition_id"])

    op.create_table(
        "agents",
        _id(),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("server_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("config", JSON, nullable=False),
        *_timestamps(),
        _organization_fk("agents"),
        sa.ForeignKeyConstraint(
            ["server_id"], ["servers.id"], name="fk_agents_server_id_servers", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agents"),
    )
    agent_indexes = {
        "ix_agents_org_created": ["organization_id", "created_at", "id"],
        "ix_agents_org_updated": ["organization_id", "updated_at", "id"],
        "ix_agents_org_name": ["organization_id", "name", "id"],
        "ix_agents_org_status_created": ["organization_id", "status", "created_at", "id"],
        "ix_agents_org_role_created": ["organization_id", "role", "created_at", "id"],
        "ix_agents_org_server_created": ["organization_id", "server_id", "created_at", "id"],
        "ix_agents_server": ["server_id"],
    }
    for name, columns in agent_indexes.items():
        op.create_index(name, "agents", columns)

    op.create_table(
        "agent_runs",
        _id(),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tool_calls", sa.Integer(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name="fk_agent_runs_agent_id_agents", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_agent_runs"),
    )
    op.create_index("ix_agent_runs_agent_started", "agent_runs", ["agent_id", "started_at"])

    if op.get_bind().dialect.name == "postgresql":
        _create_trigram_indexes()


def _create_trigram_indexes() -> None:
    # Search is a case-insensitive substring match (ILIKE '%text%'), which no b-tree can
    # serve; trigram GIN indexes can. SQLite has no equivalent and scans the organization.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table in ("agents", "tool_definitions"):
        for column in ("name", "description"):
            op.create_index(
                f"ix_{table}_{column}_trgm",
                table,
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )


def downgrade() -> None:
    for table in ("agent_runs", "agents", "server_tools", "servers", "tool_definitions"):
        op.drop_table(table)
    op.drop_table("api_tokens")
    op.drop_table("organizations")
