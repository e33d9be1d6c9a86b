"""The view-only RFB filter on byte streams cut at every possible place."""

from __future__ import annotations

import struct

import pytest

from relay.rfb import RfbProtocolError, ViewOnlyFilter

HANDSHAKE = b"RFB 003.008\n" + bytes([1]) + bytes([1])  # version, security None, ClientInit shared
SET_ENCODINGS = struct.pack(">BxHiii", 2, 3, 0, 7, -223)
UPDATE_REQUEST = struct.pack(">BBHHHH", 3, 1, 0, 0, 1024, 768)
KEY = struct.pack(">BBxxI", 4, 1, 0x61)
POINTER = struct.pack(">BBHH", 5, 1, 10, 20)
CUT = struct.pack(">BxxxI", 6, 5) + b"hello"
QEMU_KEY = struct.pack(">BBHII", 255, 0, 1, 0x61, 30)
FENCE = struct.pack(">BxxxIB", 248, 0, 2) + b"ab"


def run(stream: bytes, step: int) -> tuple[bytes, bool]:
    f = ViewOnlyFilter()
    out, saw = b"", False
    for i in range(0, len(stream), step):
        out += f.feed(stream[i : i + step])
        saw = saw or f.saw_input
    return out, saw


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_input_is_stripped_and_the_rest_forwarded(step: int) -> None:
    stream = HANDSHAKE + SET_ENCODINGS + KEY + UPDATE_REQUEST + POINTER + CUT + QEMU_KEY + FENCE + UPDATE_REQUEST
    out, saw = run(stream, step)
    assert out == HANDSHAKE + SET_ENCODINGS + UPDATE_REQUEST + FENCE + UPDATE_REQUEST
    assert saw


def test_vnc_auth_response_passes_through() -> None:
    handshake = b"RFB 003.008\n" + bytes([2]) + b"r" * 16 + bytes([1])
    out, saw = run(handshake + KEY + UPDATE_REQUEST, 5)
    assert out == handshake + UPDATE_REQUEST
    assert saw


def test_framebuffer_requests_alone_are_not_input() -> None:
    assert run(HANDSHAKE + UPDATE_REQUEST * 3, 4) == (HANDSHAKE + UPDATE_REQUEST * 3, False)


def test_garbage_is_refused() -> None:
    with pytest.raises(RfbProtocolError, match="not an RFB client"):
        ViewOnlyFilter().feed(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(RfbProtocolError, match="unknown RFB client message type 99"):
        ViewOnlyFilter().feed(HANDSHAKE + bytes([99, 0, 0, 0]))
