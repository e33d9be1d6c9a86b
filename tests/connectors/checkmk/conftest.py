"""Fixtures of the Checkmk tests: the loopback contract site (``cmk_site``) and no proxies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.connectors.checkmk.cmk_site import CheckmkSite, serve


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def cmk_site() -> Iterator[CheckmkSite]:
    """A Checkmk site on loopback, empty; tests add hosts."""
    yield from serve()
