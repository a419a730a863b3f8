from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub.organizations.models import ApiToken, Organization


async def get_active_token_by_hash(session: AsyncSession, token_hash: str) -> ApiToken | None:
    statement = select(ApiToken).where(
        ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def get_organization_by_slug(session: AsyncSession, slug: str) -> Organization | None:
    statement = select(Organization).where(Organization.slug == slug)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_organizations(session: AsyncSession) -> Sequence[Organization]:
    statement = select(Organization).order_by(Organization.created_at, Organization.slug)
    return (await session.execute(statement)).scalars().all()


async def any_organization_exists(session: AsyncSession) -> bool:
    statement = select(Organization.id).limit(1)
    return (await session.execute(statement)).first() is not None


def add_organization(session: AsyncSession, name: str, slug: str) -> Organization:
    organization = Organization(name=name, slug=slug)
    session.add(organization)
    return organization


def add_token(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    role: str,
    token_hash: str,
    is_platform_admin: bool,
) -> ApiToken:
    token = ApiToken(
        organization_id=organization_id,
        name=name,
        role=role,
        token_hash=token_hash,
        is_platform_admin=is_platform_admin,
    )
    session.add(token)
    return token


async def list_tokens(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[ApiToken]:
    statement = (
        select(ApiToken)
        .where(ApiToken.organization_id == organization_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return (await session.execute(statement)).scalars().all()


async def get_token(
    session: AsyncSession, organization_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    statement = select(ApiToken).where(
        ApiToken.organization_id == organization_id, ApiToken.id == token_id
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def revoke_token(
    session: AsyncSession, organization_id: uuid.UUID, token_id: uuid.UUID, now: datetime
) -> None:
    await session.execute(
        update(ApiToken)
        .where(
            ApiToken.organization_id == organization_id,
            ApiToken.id == token_id,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=now, updated_at=now)
    )
