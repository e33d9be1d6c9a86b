"""Devices: inventory, credentials, state, applications, patches and their tools."""
