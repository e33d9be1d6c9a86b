"""Status-page URL tokens: minted with :func:`secrets.token_urlsafe`, stored only as their SHA-256.

A token is ``rmp_`` and 43 URL-safe characters (256 bits); the prefix lets every log redactor
recognise it (:mod:`hub.core.redact`). A presented token is checked for shape before any lookup, its
digest is looked up, and the stored digest is compared again in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "rmp_"
_SHAPE = re.compile(r"^rmp_[A-Za-z0-9_-]{43}$")
#: Where a page lives (the token is the last path segment).
PATH = "/status/"


def mint() -> tuple[str, str]:
    """A new token and its digest (store the digest, show the token once)."""
    token = PREFIX + secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    """SHA-256 (hex) of a token: a 256-bit random token needs no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    """Whether ``token`` could be one of ours (anything else is a 404 without a lookup)."""
    return bool(_SHAPE.match(token))


def same(stored: str, presented: str) -> bool:
    """Constant-time comparison of two digests."""
    return hmac.compare_digest(stored.encode(), presented.encode())


def url(base_url: str, token: str) -> str:
    """The public URL of a token."""
    return f"{base_url.rstrip('/')}{PATH}{token}"
