from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.db import utcnow
from agenthub.exceptions import Forbidden, NotFound
from agenthub.organizations import repository
from agenthub.organizations.models import ApiToken, Organization
from agenthub.organizations.schemas import (
    Principal,
    Role,
    TokenCreate,
    TokenPublic,
)

TOKEN_PREFIX = "ahk_"
# "ahk_" + 43 URL-safe characters (32 random bytes); anything far from that is not looked up.
_MAX_TOKEN_LENGTH = 128


def generate_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The only form of a token the database ever sees."""
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_token(secret: str) -> bool:
    return secret.startswith(TOKEN_PREFIX) and len(secret) <= _MAX_TOKEN_LENGTH and secret.isascii()


@dataclass(frozen=True, slots=True)
class TokenChange:
    kind: Literal["token.created", "token.revoked"]
    organization_id: uuid.UUID
    token_id: uuid.UUID
    token_hash: str


class OrganizationService:
    async def authenticate(self, session: AsyncSession, secret: str) -> Principal | None:
        if not looks_like_token(secret):
            return None
        token = await repository.get_active_token_by_hash(session, hash_secret(secret))
        if token is None:
            return None
        return Principal(
            token_id=token.id,
            organization_id=token.organization_id,
            role=Role(token.role),
            is_platform_admin=token.is_platform_admin,
        )

    async def create_token(
        self, session: AsyncSession, principal: Principal, data: TokenCreate
    ) -> dict[str, Any]:
        if not principal.role.includes(data.role):
            raise Forbidden(f"A {principal.role} cannot create a token with role {data.role}.")
        token, secret = self._add_token(
            session, principal.organization_id, data.name, data.role, is_platform_admin=False
        )
        await session.commit()
        await self._after_commit(
            TokenChange("token.created", token.organization_id, token.id, token.token_hash)
        )
        return {**TokenPublic.model_validate(token).to_json_data(), "token": secret}

    async def list_tokens(
        self, session: AsyncSession, organization_id: uuid.UUID
    ) -> dict[str, Any]:
        tokens = await repository.list_tokens(session, organization_id)
        items = [TokenPublic.model_validate(token).to_json_data() for token in tokens]
        return {"items": items, "total": len(items)}

    async def revoke_token(
        self, session: AsyncSession, principal: Principal, token_id: uuid.UUID
    ) -> None:
        token = await repository.get_token(session, principal.organization_id, token_id)
        if token is None:
            raise NotFound("Token not found.")
        if not principal.role.includes(Role(token.role)) or (
            token.is_platform_admin and not principal.is_platform_admin
        ):
            raise Forbidden("This token has more rights than yours; it cannot be revoked by you.")
        if token.revoked_at is not None:
            return
        await repository.revoke_token(session, principal.organization_id, token_id, utcnow())
        await session.commit()
        await self._after_commit(
            TokenChange("token.revoked", token.organization_id, token.id, token.token_hash)
        )

    async def ensure_organization(
        self, session: AsyncSession, slug: str, name: str
    ) -> Organization:
        """The organization with this slug, created if missing (committed)."""
        organization = await repository.get_organization_by_slug(session, slug)
        if organization is None:
            organization = repository.add_organization(session, name=name, slug=slug)
            await session.commit()
        return organization

    async def issue_token(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        name: str,
        role: Role,
        is_platform_admin: bool = False,
    ) -> str:
        """Create a token without a caller (command line, demo data); return its secret."""
        token, secret = self._add_token(session, organization_id, name, role, is_platform_admin)
        await session.commit()
        await self._after_commit(
            TokenChange("token.created", token.organization_id, token.id, token.token_hash)
        )
        return secret

    def _add_token(
        self,
        session: AsyncSession,
        organization_id: uuid.UUID,
        name: str,
        role: Role,
        is_platform_admin: bool,
    ) -> tuple[ApiToken, str]:
        secret = generate_secret()
        token = repository.add_token(
            session,
            organization_id=organization_id,
            name=name,
            role=role.value,
            token_hash=hash_secret(secret),
            is_platform_admin=is_platform_admin,
        )
        return token, secret

    async def _after_commit(self, change: TokenChange) -> None:
        """Runs once a token change is committed: where caches of principals are told."""
