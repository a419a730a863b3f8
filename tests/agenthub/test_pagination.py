"""List parameter models work the same inside and outside FastAPI."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agenthub.agents.schemas import AgentListQuery, AgentSortBy, AgentStatus
from agenthub.pagination import SortOrder, escape_like, page_of
from agenthub.servers.schemas import ServerListQuery
from agenthub.tools.schemas import ToolListQuery


def test_query_from_raw_strings() -> None:
    query = AgentListQuery.model_validate(
        {
            "page": "3",
            "limit": "50",
            "sortBy": "name",
            "sortOrder": "asc",
            "status": "paused",
            "search": "  bot  ",
        }
    )
    assert (query.page, query.limit, query.offset) == (3, 50, 100)
    assert query.sort_by is AgentSortBy.name
    assert query.sort_order is SortOrder.asc
    assert query.status is AgentStatus.paused
    assert query.search == "bot"


def test_defaults_and_explicit_defaults_are_equal() -> None:
    implicit = AgentListQuery.model_validate({})
    explicit = AgentListQuery.model_validate(
        {"page": "1", "limit": "20", "sortBy": "createdAt", "sortOrder": "desc", "search": " "}
    )
    assert implicit == explicit
    assert implicit.model_dump(mode="json", by_alias=True) == {
        "page": 1,
        "limit": 20,
        "search": None,
        "sortBy": "createdAt",
        "sortOrder": "desc",
        "serverId": None,
        "status": None,
        "role": None,
    }
    assert ToolListQuery.model_validate({}).sort_by.value == "name"
    assert ServerListQuery.model_validate({}).sort_order is SortOrder.asc


@pytest.mark.parametrize(
    "raw",
    [
        {"page": "0"},
        {"limit": "101"},
        {"sortBy": "x"},
        {"sort_by": "name"},
        {"server_id": "x"},
        {"other": "1"},
        {"search": "\x00"},
    ],
)
def test_invalid_raw_queries(raw: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        AgentListQuery.model_validate(raw)


def test_queries_are_hashable_values() -> None:
    assert hash(AgentListQuery.model_validate({"page": "2"})) == hash(
        AgentListQuery.model_validate({"page": 2})
    )


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("50%", "50\\%"), ("a_b", "a\\_b"), ("c:\\d", "c:\\\\d"), ("plain", "plain")],
)
def test_escape_like(text: str, escaped: str) -> None:
    assert escape_like(text) == escaped


def test_page_of_counts_pages() -> None:
    query = AgentListQuery.model_validate({"limit": "10", "page": "2"})
    assert page_of([], 21, query) == {
        "items": [],
        "total": 21,
        "page": 2,
        "limit": 10,
        "totalPages": 3,
    }
