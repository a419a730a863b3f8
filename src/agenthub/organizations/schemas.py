from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from agenthub.pagination import SingleLine
from agenthub.responses import PublicModel, UTCTimestamp


class Role(StrEnum):
    viewer = "viewer"
    member = "member"
    admin = "admin"
    owner = "owner"

    def includes(self, other: Role) -> bool:
        """True when this role may do everything `other` may do."""
        return _ROLE_RANK[self] >= _ROLE_RANK[other]


_ROLE_RANK = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: resolved from the bearer token on every request."""

    token_id: uuid.UUID
    organization_id: uuid.UUID
    role: Role
    is_platform_admin: bool


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, SingleLine(200)] = Field(description="What the token is for.")
    role: Role = Field(
        description="viewer reads; member also writes agents and runs; admin also manages "
        "servers and tokens; owner includes admin. At most the caller's own role."
    )


class TokenPublic(PublicModel):
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    role: Role
    platform_admin: bool = Field(validation_alias="is_platform_admin")
    created_at: UTCTimestamp
    revoked_at: UTCTimestamp | None


class TokenCreated(TokenPublic):
    token: str = Field(description="The secret. Shown only in this answer: store it now.")


class OrganizationPublic(PublicModel):
    id: uuid.UUID
    name: str
    slug: str
    created_at: UTCTimestamp
    updated_at: UTCTimestamp


class TokenList(BaseModel):
    items: list[TokenPublic]
    total: int
