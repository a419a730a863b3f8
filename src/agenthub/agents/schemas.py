from __future__ import annotations

import math
import uuid
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)

from agenthub.db import utcnow
from agenthub.pagination import (
    ListQuery,
    Page,
    Paragraph,
    SingleLine,
    SortOrder,
    reject_unsafe_multiline_text,
)
from agenthub.responses import PublicModel, UTCTimestamp

MAX_CONFIG_DEPTH = 32
MAX_JSON_INT = 2**63 - 1
MIN_JSON_INT = -(2**63)
# Clock skew tolerated on a run's start time.
MAX_RUN_START_SKEW = timedelta(minutes=5)


class AgentStatus(StrEnum):
    active = "active"
    paused = "paused"
    error = "error"
    archived = "archived"


class RunStatus(StrEnum):
    success = "success"
    failed = "failed"


class AgentSortBy(StrEnum):
    name = "name"
    created_at = "createdAt"
    updated_at = "updatedAt"
    status = "status"


def _check_json_value(value: Any, depth: int = 0) -> None:
    if depth > MAX_CONFIG_DEPTH:
        raise ValueError(f"is nested deeper than {MAX_CONFIG_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("NaN and Infinity are not JSON")
    if isinstance(value, int) and not MIN_JSON_INT <= value <= MAX_JSON_INT:
        raise ValueError("has an integer outside the 64-bit range")
    if isinstance(value, str):
        reject_unsafe_multiline_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json_value(key, depth + 1)
            _check_json_value(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item, depth + 1)


def _safe_config(value: dict[str, Any]) -> dict[str, Any]:
    # What the database cannot store must be a 422, not a 500: NUL and lone surrogates in
    # strings, NaN and Infinity (not JSON), unbounded nesting.
    _check_json_value(value)
    return value


AgentConfig = Annotated[dict[str, Any], AfterValidator(_safe_config)]
AgentName = Annotated[str, SingleLine(200)]
AgentRole = Annotated[str, SingleLine(100)]
AgentDescription = Annotated[Paragraph, Field(max_length=5000)]


class AgentListQuery(ListQuery):
    sort_by: AgentSortBy = Field(AgentSortBy.created_at, alias="sortBy")
    sort_order: SortOrder = Field(SortOrder.desc, alias="sortOrder")
    server_id: uuid.UUID | None = Field(
        None, alias="serverId", description="Only this server's agents."
    )
    status: AgentStatus | None = None
    role: AgentRole | None = None


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=False)

    name: AgentName
    description: AgentDescription = ""
    role: AgentRole
    status: AgentStatus = AgentStatus.active
    server_id: uuid.UUID | None = Field(None, alias="serverId")
    config: AgentConfig = Field(default_factory=dict)


class AgentUpdate(BaseModel):
    """Fields left out keep their value; `serverId: null` unlinks the agent from its server."""

    model_config = ConfigDict(extra="forbid", validate_by_name=False)

    name: AgentName | None = None
    description: AgentDescription | None = None
    role: AgentRole | None = None
    status: AgentStatus | None = None
    server_id: uuid.UUID | None = Field(None, alias="serverId")
    config: AgentConfig | None = None

    @field_validator("name", "description", "role", "status", "config")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=False)

    started_at: AwareDatetime | None = Field(
        None, alias="startedAt", description="When the run started (default: now)."
    )
    duration_ms: int = Field(alias="durationMs", ge=0, le=7 * 24 * 3600 * 1000)
    status: RunStatus
    tool_calls: int = Field(0, alias="toolCalls", ge=0, le=1_000_000)
    tokens: int = Field(0, ge=0, le=2_000_000_000)

    @field_validator("started_at")
    @classmethod
    def _not_in_future(cls, value: AwareDatetime | None) -> AwareDatetime | None:
        if value is not None and value > utcnow() + MAX_RUN_START_SKEW:
            raise ValueError("is in the future")
        return value


class AgentPublic(PublicModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    server_id: uuid.UUID | None
    name: str
    description: str
    role: str
    status: AgentStatus
    config: dict[str, Any]
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


AgentPage = Page[AgentPublic]


class RunPublic(PublicModel):
    id: uuid.UUID
    agent_id: uuid.UUID
    started_at: UTCTimestamp
    duration_ms: int
    status: RunStatus
    tool_calls: int
    tokens: int
    created_at: UTCTimestamp


class AgentStats(PublicModel):
    agent_id: uuid.UUID
    total_runs: int
    success_rate: float | None = Field(
        description="Share of successful runs, 0..1; null without runs."
    )
    avg_duration_ms: float | None
    p95_duration_ms: float | None = Field(
        description="95th percentile of durations, interpolated as PostgreSQL's percentile_cont."
    )
    last_run_at: UTCTimestamp | None
    runs_last_24h: int = Field(alias="runsLast24h")
