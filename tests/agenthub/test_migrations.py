"""The migrations build exactly the schema the models describe, on both dialects."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine

import agenthub.main  # noqa: F401 - imports every model onto the metadata
from agenthub.db import Base
from agenthub.migrations import upgrade, upgrade_engine


def _schema_differences(connection: Connection) -> list[Any]:
    def include_object(obj: Any, name: str | None, type_: str, *_: Any) -> bool:
        # Trigram indexes exist on PostgreSQL only and are not modelled.
        return not (type_ == "index" and name is not None and name.endswith("_trgm"))

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": include_object}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_differences) == []
    finally:
        await engine.dispose()


async def test_search_indexes_exist_on_postgresql(database_url: str, dialect: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            indexes = await connection.run_sync(
                lambda c: {ix["name"] for ix in inspect(c).get_indexes("agents")}
            )
    finally:
        await engine.dispose()
    assert {"ix_agents_org_created", "ix_agents_org_status_created"} <= indexes
    trigram = {"ix_agents_name_trgm", "ix_agents_description_trgm"}
    assert trigram <= indexes if dialect == "postgresql" else not trigram & indexes


async def test_upgrade_is_idempotent(database_url: str) -> None:
    # The session database is already at head; running again is a no-op (as at each serve).
    engine = create_async_engine(database_url)
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()


def test_upgrade_from_scratch_on_a_new_sqlite_file(tmp_path: Any) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    assert (tmp_path / "fresh.db").stat().st_size > 0
