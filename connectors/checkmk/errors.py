"""The Checkmk client's error hierarchy, documented in one place.

Every failure the client raises is a :class:`CheckmkError`::

    CheckmkError                 any upstream failure; carries status, title and detail of the problem
    ├── AuthenticationError      401: the automation user or secret was refused
    ├── ForbiddenError           403: the user may not do this (missing permission, Setup disabled)
    ├── NotFoundError            404: no such host (or the site name in the URL is wrong)
    ├── UpstreamError            5xx, time-outs and connection errors
    └── ProtocolError            an answer that is not Checkmk's JSON (wrong URL, a proxy page)

Checkmk answers errors as ``application/problem+json``: ``{"title", "status", "detail"}``.
"""

from __future__ import annotations

import json

import httpx

MAX_DETAIL_CHARS = 500


class CheckmkError(Exception):
    """Base class of every error the Checkmk client raises.

    Attributes:
        status: the upstream HTTP status, or ``None`` when no answer was received.
        message: what went wrong and what to do, fit for an operator (never the secret).
    """

    hint = ""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{message}. {self.hint}".rstrip(". ") if self.hint else message)


class AuthenticationError(CheckmkError):
    hint = "Check the automation user and its secret under Admin > Checkmk"


class ForbiddenError(CheckmkError):
    hint = "Give the automation user the monitoring permissions (see all hosts and services) in Checkmk"


class NotFoundError(CheckmkError):
    pass


class UpstreamError(CheckmkError):
    hint = "Checkmk failed or could not be reached; the next sync tries again"


class ProtocolError(CheckmkError):
    hint = "Check the site URL and site name under Admin > Checkmk"


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:MAX_DETAIL_CHARS].strip()
    if not isinstance(body, dict):
        return json.dumps(body)[:MAX_DETAIL_CHARS]
    parts = [str(body[k]).strip().rstrip(".") for k in ("title", "detail") if body.get(k)]
    return ": ".join(parts)[:MAX_DETAIL_CHARS]


def error_for(response: httpx.Response) -> CheckmkError:
    """The error of a non-2xx answer, with Checkmk's own title and detail."""
    status = response.status_code
    said = _problem(response) or response.reason_phrase
    if status == 401:
        return AuthenticationError(f"Checkmk refused the automation credentials (401: {said})", status=status)
    if status == 403:
        return ForbiddenError(f"Checkmk refused the request (403: {said})", status=status)
    if status == 404:
        return NotFoundError(f"Checkmk found nothing at {response.request.url.path} (404: {said})", status=status)
    if status >= 500:
        return UpstreamError(f"Checkmk failed ({status}: {said})", status=status)
    return CheckmkError(f"Checkmk refused the request ({status}: {said})", status=status)
