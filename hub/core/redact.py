"""Secrets out of logs: request paths and queries that carry tokens are redacted before they are logged.

Installer tokens travel in the path (``/install/<token>/linux``, the one-liners endpoints paste),
support codes and tickets in the query, and every hub token has a recognisable prefix. The
access log (``uvicorn.access``) prints the path with its query, so :class:`AccessLogRedactor`
rewrites it on each record; :func:`redact_target` is the rule, usable by any other log line.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
#: Paths whose next segment is a secret (installer tokens, public status pages; relay tickets go here too).
TOKEN_PATH_PREFIXES = ("/install/", "/status/")
#: Query parameters whose value is a secret, whatever the path.
SECRET_PARAMS = frozenset(
    {"token", "ticket", "code", "support_code", "credential", "secret", "password", "key", "access_token", "sig"}
)
#: Tool-result fields the audit log never stores verbatim (the caller still gets them; e.g. a revealed
#: RustDesk password, a status page's URL: the audit records that it was revealed, by whom, not what it is).
SECRET_RESULT_FIELDS = frozenset({"password", "status_url"})
#: Hub tokens anywhere (installer ``rmi_``, device credential ``rmd_``, API token ``rmh_``, status page ``rmp_``), even URL-encoded.
_PREFIXED_TOKEN = re.compile(r"(?:(?<![A-Za-z0-9])|(?<=%2F)|(?<=%2f)|(?<=%3D)|(?<=%3d))(rm[a-z]_)[A-Za-z0-9_\-%]{4,}")


def _redact_path(path: str) -> str:
    for prefix in TOKEN_PATH_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            _, sep, rest = path[len(prefix) :].partition("/")
            return prefix + REDACTED + sep + rest
    return path


def _redact_query(query: str) -> str:
    parts = []
    for pair in query.split("&"):
        name, sep, _ = pair.partition("=")
        parts.append(f"{name}={REDACTED}" if sep and name.lower() in SECRET_PARAMS else pair)
    return "&".join(parts)


def redact_target(target: str) -> str:
    """A request target (path and query) with every secret it carries replaced by ``[redacted]``."""
    path, sep, query = target.partition("?")
    redacted = _redact_path(path) + (sep + _redact_query(query) if sep else "")
    return _PREFIXED_TOKEN.sub(lambda m: m.group(1) + REDACTED, redacted)


class AccessLogRedactor(logging.Filter):
    """Rewrites the request target of ``uvicorn.access`` records (``client, method, target, version, status``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_target(args[2]), *args[3:])
        return True


def install_access_log_redaction() -> None:
    """Attach the redactor to the access logger once (idempotent; survives uvicorn's log config)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessLogRedactor) for f in logger.filters):
        logger.addFilter(AccessLogRedactor())


def redact_secret_fields(value: object) -> object:
    """``value`` with every :data:`SECRET_RESULT_FIELDS` entry (at any depth) replaced by ``[redacted]``."""
    if isinstance(value, dict):
        return {
            k: REDACTED if k in SECRET_RESULT_FIELDS and v is not None else redact_secret_fields(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_secret_fields(v) for v in value]
    return value
