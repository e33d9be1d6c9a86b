"""The agent-facing API (``/agent/v1``), kept apart from the operator-facing one."""
