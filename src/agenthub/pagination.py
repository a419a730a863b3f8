"""List parameters and pages shared by every list endpoint, plus the text rules they use.

A list query is one pydantic model, validated the same way by FastAPI (`Query()`) and by
anyone holding the raw query strings (`Model.model_validate(dict_of_strings)`), so a cache
key built from the validated model always matches what the route serves.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from annotated_types import GroupedMetadata
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

MAX_PAGE = 1_000_000
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_SEARCH_LENGTH = 200

T = TypeVar("T")


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


def reject_unsafe_text(value: str) -> str:
    """Refuse control characters and lone surrogates: PostgreSQL cannot store them, and no
    name or search text needs them. Format characters (RTL marks, ZWJ in emoji) are text."""
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError("must not contain control characters or invalid Unicode")
    return value


def reject_unsafe_multiline_text(value: str) -> str:
    """As `reject_unsafe_text`, but line breaks and tabs are allowed."""
    reject_unsafe_text(value.replace("\n", " ").replace("\r", " ").replace("\t", " "))
    return value


def _blank_to_none(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


@dataclass(frozen=True)
class SingleLine(GroupedMetadata):
    """`Annotated[str, SingleLine(200)]`: trimmed, 1..200 characters, no control characters."""

    max_length: int

    def __iter__(self) -> Iterator[object]:
        yield StringConstraints(strip_whitespace=True, min_length=1, max_length=self.max_length)
        yield AfterValidator(reject_unsafe_text)


# Free text (descriptions): line breaks allowed, may be empty.
Paragraph = Annotated[str, AfterValidator(reject_unsafe_multiline_text)]


# Trimmed; blank means no search.
SearchText = Annotated[
    Annotated[
        str, StringConstraints(max_length=MAX_SEARCH_LENGTH), AfterValidator(reject_unsafe_text)
    ]
    | None,
    BeforeValidator(_blank_to_none),
]


class ListQuery(BaseModel):
    """Common list parameters; subclasses add `sortBy`, `sortOrder` and their filters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page: int = Field(1, ge=1, le=MAX_PAGE, description="Page number, from 1.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1..100).")
    search: SearchText = Field(
        None,
        description="Case-insensitive text searched in name and description (max 200 chars).",
    )

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


class Page(BaseModel, Generic[T]):
    """Documents the shape of every list answer."""

    items: list[T]
    total: int
    page: int
    limit: int
    totalPages: int


def page_of(items: list[Any], total: int, query: ListQuery) -> dict[str, Any]:
    return {
        "items": items,
        "total": total,
        "page": query.page,
        "limit": query.limit,
        "totalPages": math.ceil(total / query.limit) if total else 0,
    }


def escape_like(text: str) -> str:
    """Make user text match literally inside LIKE (used with ESCAPE '\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_pattern(text: str) -> str:
    return f"%{escape_like(text)}%"
