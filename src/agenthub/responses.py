"""How data goes on the wire: camelCase fields, ISO-8601 UTC times, JSON encoded once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Response
from pydantic import BaseModel, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

JSON_MEDIA_TYPE = "application/json"


def format_timestamp(value: datetime) -> str:
    """`2025-01-31T09:30:00.123Z`, the format JavaScript's toISOString() gives."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


UTCTimestamp = Annotated[
    datetime, PlainSerializer(format_timestamp, return_type=str, when_used="json")
]


class PublicModel(BaseModel):
    """An answer's shape: snake_case in Python, camelCase on the wire."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        serialize_by_alias=True,
        from_attributes=True,
    )

    def to_json_data(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


def encode_json(data: object) -> bytes:
    return orjson.dumps(data)


def json_response(
    data: object, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return json_bytes_response(encode_json(data), status_code, headers)


def json_bytes_response(
    body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """Send bytes that are already JSON (for example a stored, encoded page) as they are."""
    return Response(body, status_code=status_code, headers=headers, media_type=JSON_MEDIA_TYPE)
