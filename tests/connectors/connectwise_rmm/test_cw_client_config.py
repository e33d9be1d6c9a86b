"""Client construction: TLS/proxy environment pass-through, lifecycle, reprs."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from cw_fakes import CLIENT_SECRET

from connectors.connectwise_rmm.client import ConnectWiseClient
from connectors.connectwise_rmm.client import session as session_module


class _SpyAsyncClient(httpx.AsyncClient):
    seen: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        type(self).seen.append(kwargs)
        super().__init__(**kwargs)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> type[_SpyAsyncClient]:
    _SpyAsyncClient.seen = []
    monkeypatch.setattr(session_module.httpx, "AsyncClient", _SpyAsyncClient)
    return _SpyAsyncClient


async def test_trust_env_is_on_by_default(spy: type[_SpyAsyncClient]) -> None:
    async with ConnectWiseClient(client_id="id", client_secret="s"):
        pass

    assert spy.seen[0]["trust_env"] is True
    assert spy.seen[0]["verify"] is True
    assert spy.seen[0]["transport"] is None


async def test_custom_verify_and_trust_env_are_passed_through(spy: type[_SpyAsyncClient]) -> None:
    context = ssl.create_default_context()

    async with ConnectWiseClient(client_id="id", client_secret="s", verify=context, trust_env=False, timeout=5.0):
        pass

    assert spy.seen[0]["verify"] is context
    assert spy.seen[0]["trust_env"] is False
    assert spy.seen[0]["timeout"] == 5.0


async def test_proxy_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.msp.example:3128")

    async with ConnectWiseClient(client_id="id", client_secret="s") as client:
        mounts = {str(pattern.pattern): transport for pattern, transport in client.session.http._mounts.items()}

    assert "https://" in mounts
    assert mounts["https://"] is not None


async def test_client_is_an_async_context_manager_that_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    client = ConnectWiseClient(client_id="id", client_secret="s")
    async with client as entered:
        assert entered is client
        assert not client.session.http.is_closed

    assert client.session.http.is_closed


async def test_secret_is_not_in_any_repr() -> None:
    async with ConnectWiseClient(client_id="my-client", client_secret=CLIENT_SECRET) as client:
        for text in (repr(client), repr(client.session), repr(client.session.tokens), str(vars(client.session.tokens))):
            assert CLIENT_SECRET not in text
        assert "my-client" in repr(client)


def test_blank_client_id_is_refused() -> None:
    with pytest.raises(ValueError, match="client_id"):
        ConnectWiseClient(client_id="  ", client_secret="s")


async def test_ssl_cert_file_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bundle = tmp_path / "msp-ca.pem"
    bundle.write_text("not a certificate\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))

    # The MSP's CA bundle is read at construction: a broken one fails loudly instead of being ignored.
    with pytest.raises(ssl.SSLError):
        ConnectWiseClient(client_id="id", client_secret="s")

    async with ConnectWiseClient(client_id="id", client_secret="s", trust_env=False):
        pass
