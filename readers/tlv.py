"""BER-TLV (ISO/IEC 7816-4 / X.690 subset) as used by ICAO 9303 files and secure messaging.

Definite lengths only (ICAO forbids the indefinite form); every length is checked
against the bytes actually present, so a truncated or oversized length raises
``MalformedTLV`` with the offset instead of reading past the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from readers.errors import MalformedTLV


@dataclass(frozen=True)
class TLV:
    tag: int
    value: bytes
    offset: int  # where the tag starts in the parsed buffer
    header_len: int

    @property
    def constructed(self) -> bool:
        first = self.tag
        while first > 0xFF:
            first >>= 8
        return bool(first & 0x20)

    @property
    def end(self) -> int:
        return self.offset + self.header_len + len(self.value)

    def children(self) -> list[TLV]:
        return parse_all(self.value, base=self.offset + self.header_len)


def read_tag(buf: bytes, pos: int) -> tuple[int, int]:
    """Return (tag, next position)."""
    if pos >= len(buf):
        raise MalformedTLV(pos, "missing tag")
    tag = buf[pos]
    pos += 1
    if tag & 0x1F == 0x1F:
        while True:
            if pos >= len(buf):
                raise MalformedTLV(pos, "truncated multi-byte tag")
            if tag > 0xFFFFFF:
                raise MalformedTLV(pos, "tag longer than 4 bytes")
            b = buf[pos]
            tag = (tag << 8) | b
            pos += 1
            if not b & 0x80:
                break
    return tag, pos


def read_length(buf: bytes, pos: int) -> tuple[int, int]:
    """Return (length, next position)."""
    if pos >= len(buf):
        raise MalformedTLV(pos, "missing length")
    first = buf[pos]
    pos += 1
    if first < 0x80:
        return first, pos
    n = first & 0x7F
    if n == 0:
        raise MalformedTLV(pos - 1, "indefinite length is not allowed")
    if n > 4:
        raise MalformedTLV(pos - 1, f"length field of {n} bytes is too long")
    if pos + n > len(buf):
        raise MalformedTLV(pos, "truncated length field")
    return int.from_bytes(buf[pos : pos + n], "big"), pos + n


def parse_one(buf: bytes, pos: int = 0, base: int = 0) -> TLV:
    """Parse the TLV starting at ``pos``; offsets in errors and results are ``base + pos``."""
    try:
        tag, p = read_tag(buf, pos)
        length, p = read_length(buf, p)
    except MalformedTLV as e:
        raise MalformedTLV(base + e.offset, e.reason) from None
    if p + length > len(buf):
        raise MalformedTLV(
            base + pos, f"length {length} of tag {tag:X} runs past the end ({len(buf) - p} left)"
        )
    return TLV(tag, bytes(buf[p : p + length]), base + pos, p - pos)


def iter_tlv(buf: bytes, base: int = 0) -> Iterator[TLV]:
    pos = 0
    while pos < len(buf):
        t = parse_one(buf, pos, base)
        yield t
        pos = t.end - base


def parse_all(buf: bytes, base: int = 0) -> list[TLV]:
    return list(iter_tlv(buf, base))


def expect(buf: bytes, tag: int, base: int = 0) -> TLV:
    """Parse one TLV that must carry ``tag`` and fill the whole buffer."""
    t = parse_one(buf, 0, base)
    if t.tag != tag:
        raise MalformedTLV(base, f"expected tag {tag:X}, found {t.tag:X}")
    if t.end - base != len(buf):
        raise MalformedTLV(t.end, f"{len(buf) - (t.end - base)} trailing bytes after tag {tag:X}")
    return t


def find(items: list[TLV], tag: int) -> TLV | None:
    return next((t for t in items if t.tag == tag), None)


def encode_tag(tag: int) -> bytes:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big")


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, value: bytes) -> bytes:
    return encode_tag(tag) + encode_length(len(value)) + value


def total_length(header: bytes) -> int:
    """Length of a whole TLV from its first bytes (at least tag + length field)."""
    _, p = read_tag(header, 0)
    length, p = read_length(header, p)
    return p + length
