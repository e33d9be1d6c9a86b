"""Every integer a client can send is bounded to what the database holds (issue 8, item 4).

The walk over the OpenAPI document and every tool's JSON schema is the mechanism check: a new
route or tool argument with an unbounded integer fails here. The HTTP cases are the reproduced
server errors, now 422 naming the field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hub.core.bounds import DB_INT_MAX
from hub.core.context import HubContext
from tests.conftest import Tenancy

HUGE = 9223372036854775808  # 2**63: past every integer column
PAST_INT4 = 2**31  # past PostgreSQL's INTEGER


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        ref = schema["$ref"].removeprefix("#/")
        node: Any = root
        for part in ref.split("/"):
            node = node[part]
        schema = node
    return schema


def unbounded_integers(schema: Any, root: dict[str, Any], path: str, seen: set[str]) -> Iterator[str]:
    """JSON paths of ``integer`` schemas without bounds inside the database's range."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from unbounded_integers(item, root, f"{path}[{i}]", seen)
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return
        seen = seen | {schema["$ref"]}
        schema = _resolve(schema, root)
    if schema.get("type") == "integer":
        maximum, minimum = schema.get("maximum"), schema.get("minimum")
        if maximum is None or maximum > DB_INT_MAX or minimum is None or minimum < -DB_INT_MAX - 1:
            yield path
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions", "patternProperties"):
            for name, sub in value.items():
                yield from unbounded_integers(sub, root, f"{path}.{name}", seen)
        elif key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties", "prefixItems", "not"):
            yield from unbounded_integers(value, root, path, seen)


def request_integers(openapi: dict[str, Any]) -> list[str]:
    """Unbounded integers in any operation's parameters or request body."""
    found: list[str] = []
    for route, operations in openapi["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {route}"
            for param in op.get("parameters", []):
                found += unbounded_integers(param.get("schema", {}), openapi, f"{where} {param['name']}", set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                found += unbounded_integers(media.get("schema", {}), openapi, f"{where} body", set())
    return found


async def test_every_request_integer_in_the_openapi_is_bounded(anon: httpx.AsyncClient) -> None:
    openapi = (await anon.get("/openapi.json")).json()
    assert request_integers(openapi) == []


async def test_every_tool_integer_argument_is_bounded(hub: HubContext, tenancy: Tenancy) -> None:
    tools = hub.registry.visible(tenancy.org_id)
    assert len(tools) > 20
    unbounded = [p for t in tools for p in unbounded_integers(t.input_schema, t.input_schema, t.id, set())]
    assert unbounded == [], "\n".join(unbounded)


REPRODUCED = [
    ("GET", "/api/v1/rmm/tickets?before_id={n}", None),
    ("GET", "/api/v1/rmm/tickets/{n}", None),
    ("GET", "/api/v1/approvals/{n}", None),
    ("POST", "/api/v1/approvals/{n}/approve", {}),
    ("GET", "/api/v1/rmm/alerts?before_id={n}", None),
    ("GET", "/api/v1/rmm/alerts/{n}", None),
    ("GET", "/api/v1/rmm/scripts/{n}", None),
    ("GET", "/api/v1/rmm/script-runs?before_id={n}", None),
    ("GET", "/api/v1/rmm/monitors/{n}", None),
    ("POST", "/api/v1/rmm/installers/{n}/revoke", None),
    ("POST", "/api/v1/rmm/installers/{n}/regenerate", None),
    ("POST", "/api/v1/rmm/devices/{n}/credentials/revoke", None),
    ("POST", "/api/v1/rmm/installers", {"name": "x", "max_uses": "{n}"}),
    ("GET", "/api/v1/audit?before_id={n}", None),
]


@pytest.mark.parametrize("number", [HUGE, PAST_INT4], ids=["2^63", "2^31"])
@pytest.mark.parametrize(("method", "path", "body"), REPRODUCED, ids=[f"{m} {p}" for m, p, _ in REPRODUCED])
async def test_an_id_past_the_database_range_is_422(
    tenancy: Tenancy, client_for: Callable[..., httpx.AsyncClient], method: str, path: str, body: Any, number: int
) -> None:
    admin = client_for(tenancy.admin)
    payload = None if body is None else {k: number if v == "{n}" else v for k, v in body.items()}
    response = await admin.request(method, path.format(n=number), json=payload)
    assert response.status_code == 422, response.text
    assert response.json()["status"] == "error" and "less than or equal to" in response.json()["message"]


@pytest.mark.parametrize("number", [HUGE, PAST_INT4], ids=["2^63", "2^31"])
@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("rmm-get-ticket", {"ticket_id": "{n}"}),
        ("rmm-get-device", {"device": "{n}"}),
        ("rmm-list-alerts", {"device_id": "{n}"}),
        ("rmm-list-devices", {"offset": "{n}"}),
        ("rmm-get-command-result", {"command_id": "{n}"}),
    ],
)
async def test_a_tool_argument_past_the_database_range_is_422_naming_the_field(
    tenancy: Tenancy, client_for: Callable[..., httpx.AsyncClient], tool: str, args: dict[str, Any], number: int
) -> None:
    admin = client_for(tenancy.admin)
    sent = {k: number if v == "{n}" else v for k, v in args.items()}
    response = await admin.post(f"/api/v1/tools/{tool}/invoke", json={"args": sent})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["path"] == f"$.{next(iter(args))}", body
    assert "Error" not in body["message"] and "Traceback" not in response.text
