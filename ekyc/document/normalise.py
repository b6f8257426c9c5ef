"""Normal forms for comparing one field read from different sources (chip, QR, MRZ, print).

Text: Unicode NFC, case folded, runs of whitespace collapsed, spaces around punctuation
unified. Dates: ``dd/mm/yyyy``, ``dd-mm-yyyy``, ``dd.mm.yyyy``, ``ddMMyyyy`` and the MRZ's
``YYMMDD`` (century chosen from the field's meaning and ``today``) all become ISO dates.
Sex: ``Nam``/``M`` → ``M``, ``Nữ``/``F`` → ``F``. Names compare with the MRZ through its
transliteration (diacritics dropped, Đ → D, upper case, ``<`` for anything else).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Literal

from ekyc.icao.mrz import to_mrz_chars

DateKind = Literal["birth", "issue", "expiry"]

_SEPARATED = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_PUNCT_SPACES = re.compile(r"\s*([,;:.\-])\s*")
_NO_EXPIRY = {"không thời hạn", "khong thoi han"}
_SEX = {"nam": "M", "m": "M", "male": "M", "nữ": "F", "nu": "F", "f": "F", "female": "F"}
_NATIONALITY = {"việt nam": "VNM", "viet nam": "VNM", "vnm": "VNM", "vietnam": "VNM"}


def text(value: str) -> str:
    """NFC, case-folded, whitespace collapsed, punctuation spacing unified."""
    s = unicodedata.normalize("NFC", value).casefold()
    s = " ".join(s.split())
    s = _PUNCT_SPACES.sub(lambda m: m.group(1) + " " if m.group(1) == "," else m.group(1), s)
    return unicodedata.normalize("NFC", s.strip(" ,;:."))


def digits(value: str) -> str:
    """The digits of an identifier (spaces and separators dropped)."""
    return "".join(c for c in value if c.isdigit())


def _valid(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _yymmdd(s: str, kind: DateKind, today: dt.date) -> dt.date | None:
    yy, mm, dd = int(s[:2]), int(s[2:4]), int(s[4:])
    if kind == "expiry":
        d = _valid(2000 + yy, mm, dd)
        if d is not None and d.year > today.year + 50:
            d = _valid(1900 + yy, mm, dd)
        return d
    d = _valid(2000 + yy, mm, dd)
    if d is not None and d > today:
        d = _valid(1900 + yy, mm, dd)
    return d


def date(value: str, kind: DateKind = "birth", today: dt.date | None = None) -> str | None:
    """The ISO form of a date in any accepted layout; ``"none"`` for no expiry; else None."""
    today = today or dt.date.today()
    s = unicodedata.normalize("NFC", value).strip()
    if text(s) in _NO_EXPIRY:
        return "none"
    if m := _SEPARATED.fullmatch(s):
        d = _valid(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    elif m := _ISO.fullmatch(s):
        d = _valid(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif len(s) == 8 and s.isdigit():
        d = _valid(int(s[4:]), int(s[2:4]), int(s[:2]))
    elif len(s) == 6 and s.isdigit():
        d = _yymmdd(s, kind, today)
    else:
        d = None
    return d.isoformat() if d is not None else None


def sex(value: str) -> str | None:
    """``M`` or ``F`` for Nam/Nữ/M/F (any case, NFC or not); None when unknown."""
    return _SEX.get(text(value))


def nationality(value: str) -> str:
    """The ICAO code for Việt Nam spellings; other values as normalised text."""
    t = text(value)
    return _NATIONALITY.get(t, t)


def mrz_name(value: str) -> str:
    """A name as the MRZ would spell it, words separated by single spaces."""
    return " ".join(to_mrz_chars(value).replace("<", " ").split())
