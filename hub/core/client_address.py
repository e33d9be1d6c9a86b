"""The client's address, believed from forwarding headers only when a trusted proxy sent them.

Behind a reverse proxy every connection comes from the proxy, and the browser's address travels in
``X-Forwarded-For``. That header is whatever the sender wrote, so it is read only when the peer is in
``RMMHUB_TRUSTED_PROXIES`` (none by default); a forged header from anywhere else, loopback included,
changes nothing. The chain is walked from the right (the entry the nearest proxy appended) past every
trusted hop; the first untrusted address is the client. ``X-Forwarded-Proto`` from a trusted peer sets
the scheme. Other forwarding headers (``Forwarded``, ``X-Real-IP``) are never read: a proxy that sets
one of them may pass a client's forged copy of the other through.

:class:`ClientAddressMiddleware` rewrites the ASGI scope once, so ``request.client`` (sign-in
throttling, sessions, audit) and the access log all see the same address. Run uvicorn with
``proxy_headers=False`` so it does not apply its own (loopback-trusting) rule first.
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import ASGIApp, Receive, Scope, Send

Network = IPv4Network | IPv6Network
IpAddress = IPv4Address | IPv6Address


def _parse(value: str) -> IpAddress | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:5123"
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def _trusted(address: IpAddress, networks: Sequence[Network]) -> bool:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def client_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client behind ``peer``, given the ``X-Forwarded-For`` header values it sent.

    Args:
        peer: the address of the TCP peer.
        forwarded_for: every ``X-Forwarded-For`` value, in arrival order.
        trusted: the networks of the trusted proxies.
    """
    current = _parse(peer)
    if current is None or not _trusted(current, trusted):
        return peer
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # garbage a trusted proxy passed through: stop at the last hop we can vouch for
        current = address
        if not _trusted(address, trusted):
            break
    return str(current)


class ClientAddressMiddleware:
    """Pure ASGI middleware: sets ``scope["client"]`` (and the scheme) from a trusted proxy's headers."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.trusted and scope.get("client"):
            self._rewrite(scope)
        await self.app(scope, receive, send)

    def _rewrite(self, scope: Scope) -> None:
        peer, port = scope["client"]
        address = _parse(peer)
        if address is None or not _trusted(address, self.trusted):
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        forwarded = [value.decode("latin-1") for key, value in headers if key == b"x-forwarded-for"]
        scope["client"] = (client_address(peer, forwarded, self.trusted), port)
        proto = next((value.decode("latin-1") for key, value in headers if key == b"x-forwarded-proto"), "")
        proto = proto.split(",")[-1].strip().lower()
        if proto in ("http", "https"):
            websocket = scope["type"] == "websocket"
            scope["scheme"] = {"http": "ws", "https": "wss"}[proto] if websocket else proto
