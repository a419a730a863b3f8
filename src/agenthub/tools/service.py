from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.caching import Caching, commit_and_invalidate, read_through
from agenthub.db import utcnow
from agenthub.exceptions import Conflict
from agenthub.pagination import page_of
from agenthub.tools import repository
from agenthub.tools.models import ToolDefinition
from agenthub.tools.schemas import CatalogEntry, SeedResult, ToolDefinitionPublic, ToolListQuery
from cachelayer import Cached


@cache
def load_catalog() -> tuple[CatalogEntry, ...]:
    """The tool catalog shipped inside the package."""
    raw = resources.files("agenthub.tools").joinpath("catalog.json").read_bytes()
    return tuple(CatalogEntry.model_validate(entry) for entry in orjson.loads(raw))


class ToolService:
    """The global tool catalog. Reads go through the cache; a seed that changes anything
    invalidates the catalog generation (definitions and every server's tool list)."""

    def __init__(self, caching: Caching | None = None) -> None:
        self._caching = caching

    async def list_tool_definitions(self, session: AsyncSession, query: ToolListQuery) -> Cached:
        return await read_through(
            self._caching,
            session,
            lambda keys: keys.tool_definitions_page(query),
            lambda: self.load_tool_definitions(session, query),
        )

    async def load_tool_definitions(
        self, session: AsyncSession, query: ToolListQuery
    ) -> dict[str, Any]:
        tools, total = await repository.list_definitions(session, query)
        items = [ToolDefinitionPublic.model_validate(tool).to_json_data() for tool in tools]
        return page_of(items, total, query)

    async def seed(self, session: AsyncSession) -> dict[str, Any]:
        """Upsert the shipped catalog; a second run changes nothing."""
        catalog = load_catalog()
        existing = await repository.get_by_names(session, (entry.name for entry in catalog))
        now = utcnow()
        created: list[ToolDefinition] = []
        updated: list[str] = []
        for entry in catalog:
            tool = existing.get(entry.name)
            if tool is None:
                created.append(
                    ToolDefinition(
                        name=entry.name,
                        description=entry.description,
                        category=entry.category,
                        version=entry.version,
                        input_schema=entry.input_schema,
                        created_at=now,
                        updated_at=now,
                    )
                )
            elif _differs(tool, entry):
                tool.description = entry.description
                tool.category = entry.category
                tool.version = entry.version
                tool.input_schema = entry.input_schema
                tool.updated_at = now
                updated.append(entry.name)
        repository.add_definitions(session, created)
        changed = tuple(tool.name for tool in created) + tuple(updated)
        try:
            await commit_and_invalidate(
                self._caching,
                session,
                lambda keys: [keys.tool_catalog_generation()] if changed else [],
            )
        except IntegrityError as exc:
            await session.rollback()
            raise Conflict("Another seed ran at the same time; run it again.") from exc
        return SeedResult(
            created=len(created),
            updated=len(updated),
            unchanged=len(catalog) - len(changed),
            total=len(catalog),
        ).to_json_data()


def _differs(tool: ToolDefinition, entry: CatalogEntry) -> bool:
    return (tool.description, tool.category, tool.version, tool.input_schema) != (
        entry.description,
        entry.category,
        entry.version,
        entry.input_schema,
    )
