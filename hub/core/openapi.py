"""The OpenAPI document tells every status an operation can answer, not only its happy path.

Routes declare their success model; the statuses every route shares come from the hub's own
machinery (authentication, roles, the body cap, validation, missing records, state conflicts)
and are added here, once, with the error body they carry. Statuses a route declares itself win.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
    "required": ["message"],
}
AGENT_ERROR_SCHEMA: dict[str, Any] = {
    "title": "AgentError",
    "type": "object",
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
    "required": ["code", "message"],
}
DESCRIPTIONS = {
    400: "malformed request",
    401: "not signed in, or the credential is unknown",
    403: "the caller's role does not allow this (or the policy refused it)",
    404: "no such record (in the caller's organisation)",
    409: "not allowed in the record's current state",
    413: "the request body is over the limit",
    422: "the request does not match the schema (the message names the field)",
    426: "the agent's protocol version is not spoken here",
    429: "too many attempts; wait before trying again",
    503: "busy; retry later",
}
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    if path == "/healthz":
        return set()
    if path.startswith("/agent/"):
        return {400, 401, 404, 409, 413, 426, 503}
    statuses = {401, 403, 404}
    if method in WRITE_METHODS:
        statuses |= {400, 409, 413, 422}  # 400: a tool or service refused the request (ToolError)
    if operation.get("parameters"):
        statuses.add(422)
    if path == "/api/v1/auth/login":
        statuses.add(429)
    return statuses


#: Text never carries NUL (refused with 422 by the body guard; PostgreSQL cannot store it).
NO_NUL_PATTERN = "^[^\\u0000]*$"


def _no_nul(schema: Any) -> None:
    """Mark every free-text string of a request schema as NUL-free (in place)."""
    if isinstance(schema, list):
        for item in schema:
            _no_nul(item)
    elif isinstance(schema, dict):
        if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
            schema["pattern"] = NO_NUL_PATTERN
        if schema.get("type") == "object" and schema.get("additionalProperties", True) is not False:
            schema.setdefault("propertyNames", {"pattern": NO_NUL_PATTERN})
        for value in schema.values():
            _no_nul(value)


def document_statuses(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error statuses to every operation of ``openapi`` (in place; returned for chaining)."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for path, operations in openapi.get("paths", {}).items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                # A body declared with ``openapi_extra`` from a pydantic model: its $defs become components.
                components.update(media.get("schema", {}).pop("$defs", {}))
            _no_nul(operation.get("parameters", []))
            _no_nul(operation.get("requestBody", {}))
            schema = AGENT_ERROR_SCHEMA if path.startswith("/agent/") else ERROR_SCHEMA
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                responses.setdefault(
                    str(status),
                    {"description": DESCRIPTIONS[status], "content": {"application/json": {"schema": schema}}},
                )
    _no_nul(components)
    return openapi


def install_documented_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) carry the shared statuses."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_statuses(
                get_openapi(title=app.title, version=app.version, routes=app.routes, description=app.description)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
