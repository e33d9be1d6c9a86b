"""Script parameters: a restricted JSON schema, checked on save and used to validate each run.

A parameter schema is an object whose properties are of a simple type (``string``, ``integer``,
``number``, ``boolean``) with optional ``title``, ``description``, ``default``, ``enum`` and the
usual bounds; ``required`` lists mandatory names. Names are identifiers (they become environment
variables ``RMM_PARAM_<NAME>`` and ``<name>``, see ``agent.protocol.script_param_env``) and
``device_ids`` is reserved for the target devices of a script's tool.
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from agent.protocol import script_param_env
from hub.core.errors import ToolArgumentError, ToolError

PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
RESERVED_NAMES = frozenset({"device_ids"})
MAX_PARAMS = 32
SIMPLE_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}
COMMON_KEYS = frozenset({"type", "title", "description", "default", "enum"})
TYPE_KEYS = {
    "string": frozenset({"minLength", "maxLength", "pattern"}),
    "integer": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}),
    "boolean": frozenset(),
}
TOP_KEYS = frozenset({"type", "properties", "required", "additionalProperties", "title", "description"})
ParamValue = str | int | float | bool | None


class InvalidParameterSchema(ToolError):
    """A script's parameter schema is not one rmmhub accepts; the message names the problem."""

    status_code = 422


def empty_schema() -> dict[str, Any]:
    """The schema of a script without parameters."""
    return {"type": "object", "properties": {}, "required": [], "additionalProperties": False}


def _is_type(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind != "boolean":
        return False
    return isinstance(value, SIMPLE_TYPES[kind])


def _check_property(name: str, prop: Any) -> dict[str, Any]:
    where = f"parameter {name!r}"
    if not PARAM_NAME.match(name):
        raise InvalidParameterSchema(f"{where}: names must be identifiers (letters, digits, _; at most 64)")
    if name.lower() in RESERVED_NAMES:
        raise InvalidParameterSchema(f"{where}: the name is reserved for the target devices")
    if not isinstance(prop, dict):
        raise InvalidParameterSchema(f'{where}: must be an object such as {{"type": "string"}}')
    kind = prop.get("type")
    if kind not in SIMPLE_TYPES:
        raise InvalidParameterSchema(f"{where}: type must be one of {', '.join(SIMPLE_TYPES)}, not {kind!r}")
    unknown = set(prop) - COMMON_KEYS - TYPE_KEYS[kind]
    if unknown:
        raise InvalidParameterSchema(f"{where}: unsupported keyword(s) {sorted(unknown)} for a {kind}")
    for key in ("title", "description"):
        if key in prop and not isinstance(prop[key], str):
            raise InvalidParameterSchema(f"{where}: {key} must be text")
    if "enum" in prop:
        values = prop["enum"]
        if not isinstance(values, list) or not values or not all(_is_type(v, kind) for v in values):
            raise InvalidParameterSchema(f"{where}: enum must be a non-empty list of {kind} values")
        if len(set(map(repr, values))) != len(values):
            raise InvalidParameterSchema(f"{where}: enum values must be unique")
    if "pattern" in prop:
        try:
            re.compile(prop["pattern"])
        except (re.error, TypeError) as exc:
            raise InvalidParameterSchema(f"{where}: pattern is not a valid regular expression: {exc}") from exc
    try:
        Draft202012Validator.check_schema(prop)
    except SchemaError as exc:
        raise InvalidParameterSchema(f"{where}: {exc.message}") from exc
    if "default" in prop:
        problem = next(iter(Draft202012Validator(prop).iter_errors(prop["default"])), None)
        if problem is not None or not _is_type(prop["default"], kind):
            detail = problem.message if problem is not None else f"not a {kind}"
            raise InvalidParameterSchema(f"{where}: the default does not fit the parameter: {detail}")
    return dict(prop)


def normalise_schema(raw: Any) -> dict[str, Any]:
    """Check a parameter schema and return it in canonical form (``additionalProperties: false``).

    ``None`` or ``{}`` means no parameters.

    Raises:
        InvalidParameterSchema: what is wrong, naming the parameter.
    """
    if raw is None or raw == {}:
        return empty_schema()
    if not isinstance(raw, dict):
        raise InvalidParameterSchema("parameters must be a JSON schema object")
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise InvalidParameterSchema(f"unsupported top-level keyword(s) {sorted(unknown)}; use properties/required")
    if raw.get("type", "object") != "object":
        raise InvalidParameterSchema("the parameter schema must have type 'object'")
    if raw.get("additionalProperties", False) is not False:
        raise InvalidParameterSchema("additionalProperties must be false (every parameter is declared)")
    props = raw.get("properties", {})
    if not isinstance(props, dict):
        raise InvalidParameterSchema("properties must be an object of parameter name -> schema")
    if len(props) > MAX_PARAMS:
        raise InvalidParameterSchema(f"a script has at most {MAX_PARAMS} parameters")
    properties = {name: _check_property(name, prop) for name, prop in props.items()}
    required = raw.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise InvalidParameterSchema("required must be a list of parameter names")
    if len(set(required)) != len(required):
        raise InvalidParameterSchema("required lists a parameter twice")
    missing = [r for r in required if r not in properties]
    if missing:
        raise InvalidParameterSchema(f"required names undeclared parameter(s): {', '.join(missing)}")
    try:
        script_param_env(dict.fromkeys(properties, ""))
    except ValueError as exc:
        raise InvalidParameterSchema(str(exc)) from exc
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    Draft202012Validator.check_schema(schema)
    return schema


def resolve_params(schema: dict[str, Any], params: dict[str, Any], *, tool_id: str) -> dict[str, ParamValue]:
    """Validate run parameters against the script's schema and fill in defaults.

    Raises:
        ToolArgumentError: names the parameter and what is wrong with it.
    """
    values = dict(params)
    for name, prop in schema.get("properties", {}).items():
        if name not in values and "default" in prop:
            values[name] = prop["default"]
    errors = sorted(Draft202012Validator(schema).iter_errors(values), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        path = "$.params" + "".join(f".{p}" for p in first.absolute_path)
        raise ToolArgumentError(tool_id, path, first.message)
    return values
