"""Reading agent requests: the protocol header, the bearer credential, a size-capped body, the model.

Bodies are read raw with a cap *before* parsing (``Content-Length`` is checked first, then the
stream is counted), so an oversized payload is refused with 413 without being buffered, and a
malformed one with 400 naming the field. Result output beyond ``MAX_OUTPUT_BYTES`` is truncated
here too (first stdout then stderr, on a character boundary, ``truncated`` set): the hub enforces
the cap even for an agent that did not.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from agent.protocol import (
    MAX_OUTPUT_BYTES,
    PROTOCOL_HEADER,
    CommandResult,
    negotiate_protocol_version,
)
from hub.core.validation import describe_validation_error
from native_rmm.errors import invalid_credential, malformed, too_large

ModelT = TypeVar("ModelT", bound=BaseModel)


def protocol_version(request: Request) -> int:
    """The negotiated version from ``X-RMMHub-Protocol`` (400 when missing, 426 when unsupported)."""
    raw = request.headers.get(PROTOCOL_HEADER)
    if raw is None:
        raise malformed(f"send the {PROTOCOL_HEADER} header with the protocol version the agent speaks")
    try:
        requested = int(raw)
    except ValueError as exc:
        raise malformed(f"{PROTOCOL_HEADER} must be an integer, not {raw[:20]!r}") from exc
    return negotiate_protocol_version(requested)


def bearer(request: Request) -> str:
    """The device credential from ``Authorization: Bearer``."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise invalid_credential("send the device credential as 'Authorization: Bearer <credential>'")
    return auth[7:].strip()


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(int(declared), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse(model: type[ModelT], raw: bytes | str) -> ModelT:
    """Validate a JSON body against a protocol model (400 naming the bad fields)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise malformed(f"invalid {model.__name__}: {describe_validation_error(exc, root='<body>')}") from exc


def cap_output(stdout: str, stderr: str, limit: int = MAX_OUTPUT_BYTES) -> tuple[str, str, bool]:
    """Trim stdout then stderr so their UTF-8 size fits ``limit``; returns them and whether anything went."""
    out = stdout.encode("utf-8", errors="surrogatepass")
    err = stderr.encode("utf-8", errors="surrogatepass")
    if len(out) + len(err) <= limit:
        return stdout, stderr, False
    out = out[:limit]
    err = err[: limit - len(out)]
    return out.decode("utf-8", errors="ignore"), err.decode("utf-8", errors="ignore"), True


def capped_result_data(data: Any) -> Any:
    """A result's JSON data with over-cap output truncated (anything else is left for validation)."""
    if isinstance(data, dict) and isinstance(data.get("stdout", ""), str) and isinstance(data.get("stderr", ""), str):
        stdout, stderr, cut = cap_output(data.get("stdout", ""), data.get("stderr", ""))
        if cut:
            data = {**data, "stdout": stdout, "stderr": stderr, "truncated": True}
    return data


def parse_result(raw: bytes | str) -> CommandResult:
    """Parse a :class:`CommandResult`, truncating over-cap output instead of refusing it."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise malformed(f"invalid CommandResult: the body is not JSON ({exc})") from exc
    try:
        return CommandResult.model_validate(capped_result_data(data))
    except ValidationError as exc:
        raise malformed(f"invalid CommandResult: {describe_validation_error(exc, root='<body>')}") from exc
