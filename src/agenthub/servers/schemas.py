from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agenthub.pagination import ListQuery, Page, SingleLine, SortOrder
from agenthub.responses import PublicModel, UTCTimestamp

MAX_TOOL_SETTINGS = 500


class Transport(StrEnum):
    http = "http"
    sse = "sse"
    stdio = "stdio"


class ServerStatus(StrEnum):
    active = "active"
    inactive = "inactive"
    error = "error"


class HealthStatus(StrEnum):
    healthy = "healthy"
    unhealthy = "unhealthy"
    unknown = "unknown"


class ServerSortBy(StrEnum):
    name = "name"
    created_at = "createdAt"
    updated_at = "updatedAt"
    status = "status"


ServerName = Annotated[str, SingleLine(200)]
# http/sse: the endpoint URL; stdio: the command that starts the server.
ServerUrl = Annotated[str, SingleLine(2000)]


def check_endpoint(transport: Transport, url: str) -> None:
    """http and sse servers are reached over HTTP(S), so their url must be one."""
    if transport is Transport.stdio:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"a {transport} server needs an http:// or https:// url")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("the url has an invalid port") from exc


class ServerListQuery(ListQuery):
    sort_by: ServerSortBy = Field(ServerSortBy.name, alias="sortBy")
    sort_order: SortOrder = Field(SortOrder.asc, alias="sortOrder")
    status: ServerStatus | None = None
    transport: Transport | None = None


class ServerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ServerName
    url: ServerUrl = Field(description="http/sse: the endpoint URL; stdio: the command.")
    transport: Transport
    status: ServerStatus = ServerStatus.active

    @model_validator(mode="after")
    def _url_fits_transport(self) -> ServerCreate:
        check_endpoint(self.transport, self.url)
        return self


class ServerUpdate(BaseModel):
    """Fields left out keep their value."""

    model_config = ConfigDict(extra="forbid")

    name: ServerName | None = None
    url: ServerUrl | None = None
    transport: Transport | None = None
    status: ServerStatus | None = None

    @field_validator("name", "url", "transport", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class ToolSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool_definition_id: uuid.UUID = Field(alias="toolDefinitionId")
    enabled: bool


class ServerToolsUpdate(BaseModel):
    """Enable or disable tools on a server; tools not listed keep their setting."""

    model_config = ConfigDict(extra="forbid")

    tools: list[ToolSetting] = Field(min_length=1, max_length=MAX_TOOL_SETTINGS)

    @field_validator("tools")
    @classmethod
    def _no_duplicates(cls, tools: list[ToolSetting]) -> list[ToolSetting]:
        ids = [tool.tool_definition_id for tool in tools]
        if len(set(ids)) != len(ids):
            raise ValueError("lists a toolDefinitionId more than once")
        return tools


class ServerPublic(PublicModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    url: str
    transport: Transport
    status: ServerStatus
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


ServerPage = Page[ServerPublic]


class ServerToolPublic(PublicModel):
    tool_definition_id: uuid.UUID
    name: str
    description: str
    category: str
    version: str
    enabled: bool
    updated_at: UTCTimestamp


class ServerTools(PublicModel):
    server_id: uuid.UUID
    items: list[ServerToolPublic]
    total: int


class ServerHealth(PublicModel):
    server_id: uuid.UUID
    status: HealthStatus = Field(
        description="healthy: the URL answered below 500; unhealthy: error, timeout or 5xx; "
        "unknown: stdio servers, which cannot be probed over HTTP."
    )
    latency_ms: float | None
    checked_at: UTCTimestamp
    error: str | None = None
