"""The `agenthub` command, run in-process on throwaway SQLite files."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from agenthub.cli import app
from agenthub.db import create_engine, create_sessionmaker
from agenthub.organizations.schemas import Role
from agenthub.organizations.service import OrganizationService

runner = CliRunner()


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    return url


async def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


def test_migrate(sqlite_url: str) -> None:
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    rows = asyncio.run(_query(sqlite_url, "SELECT version_num FROM alembic_version"))
    assert rows == [("0002",)]


def test_token_create_prints_a_working_secret(sqlite_url: str) -> None:
    result = runner.invoke(
        app, ["token", "create", "--org", "acme", "--role", "member", "--name", "ci"]
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"ahk_[A-Za-z0-9_-]{43}", secret)

    async def principal() -> object:
        engine = create_engine(sqlite_url)
        try:
            async with create_sessionmaker(engine)() as session:
                return await OrganizationService().authenticate(session, secret)
        finally:
            await engine.dispose()

    found = asyncio.run(principal())
    assert found is not None
    assert found.role is Role.member
    assert found.is_platform_admin is False

    result = runner.invoke(app, ["token", "create", "--org", "acme", "--platform-admin"])
    assert result.exit_code == 0, result.output
    rows = asyncio.run(_query(sqlite_url, "SELECT count(*) FROM organizations"))
    assert rows == [(1,)]


def test_token_create_refuses_unknown_roles(sqlite_url: str) -> None:
    result = runner.invoke(app, ["token", "create", "--org", "acme", "--role", "root"])
    assert result.exit_code != 0


def _snapshot(url: str) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "organizations": "SELECT id, slug, name FROM organizations ORDER BY id",
        "servers": "SELECT id, organization_id, name, url, transport, status FROM servers "
        "ORDER BY id",
        "agents": "SELECT id, organization_id, server_id, name, role, status, config FROM agents "
        "ORDER BY id",
        "runs": "SELECT id, agent_id, duration_ms, status, tool_calls, tokens FROM agent_runs "
        "ORDER BY id",
        "server_tools": (
            "SELECT s.server_id, t.name, s.enabled FROM server_tools s "
            "JOIN tool_definitions t ON t.id = s.tool_definition_id ORDER BY 1, 2"
        ),
    }
    return {name: asyncio.run(_query(url, sql)) for name, sql in queries.items()}


def test_demo_data_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshots = []
    for name in ("one", "two"):
        url = f"sqlite+aiosqlite:///{tmp_path / name}.db"
        monkeypatch.setenv("DATABASE_URL", url)
        result = runner.invoke(app, ["demo-data"])
        assert result.exit_code == 0, result.output
        assert "Admin token for acme" in result.stdout
        snapshots.append(_snapshot(url))
    assert snapshots[0] == snapshots[1]
    counts = {name: len(rows) for name, rows in snapshots[0].items()}
    assert counts["organizations"] == 3
    assert counts["agents"] >= 50
    assert counts["servers"] >= 9
    assert counts["runs"] > 100

    # A second load into the same database adds nothing but fresh demo tokens.
    result = runner.invoke(app, ["demo-data"])
    assert result.exit_code == 0, result.output
    assert "already present" in result.stdout
    assert _snapshot(url) == snapshots[1]


def test_bench_profile_refuses_sqlite(sqlite_url: str) -> None:
    result = runner.invoke(app, ["demo-data", "--profile", "bench"])
    assert result.exit_code == 2
    assert "PostgreSQL only" in result.output


@pytest.mark.redis
def test_cache_commands_touch_only_their_prefix(
    sqlite_url: str, redis_server_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    monkeypatch.setenv("REDIS_URL", redis_server_url)
    monkeypatch.setenv("CACHE_PREFIX", key_prefix)
    client = redis.Redis.from_url(redis_server_url)
    org = "8d2f9f40-5f5e-4a8e-9b7a-0c1d2e3f4a5b"
    mine = [f"{key_prefix}:{{o.{org}}}:agents:list:x", f"{key_prefix}:{{o.other}}:servers:list:y"]
    others = [f"{key_prefix}x:{{o.{org}}}:a", f"not-{key_prefix}:{{o.{org}}}:b"]
    try:
        for key in mine + others:
            client.set(key, b"v")
        stats = runner.invoke(app, ["cache", "stats"])
        assert stats.exit_code == 0 and '"backend": "redis"' in stats.stdout, stats.output
        flushed = runner.invoke(app, ["cache", "flush-org", org])
        assert flushed.exit_code == 0 and "removed 1 keys" in flushed.stdout, flushed.output
        assert client.exists(*mine) == 1
        cleared = runner.invoke(app, ["cache", "clear"])
        assert cleared.exit_code == 0 and "removed 1 keys" in cleared.stdout, cleared.output
        assert client.exists(*mine) == 0 and client.exists(*others) == 2
    finally:
        client.delete(*mine, *others)
        client.close()


def test_token_revoke_from_the_command_line(sqlite_url: str) -> None:
    created = runner.invoke(app, ["token", "create", "--org", "acme", "--role", "viewer"])
    secret = created.stdout.strip().splitlines()[-1]

    async def token_id() -> object:
        engine = create_engine(sqlite_url)
        try:
            async with create_sessionmaker(engine)() as session:
                principal = await OrganizationService().authenticate(session, secret)
                return principal.token_id if principal else None
        finally:
            await engine.dispose()

    found = asyncio.run(token_id())
    assert found is not None
    revoked = runner.invoke(app, ["token", "revoke", str(found), "--org", "acme"])
    assert revoked.exit_code == 0, revoked.output
    assert asyncio.run(token_id()) is None
    missing = runner.invoke(app, ["token", "revoke", str(found), "--org", "globex"])
    assert missing.exit_code == 1
