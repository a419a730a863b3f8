from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.db import ordered_page
from agenthub.pagination import SortOrder, contains_pattern
from agenthub.tools.models import ToolDefinition
from agenthub.tools.schemas import ToolListQuery, ToolSortBy

_SORT_KEYS: dict[ToolSortBy, tuple[Any, ...]] = {
    ToolSortBy.name: (ToolDefinition.name,),
    ToolSortBy.category: (ToolDefinition.category, ToolDefinition.name),
    ToolSortBy.created_at: (ToolDefinition.created_at, ToolDefinition.name),
    ToolSortBy.updated_at: (ToolDefinition.updated_at, ToolDefinition.name),
}


def _filters(query: ToolListQuery) -> list[ColumnElement[bool]]:
    filters: list[ColumnElement[bool]] = []
    if query.category is not None:
        filters.append(ToolDefinition.category == query.category)
    if query.search is not None:
        pattern = contains_pattern(query.search)
        filters.append(
            or_(
                ToolDefinition.name.ilike(pattern, escape="\\"),
                ToolDefinition.description.ilike(pattern, escape="\\"),
            )
        )
    return filters


def list_statement(query: ToolListQuery) -> Select[ToolDefinition]:
    return ordered_page(
        select(ToolDefinition).where(*_filters(query)),
        _SORT_KEYS[query.sort_by],
        query.sort_order is SortOrder.desc,
        query.limit,
        query.offset,
    )


def count_statement(query: ToolListQuery) -> Select[int]:
    return select(func.count()).select_from(ToolDefinition).where(*_filters(query))


async def list_definitions(
    session: AsyncSession, query: ToolListQuery
) -> tuple[Sequence[ToolDefinition], int]:
    total = (await session.execute(count_statement(query))).scalar_one()
    if total <= query.offset:
        return [], total
    return (await session.execute(list_statement(query))).scalars().all(), total


async def get_by_names(session: AsyncSession, names: Iterable[str]) -> dict[str, ToolDefinition]:
    statement = select(ToolDefinition).where(ToolDefinition.name.in_(list(names)))
    return {tool.name: tool for tool in (await session.execute(statement)).scalars()}


def add_definitions(session: AsyncSession, tools: Iterable[ToolDefinition]) -> None:
    session.add_all(list(tools))
