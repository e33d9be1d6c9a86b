"""The Patch policies form without a browser: bad input answers 422 with the field, never a 500; a viewer
sees the tab but no form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from hub.core.db import Database
from hub.core.models import Customer
from tests.conftest import Tenancy, TestUser
from tests.ui.rmm.conftest import ui_as

__all__ = ["ui_as"]
UiAs = Callable[[TestUser], Awaitable[httpx.AsyncClient]]


async def _unassigned(db: Database, org_id: int) -> int:
    async with db.sessionmaker() as session:
        from sqlalchemy import select

        found = await session.scalar(
            select(Customer.id).where(Customer.org_id == org_id, Customer.is_unassigned.is_(True))
        )
        assert found is not None
        return found


async def test_bad_form_input_is_422_and_viewers_get_no_form(ui_as: UiAs, db: Database, tenancy: Tenancy) -> None:
    admin = await ui_as(tenancy.admin)
    customer = await _unassigned(db, tenancy.org_id)
    good = {"name": "p", "scope": f"customer:{customer}", "cron": "0 2 * * 6", "categories": ["security"]}
    cases = [
        ({**good, "cron": "0 25 * * *"}, "cron"),
        ({**good, "categories": ["drivers"]}, "categories"),
        ({**good, "scope": "customer:99999"}, "unknown scope"),
        ({**good, "scope": "tenant:1"}, "scope_kind"),
        ({**good, "scope": "nonsense"}, "scope"),
        ({**good, "timezone": "Nowhere/City"}, "timezone"),
    ]
    for form, expected in cases:
        response = await admin.post("/rmm/patch-policies", data=form, headers={"HX-Request": "true"})
        assert response.status_code == 422 and expected in response.text, (
            form,
            response.status_code,
            response.text[response.text.find("notice") :][:400],
        )
    tab = await admin.get("/rmm?tab=patch-policies")
    assert tab.status_code == 200 and 'aria-label="Create a patch policy"' in tab.text
    viewer = await ui_as(tenancy.viewer)
    shown = await viewer.get("/rmm?tab=patch-policies")
    assert shown.status_code == 200 and "No patch policies yet." in shown.text
    assert 'aria-label="Create a patch policy"' not in shown.text
