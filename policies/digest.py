"""The keyed digest that binds an approval to exactly what was asked.

A plain hash of the arguments proves nothing to someone who can write the database: they rewrite
the arguments and the hash together. The digest is an HMAC-SHA256 keyed from ``RMMHUB_SECRET_KEY``
(its own derived key, separate from the audit chain's and the stored secrets'), over the
organisation, the tool, the door it came through, the requester and the arguments, so none of them
can be changed without the gate refusing to run the approval.
"""

from __future__ import annotations

import hmac
from hashlib import sha256
from typing import Any

from hub.core.jsonutil import canonical_json
from hub.core.security import derive_key
from policies.models import Approval

KEY_PURPOSE = "approval-args"


def request_digest(
    secret_key: str,
    *,
    org_id: int,
    tool_id: str,
    via_tool_id: str | None,
    requester_user_id: int | None,
    on_behalf_of_user_id: int | None,
    args: dict[str, Any],
) -> str:
    """The HMAC-SHA256 (hex) of one approval request."""
    body = canonical_json(
        {
            "org_id": org_id,
            "tool": tool_id,
            "via": via_tool_id,
            "requester": requester_user_id,
            "on_behalf_of": on_behalf_of_user_id,
            "args": args,
        }
    )
    return hmac.new(derive_key(secret_key, KEY_PURPOSE), body.encode(), sha256).hexdigest()


def approval_digest(secret_key: str, approval: Approval) -> str:
    """The digest the stored approval should carry."""
    return request_digest(
        secret_key,
        org_id=approval.org_id,
        tool_id=approval.tool_id,
        via_tool_id=approval.via_tool_id,
        requester_user_id=approval.requester_user_id,
        on_behalf_of_user_id=approval.on_behalf_of_user_id,
        args=approval.args,
    )


def digest_matches(secret_key: str, approval: Approval) -> bool:
    """Whether the stored approval still carries its own digest (constant-time)."""
    return hmac.compare_digest(approval_digest(secret_key, approval), approval.args_digest)
