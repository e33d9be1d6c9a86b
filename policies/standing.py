"""Standing approvals: a schedule approved once may run its tool without asking at each run.

The grant binds the HMAC-SHA256 (its own key derived from the secret key) of the organisation, the
tool and the schedule's arguments as approved; it expires, and any edit of the schedule voids it
(the schedule drops the grant, and a changed tool or arguments no longer match the digest anyway).
The gate checks a grant only where the policy asks for approval; ``never`` still refuses.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any

from hub.core.jsonutil import canonical_json
from hub.core.security import derive_key

KEY_PURPOSE = "standing-approval"


def standing_digest(secret_key: str, *, org_id: int, tool_id: str, bound: dict[str, Any]) -> str:
    """The HMAC (hex) binding a standing approval to one tool and the arguments it was approved with."""
    body = canonical_json({"org_id": org_id, "tool": tool_id, "bound": bound})
    return hmac.new(derive_key(secret_key, KEY_PURPOSE), body.encode(), sha256).hexdigest()


@dataclass(frozen=True)
class StandingGrant:
    """What a schedule shows the gate: the approval it holds, what it was bound to, and until when."""

    approval_id: int
    tool_id: str
    bound: dict[str, Any]
    digest: str
    expires_at: datetime

    def covers(self, secret_key: str, *, org_id: int, tool_id: str, now: datetime) -> bool:
        """Whether the grant is intact, unexpired and for this tool."""
        if tool_id != self.tool_id or now >= self.expires_at:
            return False
        expected = standing_digest(secret_key, org_id=org_id, tool_id=tool_id, bound=self.bound)
        return hmac.compare_digest(expected, self.digest)
