"""Access keys of an eMRTD chip: the MRZ key (BAC, PACE) and the CAN (PACE).

ICAO 9303-3 §4.9 check digits live here because both the card side (deriving
keys) and the domain (validating MRZs) need exactly the same rule.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_WEIGHTS = (7, 3, 1)


def _char_value(c: str) -> int:
    if c.isdigit():
        return int(c)
    if "A" <= c <= "Z":
        return ord(c) - ord("A") + 10
    if c == "<":
        return 0
    raise ValueError(f"character {c!r} is not allowed in an MRZ")


def check_digit(field: str) -> str:
    """ICAO 9303-3 check digit (weights 7, 3, 1; '<' = 0, A = 10 … Z = 35)."""
    return str(sum(_char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


@dataclass(frozen=True)
class MrzKey:
    """The MRZ-derived access key: document number, birth and expiry dates (YYMMDD)."""

    document_number: str
    date_of_birth: str
    date_of_expiry: str

    def __post_init__(self) -> None:
        for name in ("date_of_birth", "date_of_expiry"):
            v = getattr(self, name)
            if len(v) != 6 or not v.isdigit():
                raise ValueError(f"{name} must be YYMMDD, got {v!r}")
        doc = self.document_number
        if not doc or len(doc) > 9 or any(_char_value(c) < 0 for c in doc):
            raise ValueError(f"document number must be 1–9 MRZ characters, got {doc!r}")

    @property
    def information(self) -> str:
        """The MRZ information string that seeds BAC and the PACE MRZ password."""
        doc = self.document_number.ljust(9, "<")
        return (
            doc
            + check_digit(doc)
            + self.date_of_birth
            + check_digit(self.date_of_birth)
            + self.date_of_expiry
            + check_digit(self.date_of_expiry)
        )

    @property
    def pace_password(self) -> bytes:
        return hashlib.sha1(self.information.encode("ascii")).digest()

    @property
    def pace_password_ref(self) -> int:
        return 0x01

    @property
    def label(self) -> str:
        return "MRZ"


@dataclass(frozen=True)
class Can:
    """Card Access Number (for a CCCD: the last 6 digits of the 12-digit ID number)."""

    number: str

    def __post_init__(self) -> None:
        if not self.number.isdigit() or not 1 <= len(self.number) <= 12:
            raise ValueError("a CAN is a string of digits")

    @property
    def pace_password(self) -> bytes:
        return self.number.encode("ascii")

    @property
    def pace_password_ref(self) -> int:
        return 0x02

    @property
    def label(self) -> str:
        return "CAN"


AccessKey = MrzKey | Can
