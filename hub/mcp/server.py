"""The hub's MCP server on the SDK's low-level ``Server``: every request acts as the token's user.

The low-level layer is used (not ``MCPServer``/FastMCP) because the tool list is not a set of
decorated functions: it is the registry as one user may see it (role, organisation, policy), and it
changes at run time. Each handler opens the hub's unit of work, resolves the caller from the bearer
token the transport authenticated, and goes through the one :class:`~policies.pipeline.Gate`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from weakref import WeakKeyDictionary

import anyio
import mcp_types as types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import NotificationOptions, Server
from mcp.shared.exceptions import MCPError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import __version__
from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.errors import RmmHubError
from hub.core.events import Event
from hub.core.jsonutil import clip
from hub.core.models import User
from hub.mcp.listing import CallEnvelope, CallStatus, mcp_tool
from policies.approvals import get_approval, list_approvals
from policies.events import APPROVAL_DECIDED
from policies.models import ApprovalStatus
from policies.offered import tools_offered_to
from policies.outcome import InvocationStatus, Outcome
from policies.pipeline import Gate
from policies.tools import APPROVAL_URI, GET_APPROVAL, report

INSTRUCTIONS = (
    "rmmhub tools act as your hub user, under the hub's policies. A tool whose description says "
    "'requires approval' returns a pending approval at once; an approver decides in the rmmhub dashboard. "
    f"Follow it with {GET_APPROVAL} or the resource in the answer. Tools your role or the policy forbid "
    "are not listed."
)
#: The request ``_meta`` key a client may use to tell approvers why it calls a tool.
REASON_META = "rmmhub/reason"
_APPROVAL_URI = re.compile(r"^rmmhub://approvals/(\d{1,12})$")
_FINAL = {
    ApprovalStatus.EXECUTED: CallStatus.DONE,
    ApprovalStatus.DENIED: CallStatus.DENIED,
    ApprovalStatus.EXPIRED: CallStatus.EXPIRED,
    ApprovalStatus.FAILED: CallStatus.FAILED,
}


class McpServer:
    """The MCP server of one hub process (built by :class:`hub.mcp.module.McpModule`)."""

    def __init__(self, hub: HubContext, gate: Gate) -> None:
        self.hub = hub
        self.gate = gate
        #: The longest a call waits for a decision when the client asked for progress notifications.
        self.approval_wait = hub.settings.mcp_approval_wait_seconds
        #: Sessions that listed tools, with the org they act in: told when their list may have changed.
        self._listeners: WeakKeyDictionary[Connection, int] = WeakKeyDictionary()
        self.server: Server[Any] = Server(
            "rmmhub",
            version=__version__,
            title="rmmhub",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_resource_templates,
            on_read_resource=self._read_resource,
        )

    def initialization_options(self) -> Any:
        """Capabilities as announced at ``initialize`` (tools may change: ``listChanged``)."""
        return self.server.create_initialization_options(NotificationOptions(tools_changed=True))

    # ----------------------------------------------------------------- identity

    async def _caller(self, session: AsyncSession, ctx: ServerRequestContext[Any]) -> Caller:
        """The token's user as a pipeline caller through the MCP door (current role and state)."""
        request = ctx.request
        user_obj = request.scope.get("user") if request is not None and hasattr(request, "scope") else None
        if not isinstance(user_obj, AuthenticatedUser) or not (user_obj.access_token.subject or "").isdigit():
            raise MCPError(code=types.INVALID_REQUEST, message="not authenticated: send Authorization: Bearer <token>")
        user = await session.get(User, int(user_obj.access_token.subject or 0))
        if user is None or user.disabled:
            raise MCPError(code=types.INVALID_REQUEST, message="the token's user is disabled or gone")
        params = ctx.session.client_params
        client = params.client_info.name if params is not None else ""
        return Caller(
            user_id=user.id,
            label=user.label,
            role=user.role,
            org_id=user.org_id,
            kind=CallerKind.MCP,
            client=clip(client, 60),
        )

    # -------------------------------------------------------------------- tools

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        async with self.hub.db.transaction() as session:
            caller = await self._caller(session, ctx)
            visible = await tools_offered_to(session, self.gate.registry, caller)
        # The connection (not the per-request session) carries the standalone stream notifications go on.
        self._listeners[ctx.session._connection] = caller.org_id
        return types.ListToolsResult(tools=[mcp_tool(v) for v in visible])

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        progress = (ctx.meta or {}).get("progress_token") if ctx.meta else None
        if progress is None or self.approval_wait <= 0:
            return await self._invoke(ctx, params)
        async with self.hub.bus.subscribe(APPROVAL_DECIDED.name) as events:
            result = await self._invoke(ctx, params)
            pending = result.structured_content or {}
            if pending.get("status") != CallStatus.PENDING_APPROVAL.value:
                return result
            approval_id = int(pending["approval"]["approval_id"])
            await ctx.session.report_progress(0, 1, f"waiting for an approver to decide approval #{approval_id}")
            with anyio.move_on_after(self.approval_wait):
                async for event in events:
                    if _decides(event, approval_id):
                        break
            return await self._followed(ctx, approval_id)

    async def _invoke(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        try:
            async with self.hub.db.transaction() as session:
                caller = await self._caller(session, ctx)
                outcome = await self.gate.invoke(
                    session,
                    caller,
                    params.name,
                    params.arguments or {},
                    reason=_reason(params),
                    context={"mcp_client": caller.client},
                )
                envelope = await self._envelope(session, caller, outcome)
        except RmmHubError as exc:
            return _error(exc.message)
        if envelope is None:
            return _error(outcome.message)
        return _result(envelope)

    async def _envelope(self, session: AsyncSession, caller: Caller, outcome: Outcome) -> CallEnvelope | None:
        if outcome.status is InvocationStatus.DONE:
            return CallEnvelope(status=CallStatus.DONE, message=outcome.message, result=outcome.result)
        if outcome.status is InvocationStatus.PENDING_APPROVAL and outcome.approval_id is not None:
            approval = report(await get_approval(session, caller.org_id, outcome.approval_id))
            return CallEnvelope(status=CallStatus.PENDING_APPROVAL, message=approval.summary, approval=approval)
        return None

    async def _followed(self, ctx: ServerRequestContext[Any], approval_id: int) -> types.CallToolResult:
        """The answer once the wait ended: the ran result, the denial, or still pending."""
        async with self.hub.db.transaction() as session:
            caller = await self._caller(session, ctx)
            found = report(await get_approval(session, caller.org_id, approval_id))
        status = _FINAL.get(found.status, CallStatus.PENDING_APPROVAL)
        await ctx.session.report_progress(1 if status is not CallStatus.PENDING_APPROVAL else 0, 1, found.summary)
        envelope = CallEnvelope(status=status, message=found.summary, approval=found, result=found.result)
        return _result(envelope)

    # ---------------------------------------------------------------- resources

    async def _list_resources(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        async with self.hub.db.transaction() as session:
            caller = await self._caller(session, ctx)
            rows = [
                a
                for a in await list_approvals(session, caller.org_id, limit=200)
                if caller.user_id in (a.requester_user_id, a.on_behalf_of_user_id)
            ][:50]
        return types.ListResourcesResult(
            resources=[
                types.Resource(
                    uri=APPROVAL_URI.format(id=a.id),
                    name=f"approval-{a.id}",
                    title=f"Approval #{a.id} ({a.status})",
                    description=report(a).summary,
                    mime_type="application/json",
                )
                for a in rows
            ]
        )

    async def _list_resource_templates(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=APPROVAL_URI,
                    name="approval",
                    title="An approval request",
                    description="Where one of your approval requests stands (pending, ran with its result, denied, expired)",
                    mime_type="application/json",
                )
            ]
        )

    async def _read_resource(
        self, ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        match = _APPROVAL_URI.match(str(params.uri))
        if match is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"no such resource {clip(str(params.uri), 80)}")
        # Read through the gate like every action (listed, gated, audited).
        call = types.CallToolRequestParams(name=GET_APPROVAL, arguments={"approval_id": int(match.group(1))})
        result = await self._invoke(ctx, call)
        if result.is_error:
            text = result.content[0].text if result.content and isinstance(result.content[0], types.TextContent) else ""
            raise MCPError(code=types.INVALID_PARAMS, message=text or "cannot read this approval")
        payload = (result.structured_content or {}).get("result")
        return types.ReadResourceResult(
            contents=[
                types.TextResourceContents(uri=str(params.uri), mime_type="application/json", text=json.dumps(payload))
            ]
        )

    # ------------------------------------------------------------ list_changed

    async def notify_tools_changed(self, org_id: int | None = None) -> int:
        """Send ``notifications/tools/list_changed`` to the sessions of ``org_id`` (all when None)."""
        sent = 0
        for connection, org in list(self._listeners.items()):
            if org_id is not None and org != org_id:
                continue
            try:
                await connection.send_tool_list_changed()
                sent += 1
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, MCPError, OSError):
                # A session that went away is dropped; the others are still told.
                self._listeners.pop(connection, None)
        return sent


def _reason(params: types.CallToolRequestParams) -> str:
    """Why the call is made (``_meta["rmmhub/reason"]``, shown to approvers); tool arguments stay the tool's own."""
    given = params.meta.get(REASON_META) if params.meta else None
    return clip(given.strip(), 2000) if isinstance(given, str) and given.strip() else "asked through MCP"


def _decides(event: Event, approval_id: int) -> bool:
    decided = APPROVAL_DECIDED.parse(event)
    return decided is not None and decided.approval_id == approval_id


def _result(envelope: CallEnvelope) -> types.CallToolResult:
    data = envelope.wire()
    text = envelope.message + ("\n" + json.dumps(data.get("result"), default=str) if "result" in data else "")
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=data, is_error=False)


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=message)], is_error=True)
