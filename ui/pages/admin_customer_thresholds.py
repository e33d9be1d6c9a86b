"""Admin -> Customers -> Thresholds: a customer's own warn/danger percentages, or the organisation's.

Like the organisation's set (Admin -> Metric thresholds), this is admin configuration through the
audited service (:mod:`native_rmm.alerts.customer_thresholds`), the same one
``PUT /api/v1/rmm/thresholds/customers/{id}`` uses; errors re-render the form with what was typed.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hub.core.bounds import Id
from hub.core.db import DbSession
from hub.core.deps import SessionDep
from hub.core.validation import validation_problems
from native_rmm.alerts import customer_thresholds as service
from native_rmm.alerts.schemas import Thresholds
from ui.page import AdminPageDep, Page, render
from ui.pages.admin_rmm import threshold_rows

router = APIRouter(include_in_schema=False)


async def _form(
    page: Page,
    session: DbSession,
    customer_id: int,
    *,
    typed: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    view = await service.customer_view(session, org_id=page.org.id, customer_id=customer_id)
    values = typed if typed is not None else view.effective.model_dump()
    return render(
        page,
        "admin/customer_thresholds.html",
        view=view,
        rows=threshold_rows(values),
        org_rows=threshold_rows(view.organisation.model_dump()),
        errors=errors or [],
        notice=notice,
        status_code=status_code,
    )


@router.get("/admin/rmm/customers/{customer_id}/thresholds")
async def customer_thresholds_page(customer_id: Id, page: AdminPageDep, session: SessionDep) -> HTMLResponse:
    """The customer's own set (or the organisation's, which it follows until one is saved)."""
    return await _form(page, session, customer_id)


@router.post("/admin/rmm/customers/{customer_id}/thresholds")
async def save_customer_thresholds(
    customer_id: Id,
    request: Request,
    page: AdminPageDep,
    session: SessionDep,
    action: Literal["save", "clear"] = Form("save"),
) -> HTMLResponse:
    """Save the customer's own set (``0 < warn < danger <= 100``) or drop it (``action=clear``)."""
    if action == "clear":
        await service.clear_customer_thresholds(session, actor=page.caller, customer_id=customer_id)
        return await _form(
            page, session, customer_id, notice="This customer follows the organisation's thresholds again."
        )
    form = await request.form()
    typed = {name: str(form.get(name, "")).strip() for name in Thresholds.model_fields}
    try:
        values = Thresholds.model_validate(typed)
    except ValidationError as exc:
        errors = validation_problems(exc, root="thresholds")
        return await _form(page, session, customer_id, typed=typed, errors=errors, status_code=422)
    await service.set_customer_thresholds(session, actor=page.caller, customer_id=customer_id, values=values)
    return await _form(page, session, customer_id, notice="Saved; they judge this customer's next samples.")
