"""ISO/IEC 7816-4 command and response APDUs (short and extended length)."""

from __future__ import annotations

from dataclasses import dataclass

SW_OK = 0x9000


@dataclass(frozen=True)
class CommandAPDU:
    """A command APDU. ``le`` is the expected response length (0 = maximum), ``None`` = no Le."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def needs_extended(self) -> bool:
        return len(self.data) > 255 or (self.le is not None and self.le > 256)

    def encode(self, extended: bool | None = None) -> bytes:
        """Encode as bytes; extended length is used when asked or when the sizes need it."""
        ext = self.needs_extended() if extended is None else extended
        out = bytes([self.cla, self.ins, self.p1, self.p2])
        if ext:
            if self.data:
                out += b"\x00" + len(self.data).to_bytes(2, "big") + self.data
            if self.le is not None:
                le = 0 if self.le >= 65536 else self.le
                out += (b"" if self.data else b"\x00") + le.to_bytes(2, "big")
            return out
        if len(self.data) > 255:
            raise ValueError("command data longer than 255 bytes needs extended length or chaining")
        if self.data:
            out += bytes([len(self.data)]) + self.data
        if self.le is not None:
            out += bytes([0 if self.le >= 256 else self.le])
        return out

    @classmethod
    def decode(cls, raw: bytes) -> CommandAPDU:
        """Parse a command APDU (cases 1–4, short or extended)."""
        if len(raw) < 4:
            raise ValueError("command APDU shorter than 4 bytes")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, b"", body[0] or 256)
        if body[0] != 0:  # short form
            lc = body[0]
            if len(body) == 1 + lc:
                return cls(cla, ins, p1, p2, body[1:])
            if len(body) == 2 + lc:
                return cls(cla, ins, p1, p2, body[1 : 1 + lc], body[-1] or 256)
            raise ValueError("command APDU length does not match Lc")
        # extended form: 00 then 2-byte Lc or Le
        if len(body) == 3:
            le = int.from_bytes(body[1:3], "big")
            return cls(cla, ins, p1, p2, b"", le or 65536)
        lc = int.from_bytes(body[1:3], "big")
        if lc == 0 or len(body) < 3 + lc:
            raise ValueError("extended command APDU length does not match Lc")
        data = body[3 : 3 + lc]
        rest = body[3 + lc :]
        if not rest:
            return cls(cla, ins, p1, p2, data)
        if len(rest) == 2:
            return cls(cla, ins, p1, p2, data, int.from_bytes(rest, "big") or 65536)
        raise ValueError("extended command APDU has a malformed Le")


@dataclass(frozen=True)
class ResponseAPDU:
    data: bytes
    sw: int

    @property
    def ok(self) -> bool:
        return self.sw == SW_OK

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes) -> ResponseAPDU:
        if len(raw) < 2:
            raise ValueError("response APDU shorter than 2 bytes")
        return cls(bytes(raw[:-2]), int.from_bytes(raw[-2:], "big"))
