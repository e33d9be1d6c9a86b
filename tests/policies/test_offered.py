"""The per-caller tool listing the assistant and MCP share: role and ``never`` hide a tool, the mode is shown."""

from __future__ import annotations

from hub.core.caller import Caller, CallerKind
from hub.core.context import HubContext
from hub.core.roles import Role
from policies.models import PolicyMode
from policies.offered import tools_offered_to
from tests.conftest import Tenancy
from tests.policies.conftest import DemoTools


def _caller(tenancy: Tenancy, role: Role) -> Caller:
    return Caller(user_id=tenancy.operator.id, label="olga", role=role, org_id=tenancy.org_id, kind=CallerKind.MCP)


async def test_never_and_out_of_role_tools_are_not_offered(
    hub: HubContext, tenancy: Tenancy, demo_tools: DemoTools
) -> None:
    async with hub.db.transaction() as session:
        operator = {
            o.tool.id: o.mode for o in await tools_offered_to(session, hub.registry, _caller(tenancy, Role.OPERATOR))
        }
        viewer = {
            o.tool.id: o.mode for o in await tools_offered_to(session, hub.registry, _caller(tenancy, Role.VIEWER))
        }
        everything = await tools_offered_to(session, hub.registry, _caller(tenancy, Role.VIEWER), include_hidden=True)
    assert operator["testsrc:get-device-info"] is PolicyMode.AUTO
    assert operator["testsrc:restart-service"] is PolicyMode.APPROVAL
    assert "testsrc:wipe-device" not in operator  # the classifier made it never
    assert "testsrc:get-device-info" in viewer and "testsrc:restart-service" not in viewer  # needs operator
    assert {o.tool.id for o in everything} >= {"testsrc:wipe-device", "testsrc:restart-service"}
