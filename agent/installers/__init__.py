"""Installer templates (rendered per installer token by :mod:`agent.installers.render`) and the
per-OS uninstall routines shipped in the agent wheel."""
