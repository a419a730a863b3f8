from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.db import utcnow
from agenthub.exceptions import Conflict
from agenthub.pagination import page_of
from agenthub.tools import repository
from agenthub.tools.models import ToolDefinition
from agenthub.tools.schemas import CatalogEntry, SeedResult, ToolDefinitionPublic, ToolListQuery


@cache
def load_catalog() -> tuple[CatalogEntry, ...]:
    """The tool catalog shipped inside the package."""
    raw = resources.files("agenthub.tools").joinpath("catalog.json").read_bytes()
    return tuple(CatalogEntry.model_validate(entry) for entry in orjson.loads(raw))


@dataclass(frozen=True, slots=True)
class ToolChange:
    kind: Literal["tools.seeded"]
    names: tuple[str, ...]


class ToolService:
    async def list_tool_definitions(
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
        try:
            await session.commit()
        except IntegrityError as exc:
            await session.rollback()
            raise Conflict("Another seed ran at the same time; run it again.") from exc
        changed = tuple(tool.name for tool in created) + tuple(updated)
        if changed:
            await self._after_commit(ToolChange("tools.seeded", changed))
        return SeedResult(
            created=len(created),
            updated=len(updated),
            unchanged=len(catalog) - len(changed),
            total=len(catalog),
        ).to_json_data()

    async def _after_commit(self, change: ToolChange) -> None:
        """Runs once tool definitions changed and were committed: where caches learn of it
        (definition lists, and server tool lists, which show tool names and categories)."""


def _differs(tool: ToolDefinition, entry: CatalogEntry) -> bool:
    return (tool.description, tool.category, tool.version, tool.input_schema) != (
        entry.description,
        entry.category,
        entry.version,
        entry.input_schema,
    )
