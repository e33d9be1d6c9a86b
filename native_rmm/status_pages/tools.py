"""Status-page tools: read a customer's page, set it up (admin), rotate its URL (admin).

Only the call that mints a URL returns it (``status_url``); the audit log never stores it
(:data:`hub.core.redact.SECRET_RESULT_FIELDS`) and the hub keeps only its hash.
"""

from __future__ import annotations

from hub.core.registry import Tool, ToolAnnotations, ToolContext, model_tool
from hub.core.roles import Role
from native_rmm.status_pages import queries, service
from native_rmm.status_pages.schemas import StatusPageIn, StatusPageOut, StatusPageRef

SOURCE = "native_rmm"


async def get_status_page(ctx: ToolContext, args: StatusPageRef) -> StatusPageOut:
    """Show a customer's public status page setup: enabled or not, which monitors and devices it shows
    under which public names, and how many days of incidents. The URL itself is never shown again."""
    form = await queries.status_page_form(ctx.session, org_id=ctx.org_id, customer_id=args.customer_id)
    return form.page


async def update_status_page(ctx: ToolContext, args: StatusPageIn) -> StatusPageOut:
    """Set up or change a customer's public status page (opt-in): enable or disable it, choose which
    monitors and devices it shows and their public names, and how many days of incidents. The first
    enable returns the page's unguessable URL once; nothing but the chosen names and their up/down
    state and incident times is ever shown on it."""
    return await service.update_status_page(ctx.session, actor=ctx.caller, data=args, base_url=ctx.settings.base_url)


async def rotate_status_page_url(ctx: ToolContext, args: StatusPageRef) -> StatusPageOut:
    """Rotate a customer's public status page URL: a new unguessable URL is returned once and the old
    one stops answering at once."""
    return await service.rotate_status_page_url(
        ctx.session, actor=ctx.caller, customer_id=args.customer_id, base_url=ctx.settings.base_url
    )


def status_page_tools() -> list[Tool]:
    """The three status-page tools."""
    return [
        model_tool(
            source=SOURCE,
            name="rmm-get-status-page",
            args_model=StatusPageRef,
            handler=get_status_page,
            annotations=ToolAnnotations(read_only=True, open_world=False),
            min_role=Role.OPERATOR,
            title="Get status page",
            category="customers",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-update-status-page",
            args_model=StatusPageIn,
            handler=update_status_page,
            annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=True, open_world=True),
            min_role=Role.ADMIN,
            title="Update public status page",
            category="customers",
        ),
        model_tool(
            source=SOURCE,
            name="rmm-rotate-status-page-url",
            args_model=StatusPageRef,
            handler=rotate_status_page_url,
            annotations=ToolAnnotations(read_only=False, destructive=False, idempotent=False, open_world=True),
            min_role=Role.ADMIN,
            title="Rotate public status page URL",
            category="customers",
        ),
    ]
