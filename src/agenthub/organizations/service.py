from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.caching import Caching, commit_and_invalidate
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
from cachelayer import CacheUnavailable

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


class OrganizationService:
    def __init__(self, caching: Caching | None = None) -> None:
        self._caching = caching

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

    async def remember_principal(
        self, session: AsyncSession, secret: str, principal: Principal
    ) -> None:
        """Let the cache hit path authenticate this token without the database.

        The principal is remembered with the organization's auth generation token, read
        before a second look at the token in a fresh transaction: a revocation committed
        in between is either seen here or has deleted that generation already.
        """
        caching = self._caching
        if caching is None or not caching.cache.is_enabled():
            return
        token_hash = hash_secret(secret)
        if caching.principals.get(token_hash) is not None:
            return
        auth_key = caching.keys.auth_generation(principal.organization_id)
        try:
            (auth_token,) = await caching.cache.ensure_generations([auth_key])
        except CacheUnavailable:
            return
        await session.rollback()
        if await self.authenticate(session, secret) == principal:
            caching.principals.put(token_hash, principal, auth_token)

    async def create_token(
        self, session: AsyncSession, principal: Principal, data: TokenCreate
    ) -> dict[str, Any]:
        if not principal.role.includes(data.role):
            raise Forbidden(f"A {principal.role} cannot create a token with role {data.role}.")
        token, secret = self._add_token(
            session, principal.organization_id, data.name, data.role, is_platform_admin=False
        )
        await session.commit()
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
        await self._revoke(session, token)

    async def revoke_as_operator(
        self, session: AsyncSession, slug: str, token_id: uuid.UUID
    ) -> None:
        """Revoke any token of an organization (command line: no caller to check)."""
        organization = await repository.get_organization_by_slug(session, slug)
        token = (
            await repository.get_token(session, organization.id, token_id) if organization else None
        )
        if token is None:
            raise NotFound("No such token in this organization.")
        await self._revoke(session, token)

    async def _revoke(self, session: AsyncSession, token: ApiToken) -> None:
        if token.revoked_at is not None:
            return
        await repository.revoke_token(session, token.organization_id, token.id, utcnow())
        # Deleting the organization's auth generation drops every process's cached
        # principals of that organization: the revoked token fails on its next request.
        await commit_and_invalidate(
            self._caching, session, lambda keys: [keys.auth_generation(token.organization_id)]
        )
        if self._caching is not None:
            self._caching.principals.discard(token.token_hash)

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
        _token, secret = self._add_token(session, organization_id, name, role, is_platform_admin)
        await session.commit()
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
