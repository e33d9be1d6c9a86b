"""View-only enforcement for the screen: strip input messages from a browser's RFB (VNC) stream.

noVNC speaks RFB to the VNC server on the endpoint, so a view-only flag in the browser is only a
courtesy. The relay parses the client-to-server half of RFB 3.7/3.8 (RFC 6143 section 7) and drops
KeyEvent (4), PointerEvent (5), ClientCutText (6) and QEMU key events (255/0), forwarding
everything else so the viewer still gets framebuffer updates. Bytes arrive in arbitrary chunks,
so the filter keeps the partial message it is in.
"""

from __future__ import annotations

import struct

VERSION_LENGTH = 12
VERSION_PREFIX = b"RFB 003."
SECURITY_NONE = 1
SECURITY_VNC_AUTH = 2
VNC_AUTH_RESPONSE_LENGTH = 16

INPUT_TYPES = frozenset({4, 5, 6})
QEMU_CLIENT_MESSAGE = 255


class RfbProtocolError(ValueError):
    """The browser sent something that is not RFB; the relay closes the viewer."""


def _message_length(buf: bytearray) -> int | None:
    """Length of the client message at the start of ``buf``, or None while it is incomplete."""
    kind = buf[0]
    fixed = {0: 20, 3: 10, 4: 8, 5: 6, 150: 10, 250: 4}
    if kind in fixed:
        return fixed[kind]
    if kind == 2:  # SetEncodings: pad, u16 count, s32 * count
        return None if len(buf) < 4 else 4 + 4 * struct.unpack_from(">H", buf, 2)[0]
    if kind == 248:  # Fence: 3 pad, u32 flags, u8 length, payload
        return None if len(buf) < 9 else 9 + buf[8]
    if kind == 251:  # SetDesktopSize: pad, u16 w, u16 h, u8 screens, pad, 16 bytes per screen
        return None if len(buf) < 8 else 8 + 16 * buf[6]
    if kind == QEMU_CLIENT_MESSAGE:  # u8 subtype; 0 = extended key event (12 bytes), 1 = audio
        if len(buf) < 2:
            return None
        if buf[1] == 0:
            return 12
        if buf[1] == 1:
            return None if len(buf) < 4 else (4 if struct.unpack_from(">H", buf, 2)[0] != 2 else 10)
    raise RfbProtocolError(f"unknown RFB client message type {kind}")


class ViewOnlyFilter:
    """Feed browser bytes in, get the bytes the VNC server may see out."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._handshake_left: int | None = None  # unknown until the security type is chosen
        self._in_handshake = True
        self._passed = 0
        self._head = bytearray()
        self.saw_input = False

    def feed(self, data: bytes) -> bytes:
        """Return ``data`` with every input message removed (may hold back a partial message).

        ``saw_input`` tells afterwards whether the chunk carried keyboard, pointer or clipboard input
        (the relay's idle clock counts only that, not the viewer's framebuffer requests).
        """
        self.saw_input = False
        self._buf += data
        out = bytearray()
        if self._in_handshake:
            out += self._pass_handshake()
            if self._in_handshake:
                return bytes(out)
        while self._buf:
            length = self._length()
            if length is None or len(self._buf) < length:
                break
            message = bytes(self._buf[:length])
            del self._buf[:length]
            if self._is_input(message):
                self.saw_input = True
            else:
                out += message
        return bytes(out)

    def _length(self) -> int | None:
        if self._buf[0] == 6:  # ClientCutText: 3 pad, u32 length, text
            return None if len(self._buf) < 8 else 8 + struct.unpack_from(">I", self._buf, 4)[0]
        return _message_length(self._buf)

    @staticmethod
    def _is_input(message: bytes) -> bool:
        return message[0] in INPUT_TYPES or (message[0] == QEMU_CLIENT_MESSAGE and message[1] == 0)

    def _pass_handshake(self) -> bytes:
        """Forward version, security choice, auth response and ClientInit untouched, as they come.

        Each step is forwarded at once (the server answers the version before the client picks a
        security type), so nothing is held back while the other side waits for it.
        """
        out = bytearray()
        while self._buf and self._in_handshake:
            if self._handshake_left is None and self._passed == VERSION_LENGTH:
                security = self._buf[0]
                if security == SECURITY_NONE:
                    self._handshake_left = VERSION_LENGTH + 2
                elif security == SECURITY_VNC_AUTH:
                    self._handshake_left = VERSION_LENGTH + 1 + VNC_AUTH_RESPONSE_LENGTH + 1
                else:
                    raise RfbProtocolError(f"unsupported VNC security type {security} for a view-only viewer")
            limit = VERSION_LENGTH if self._handshake_left is None else self._handshake_left
            take = min(len(self._buf), limit - self._passed)
            chunk = bytes(self._buf[:take])
            del self._buf[:take]
            out += chunk
            self._passed += take
            if len(self._head) < len(VERSION_PREFIX):
                self._head += chunk[: len(VERSION_PREFIX) - len(self._head)]
                if not VERSION_PREFIX.startswith(bytes(self._head)):
                    raise RfbProtocolError("not an RFB client")
            if self._handshake_left is not None and self._passed == self._handshake_left:
                self._in_handshake = False
        return bytes(out)
