"""The QR code printed on the CCCD (front of the 2021 card, back of the 2024 card).

Payload: ``ID|old ID|full name|DOB ddMMyyyy|sex|address|issue date ddMMyyyy`` — seven
``|``-separated fields; newer cards may carry an eighth (taken as the expiry date when it
is a ``ddMMyyyy`` date, kept as text otherwise). The old ID may be empty. Dates come out
as ``dd/mm/yyyy`` like DG13 so the two compare directly; text comes out in Unicode NFC.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from ekyc.errors import EkycError

_ID = re.compile(r"\d{12}")
_OLD_ID = re.compile(r"\d{9}|\d{12}")
_DDMMYYYY = re.compile(r"(\d{2})(\d{2})(\d{4})")
_SLASHED = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


class MalformedQr(EkycError):
    """The QR text is not a CCCD payload; ``reason`` is a stable sub-code, ``field`` the culprit."""

    code = "malformed_qr"

    def __init__(self, reason: str, field: str, detail: str) -> None:
        self.reason = reason  # field_count | bad_id | bad_old_id | bad_date | empty_field
        self.field = field
        super().__init__(f"QR payload: {field}: {detail} ({reason})")


@dataclass(frozen=True)
class QrPayload:
    """A parsed CCCD QR payload; dates are ``dd/mm/yyyy`` strings, absent optionals None."""

    id_number: str
    old_id_number: str | None
    full_name: str
    date_of_birth: str
    sex: str
    place_of_residence: str
    date_of_issue: str
    date_of_expiry: str | None = None
    extra: str | None = None  # an eighth field that is not a date, kept verbatim

    @property
    def birth_date(self) -> dt.date:
        return _as_date(self.date_of_birth)

    @property
    def issue_date(self) -> dt.date:
        return _as_date(self.date_of_issue)

    def encode(self) -> str:
        """The payload text as the card's QR holds it (7 fields, 8 with an expiry or extra)."""
        fields = [
            self.id_number,
            self.old_id_number or "",
            self.full_name,
            _compact(self.date_of_birth),
            self.sex,
            self.place_of_residence,
            _compact(self.date_of_issue),
        ]
        if self.date_of_expiry is not None:
            fields.append(_compact(self.date_of_expiry))
        elif self.extra is not None:
            fields.append(self.extra)
        return "|".join(fields)


def _as_date(slashed: str) -> dt.date:
    d, m, y = slashed.split("/")
    return dt.date(int(y), int(m), int(d))


def _compact(slashed: str) -> str:
    m = _SLASHED.fullmatch(slashed)
    if m is None:
        raise ValueError(f"date {slashed!r} is not dd/mm/yyyy")
    return m.group(1) + m.group(2) + m.group(3)


def _date(text: str, field: str) -> str:
    m = _DDMMYYYY.fullmatch(text)
    if m is None:
        raise MalformedQr("bad_date", field, f"{text!r} is not ddMMyyyy")
    try:
        dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    except ValueError:
        raise MalformedQr("bad_date", field, f"{text!r} is not a calendar date") from None
    return f"{m.group(1)}/{m.group(2)}/{m.group(3)}"


def _text(text: str, field: str) -> str:
    value = " ".join(unicodedata.normalize("NFC", text).split())
    if not value:
        raise MalformedQr("empty_field", field, "is empty")
    return value


def parse_qr_payload(text: str) -> QrPayload:
    """Parse the CCCD QR text (7 or 8 ``|``-separated fields) into a ``QrPayload``."""
    parts = [p.strip() for p in text.strip().strip("\ufeff").split("|")]
    if len(parts) not in (7, 8):
        raise MalformedQr("field_count", "payload", f"{len(parts)} fields, expected 7 or 8")
    id_number, old_id, name, dob, sex, address, issued = parts[:7]
    if _ID.fullmatch(id_number) is None:
        raise MalformedQr("bad_id", "id_number", f"{id_number!r} is not 12 digits")
    if old_id and _OLD_ID.fullmatch(old_id) is None:
        raise MalformedQr("bad_old_id", "old_id_number", f"{old_id!r} is not 9 or 12 digits")
    expiry = extra = None
    if len(parts) == 8 and parts[7]:
        if _DDMMYYYY.fullmatch(parts[7]):
            expiry = _date(parts[7], "date_of_expiry")
        else:
            extra = unicodedata.normalize("NFC", parts[7])
    return QrPayload(
        id_number=id_number,
        old_id_number=old_id or None,
        full_name=_text(name, "full_name"),
        date_of_birth=_date(dob, "date_of_birth"),
        sex=_text(sex, "sex"),
        place_of_residence=_text(address, "place_of_residence"),
        date_of_issue=_date(issued, "date_of_issue"),
        date_of_expiry=expiry,
        extra=extra,
    )
