"""Just enough of the protobuf wire format to read and rewrite ONNX model files.

The ``onnx`` package is not a dependency; the graph fixes only need to drop or rewrite a few
fields of ModelProto/GraphProto/NodeProto/TensorProto, which the wire format allows without
a schema: unknown fields are carried through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

VARINT, I64, LEN, I32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""

    code = "malformed_model"


@dataclass
class Field:
    """One field occurrence: number, wire type and value (int for scalars, bytes otherwise)."""

    num: int
    wire: int
    value: int | bytes

    @property
    def data(self) -> bytes:
        """The payload of a length-delimited field."""
        if not isinstance(self.value, bytes):
            raise WireError(f"field {self.num} is not length-delimited")
        return self.value


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise WireError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _put_varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64 values are ten-byte varints
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def parse(buf: bytes) -> list[Field]:
    """Split a serialized message into its field occurrences, in order."""
    fields: list[Field] = []
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        num, wire = tag >> 3, tag & 7
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(buf, pos)
        elif wire == LEN:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise WireError(f"field {num} runs past the end")
            value, pos = buf[pos : pos + size], pos + size
        elif wire in (I64, I32):
            width = 8 if wire == I64 else 4
            if pos + width > len(buf):
                raise WireError(f"field {num} runs past the end")
            value, pos = int.from_bytes(buf[pos : pos + width], "little"), pos + width
        else:
            raise WireError(f"unsupported wire type {wire}")
        fields.append(Field(num, wire, value))
    return fields


def serialize(fields: list[Field]) -> bytes:
    """Join field occurrences back into a message."""
    out = bytearray()
    for f in fields:
        out += _put_varint(f.num << 3 | f.wire)
        if f.wire == VARINT:
            out += _put_varint(int(f.value))
        elif f.wire == LEN:
            out += _put_varint(len(f.data)) + f.data
        else:
            out += int(f.value).to_bytes(8 if f.wire == I64 else 4, "little")
    return bytes(out)


def text(fields: list[Field], num: int) -> str:
    """The first string field ``num`` (empty when absent)."""
    return next((f.data.decode() for f in fields if f.num == num), "")


def texts(fields: list[Field], num: int) -> list[str]:
    """Every string field ``num``, in order."""
    return [f.data.decode() for f in fields if f.num == num]


def ints(fields: list[Field], num: int) -> list[int]:
    """Every int64 field ``num``, packed or not, as signed values."""
    out: list[int] = []
    for f in fields:
        if f.num != num:
            continue
        if f.wire == VARINT:
            out.append(int(f.value))
        else:
            pos = 0
            while pos < len(f.data):
                v, pos = _varint(f.data, pos)
                out.append(v)
    return [v - (1 << 64) if v >= 1 << 63 else v for v in out]


def string_field(num: int, value: str) -> Field:
    """A string field."""
    return Field(num, LEN, value.encode())


def int_field(num: int, value: int) -> Field:
    """A varint field."""
    return Field(num, VARINT, value)


def message_field(num: int, fields: list[Field]) -> Field:
    """A nested message field."""
    return Field(num, LEN, serialize(fields))
