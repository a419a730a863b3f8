"""Alembic environment: runs over a given connection, or opens an async engine on the URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from agenthub import invalidation
from agenthub.agents import models as agents_models
from agenthub.db import Base, create_engine
from agenthub.organizations import models as organizations_models
from agenthub.servers import models as servers_models
from agenthub.tools import models as tools_models

# Imported for their tables: the metadata must know every model for autogenerate.
_MODELS = (agents_models, organizations_models, servers_models, tools_models, invalidation)

target_metadata = Base.metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_with_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    url = config.attributes.get("database_url")
    if not url:
        raise RuntimeError("no database URL and no connection given to the migrations")
    asyncio.run(run_with_url(url))


main()
