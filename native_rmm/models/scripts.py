"""The script library: per-organisation scripts with typed parameters declared as JSON schema.

Each enabled script is also a tool, ``rmm-script-<slug>`` (see :mod:`native_rmm.scripts.dynamic`);
the slug is unique per organisation and at most :data:`SLUG_MAX` characters so the tool name fits
the 64-character limit LLM providers impose. A run of a script is a device command whose
``script_id`` points here (the commands table belongs to the device plane).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agent.protocol import DEFAULT_TIMEOUT_SECONDS, Shell
from hub.core.db import Base, utcnow

SCRIPT_TOOL_PREFIX = "rmm-script-"
SLUG_MAX = 64 - len(SCRIPT_TOOL_PREFIX)


class ScriptOsType(StrEnum):
    """Which endpoints a script runs on (``ALL``: any, e.g. a Python script)."""

    WINDOWS = "WINDOWS"
    LINUX = "LINUX"
    MACOS = "MACOS"
    ALL = "ALL"


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Script(Base):
    """A script of an organisation's library.

    ``parameters`` is a JSON schema (an object of simple-typed properties, see
    :func:`native_rmm.scripts.params.normalise_schema`); values reach the script as environment
    variables (``agent.protocol.script_param_env``).
    """

    __tablename__ = "rmm_scripts"
    __table_args__ = (UniqueConstraint("org_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    os_type: Mapped[ScriptOsType] = mapped_column(_enum(ScriptOsType))
    shell: Mapped[Shell] = mapped_column(_enum(Shell))
    body: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=DEFAULT_TIMEOUT_SECONDS)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_label: Mapped[str] = mapped_column(String(200), default="")

    @property
    def tool_name(self) -> str:
        """The name of this script's dynamic tool."""
        return SCRIPT_TOOL_PREFIX + self.slug
