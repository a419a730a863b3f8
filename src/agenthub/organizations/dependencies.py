"""Who is calling, and may they: the dependencies every router uses."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from agenthub.caching import CachingDep
from agenthub.db import SessionDep
from agenthub.exceptions import Forbidden, Unauthorized
from agenthub.organizations.schemas import Principal, Role
from agenthub.organizations.service import OrganizationService


def get_organization_service(caching: CachingDep) -> OrganizationService:
    return OrganizationService(caching)


OrganizationServiceDep = Annotated[OrganizationService, Depends(get_organization_service)]


bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token: `Authorization: Bearer ahk_...`."
)
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


async def get_current_principal(
    credentials: BearerCredentials, session: SessionDep, service: OrganizationServiceDep
) -> Principal:
    if credentials is None:
        raise Unauthorized("Send the header 'Authorization: Bearer <token>'.")
    secret = credentials.credentials.strip()
    principal = await service.authenticate(session, secret)
    if principal is None:
        raise Unauthorized("Unknown or revoked token.")
    await service.remember_principal(session, secret, principal)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


def require_role(role: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.role.includes(role):
            raise Forbidden(
                f"This needs the {role} role or higher; the token has {principal.role}."
            )
        return principal

    return check


async def require_platform_admin(principal: CurrentPrincipal) -> Principal:
    if not principal.is_platform_admin:
        raise Forbidden("This needs a platform administrator token.")
    return principal


Viewer = Annotated[Principal, Depends(require_role(Role.viewer))]
Member = Annotated[Principal, Depends(require_role(Role.member))]
Admin = Annotated[Principal, Depends(require_role(Role.admin))]
PlatformAdmin = Annotated[Principal, Depends(require_platform_admin)]
