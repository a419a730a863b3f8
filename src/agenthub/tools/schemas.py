from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from agenthub.pagination import ListQuery, Page, SingleLine, SortOrder
from agenthub.responses import PublicModel, UTCTimestamp


class ToolSortBy(StrEnum):
    name = "name"
    category = "category"
    created_at = "createdAt"
    updated_at = "updatedAt"


class ToolListQuery(ListQuery):
    sort_by: ToolSortBy = Field(ToolSortBy.name, alias="sortBy")
    sort_order: SortOrder = Field(SortOrder.asc, alias="sortOrder")
    category: Annotated[str, SingleLine(100)] | None = Field(
        None, description="Only tools of this category."
    )


class CatalogEntry(BaseModel):
    """One tool of the catalog shipped in the package (`tools/catalog.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, SingleLine(200)]
    description: str
    category: Annotated[str, SingleLine(100)]
    version: Annotated[str, SingleLine(50)]
    input_schema: dict[str, Any] = Field(alias="inputSchema")


class ToolDefinitionPublic(PublicModel):
    id: uuid.UUID
    name: str
    description: str
    category: str
    version: str
    input_schema: dict[str, Any]
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


ToolDefinitionPage = Page[ToolDefinitionPublic]


class SeedResult(PublicModel):
    created: int
    updated: int
    unchanged: int
    total: int = Field(description="Tools in the shipped catalog.")
