"""CSRF protection of the sign-in form, before any session exists: a signed double-submit cookie.

``GET /login`` sets a random nonce in an HttpOnly cookie and embeds HMAC(nonce) in the form. A
cross-site page can neither read the cookie nor compute the HMAC (keyed by the hub secret), so a
forged sign-in POST (login CSRF) fails the check.
"""

from __future__ import annotations

import hmac
from hashlib import sha256

from fastapi import Response

from hub.core.security import constant_time_equals, derive_key, generate_token

COOKIE = "rmmhub_login_csrf"
COOKIE_PATH = "/login"
MAX_AGE_SECONDS = 3600


def _sign(secret_key: str, nonce: str) -> str:
    return hmac.new(derive_key(secret_key, "login-csrf"), nonce.encode(), sha256).hexdigest()


def new_nonce() -> str:
    """A fresh random nonce for the cookie."""
    return generate_token(nbytes=24)


def set_cookie(response: Response, nonce: str, *, secure: bool) -> None:
    """Attach the nonce cookie (HttpOnly, SameSite=Strict, only sent to ``/login``)."""
    response.set_cookie(
        COOKIE, nonce, max_age=MAX_AGE_SECONDS, httponly=True, secure=secure, samesite="strict", path=COOKIE_PATH
    )


def form_token(secret_key: str, nonce: str) -> str:
    """The form token matching an already-set nonce."""
    return _sign(secret_key, nonce)


def valid(secret_key: str, nonce: str | None, token: str | None) -> bool:
    """Whether the submitted form token matches the cookie nonce."""
    if not nonce or not token:
        return False
    return constant_time_equals(_sign(secret_key, nonce), token)
