"""Agent self-update: signed releases the hub publishes and the ``rmm-update-agents`` tool."""
