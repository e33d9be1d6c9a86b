"""Shared base for the ConnectWise wire models.

Upstream keys are mostly camelCase with irregular ids (``endpointID``, ``companyID``, ``TaskID``,
``OverallStatus``); regular ones come from the camelCase alias generator, irregular ones carry an
explicit alias. Unknown keys are ignored so a new upstream field never breaks a listing. Timestamps
stay as the upstream strings: their formats differ per backend service (RFC 3339, ``"2020-10-04
00:25:42.168000+00:00"``, ``mm/dd/yyyy``) and a technician or model reads them as they are.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CWModel(BaseModel):
    """Base of every ConnectWise payload model."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)


class IdRef(CWModel):
    """``{"id": "..."}`` reference (tickets' company, site, assignee, assets)."""

    id: str


class IdName(CWModel):
    """``{"id": "...", "name": "..."}`` reference (ticket status, priority, board, source...)."""

    id: str | None = None
    name: str | None = None


def truncate(text: str | None, limit: int) -> str | None:
    """Cut ``text`` to ``limit`` characters, marking the cut so a reader knows output was dropped."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"... [{len(text) - limit} more characters]"
