"""Which address a request comes from: the peer, unless a trusted proxy vouches for another."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from hub.core.client_address import client_address

PROXIES = [ip_network("10.0.0.0/24"), ip_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        pytest.param("127.0.0.1", ["203.0.113.9"], [], "127.0.0.1", id="no-trusted-proxies"),
        pytest.param("198.51.100.1", ["203.0.113.9"], PROXIES, "198.51.100.1", id="untrusted-peer"),
        pytest.param("10.0.0.5", ["203.0.113.9"], PROXIES, "203.0.113.9", id="trusted-peer"),
        pytest.param("10.0.0.5", [], PROXIES, "10.0.0.5", id="trusted-peer-no-header"),
        pytest.param("10.0.0.5", ["192.0.2.1, 203.0.113.9"], PROXIES, "203.0.113.9", id="forged-left-entry"),
        pytest.param("10.0.0.5", ["192.0.2.1", "203.0.113.9, 10.0.0.7"], PROXIES, "203.0.113.9", id="two-proxies"),
        pytest.param("10.0.0.5", ["10.0.0.8, 10.0.0.7"], PROXIES, "10.0.0.8", id="all-hops-trusted"),
        pytest.param("10.0.0.5", ["192.0.2.1, not-an-ip"], PROXIES, "10.0.0.5", id="garbage-stops-the-walk"),
        pytest.param("10.0.0.5", ["203.0.113.9:5123"], PROXIES, "203.0.113.9", id="ipv4-with-port"),
        pytest.param("fd00::1", ["[2001:db8::7]:443"], PROXIES, "2001:db8::7", id="ipv6-with-port"),
        pytest.param("::ffff:10.0.0.5", ["203.0.113.9"], PROXIES, "203.0.113.9", id="ipv4-mapped-peer"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], trusted: list, expected: str) -> None:  # type: ignore[type-arg]
    assert client_address(peer, forwarded, trusted) == expected
