"""Settings read from the environment (and a `.env` file), built once by the app factory."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("data") / "agenthub.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Unset: a SQLite file under ./data of the working directory (see `database_url`).
    DATABASE_URL: str | None = None

    REDIS_URL: str | None = None
    REDIS_HOST: str | None = None
    REDIS_PORT: int = 6379
    REDIS_PASSWORD: str | None = None

    # Keys start with "<CACHE_PREFIX>:"; clear() and flushes touch nothing else in Redis.
    CACHE_PREFIX: str = Field("agenthub", pattern=r"^[A-Za-z0-9_\-]{1,32}$")
    # Off: every read goes to the database (for comparisons; not for production).
    CACHE_ENABLED: bool = True
    # Deadline of each Redis call; a slower answer is a miss.
    CACHE_TIMEOUT_MS: int = Field(250, ge=1, le=10_000)
    # Consecutive Redis failures that open the breaker (requests then skip Redis).
    CACHE_BREAKER_THRESHOLD: int = Field(3, ge=1, le=1000)
    # Bound of the in-process cache used when no Redis is configured.
    CACHE_MEMORY_MAX_BYTES: int = Field(64 * 1024 * 1024, ge=1024)
    # With Redis: bytes of payload copies each process keeps, so that a hit reads only
    # the entry's head from Redis (its digest and generations), not the payload; 0: off.
    CACHE_COPY_MAX_BYTES: int = Field(64 * 1024 * 1024, ge=0)
    # How often each instance delivers invalidations another instance could not.
    CACHE_OUTBOX_POLL_SECONDS: float = Field(1.0, gt=0, le=3600)

    HOST: str = "127.0.0.1"
    PORT: int = Field(8000, ge=1, le=65535)
    LOG_LEVEL: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"

    # Requests with a larger body are refused with 413 before any parsing.
    MAX_BODY_BYTES: int = Field(1_048_576, ge=1024)
    # `GET /api/servers/{id}/health` gives up on a server after this long.
    HEALTH_PROBE_TIMEOUT_SECONDS: float = Field(2.0, gt=0, le=30)

    @field_validator("LOG_LEVEL", mode="before")
    @classmethod
    def _lowercase_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @property
    def database_url(self) -> str:
        """The SQLAlchemy async URL: asyncpg for PostgreSQL, aiosqlite for the default file."""
        if not self.DATABASE_URL:
            DEFAULT_SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
            return f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}"
        return normalize_database_url(self.DATABASE_URL)


def normalize_database_url(url: str) -> str:
    """Point plain `postgres://` and `postgresql://` URLs (as hosts give them) at asyncpg."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url
