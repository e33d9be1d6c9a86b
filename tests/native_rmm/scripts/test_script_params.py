"""Parameter schemas are checked on save; slugs are unique, deterministic and fit a tool name."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core.errors import ToolArgumentError
from native_rmm.models.scripts import SCRIPT_TOOL_PREFIX, SLUG_MAX
from native_rmm.scripts.params import InvalidParameterSchema, normalise_schema, resolve_params
from native_rmm.scripts.slugs import slugify, unique_slug

GOOD: dict[str, Any] = {
    "properties": {
        "days": {"type": "integer", "minimum": 1, "default": 7, "description": "age"},
        "path": {"type": "string", "pattern": "^/", "maxLength": 200},
        "mode": {"type": "string", "enum": ["fast", "full"], "default": "fast"},
        "force": {"type": "boolean"},
        "ratio": {"type": "number", "exclusiveMaximum": 1},
    },
    "required": ["path"],
}


def test_a_good_schema_is_normalised() -> None:
    schema = normalise_schema(GOOD)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["path"] and set(schema["properties"]) == set(GOOD["properties"])
    assert (
        normalise_schema(None)
        == normalise_schema({})
        == {
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": False,
        }
    )


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ([], "must be a JSON schema object"),
        ({"type": "array"}, "type 'object'"),
        ({"properties": {"x": {"type": "object"}}}, "type must be one of"),
        ({"properties": {"x": {"type": "array", "items": {}}}}, "type must be one of"),
        ({"properties": {"bad-name": {"type": "string"}}}, "names must be identifiers"),
        ({"properties": {"device_ids": {"type": "string"}}}, "reserved"),
        ({"properties": {"x": {"type": "integer", "default": "7"}}}, "default does not fit"),
        ({"properties": {"x": {"type": "integer", "default": True}}}, "default does not fit"),
        ({"properties": {"x": {"type": "integer", "minimum": 5, "default": 1}}}, "default does not fit"),
        ({"properties": {"x": {"type": "string", "enum": []}}}, "non-empty list"),
        ({"properties": {"x": {"type": "string", "enum": ["a", 1]}}}, "non-empty list of string"),
        ({"properties": {"x": {"type": "string", "pattern": "("}}}, "not a valid regular expression"),
        ({"properties": {"x": {"type": "string", "minimum": 1}}}, "unsupported keyword"),
        ({"properties": {"x": {"type": "string"}}, "required": ["y"]}, "undeclared parameter(s): y"),
        ({"properties": {"x": {"type": "string"}}, "required": ["x", "x"]}, "twice"),
        ({"properties": {"x": {"type": "string"}}, "additionalProperties": True}, "additionalProperties must be false"),
        ({"properties": {"x": {"type": "string"}}, "oneOf": []}, "unsupported top-level"),
        ({"properties": {"name": {"type": "string"}, "NAME": {"type": "string"}}}, "collides"),
        ({"properties": {f"p{i}": {"type": "string"} for i in range(33)}}, "at most 32"),
    ],
)
def test_bad_schemas_are_refused_with_a_reason(schema: Any, problem: str) -> None:
    with pytest.raises(InvalidParameterSchema, match=None) as caught:
        normalise_schema(schema)
    assert problem in caught.value.message


def test_params_are_validated_and_defaults_filled() -> None:
    schema = normalise_schema(GOOD)
    assert resolve_params(schema, {"path": "/tmp"}, tool_id="t") == {"path": "/tmp", "days": 7, "mode": "fast"}
    with pytest.raises(ToolArgumentError) as missing:
        resolve_params(schema, {}, tool_id="native_rmm:rmm-run-script")
    assert "'path' is a required property" in missing.value.message
    with pytest.raises(ToolArgumentError) as wrong:
        resolve_params(schema, {"path": "/x", "days": 0}, tool_id="t")
    assert wrong.value.path == "$.params.days"
    with pytest.raises(ToolArgumentError) as extra:
        resolve_params(schema, {"path": "/x", "colour": "red"}, tool_id="t")
    assert "colour" in extra.value.message


def test_slugs_truncate_and_resolve_collisions_deterministically() -> None:
    assert slugify("Restart Print Spooler!") == "restart-print-spooler"
    assert slugify("   ") == "script"
    long = slugify("x" * 200)
    assert len(long) == SLUG_MAX and len(SCRIPT_TOOL_PREFIX + long) == 64
    assert unique_slug("disk", set()) == "disk"
    assert unique_slug("disk", {"disk"}) == "disk-2"
    assert unique_slug("disk", {"disk", "disk-2"}) == "disk-3"
    taken = {long, long[: SLUG_MAX - 2] + "-2"}
    third = unique_slug(long, taken)
    assert third == long[: SLUG_MAX - 2] + "-3" and len(third) == SLUG_MAX
