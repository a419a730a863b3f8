"""Domain errors and the handlers that turn every error into one envelope.

Every error answer has the body `{"error": {"code", "message", "details"}}`, whether it
comes from our services, from request validation, from routing (404, 405) or from a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from agenthub.responses import json_response

logger = logging.getLogger(__name__)


class AgentHubError(Exception):
    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class BadRequest(AgentHubError):
    status_code = 400
    code = "bad_request"


class Unauthorized(AgentHubError):
    status_code = 401
    code = "unauthorized"

    def __init__(self, message: str = "A valid bearer token is required.") -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AgentHubError):
    status_code = 403
    code = "forbidden"


class NotFound(AgentHubError):
    status_code = 404
    code = "not_found"


class Conflict(AgentHubError):
    status_code = 409
    code = "conflict"


class PayloadTooLarge(AgentHubError):
    status_code = 413
    code = "payload_too_large"


class ValidationFailed(AgentHubError):
    status_code = 422
    code = "validation_error"


class ServiceUnavailable(AgentHubError):
    status_code = 503
    code = "service_unavailable"


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


def _status_code_name(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body = {"error": {"code": code, "message": message, "details": details}}
    return json_response(body, status_code=status_code, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location, message and type: the raw input may be huge or not JSON-encodable.
    return [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]


async def _handle_agenthub_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AgentHubError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _handle_validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, ValidationFailed.code, "The request is not valid.", _validation_details(exc)
    )


async def _handle_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 404 and message == "Not Found":
        message = "No such resource."
    return error_response(
        exc.status_code, _status_code_name(exc.status_code), message, None, exc.headers
    )


async def _handle_unexpected(_request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "internal_error", "Internal server error.")


def add_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AgentHubError, _handle_agenthub_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)
    app.add_exception_handler(Exception, _handle_unexpected)


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give."""
    descriptions = {
        400: "Malformed request.",
        401: "Missing, unknown or revoked bearer token.",
        403: "The token's role does not allow this.",
        404: "No such resource in the caller's organization.",
        409: "Conflicts with existing data.",
        413: "Request body too large.",
        422: "Invalid parameters or body.",
        503: "A dependency is not available.",
    }
    return {
        code: {"model": ErrorEnvelope, "description": descriptions.get(code, "Error.")}
        for code in status_codes
    }
