"""Checkmk connector: one Checkmk site per organisation, its hosts mapped to native devices.

``client.py`` speaks Checkmk's REST API 1.0 (``/<site>/check_mk/api/1.0``); the modules beside it are
the integration (connection, host sync, tools, routes). Import submodules directly.
"""
