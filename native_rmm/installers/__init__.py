"""Agent installers (Base and scoped), the per-OS install scripts and the agent wheel."""
