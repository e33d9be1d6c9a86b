"""SMTP over real TLS on loopback: aiosmtpd with STARTTLS (AUTH only after the upgrade) and aiosmtpd on
TLS-on-connect, each with a certificate made here with ``cryptography`` by a private CA. The channel
trusts that CA through its own ``ca_pem``; certificate and host-name checks stay on, so a channel that
does not trust the CA, or that names the server by a host the certificate does not cover, is refused."""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import Tenancy, TestUser, free_port
from tests.hub.notify.conftest import Inbox

Clients = Callable[[TestUser], httpx.AsyncClient]


@dataclass(frozen=True)
class Pki:
    """A private CA and a server certificate it signed for 127.0.0.1 only."""

    ca_pem: str
    server_context: ssl.SSLContext


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("rmmhub test CA"))
        .issuer_name(_name("rmmhub test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder: Path = tmp_path_factory.mktemp("smtp-tls")
    cert_file, key_file = folder / "server.pem", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return Pki(ca.public_bytes(serialization.Encoding.PEM).decode(), context)


def _authenticator(inbox: Inbox) -> Callable[..., AuthResult]:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            inbox.logins.append((user, password))
            return AuthResult(success=(user, password) == ("mailer", "s3cret"), handled=False)
        return AuthResult(success=False, handled=False)

    return check


@pytest.fixture
def starttls_server(pki: Pki) -> Iterator[tuple[int, Inbox]]:
    """aiosmtpd that requires STARTTLS before anything else and AUTH only over TLS."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=pki.server_context,
        require_starttls=True,
        authenticator=_authenticator(inbox),
        auth_require_tls=True,
    )
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
def implicit_tls_server(pki: Pki) -> Iterator[tuple[int, Inbox]]:
    """aiosmtpd speaking TLS from the first byte (SMTPS)."""
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        ssl_context=pki.server_context,
        authenticator=_authenticator(inbox),
        auth_require_tls=False,  # aiosmtpd does not count TLS-on-connect as TLS for this check
    )
    controller.start()
    yield controller.port, inbox
    controller.stop()


async def _channel(admin: httpx.AsyncClient, name: str, port: int, security: str, *, ca_pem: str = "") -> int:
    resp = await admin.post(
        "/api/v1/notifications/channels",
        json={
            "name": name,
            "kind": "email",
            "password": "s3cret",
            "email": {
                "host": "127.0.0.1",
                "port": port,
                "security": security,
                "username": "mailer",
                "sender": "rmmhub@example.test",
                "recipients": ["noc@example.test"],
                "ca_pem": ca_pem,
            },
        },
    )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["channel"]["id"])


async def _test(admin: httpx.AsyncClient, channel_id: int) -> dict[str, Any]:
    resp = await admin.post(f"/api/v1/notifications/channels/{channel_id}/test")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_starttls_with_a_trusted_private_ca(
    starttls_server: tuple[int, Inbox], pki: Pki, client_for: Clients, tenancy: Tenancy
) -> None:
    port, inbox = starttls_server
    admin = client_for(tenancy.admin)
    trusted = await _channel(admin, "starttls mail", port, "starttls", ca_pem=pki.ca_pem)
    result = await _test(admin, trusted)
    assert result["status"] == "delivered", result
    assert inbox.logins == [("mailer", "s3cret")]  # AUTH was accepted, which this server allows only over TLS
    assert len(inbox.messages) == 1 and b"Subject: rmmhub test message for starttls mail" in inbox.messages[0]

    # Verification is not switched off: without the CA the certificate is refused, nothing is sent.
    untrusted = await _channel(admin, "untrusted mail", port, "starttls")
    result = await _test(admin, untrusted)
    assert result["status"] == "failed"
    assert "certificate was not trusted" in result["last_error"] and "trusted CA" in result["last_error"]
    # A server that requires STARTTLS refuses a channel that does not upgrade.
    plain = await _channel(admin, "plain mail", port, "none")
    assert (await _test(admin, plain))["status"] == "failed"
    assert len(inbox.messages) == 1 and len(inbox.logins) == 1


async def test_implicit_tls_with_a_trusted_private_ca_and_host_names_checked(
    implicit_tls_server: tuple[int, Inbox], pki: Pki, client_for: Clients, tenancy: Tenancy
) -> None:
    port, inbox = implicit_tls_server
    admin = client_for(tenancy.admin)
    trusted = await _channel(admin, "smtps mail", port, "tls", ca_pem=pki.ca_pem)
    result = await _test(admin, trusted)
    assert result["status"] == "delivered", result
    assert inbox.logins == [("mailer", "s3cret")]
    assert len(inbox.messages) == 1

    # The certificate covers 127.0.0.1 only: the same trusted CA under another host name is refused.
    resp = await admin.get(f"/api/v1/notifications/channels/{trusted}")
    settings = resp.json()
    email = settings["email"] | {"host": "localhost"}
    edit = {"name": "smtps mail", "email": email, "per_minute": 10}
    assert (await admin.put(f"/api/v1/notifications/channels/{trusted}", json=edit)).status_code == 200
    result = await _test(admin, trusted)
    assert result["status"] == "failed" and "not trusted" in result["last_error"], result
    assert len(inbox.messages) == 1


async def test_a_trusted_ca_that_is_not_a_certificate_is_a_clear_422(client_for: Clients, tenancy: Tenancy) -> None:
    admin = client_for(tenancy.admin)
    email = {"host": "127.0.0.1", "sender": "a@example.test", "recipients": ["b@example.test"]}
    resp = await admin.post(
        "/api/v1/notifications/channels",
        json={"name": "x", "kind": "email", "email": email | {"ca_pem": "hello"}},
    )
    assert resp.status_code == 422 and "email" in resp.text and "ca_pem" in resp.text
    assert "BEGIN CERTIFICATE" in resp.text
    broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    resp = await admin.post(
        "/api/v1/notifications/channels",
        json={"name": "x", "kind": "email", "email": email | {"ca_pem": broken}},
    )
    assert resp.status_code == 422 and "not a readable PEM certificate" in resp.text
