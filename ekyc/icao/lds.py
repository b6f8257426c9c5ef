"""ICAO 9303-10 LDS file registry and the TLV helpers every file parser shares.

One table names each elementary file with its data-group number, LDS tag, short file
identifier and file identifier; parsers use :func:`unwrap` and :func:`children` so that
every BER-TLV fault surfaces as ``MalformedData`` naming the file and the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.errors import MalformedData, UnsupportedData
from readers import tlv
from readers.errors import MalformedTLV


@dataclass(frozen=True)
class LdsFile:
    """One elementary file of the LDS: ``dg`` and ``tag`` are ``None`` where not applicable."""

    name: str
    dg: int | None
    tag: int | None
    sfi: int
    fid: int


# DG1 … DG16 in order (9303-10 table 34)
_DG_TAGS = bytes.fromhex("61 75 63 76 65 66 67 68 69 6A 6B 6C 6D 6E 6F 70")

FILES: tuple[LdsFile, ...] = (
    LdsFile("EF.COM", None, 0x60, 0x1E, 0x011E),
    *(LdsFile(f"DG{n}", n, tag, n, 0x0100 + n) for n, tag in enumerate(_DG_TAGS, start=1)),
    LdsFile("EF.SOD", None, 0x77, 0x1D, 0x011D),
    LdsFile("EF.CardAccess", None, None, 0x1C, 0x011C),
)

#: the most bytes each file may hold where it comes from outside (an upload, a stored read):
#: image data groups (DG2 face, DG3 fingers, DG4 irises, DG5 displayed portrait, DG7
#: signature) up to 200 KiB, every other file 32 KiB
MAX_FILE_BYTES: dict[str, int] = {
    f.name: 200 * 1024 if f.dg in (2, 3, 4, 5, 7) else 32 * 1024 for f in FILES
}

_BY_NAME = {f.name.upper(): f for f in FILES}
_BY_DG = {f.dg: f for f in FILES if f.dg is not None}
_BY_TAG = {f.tag: f for f in FILES if f.tag is not None}
_BY_FID = {f.fid: f for f in FILES}


def by_name(name: str) -> LdsFile:
    """The file called ``name`` (``"DG2"``, ``"EF.SOD"`` or ``"SOD"``; case-insensitive)."""
    key = name.upper()
    found = _BY_NAME.get(key) or _BY_NAME.get("EF." + key)
    if found is None:
        raise UnsupportedData(f"unknown LDS file name {name!r}")
    return found


def by_dg(number: int) -> LdsFile:
    """The data group with this number (1–16)."""
    if number not in _BY_DG:
        raise UnsupportedData(f"unknown data group number {number}")
    return _BY_DG[number]


def by_tag(tag: int) -> LdsFile:
    """The file whose outer LDS template carries ``tag`` (``0x75`` → DG2)."""
    if tag not in _BY_TAG:
        raise UnsupportedData(f"unknown LDS tag {tag:X}")
    return _BY_TAG[tag]


def by_fid(fid: int) -> LdsFile:
    """The file with this two-byte file identifier (``0x0102`` → DG2)."""
    if fid not in _BY_FID:
        raise UnsupportedData(f"unknown LDS file identifier {fid:04X}")
    return _BY_FID[fid]


def unwrap(file: str, data: bytes, tag: int) -> tlv.TLV:
    """Parse ``data`` as exactly one TLV with ``tag`` (the file's outer template)."""
    try:
        return tlv.expect(bytes(data), tag)
    except MalformedTLV as e:
        raise MalformedData(file, e.offset, e.reason) from None


def children(file: str, parent: tlv.TLV) -> list[tlv.TLV]:
    """The TLVs inside ``parent``, with faults reported against ``file``."""
    try:
        return parent.children()
    except MalformedTLV as e:
        raise MalformedData(file, e.offset, e.reason) from None


def require(file: str, items: list[tlv.TLV], tag: int, where: int) -> tlv.TLV:
    """The first TLV with ``tag`` among ``items``; ``where`` is the parent's offset."""
    found = tlv.find(items, tag)
    if found is None:
        raise MalformedData(file, where, f"missing tag {tag:X}")
    return found


def wrap(tag: int, value: bytes) -> bytes:
    """Encode one TLV (shorthand for the file encoders)."""
    return tlv.encode(tag, value)
