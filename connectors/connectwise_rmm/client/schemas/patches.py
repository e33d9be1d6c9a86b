"""Per-endpoint OS patches: ``GET /api/platform/v2/patching/{endpointId}/patches`` (reference §3.4).

The patch ``status`` is an integer whose codes ConnectWise does not document. What is certain: a patch
with ``installedDate``/``installedBy`` is installed; the summary counts missing and pending-reboot
patches. :data:`PATCH_STATUS_LABELS` is the (changeable) table for codes once they are known; any other
code reads ``unknown(<n>)`` rather than a guess.
"""

from __future__ import annotations

from pydantic import Field

from connectors.connectwise_rmm.client.schemas.base import CWModel

#: Known meanings of ``patches[].status``. Empty on purpose: no source documents the codes yet.
PATCH_STATUS_LABELS: dict[int, str] = {}


class PatchSummaryInfo(CWModel):
    assessed_at: str | None = None
    missing_count: int | None = None
    pending_reboot_count: int | None = None
    installed_count: int | None = None
    compliance: float | None = None
    out_of_support: bool | None = None
    deployment_status: str | None = None
    policy_name: str | None = None
    next_install_at: str | None = None
    next_reboot_at: str | None = None
    pending_reboot: bool | None = None


class Patch(CWModel):
    update_id: str | None = Field(default=None, alias="updateID")
    kb_article_id: str | None = Field(default=None, alias="kbArticleID")
    title: str | None = None
    status: int | None = None
    classification: str | None = None
    msrc_severity: str | None = None
    reboot_behavior: str | None = None
    policy_match: bool | None = None
    partner_approval_status: str | None = None
    more_information_link: str | None = None
    installed_by: str | None = None
    installed_date: str | None = None

    @property
    def state(self) -> str:
        """``installed``, a label from :data:`PATCH_STATUS_LABELS`, or ``unknown(<n>)``."""
        if self.installed_date or self.installed_by:
            return "installed"
        if self.status is None:
            return "unknown"
        return PATCH_STATUS_LABELS.get(self.status, f"unknown({self.status})")


class DevicePatches(CWModel):
    """The whole patching answer for one endpoint."""

    summary: PatchSummaryInfo | None = None
    patches: list[Patch] = Field(default_factory=list)

    def trimmed(self, *, endpoint_id: str, max_patches: int = 100) -> DevicePatchesSummary:
        """Counts plus the not-installed patches first, capped at ``max_patches``."""
        ordered = sorted(self.patches, key=lambda p: p.state == "installed")
        info = self.summary or PatchSummaryInfo()
        return DevicePatchesSummary(
            endpoint_id=endpoint_id,
            assessed_at=info.assessed_at,
            compliance=info.compliance,
            missing_count=info.missing_count,
            installed_count=info.installed_count,
            pending_reboot_count=info.pending_reboot_count,
            pending_reboot=info.pending_reboot,
            out_of_support=info.out_of_support,
            policy_name=info.policy_name,
            patches=[
                PatchBrief(
                    kb=p.kb_article_id,
                    title=p.title,
                    state=p.state,
                    classification=p.classification,
                    severity=p.msrc_severity,
                    installed_date=p.installed_date,
                )
                for p in ordered[:max_patches]
            ],
            omitted=max(0, len(ordered) - max_patches),
        )


class PatchBrief(CWModel):
    kb: str | None = None
    title: str | None = None
    state: str
    classification: str | None = None
    severity: str | None = None
    installed_date: str | None = None


class DevicePatchesSummary(CWModel):
    """Trimmed patch status of one endpoint."""

    endpoint_id: str
    assessed_at: str | None = None
    compliance: float | None = None
    missing_count: int | None = None
    installed_count: int | None = None
    pending_reboot_count: int | None = None
    pending_reboot: bool | None = None
    out_of_support: bool | None = None
    policy_name: str | None = None
    patches: list[PatchBrief] = Field(default_factory=list)
    omitted: int = 0
