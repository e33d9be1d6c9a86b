"""The tool registry: every action in rmmhub is a tool with a schema, annotations and a handler.

Sources (native RMM, ConnectWise RMM, ...) register their tools explicitly from ``hub.main`` and
may add or remove tools at run time (dynamic script tools); :attr:`ToolRegistry.version` changes
whenever they do. Nothing here decides *whether* a tool may run: that is the policy pipeline's job
(``policies.pipeline``), the only caller of :attr:`Tool.handler`.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar, get_type_hints

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from hub.core.caller import Caller
from hub.core.describe import Description
from hub.core.errors import ToolArgumentError, ToolResultError, UnknownToolError
from hub.core.jsonutil import clip
from hub.core.roles import Role

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.core.events import EventBus
    from hub.core.settings import Settings

LLM_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SOURCE_NAME = re.compile(r"^[a-z0-9_]{1,40}$")
#: How much of an offending value, and of a whole problem, an error message may echo back.
ECHO_LIMIT = 80
PROBLEM_LIMIT = 400


class ToolAnnotations(BaseModel):
    """Hints about a tool's behaviour (as MCP tool annotations); they seed the default policy."""

    model_config = ConfigDict(frozen=True)

    read_only: bool | None = None
    destructive: bool | None = None
    idempotent: bool | None = None
    open_world: bool | None = None


@dataclass
class ToolContext:
    """What a handler gets besides its arguments. Tenant and identity come only from here."""

    session: AsyncSession
    caller: Caller
    bus: EventBus
    settings: Settings
    approval_id: int | None = None

    @property
    def org_id(self) -> int:
        """The organisation the call acts in."""
        return self.caller.org_id


ToolHandler = Callable[[ToolContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class PolicyTarget:
    """A tool whose policy also governs one call of another tool, because the call runs what it does.

    A generic runner (``rmm-run-script`` naming a script) declares the script's own tool as its
    target, so the script's policy applies whichever door the request comes through. ``args`` are
    the arguments that tool would take for the same work; when the target's policy is the one that
    asks for approval, the approval is recorded (and later run) against that tool with them.
    """

    tool_id: str
    args: dict[str, Any] | None = None


PolicyTargets = Callable[[ToolContext, dict[str, Any]], Awaitable[Sequence[PolicyTarget]]]
#: Says in words (with names) what a call will do; the gate stores it with the approval it records.
Describer = Callable[[ToolContext, dict[str, Any]], Awaitable[Description]]


@lru_cache(maxsize=4096)
def _check_schema(canonical: str) -> None:
    """Check an input schema against the JSON Schema metaschema, once per distinct schema.

    Every hub start builds the same ~80 static tools and every rediscovery rebuilds script tools with
    the same schemas; checking each again cost two thirds of a hub's start-up. A failing schema raises
    :class:`SchemaError` every time (exceptions are not cached).
    """
    Draft202012Validator.check_schema(json.loads(canonical))


@cache
def _model_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model.model_json_schema()``, generated once per model class (a copy is handed to each tool)."""
    return model.model_json_schema()


@dataclass(frozen=True)
class Tool:
    """A registered action.

    Attributes:
        source: the tool source, e.g. ``native_rmm`` or ``connectwise_rmm``.
        name: the LLM-safe name (``^[a-zA-Z0-9_-]{1,64}$``), unique within the source and org.
        description: what the tool does; shown to operators and to the assistant's model.
        input_schema: JSON schema of the arguments (validated before anything else happens).
        handler: the coroutine the pipeline runs once the policy allows it.
        result_type: what the handler returns (a pydantic model, or a type pydantic can validate such
            as ``list[SiteOut]``); the pipeline checks every result against it and
            :attr:`output_schema` publishes it.
        annotations: behaviour hints used by the default-policy classifier.
        min_role: the least privileged role that may invoke the tool.
        org_id: set for tools that exist only in one organisation (a tenant's scripts).
        title: a short human title for pages.
        category: a grouping for pages (devices, scripts, tickets, ...).
        policy_targets: for tools that run other tools' work (generic runners), how to find those
            tools for given (validated) args; the gate applies the strictest policy among them all.
        describe: what a call will do in words, with names instead of ids (see
            :mod:`hub.core.describe`); the gate stores it with each approval it records.
    """

    source: str
    name: str
    description: str
    input_schema: dict[str, Any]
    handler: ToolHandler = field(compare=False, repr=False)
    result_type: Any = field(compare=False, repr=False, kw_only=True)
    annotations: ToolAnnotations = field(default_factory=ToolAnnotations)
    min_role: Role = Role.OPERATOR
    org_id: int | None = None
    title: str = ""
    category: str = ""
    policy_targets: PolicyTargets | None = field(default=None, compare=False, repr=False)
    describe: Describer | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not LLM_NAME.match(self.name):
            raise ValueError(f"tool name {self.name!r} must match {LLM_NAME.pattern}")
        if not SOURCE_NAME.match(self.source):
            raise ValueError(f"tool source {self.source!r} must match {SOURCE_NAME.pattern}")
        try:
            _check_schema(json.dumps(self.input_schema, sort_keys=True))
        except TypeError as exc:
            raise ValueError(f"tool {self.id} has an input schema that is not JSON: {exc}") from exc
        except SchemaError as exc:
            raise ValueError(f"tool {self.id} has an invalid input schema: {exc.message}") from exc

    @property
    def id(self) -> str:
        """The canonical id ``source:name``."""
        return f"{self.source}:{self.name}"

    @cached_property
    def _results(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.result_type)

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        """JSON schema of the result as callers receive it (MCP ``outputSchema``, the assistant's return type)."""
        return self._results.json_schema(mode="serialization", by_alias=False)

    def check_result(self, raw: Any) -> Any:
        """The handler's return value as :attr:`result_type` (a model instance passes through unchanged).

        Raises:
            ToolResultError: the handler returned something else (a defect of the tool, not of the caller).
        """
        try:
            return self._results.validate_python(raw)
        except ValidationError as exc:
            raise ToolResultError(self.id, exc.errors()[0]["msg"]) from exc

    def dump_result(self, value: Any) -> Any:
        """A checked result as JSON-ready data (what the REST API answers and an approval stores)."""
        return self._results.dump_python(value, mode="json")

    def load_result(self, data: Any) -> Any:
        """A stored result (JSON data, e.g. an executed approval's) back as :attr:`result_type`."""
        return self.check_result(data)

    def validate_args(self, args: Any) -> dict[str, Any]:
        """Check ``args`` against the input schema; raise :class:`ToolArgumentError` naming the bad field."""
        if not isinstance(args, dict):
            raise ToolArgumentError(self.id, "$", "arguments must be a JSON object")
        validator = Draft202012Validator(self.input_schema)
        errors = sorted(validator.iter_errors(args), key=lambda e: (len(e.absolute_path), list(e.absolute_path)))
        if errors:
            first = errors[0]
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
            raise ToolArgumentError(self.id, clip(path), _problem(first.message, first.instance))
        return args


def _problem(message: str, instance: Any) -> str:
    """A validator's message with the offending value shortened: errors never echo large input back."""
    shown = repr(instance)
    if len(shown) > ECHO_LIMIT:
        message = message.replace(shown, clip(shown, ECHO_LIMIT))
    return clip(message, PROBLEM_LIMIT)


ArgsT = TypeVar("ArgsT", bound=BaseModel)


def model_tool(
    *,
    source: str,
    name: str,
    args_model: type[ArgsT],
    handler: Callable[[ToolContext, ArgsT], Awaitable[Any]],
    result_type: Any = None,
    description: str | None = None,
    annotations: ToolAnnotations = ToolAnnotations(),
    min_role: Role = Role.OPERATOR,
    org_id: int | None = None,
    title: str = "",
    category: str = "",
    policy_targets: Callable[[ToolContext, ArgsT], Awaitable[Sequence[PolicyTarget]]] | None = None,
    describe: Callable[[ToolContext, ArgsT], Awaitable[Description]] | None = None,
) -> Tool:
    """Build a :class:`Tool` whose arguments are a pydantic model (schema derived from it).

    The description defaults to the handler's docstring (the docstring *is* the tool description), the
    result type to the handler's return annotation (the signature *is* the output schema).
    """

    def _parse(raw: dict[str, Any]) -> ArgsT:
        try:
            return args_model.model_validate(raw)
        except ValidationError as exc:
            err = exc.errors()[0]
            path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            raise ToolArgumentError(f"{source}:{name}", clip(path), clip(err["msg"], PROBLEM_LIMIT)) from exc

    async def _run(ctx: ToolContext, raw: dict[str, Any]) -> Any:
        return await handler(ctx, _parse(raw))

    targets: PolicyTargets | None = None
    if policy_targets is not None:
        resolve_targets = policy_targets

        async def _targets(ctx: ToolContext, raw: dict[str, Any]) -> Sequence[PolicyTarget]:
            return await resolve_targets(ctx, _parse(raw))

        targets = _targets

    describer: Describer | None = None
    if describe is not None:
        describe_args = describe

        async def _describe(ctx: ToolContext, raw: dict[str, Any]) -> Description:
            return await describe_args(ctx, _parse(raw))

        describer = _describe

    doc = description or (handler.__doc__ or "").strip()
    if not doc:
        raise ValueError(f"tool {source}:{name} needs a description (the handler's docstring)")
    if result_type is None:
        result_type = get_type_hints(handler).get("return")
        if result_type is None:
            raise ValueError(f"tool {source}:{name} needs a result type (annotate the handler's return)")
    return Tool(
        source=source,
        name=name,
        description=doc,
        input_schema=copy.deepcopy(_model_schema(args_model)),
        handler=_run,
        result_type=result_type,
        annotations=annotations,
        min_role=min_role,
        org_id=org_id,
        title=title or name,
        category=category,
        policy_targets=targets,
        describe=describer,
    )


RegistryListener = Callable[["ToolRegistry"], None]


class ToolRegistry:
    """All tools of this hub process, global (``org_id=None``) or scoped to one organisation."""

    def __init__(self) -> None:
        self._tools: dict[tuple[int | None, str], Tool] = {}
        self._version = 0
        self._listeners: list[RegistryListener] = []

    @property
    def version(self) -> int:
        """Changes every time a tool is added, replaced or removed."""
        return self._version

    def on_change(self, listener: RegistryListener) -> None:
        """Call ``listener`` after every change (e.g. to rebuild a cached toolset)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        self._version += 1
        for listener in self._listeners:
            listener(self)

    def register(self, tool: Tool) -> None:
        """Add a tool; a tool with the same id in the same scope is an error."""
        key = (tool.org_id, tool.id)
        if key in self._tools:
            raise ValueError(
                f"tool {tool.id} is already registered" + (f" for org {tool.org_id}" if tool.org_id else "")
            )
        if tool.org_id is not None and (None, tool.id) in self._tools:
            raise ValueError(f"tool {tool.id} is already registered globally")
        self._tools[key] = tool
        self._changed()

    def register_all(self, tools: Iterable[Tool]) -> None:
        """Register several tools."""
        for tool in tools:
            self.register(tool)

    def unregister(self, tool_id: str, *, org_id: int | None = None) -> bool:
        """Remove a tool; returns whether it existed."""
        removed = self._tools.pop((org_id, tool_id), None) is not None
        if removed:
            self._changed()
        return removed

    def sync_scope(self, *, source: str, org_id: int | None, prefix: str, tools: Iterable[Tool]) -> bool:
        """Make the tools of ``source`` in ``org_id`` whose names start with ``prefix`` exactly ``tools``.

        Used by dynamic sources (script tools): adds new ones, replaces changed ones, removes the
        ones that disappeared, and bumps the version once if anything changed.
        """
        wanted = {t.id: t for t in tools}
        for tool in wanted.values():
            if tool.source != source or tool.org_id != org_id or not tool.name.startswith(prefix):
                raise ValueError(f"tool {tool.id} does not belong to the scope being synced")
        current = {
            key[1]: tool
            for key, tool in self._tools.items()
            if key[0] == org_id and tool.source == source and tool.name.startswith(prefix)
        }
        changed = False
        for tool_id in current.keys() - wanted.keys():
            del self._tools[(org_id, tool_id)]
            changed = True
        for tool_id, tool in wanted.items():
            old = current.get(tool_id)
            if old is None or (old.description, old.input_schema, old.annotations, old.min_role, old.title) != (
                tool.description,
                tool.input_schema,
                tool.annotations,
                tool.min_role,
                tool.title,
            ):
                self._tools[(org_id, tool_id)] = tool
                changed = True
            else:
                self._tools[(org_id, tool_id)] = tool  # fresh handler closure, same definition
        if changed:
            self._changed()
        return changed

    def remove_scope(self, *, source: str, org_id: int | None) -> int:
        """Remove every tool of ``source`` scoped to ``org_id``; returns how many."""
        keys = [k for k, t in self._tools.items() if k[0] == org_id and t.source == source]
        for key in keys:
            del self._tools[key]
        if keys:
            self._changed()
        return len(keys)

    def visible(self, org_id: int) -> list[Tool]:
        """Every tool an organisation has: the global ones and its own, sorted by id."""
        tools = [t for (scope, _), t in self._tools.items() if scope is None or scope == org_id]
        return sorted(tools, key=lambda t: t.id)

    def resolve(self, name: str, org_id: int) -> Tool:
        """Find a tool by canonical id (``source:name``) or by bare name, within an organisation."""
        candidates = self.visible(org_id)
        if ":" in name:
            for tool in candidates:
                if tool.id == name:
                    return tool
        else:
            matches = [t for t in candidates if t.name == name]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                ids = ", ".join(t.id for t in matches)
                raise UnknownToolError(name, f"the name {name!r} is ambiguous; use one of: {ids}")
        raise UnknownToolError(name, f"no tool named {name!r}; GET /api/v1/tools lists the tools you can use")
