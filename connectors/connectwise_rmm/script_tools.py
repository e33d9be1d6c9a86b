"""Dynamic per-script tools: one ``cw-rmm-script-<slug>`` tool per active shell script of a tenant.

A script tool's input is the script's published parameters (its template JSON schema when it has a
usable one, else a free-form ``parameters`` object) plus its target: ``endpoint_ids`` (managed
endpoints), or ``company_id`` with ``targetType: "COMPANY"``. Exactly one targeting mode is allowed;
the input schema says so (``if``/``then``/``else``), so a bad target is refused before any approval is
requested. The handler schedules the run (``parameters`` sent as the JSON string ConnectWise expects),
waits a bounded time for it to finish, and reports per endpoint.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from connectors.connectwise_rmm.answers import TaskAnswer, task_answer, tool_error
from connectors.connectwise_rmm.client.errors import ConnectWiseError
from connectors.connectwise_rmm.client.schemas import TaskRunReport
from connectors.connectwise_rmm.describe import script_run
from connectors.connectwise_rmm.sources import ClientSource, ToolCall
from hub.core.describe import Description
from hub.core.errors import ToolArgumentError
from hub.core.registry import Tool, ToolAnnotations, ToolContext
from hub.core.roles import Role

if TYPE_CHECKING:
    from connectors.connectwise_rmm.client.schemas import ShellScript

SOURCE = "connectwise_rmm"
SCRIPT_PREFIX = "cw-rmm-script-"
MAX_SLUG = 64 - len(SCRIPT_PREFIX)
MAX_TARGETS = 500
#: Template states that are not runnable. ConnectWise documents no values, so anything else (or no state)
#: counts as active; keep this list as data.
INACTIVE_STATES = frozenset({"INACTIVE", "DISABLED", "DELETED", "ARCHIVED", "DRAFT", "DEPRECATED", "RETIRED"})
_SCHEMA_META_KEYS = ("$schema", "$id", "id", "definitions_version")

FREE_FORM_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "description": "The script's parameters as name/value pairs (ConnectWise published no schema for them).",
    "additionalProperties": True,
}


def slugify(name: str) -> str:
    """An LLM-safe slug of a script name: ASCII, lower case, words joined by ``-``, at most 50 chars."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-") or "script"


def short_id(template_id: str, length: int = 8) -> str:
    """The first ``length`` alphanumerics of a template id (collision suffix)."""
    return re.sub(r"[^a-z0-9]", "", template_id.lower())[:length] or "x"


def with_suffix(base: str, suffix: str) -> str:
    """``base-suffix``, cutting ``base`` so the result fits :data:`MAX_SLUG`."""
    return f"{base[: MAX_SLUG - len(suffix) - 1].rstrip('-')}-{suffix}"


def is_active(script: ShellScript) -> bool:
    """Whether a template is runnable (no state, or a state not in :data:`INACTIVE_STATES`)."""
    state = (script.state or "").strip().upper().replace(" ", "_")
    return state not in INACTIVE_STATES


@dataclass(frozen=True)
class ScriptSpec:
    """What a script tool is built from (persisted in ``cw_scripts`` so tools exist without the network)."""

    template_id: str
    slug: str
    name: str
    description: str
    parameters_schema: dict[str, Any] | None
    schema_note: str | None
    expected_execution_time_sec: int | None = None

    @property
    def tool_name(self) -> str:
        return SCRIPT_PREFIX + self.slug


def usable_parameters_schema(script: ShellScript) -> tuple[dict[str, Any] | None, str | None]:
    """The template's parameter schema if it is a valid JSON-schema object, else ``(None, why)``."""
    if script.parameters_schema_error:
        return None, script.parameters_schema_error
    raw = script.parameters_schema
    if raw is None:
        return None, None
    schema = {k: v for k, v in raw.items() if k not in _SCHEMA_META_KEYS}
    schema.setdefault("type", "object")
    if schema.get("type") != "object":
        return None, f"the template's jsonSchema describes a {schema.get('type')!r}, not an object"
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return None, f"the template's jsonSchema is not a valid JSON schema: {exc.message}"
    return schema, None


def spec_hash(spec: ScriptSpec) -> str:
    """Fingerprint of what the tool looks like (name, description, parameters) to detect updates."""
    payload = json.dumps(
        [spec.name, spec.description, spec.parameters_schema, spec.schema_note], sort_keys=True, default=str
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def input_schema(spec: ScriptSpec) -> dict[str, Any]:
    """The tool's JSON schema: parameters, a target (endpoints xor company) and the wait bound."""
    parameters = dict(spec.parameters_schema) if spec.parameters_schema is not None else dict(FREE_FORM_PARAMETERS)
    required = ["parameters"] if spec.parameters_schema and spec.parameters_schema.get("required") else []
    return {
        "type": "object",
        "properties": {
            "parameters": parameters,
            "targetType": {
                "type": "string",
                "enum": ["MANAGED_ENDPOINT", "COMPANY"],
                "default": "MANAGED_ENDPOINT",
                "description": "MANAGED_ENDPOINT (default): run on endpoint_ids. COMPANY: run on every endpoint "
                "of company_id.",
            },
            "endpoint_ids": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 64},
                "minItems": 1,
                "maxItems": MAX_TARGETS,
                "uniqueItems": True,
                "description": "ConnectWise endpoint UUIDs to run the script on (cw-rmm-list-devices finds them).",
            },
            "company_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "ConnectWise company UUID; only with targetType COMPANY.",
            },
            "wait_seconds": {
                "type": "integer",
                "minimum": 0,
                "maximum": 600,
                "description": "Seconds to wait for results before answering (capped by the hub; the run "
                "continues upstream and cw-rmm-get-task-results reports it later).",
            },
        },
        "required": required,
        "additionalProperties": False,
        "if": {"properties": {"targetType": {"const": "COMPANY"}}, "required": ["targetType"]},
        "then": {"required": ["company_id"], "not": {"required": ["endpoint_ids"]}},
        "else": {"required": ["endpoint_ids"], "not": {"required": ["company_id"]}},
    }


def describe(spec: ScriptSpec) -> str:
    """The tool description: what the script does, then how it is run."""
    about = spec.description.strip() or f"Run the ConnectWise RMM shell script '{spec.name}'."
    text = (
        f"{about.rstrip('.')}. Runs the ConnectWise RMM shell script '{spec.name}' on endpoint_ids (or on every "
        "endpoint of company_id with targetType COMPANY) at their next check-in, then reports each endpoint's "
        "status and output."
    )
    if spec.schema_note:
        text += f" Parameters are free-form: {spec.schema_note}."
    return text


def check_target(tool_id: str, args: dict[str, Any]) -> tuple[list[str], str | None]:
    """The run's targets: ``(endpoint_ids, None)`` or ``([], company_id)``; exactly one mode."""
    company_mode = args.get("targetType") == "COMPANY"
    endpoints = list(args.get("endpoint_ids") or [])
    company = args.get("company_id")
    if company_mode:
        if not company or endpoints:
            raise ToolArgumentError(tool_id, "$.company_id", "targetType COMPANY needs company_id and no endpoint_ids")
        return [], str(company)
    if not endpoints or company:
        raise ToolArgumentError(tool_id, "$.endpoint_ids", "give endpoint_ids (or targetType COMPANY with company_id)")
    return endpoints, None


async def run_script(source: ClientSource, ctx: ToolContext, spec: ScriptSpec, args: dict[str, Any]) -> TaskAnswer:
    """Schedule ``spec`` on the requested targets, wait (bounded) for results, report per endpoint."""
    call = ToolCall.of(source, ctx)
    endpoints, company = check_target(f"{SOURCE}:{spec.tool_name}", args)
    wait = call.script_wait(args.get("wait_seconds"))
    try:
        scheduled = await call.cw.schedule_task(
            spec.template_id,
            name=f"{spec.name} (rmmhub)"[:120],
            endpoint_ids=endpoints,
            company_id=company,
            parameters=args.get("parameters") or {},
            description=call.requested_by,
        )
        if wait > 0:
            report = await call.cw.wait_for_task_results(
                scheduled.task_id,
                targets=endpoints,
                timeout=wait,
                poll_interval=call.settings.poll_interval_seconds,
            )
        else:
            report = TaskRunReport(task_id=scheduled.task_id)
    except ConnectWiseError as exc:
        raise tool_error(exc) from exc
    return task_answer(spec.name, spec.template_id, endpoints, company, report)


def build_script_tool(spec: ScriptSpec, *, org_id: int, manager: ClientSource) -> Tool:
    """The registry tool for one script of one organisation's tenant."""
    tool_id = f"{SOURCE}:{spec.tool_name}"

    async def handler(ctx: ToolContext, args: dict[str, Any]) -> TaskAnswer:
        check_target(tool_id, args)
        return await run_script(manager, ctx, spec, args)

    async def describer(ctx: ToolContext, args: dict[str, Any]) -> Description:
        parameters = args.get("parameters")
        return script_run(spec.name, args, parameters if isinstance(parameters, dict) else {})

    return Tool(
        source=SOURCE,
        name=spec.tool_name,
        describe=describer,
        description=describe(spec),
        input_schema=input_schema(spec),
        handler=handler,
        result_type=TaskAnswer,
        annotations=ToolAnnotations(read_only=False, idempotent=False, open_world=True),
        min_role=Role.OPERATOR,
        org_id=org_id,
        title=spec.name,
        category="scripts",
    )
