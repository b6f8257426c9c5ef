"""DG13 of the Vietnamese CCCD (tag 6D): the holder's personal data, read by field number.

Layout: ``6D`` { SEQUENCE { INTEGER version, OID, SET OF SEQUENCE { INTEGER fieldNo,
value … } } }. Values are PrintableString (numbers, dates) or UTF8String (Vietnamese
text); fields 13 (parents) and 14 (spouse) hold their names either nested in a SEQUENCE
or directly after the field number — both are read. Text comes out in Unicode NFC.
Fields this module does not know are kept in ``unknown`` (text, or the raw DER).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from asn1crypto import core

from ekyc.errors import MalformedData
from ekyc.icao import lds

_FILE = "DG13"
_TAG = 0x6D
_UTF8, _PRINTABLE, _IA5, _SEQUENCE = 12, 19, 22, 16
_STRING_TAGS = (_UTF8, _PRINTABLE, _IA5)
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError)
_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
_PRINTABLE_CHARS = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")

#: placeholder OID for encoding (ITU-T/ISO "example" arc); parsing keeps the card's own
EXAMPLE_OID = "2.999"

# field number → attribute, for the single-valued fields
_SIMPLE = {
    1: "id_number",
    2: "full_name",
    3: "date_of_birth",
    4: "sex",
    5: "nationality",
    6: "ethnicity",
    7: "religion",
    8: "place_of_origin",
    9: "place_of_residence",
    10: "identifying_features",
    11: "date_of_issue",
    12: "date_of_expiry",
    15: "old_id_number",  # sources disagree on 15/16; 16 stays in ``unknown``
}
_PARENTS, _SPOUSE = 13, 14
_PRINTABLE_FIELDS = {1, 3, 11, 12, 15}


class _Values(core.SequenceOf):
    _child_spec = core.Any


class _Fields(core.SetOf):
    _child_spec = _Values


class _Content(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("oid", core.ObjectIdentifier),
        ("fields", _Fields),
    ]


def parse_vn_date(text: str | None) -> dt.date | None:
    """A ``dd/mm/yyyy`` date, or None when absent, partial (``00/00/1990``) or not a date."""
    m = _DATE.fullmatch(text or "")
    if m is None:
        return None
    try:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        return None


@dataclass(frozen=True)
class Dg13:
    """The CCCD personal data; absent fields are None, dates stay as printed (dd/mm/yyyy)."""

    id_number: str | None = None
    full_name: str | None = None
    date_of_birth: str | None = None
    sex: str | None = None  # "Nam" / "Nữ"
    nationality: str | None = None
    ethnicity: str | None = None
    religion: str | None = None
    place_of_origin: str | None = None
    place_of_residence: str | None = None
    identifying_features: str | None = None
    date_of_issue: str | None = None
    date_of_expiry: str | None = None  # may be text such as "Không thời hạn"
    father_name: str | None = None
    mother_name: str | None = None
    spouse_name: str | None = None
    old_id_number: str | None = None
    unknown: dict[int, bytes | str] = field(default_factory=dict)
    version: int = 1
    oid: str = EXAMPLE_OID

    @property
    def birth_date(self) -> dt.date | None:
        return parse_vn_date(self.date_of_birth)

    @property
    def issue_date(self) -> dt.date | None:
        return parse_vn_date(self.date_of_issue)

    @property
    def expiry_date(self) -> dt.date | None:
        return parse_vn_date(self.date_of_expiry)

    @property
    def sex_code(self) -> str | None:
        """``"M"`` for Nam, ``"F"`` for Nữ (the MRZ letters), None otherwise."""
        sex = unicodedata.normalize("NFC", self.sex or "").strip().casefold()
        return {"nam": "M", "nữ": "F"}.get(sex)

    def encode(self) -> bytes:
        """The DG13 bytes (fields in number order)."""
        items: list[bytes] = []
        for number, name in _SIMPLE.items():
            value = getattr(self, name)
            if value is not None:
                items.append(_field(number, _text(number, value)))
        if self.father_name is not None or self.mother_name is not None:
            names = _text(0, self.father_name or "") + _text(0, self.mother_name or "")
            items.append(_field(_PARENTS, lds.wrap(0x30, names)))
        if self.spouse_name is not None:
            items.append(_field(_SPOUSE, lds.wrap(0x30, _text(0, self.spouse_name))))
        for number, raw in self.unknown.items():
            items.append(_field(number, _text(0, raw) if isinstance(raw, str) else raw))
        items.sort(key=lambda der: _number_of(der))
        content = (
            core.Integer(self.version).dump()
            + core.ObjectIdentifier(self.oid).dump()
            + lds.wrap(0x31, b"".join(items))
        )
        return lds.wrap(_TAG, lds.wrap(0x30, content))


def _text(number: int, value: str) -> bytes:
    value = unicodedata.normalize("NFC", value)
    printable = number in _PRINTABLE_FIELDS and _PRINTABLE_CHARS.fullmatch(value)
    return lds.wrap(_PRINTABLE if printable else _UTF8, value.encode("utf-8"))


def _field(number: int, values: bytes) -> bytes:
    return lds.wrap(0x30, core.Integer(number).dump() + values)


def _number_of(der: bytes) -> int:
    return int(_Values.load(der)[0].parse(core.Integer).native)


def parse_dg13(data: bytes) -> Dg13:
    """Parse the CCCD DG13 by field number; structure faults raise ``MalformedData``."""
    outer = lds.unwrap(_FILE, data, _TAG)
    base = outer.offset + outer.header_len
    try:
        content = _Content.load(outer.value, strict=True)
        version, oid = content["version"].native, content["oid"].dotted
        found: dict[int, list[core.Any]] = {}
        for item in content["fields"]:
            if len(item) == 0:
                raise MalformedData(_FILE, base, "a DG13 field has no number")
            number = item[0].parse(core.Integer).native
            if number in found:
                raise MalformedData(_FILE, base, f"field {number} appears twice")
            found[number] = list(item)[1:]
        return _build(found, version, oid, base)
    except _ASN1_ERRORS as e:
        raise MalformedData(_FILE, base, f"DG13 does not decode: {e}") from None


def _typed(value: core.Any) -> core.Asn1Value:
    """The element as its universal type (``Any`` children stay unparsed otherwise)."""
    return core.load(value.dump(), strict=True)


def _header(value: core.Any) -> tuple[int, int]:
    typed = _typed(value)
    return typed.class_, typed.tag


def _is_string(value: core.Any) -> bool:
    cls, tag = _header(value)
    return cls == 0 and tag in _STRING_TAGS


def _string(value: core.Any, number: int, base: int) -> str:
    if not _is_string(value):
        raise MalformedData(_FILE, base, f"field {number} is not a string")
    # PrintableString should be ASCII, but a UTF-8 reading costs nothing and loses nothing.
    return unicodedata.normalize("NFC", _typed(value).contents.decode("utf-8"))


def _names(values: list[core.Any], number: int, base: int) -> list[str]:
    if len(values) == 1 and _header(values[0]) == (0, _SEQUENCE):
        values = list(_Values.load(values[0].dump(), strict=True))
    return [_string(v, number, base) for v in values]


def _build(found: dict[int, list[core.Any]], version: int, oid: str, base: int) -> Dg13:
    kw: dict[str, object] = {}
    unknown: dict[int, bytes | str] = {}
    for number, values in found.items():
        if number in _SIMPLE:
            if len(values) != 1:
                raise MalformedData(_FILE, base, f"field {number} holds {len(values)} values")
            kw[_SIMPLE[number]] = _string(values[0], number, base)
        elif number == _PARENTS:
            names = _names(values, number, base) + ["", ""]
            kw["father_name"], kw["mother_name"] = names[0] or None, names[1] or None
        elif number == _SPOUSE:
            names = _names(values, number, base)
            kw["spouse_name"] = names[0] if names and names[0] else None
        elif len(values) == 1 and _is_string(values[0]):
            unknown[number] = _string(values[0], number, base)
        else:
            unknown[number] = b"".join(v.dump() for v in values)
    return Dg13(**kw, unknown=unknown, version=version, oid=oid)  # type: ignore[arg-type]
