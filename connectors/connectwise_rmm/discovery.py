"""Script discovery: turn a tenant's shell-script listing into stable ``cw-rmm-script-<slug>`` tools.

Discovery compares the active templates ConnectWise lists now with the scripts persisted for the
connection (``cw_scripts``) and updates the table; the registry follows from the table
(:meth:`ConnectionManager.reload_org`), so tools look the same after a restart without any network.

Slugs are stable: a script keeps its slug while its name stays the same. New and renamed scripts get
``slugify(name)``; when that is taken (two scripts with the same name), the one processed later --
order is (slug, template id), so the result is deterministic -- gets ``-<first 8 chars of its id>``.
A script that disappears (deleted or no longer active) or is renamed to a new slug loses its old tool,
and every approval still pending for that tool is failed with a message saying why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.connectwise_rmm.models import CWConnection, CWScript
from connectors.connectwise_rmm.script_tools import (
    SCRIPT_PREFIX,
    SOURCE,
    ScriptSpec,
    is_active,
    short_id,
    slugify,
    spec_hash,
    usable_parameters_schema,
    with_suffix,
)
from hub.core.db import utcnow
from policies.approvals import fail_pending_for_tool

if TYPE_CHECKING:
    from connectors.connectwise_rmm.client.schemas import ShellScript
    from policies.pipeline import Gate


@dataclass
class DiscoveryReport:
    """What one discovery changed. Tool names are the bare ``cw-rmm-script-...`` names."""

    scripts: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed_approvals: int = 0

    def counts(self) -> dict[str, int]:
        """``{"scripts", "added", "updated", "removed", "renamed", "failed_approvals"}`` (renames count as updated)."""
        return {
            "scripts": self.scripts,
            "added": len(self.added),
            "updated": len(self.updated) + len(self.renamed),
            "removed": len(self.removed),
            "renamed": len(self.renamed),
            "failed_approvals": self.failed_approvals,
        }


def spec_of(script: ShellScript, slug: str) -> ScriptSpec:
    """The tool spec of a listed template under ``slug``."""
    schema, note = usable_parameters_schema(script)
    return ScriptSpec(
        template_id=script.template_id,
        slug=slug,
        name=(script.name or "").strip() or script.template_id,
        description=(script.description or "").strip(),
        parameters_schema=schema,
        schema_note=note,
        expected_execution_time_sec=script.expected_execution_time_sec,
    )


def spec_of_row(row: CWScript) -> ScriptSpec:
    """The tool spec of a persisted script."""
    return ScriptSpec(
        template_id=row.template_id,
        slug=row.slug,
        name=row.name,
        description=row.description,
        parameters_schema=row.parameters_schema,
        schema_note=row.schema_note,
        expected_execution_time_sec=row.expected_execution_time_sec,
    )


def assign_slugs(scripts: Iterable[ShellScript], persisted: dict[str, CWScript]) -> dict[str, str]:
    """``{template_id: slug}`` for the listed scripts, keeping persisted slugs of unrenamed scripts."""
    listed = {s.template_id: s for s in scripts}
    slugs: dict[str, str] = {}
    for tid in sorted(listed):
        row = persisted.get(tid)
        if row is not None and row.name == ((listed[tid].name or "").strip() or tid):
            slugs[tid] = row.slug
    taken = set(slugs.values())
    fresh = sorted((slugify(listed[tid].name or tid), tid) for tid in listed if tid not in slugs)
    for base, tid in fresh:
        candidates = [base, with_suffix(base, short_id(tid)), with_suffix(base, short_id(tid, 16))]
        slug = next((c for c in candidates if c not in taken), None)
        counter = 2
        while slug is None or slug in taken:
            slug = with_suffix(base, f"{short_id(tid)}-{counter}")
            counter += 1
        slugs[tid] = slug
        taken.add(slug)
    return slugs


async def persisted_scripts(session: AsyncSession, connection_id: int) -> list[CWScript]:
    """The scripts stored for a connection, by slug."""
    stmt = select(CWScript).where(CWScript.connection_id == connection_id).order_by(CWScript.slug)
    return list((await session.execute(stmt)).scalars())


def _tool_id(slug: str) -> str:
    return f"{SOURCE}:{SCRIPT_PREFIX}{slug}"


async def apply_discovery(
    session: AsyncSession,
    *,
    connection: CWConnection,
    scripts: Sequence[ShellScript],
    gate: Gate,
    reason: str | None = None,
) -> DiscoveryReport:
    """Store the tenant's active shell scripts for ``connection`` and report what changed.

    Flushes; the caller commits and then reloads the registry. Pending approvals of removed or renamed
    script tools are failed here, in the same transaction.
    """
    active = [s for s in scripts if is_active(s)]
    rows = {row.template_id: row for row in await persisted_scripts(session, connection.id)}
    slugs = assign_slugs(active, rows)
    report = DiscoveryReport(scripts=len(active))
    now = utcnow()

    for tid in sorted(rows.keys() - slugs.keys()):
        row = rows.pop(tid)
        report.removed.append(SCRIPT_PREFIX + row.slug)
        cause = (
            reason or f"the ConnectWise RMM script '{row.name}' no longer exists or is no longer active in the tenant"
        )
        why = f"{cause}, so {SCRIPT_PREFIX}{row.slug} was removed by script discovery; nothing was run"
        report.failed_approvals += await fail_pending_for_tool(
            session, gate, org_id=connection.org_id, tool_id=_tool_id(row.slug), why=why
        )
        await session.delete(row)
    await session.flush()

    # Renamed slugs move through a temporary value so swaps cannot trip the (connection, slug) unique key.
    previous = {tid: row.slug for tid, row in rows.items() if row.slug != slugs[tid]}
    for tid in previous:
        rows[tid].slug = f"~{rows[tid].id}"
    if previous:
        await session.flush()

    by_tid = {s.template_id: s for s in active}
    for tid in sorted(slugs):
        spec = spec_of(by_tid[tid], slugs[tid])
        digest = spec_hash(spec)
        existing = rows.get(tid)
        if existing is None:
            session.add(_new_row(connection, spec, digest, now))
            report.added.append(spec.tool_name)
            continue
        row = existing
        if tid in previous:
            report.renamed.append((SCRIPT_PREFIX + previous[tid], spec.tool_name))
            why = (
                f"the ConnectWise RMM script '{row.name}' was renamed to '{spec.name}'; its tool is now "
                f"{spec.tool_name}. Ask again with that tool; nothing was run"
            )
            report.failed_approvals += await fail_pending_for_tool(
                session, gate, org_id=connection.org_id, tool_id=_tool_id(previous[tid]), why=why
            )
        elif digest != row.schema_hash:
            report.updated.append(spec.tool_name)
        _fill(row, spec, digest, now)
    connection.last_discovery_at = now
    connection.last_discovery_counts = report.counts()
    await session.flush()
    return report


def _new_row(connection: CWConnection, spec: ScriptSpec, digest: str, now: datetime) -> CWScript:
    row = CWScript(connection_id=connection.id, org_id=connection.org_id, template_id=spec.template_id)
    _fill(row, spec, digest, now)
    return row


def _fill(row: CWScript, spec: ScriptSpec, digest: str, now: datetime) -> None:
    row.slug = spec.slug
    row.name = spec.name[:300]
    row.description = spec.description
    row.parameters_schema = spec.parameters_schema
    row.schema_note = spec.schema_note
    row.expected_execution_time_sec = spec.expected_execution_time_sec
    row.schema_hash = digest
    row.updated_at = now
