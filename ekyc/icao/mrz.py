"""ICAO 9303-4/-5 machine readable zones: TD1 (3 × 30) and TD3 (2 × 44), parse and build.

Structure faults (characters outside ``A–Z 0–9 <``, wrong lengths, an impossible sex
code) raise ``MalformedData``; check-digit and date faults are reported in
``Mrz.checks`` and make ``Mrz.valid`` false, so a wrong MRZ never passes silently.

Vietnam (CCCD): the TD1 document number is the LAST nine digits of the 12-digit ID and
the optional data holds the whole ID, ``<<`` and the ID's check digit, e.g.
``IDVNM0901234562001090123456<<3`` for ID ``001090123456``.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from ekyc.errors import MalformedData, UnsupportedData
from readers.access_key import MrzKey, check_digit

_FILE = "MRZ"
_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_SHAPES = {(3, 30): "TD1", (2, 44): "TD3"}
_VN_OPTIONAL = re.compile(r"(\d{12})<<(.)")


@dataclass(frozen=True)
class Mrz:
    """A parsed MRZ; fields have their ``<`` fillers removed, names use spaces."""

    format: Literal["TD1", "TD3"]
    lines: tuple[str, ...]
    document_code: str
    issuing_state: str
    document_number: str
    date_of_birth: str  # YYMMDD, '<' where unknown
    sex: str  # 'M', 'F' or '' (unspecified)
    date_of_expiry: str  # YYMMDD
    nationality: str
    surname: str
    given_names: str
    optional_data: str  # TD1 line 1 after the document number; TD3 personal number
    optional_data_2: str  # TD1 line 2 only
    checks: dict[str, bool] = field(compare=False)
    id_number: str | None = None  # the full 12-digit CCCD number when the MRZ carries it

    @property
    def valid(self) -> bool:
        """True when every check digit (and every Vietnamese consistency rule) holds."""
        return all(self.checks.values())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def encode(self) -> bytes:
        """The MRZ as DG1 stores it: the lines concatenated, ASCII."""
        return "".join(self.lines).encode("ascii")

    def access_key(self) -> MrzKey:
        """The BAC/PACE key from this MRZ (document number, birth and expiry dates)."""
        try:
            return MrzKey(self.document_number, self.date_of_birth, self.date_of_expiry)
        except ValueError as e:
            raise MalformedData(_FILE, 0, f"no access key: {e}") from None

    def birth_date(self, today: dt.date | None = None) -> dt.date | None:
        """Date of birth, century chosen so it is not in the future; None when not a full date."""
        today = today or dt.date.today()
        d = _yymmdd(self.date_of_birth, 2000)
        if d is not None and d > today:
            d = _yymmdd(self.date_of_birth, 1900)
        return d

    def expiry_date(self, today: dt.date | None = None) -> dt.date | None:
        """Date of expiry, in the century that puts it within 50 years from ``today``."""
        today = today or dt.date.today()
        d = _yymmdd(self.date_of_expiry, 2000)
        if d is not None and d.year > today.year + 50:
            d = _yymmdd(self.date_of_expiry, 1900)
        return d


def _yymmdd(s: str, century: int) -> dt.date | None:
    if len(s) != 6 or not s.isdigit():
        return None
    try:
        return dt.date(century + int(s[:2]), int(s[2:4]), int(s[4:]))
    except ValueError:
        return None


def _date_ok(s: str, allow_unknown: bool) -> bool:
    """A YYMMDD that exists in some century; unknown parts may be '<' for birth dates."""
    if allow_unknown and "<" in s:
        return len(s) == 6 and all(c.isdigit() or c == "<" for c in s) and s[:2].isdigit()
    # 2000 is a leap year, so 29 February passes as it should in either century.
    return _yymmdd(s, 2000) is not None


def _check(data: str, digit: str) -> bool:
    return digit.isdigit() and check_digit(data) == digit


def _clean(s: str) -> str:
    return s.replace("<", " ").strip()


def _split_name(s: str) -> tuple[str, str]:
    surname, _, given = s.partition("<<")
    return " ".join(_clean(surname).split()), " ".join(_clean(given).split())


def _lines(mrz: str | bytes) -> list[str]:
    if isinstance(mrz, bytes):
        try:
            mrz = mrz.decode("ascii")
        except UnicodeDecodeError as e:
            raise MalformedData(_FILE, e.start, "MRZ is not ASCII") from None
    text = mrz.strip()
    if "\n" in text:
        return [line.strip() for line in text.splitlines() if line.strip()]
    if len(text) == 90:
        return [text[0:30], text[30:60], text[60:90]]
    if len(text) == 88:
        return [text[0:44], text[44:88]]
    if len(text) == 72:
        raise UnsupportedData("TD2 MRZs (2 × 36) are not supported")
    return [text]


def parse_mrz(mrz: str | bytes) -> Mrz:
    """Parse a TD1 or TD3 MRZ (lines separated by newlines, or concatenated as in DG1)."""
    lines = _lines(mrz)
    shape = _SHAPES.get((len(lines), len(lines[0]) if lines else 0))
    if shape is None or any(len(line) != len(lines[0]) for line in lines):
        if [len(line) for line in lines] == [36, 36]:
            raise UnsupportedData("TD2 MRZs (2 × 36) are not supported")
        raise MalformedData(_FILE, 0, f"line lengths {[len(x) for x in lines]} are not TD1 or TD3")
    joined = "".join(lines)
    for i, c in enumerate(joined):
        if c not in _ALPHABET:
            raise MalformedData(_FILE, i, f"character {c!r} is not allowed in an MRZ")
    return _parse_td1(lines) if shape == "TD1" else _parse_td3(lines)


def _sex(c: str, offset: int) -> str:
    if c not in "MF<":
        raise MalformedData(_FILE, offset, f"sex {c!r} is not M, F or <")
    return "" if c == "<" else c


def _parse_td1(lines: list[str]) -> Mrz:
    l1, l2, l3 = lines
    doc, doc_check, optional = l1[5:14], l1[14], l1[15:30]
    if doc_check == "<":
        # Long document number (9303-5 §4.2.2): the rest and its check digit open the
        # optional data, ended by a filler.
        ext, _, optional = optional.partition("<")
        doc, doc_check = doc + ext[:-1], ext[-1:] or "<"
    checks = {
        # 9303-5 §4.2.2: a TD1 document code opens with A, C or I (no check digit covers it)
        "document_code": l1[0] in "ACI",
        "document_number": _check(doc, doc_check),
        "date_of_birth": _check(l2[0:6], l2[6]),
        "date_of_expiry": _check(l2[8:14], l2[14]),
        "composite": _check(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29], l2[29]),
        "date_of_birth_format": _date_ok(l2[0:6], allow_unknown=True),
        "date_of_expiry_format": _date_ok(l2[8:14], allow_unknown=False),
    }
    surname, given = _split_name(l3)
    id_number = None
    vn = _VN_OPTIONAL.fullmatch(l1[15:30])
    if l1[2:5] == "VNM" and vn is not None:
        id_number = vn.group(1)
        checks["id_number"] = _check(id_number, vn.group(2))
        checks["id_matches_document_number"] = doc.rstrip("<") == id_number[-9:]
    return Mrz(
        format="TD1",
        lines=tuple(lines),
        document_code=_clean(l1[0:2]),
        issuing_state=_clean(l1[2:5]),
        document_number=doc.rstrip("<"),
        date_of_birth=l2[0:6],
        sex=_sex(l2[7], 37),
        date_of_expiry=l2[8:14],
        nationality=_clean(l2[15:18]),
        surname=surname,
        given_names=given,
        optional_data=_clean(optional),
        optional_data_2=_clean(l2[18:29]),
        checks=checks,
        id_number=id_number,
    )


def _parse_td3(lines: list[str]) -> Mrz:
    l1, l2 = lines
    personal, personal_check = l2[28:42], l2[42]
    empty_personal = set(personal) == {"<"} and personal_check in "<0"
    checks = {
        "document_code": l1[0] == "P",  # 9303-4 §4.2.2: passports only
        "document_number": _check(l2[0:9], l2[9]),
        "date_of_birth": _check(l2[13:19], l2[19]),
        "date_of_expiry": _check(l2[21:27], l2[27]),
        "optional_data": empty_personal or _check(personal, personal_check),
        "composite": _check(l2[0:10] + l2[13:20] + l2[21:43], l2[43]),
        "date_of_birth_format": _date_ok(l2[13:19], allow_unknown=True),
        "date_of_expiry_format": _date_ok(l2[21:27], allow_unknown=False),
    }
    surname, given = _split_name(l1[5:44])
    return Mrz(
        format="TD3",
        lines=tuple(lines),
        document_code=_clean(l1[0:2]),
        issuing_state=_clean(l1[2:5]),
        document_number=l2[0:9].rstrip("<"),
        date_of_birth=l2[13:19],
        sex=_sex(l2[20], 44 + 20),
        date_of_expiry=l2[21:27],
        nationality=_clean(l2[10:13]),
        surname=surname,
        given_names=given,
        optional_data=_clean(personal),
        optional_data_2="",
        checks=checks,
    )


# --- building -------------------------------------------------------------------------------


def to_mrz_chars(text: str) -> str:
    """Transliterate free text to MRZ characters (Vietnamese diacritics dropped, Đ → D)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    bare = bare.upper().replace("'", "")
    return "".join(c if c in _ALPHABET else "<" for c in bare)


def name_field(surname: str, given_names: str, width: int) -> str:
    """The MRZ name field ``SURNAME<<GIVEN<NAMES``, truncated and padded to ``width``."""
    parts = ["<".join(to_mrz_chars(surname).replace("<", " ").split())]
    given = "<".join(to_mrz_chars(given_names).replace("<", " ").split())
    if given:
        parts.append(given)
    return "<<".join(parts)[:width].ljust(width, "<")


def _pad(value: str, width: int, what: str) -> str:
    value = value.replace(" ", "<")
    if len(value) > width:
        raise ValueError(f"{what} {value!r} is longer than {width} characters")
    return value.ljust(width, "<")


def _digit(value: str) -> str:
    return check_digit(value)


def encode_td1(
    *,
    document_number: str,
    date_of_birth: str,
    date_of_expiry: str,
    surname: str,
    given_names: str = "",
    sex: str = "<",
    issuing_state: str = "VNM",
    nationality: str = "VNM",
    document_code: str = "ID",
    optional_data: str = "",
    optional_data_2: str = "",
) -> Mrz:
    """Build a TD1 MRZ with correct check digits (long document numbers per 9303-5)."""
    doc = document_number
    if len(doc) > 9:
        head = doc[:9] + "<" + doc[9:] + _digit(doc) + "<" + optional_data
        line1_tail = _pad(head, 25, "document number and optional data")
    else:
        doc9 = _pad(doc, 9, "document number")
        line1_tail = doc9 + _digit(doc9) + _pad(optional_data, 15, "optional data")
    l1 = _pad(document_code, 2, "document code") + _pad(issuing_state, 3, "state") + line1_tail
    l2 = (
        date_of_birth
        + _digit(date_of_birth)
        + (sex or "<")
        + date_of_expiry
        + _digit(date_of_expiry)
        + _pad(nationality, 3, "nationality")
        + _pad(optional_data_2, 11, "optional data 2")
    )
    l2 += _digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    return parse_mrz("\n".join([l1, l2, name_field(surname, given_names, 30)]))


def encode_td3(
    *,
    document_number: str,
    date_of_birth: str,
    date_of_expiry: str,
    surname: str,
    given_names: str = "",
    sex: str = "<",
    issuing_state: str = "VNM",
    nationality: str = "VNM",
    document_code: str = "P",
    personal_number: str = "",
) -> Mrz:
    """Build a TD3 (passport) MRZ with correct check digits."""
    l1 = (
        _pad(document_code, 2, "document code")
        + _pad(issuing_state, 3, "state")
        + name_field(surname, given_names, 39)
    )
    doc9 = _pad(document_number, 9, "document number")
    personal = _pad(personal_number, 14, "personal number")
    l2 = (
        doc9
        + _digit(doc9)
        + _pad(nationality, 3, "nationality")
        + date_of_birth
        + _digit(date_of_birth)
        + (sex or "<")
        + date_of_expiry
        + _digit(date_of_expiry)
        + personal
        + _digit(personal)
    )
    l2 += _digit(l2[0:10] + l2[13:20] + l2[21:43])
    return parse_mrz("\n".join([l1, l2]))


def encode_vn_td1(
    *,
    id_number: str,
    date_of_birth: str,
    date_of_expiry: str,
    surname: str,
    given_names: str = "",
    sex: str = "<",
) -> Mrz:
    """Build a CCCD MRZ: document number = last 9 digits, optional data = ID ``<<`` check."""
    if len(id_number) != 12 or not id_number.isdigit():
        raise ValueError("a CCCD number is 12 digits")
    return encode_td1(
        document_number=id_number[-9:],
        date_of_birth=date_of_birth,
        date_of_expiry=date_of_expiry,
        surname=surname,
        given_names=given_names,
        sex=sex,
        optional_data=id_number + "<<" + _digit(id_number),
    )
