"""The hub's Ed25519 update key, derived from ``RMMHUB_SECRET_KEY`` (nothing extra to store or back up).

Agents pin the public half at enrollment and refuse any release not signed by it, so a hub that
is only reachable over plain HTTP, or a tampered file on the hub's disk, cannot push code to them.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_INFO = b"rmmhub agent update signing key v1"


class UpdateSigner:
    """Signs release manifests; ``public_key`` (base64, raw 32 bytes) is what agents pin."""

    def __init__(self, secret: str) -> None:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret.encode())
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key = base64.b64encode(raw).decode()

    def sign(self, message: bytes) -> str:
        """The base64 signature of ``message``."""
        return base64.b64encode(self._key.sign(message)).decode()
