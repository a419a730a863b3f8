"""The `agenthub` command: serve, migrate, demo-data, token, cache."""

from __future__ import annotations

import asyncio
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import orjson
import typer
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from agenthub import benchdata, demo, migrations
from agenthub.caching import Caching
from agenthub.config import Settings
from agenthub.db import create_engine, create_sessionmaker
from agenthub.exceptions import NotFound
from agenthub.main import create_app
from agenthub.organizations.schemas import Role
from agenthub.organizations.service import OrganizationService

app = typer.Typer(
    help="agenthub: a multi-tenant API for AI agents, MCP servers and tools.",
    no_args_is_help=True,
    add_completion=False,
    # Tracebacks must not print local variables: they can hold token secrets.
    pretty_exceptions_show_locals=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
cache_app = typer.Typer(help="The cache: stats and operator flushes.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

T = TypeVar("T")


def _run_with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _safe_url(settings: Settings) -> str:
    return make_url(settings.database_url).render_as_string(hide_password=True)


def _migrate(settings: Settings) -> None:
    migrations.upgrade(settings.database_url)
    typer.echo(f"database ready: {_safe_url(settings)}", err=True)


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    _migrate(Settings())


@app.command()
def serve(
    demo_mode: Annotated[
        bool, typer.Option("--demo", help="Load demo data if the database is empty; print tokens.")
    ] = False,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (PORT).")] = None,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Migrate the database, then serve the API."""
    settings = Settings()
    host = host or settings.HOST
    port = port or settings.PORT
    _migrate(settings)
    if demo_mode:
        summary = _run_with_session(settings, lambda s: demo.prepare_demo(s, port))
        _print_demo(summary, f"http://{host}:{port}")
    logging.basicConfig(
        level=logging.DEBUG if settings.LOG_LEVEL == "trace" else settings.LOG_LEVEL.upper()
    )
    if reload:
        uvicorn.run(
            "agenthub.main:create_app",
            factory=True,
            host=host,
            port=port,
            reload=True,
            log_level=settings.LOG_LEVEL,
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.LOG_LEVEL)


@app.command("demo-data")
def demo_data(
    profile: Annotated[demo.Profile, typer.Option(help="small: a few organizations.")] = (
        demo.Profile.small
    ),
) -> None:
    """Load deterministic demo data into an empty database and print demo tokens."""
    settings = Settings()
    _migrate(settings)
    if profile is demo.Profile.bench:
        try:
            counts = asyncio.run(benchdata.load_bench_profile(settings.database_url))
        except benchdata.BenchDataError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        typer.echo(benchdata.describe_bench_profile(counts))
        return
    summary = _run_with_session(settings, lambda s: demo.prepare_demo(s, settings.PORT))
    _print_demo(summary, f"http://{settings.HOST}:{settings.PORT}")


def _with_cache(
    settings: Settings, work: Callable[[Caching], Awaitable[T]], *, require_cache: bool = True
) -> T:
    _migrate(settings)  # starting the cache delivers pending invalidations from the outbox

    async def run() -> T:
        engine = create_engine(settings.database_url)
        caching = Caching.build(settings, create_sessionmaker(engine))
        try:
            await caching.cache.start()
            if require_cache and not caching.cache.is_enabled():
                typer.echo("error: the cache backend does not answer", err=True)
                raise typer.Exit(1)
            return await work(caching)
        finally:
            await caching.cache.close()
            await engine.dispose()

    return asyncio.run(run())


@cache_app.command("stats")
def cache_stats() -> None:
    """Show the cache backend and its state (JSON)."""

    async def stats(caching: Caching) -> dict[str, object]:
        return caching.cache.stats()

    typer.echo(orjson.dumps(_with_cache(Settings(), stats), option=orjson.OPT_INDENT_2))


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every key under CACHE_PREFIX (SCAN + UNLINK; other keys are left alone)."""
    removed = _with_cache(Settings(), lambda caching: caching.cache.clear())
    typer.echo(f"removed {removed} keys")


@cache_app.command("flush-org")
def cache_flush_org(
    organization_id: Annotated[uuid.UUID, typer.Argument(help="The organization's id.")],
) -> None:
    """Delete every cached key of one organization (SCAN + UNLINK on its hash tag)."""

    async def flush(caching: Caching) -> int:
        return await caching.cache.invalidate(caching.keys.org_pattern(organization_id))

    typer.echo(f"removed {_with_cache(Settings(), flush)} keys")


@token_app.command("create")
def token_create(
    org: Annotated[str, typer.Option(help="Organization slug (created if missing).")],
    role: Annotated[Role, typer.Option(help="Role of the token.")] = Role.admin,
    platform_admin: Annotated[
        bool, typer.Option("--platform-admin", help="May also seed the global tool catalog.")
    ] = False,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "command line",
) -> None:
    """Create an API token and print its secret (shown only once) on stdout."""
    settings = Settings()
    _migrate(settings)

    async def create(session: AsyncSession) -> str:
        service = OrganizationService()
        organization = await service.ensure_organization(session, slug=org, name=org)
        return await service.issue_token(session, organization.id, name, role, platform_admin)

    secret = _run_with_session(settings, create)
    typer.echo(
        f"{role} token for organization {org!r} (store it now; it is not shown again):", err=True
    )
    typer.echo(secret)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[uuid.UUID, typer.Argument(help="The token's id (GET /api/tokens).")],
    org: Annotated[str, typer.Option(help="Slug of the token's organization.")],
) -> None:
    """Revoke a token now, in every agenthub process (its cached principals included)."""
    settings = Settings()

    async def revoke(caching: Caching) -> None:
        # With Redis unreachable the revocation still commits; its invalidation waits in
        # the outbox, which every running instance delivers before reading Redis again.
        async with caching.invalidator.sessionmaker() as session:
            await OrganizationService(caching).revoke_as_operator(session, org, token_id)

    try:
        _with_cache(settings, revoke, require_cache=False)
    except NotFound as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"token {token_id} revoked", err=True)


def _print_demo(summary: demo.DemoSummary, base_url: str) -> None:
    organization = summary.organization
    state = "loaded" if summary.loaded else "already present"
    lines = [
        "",
        f"agenthub demo data {state}.",
        "",
        f"  Admin token for {organization.slug} ({organization.name}): {summary.admin_token}",
        f"  Platform admin token: {summary.platform_admin_token}",
        "",
        "Try it:",
        f"  export TOKEN={summary.admin_token}",
        *(
            f'  curl -H "Authorization: Bearer $TOKEN" "{base_url}{path}"'
            for path in (
                "/api/agents?limit=5&sortBy=name&sortOrder=asc",
                "/api/servers",
                "/api/tools/definitions?category=source-control",
                "/api/tokens",
            )
        ),
        f"API documentation: {base_url}/docs",
        "",
    ]
    typer.echo("\n".join(lines))
    sys.stdout.flush()
