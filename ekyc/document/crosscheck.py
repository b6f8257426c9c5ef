"""Cross-source report: each field as read from chip DG13, QR, MRZ and printed text, compared.

Every pair of sources holding a field is compared in the field's normal form (see
``normalise``); a pair involving the MRZ compares through the MRZ transliteration and
accepts the MRZ's truncated name and its 9-digit document number as a suffix of the ID.
A value that cannot be normalised (a printed date OCR garbled) disagrees with everything.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Literal

from ekyc.cccd.dg13 import Dg13
from ekyc.cccd.qr import QrPayload
from ekyc.document import normalise
from ekyc.icao.mrz import Mrz

Source = Literal["dg13", "qr", "mrz", "printed"]
Status = Literal["agree", "disagree", "single", "absent"]
SOURCES: tuple[Source, ...] = ("dg13", "qr", "mrz", "printed")

# field → kind of comparison; printed fields not listed compare as text
_KINDS: dict[str, str] = {
    "id_number": "id",
    "old_id_number": "id",
    "full_name": "name",
    "date_of_birth": "birth",
    "sex": "sex",
    "nationality": "nationality",
    "ethnicity": "text",
    "religion": "text",
    "place_of_origin": "text",
    "place_of_residence": "text",
    "identifying_features": "text",
    "date_of_issue": "issue",
    "date_of_expiry": "expiry",
    "father_name": "name",
    "mother_name": "name",
    "spouse_name": "name",
}
_QR_FIELDS = (
    "id_number",
    "old_id_number",
    "full_name",
    "date_of_birth",
    "sex",
    "place_of_residence",
    "date_of_issue",
    "date_of_expiry",
)


@dataclass(frozen=True)
class Disagreement:
    """Two sources whose normalised values differ, with the values exactly as read."""

    source_a: Source
    value_a: str
    source_b: Source
    value_b: str


@dataclass(frozen=True)
class FieldCheck:
    """One field across sources: raw values, normal forms, and the verdict."""

    field: str
    values: dict[Source, str]
    normalised: dict[Source, str | None]
    status: Status
    disagreements: list[Disagreement] = dc_field(default_factory=list)

    @property
    def sources(self) -> list[Source]:
        return list(self.values)


@dataclass(frozen=True)
class CrossSourceReport:
    """Per-field comparison; ``consistent`` when no field has a disagreement."""

    fields: dict[str, FieldCheck]
    mrz_valid: bool | None  # None when no MRZ was given

    @property
    def consistent(self) -> bool:
        return all(f.status != "disagree" for f in self.fields.values())

    @property
    def disagreements(self) -> dict[str, list[Disagreement]]:
        return {k: f.disagreements for k, f in self.fields.items() if f.disagreements}


def _mrz_values(mrz: Mrz) -> dict[str, str]:
    values = {
        "id_number": mrz.id_number or mrz.document_number,
        "full_name": f"{mrz.surname} {mrz.given_names}".strip(),
        "date_of_birth": mrz.date_of_birth,
        "nationality": mrz.nationality,
        "date_of_expiry": mrz.date_of_expiry,
    }
    if mrz.sex:
        values["sex"] = mrz.sex
    return values


def _dg13_values(dg13: Dg13) -> dict[str, str]:
    return {k: v for k in _KINDS if isinstance(v := getattr(dg13, k, None), str) and v.strip()}


def _qr_values(qr: QrPayload) -> dict[str, str]:
    return {k: v for k in _QR_FIELDS if (v := getattr(qr, k)) is not None}


def _normaliser(kind: str, today: dt.date) -> Callable[[str], str | None]:
    if kind == "id":
        return lambda v: normalise.digits(v) or None
    if kind in ("birth", "issue", "expiry"):
        return lambda v: normalise.date(v, kind, today)  # type: ignore[arg-type]
    if kind == "sex":
        return normalise.sex
    if kind == "nationality":
        return normalise.nationality
    return lambda v: normalise.text(v) or None


def _mrz_truncated(mrz: Mrz | None) -> bool:
    return mrz is not None and not mrz.lines[-1].endswith("<")


def _pair_agrees(
    kind: str, a: tuple[Source, str, str | None], b: tuple[Source, str, str | None], trunc: bool
) -> bool:
    (sa, raw_a, na), (sb, raw_b, nb) = a, b
    if na is None or nb is None:
        return False
    if "mrz" not in (sa, sb):
        return na == nb
    mrz_side, other = (na, nb) if sa == "mrz" else (nb, na)
    if kind == "id":
        return other == mrz_side or (len(mrz_side) == 9 and other.endswith(mrz_side))
    if kind == "name":
        other_raw = raw_b if sa == "mrz" else raw_a
        spelled = normalise.mrz_name(other_raw)
        mrz_name = normalise.mrz_name(mrz_side)
        return spelled == mrz_name or (trunc and spelled.startswith(mrz_name))
    return na == nb


def cross_check(
    *,
    dg13: Dg13 | None = None,
    qr: QrPayload | None = None,
    mrz: Mrz | None = None,
    printed: Mapping[str, str] | None = None,
    today: dt.date | None = None,
) -> CrossSourceReport:
    """Compare every field over the sources given and report agreement or the exact difference."""
    today = today or dt.date.today()
    by_source: dict[Source, dict[str, str]] = {
        "dg13": _dg13_values(dg13) if dg13 is not None else {},
        "qr": _qr_values(qr) if qr is not None else {},
        "mrz": _mrz_values(mrz) if mrz is not None else {},
        "printed": {k: v for k, v in (printed or {}).items() if v and v.strip()},
    }
    names = list(_KINDS) + sorted(set(by_source["printed"]) - set(_KINDS))
    trunc = _mrz_truncated(mrz)
    report: dict[str, FieldCheck] = {}
    for name in names:
        kind = _KINDS.get(name, "text")
        norm = _normaliser(kind, today)
        values = {s: by_source[s][name] for s in SOURCES if name in by_source[s]}
        normalised = {s: norm(v) for s, v in values.items()}
        entries = [(s, values[s], normalised[s]) for s in values]
        diffs = [
            Disagreement(a[0], a[1], b[0], b[1])
            for a, b in itertools.combinations(entries, 2)
            if not _pair_agrees(kind, a, b, trunc)
        ]
        status: Status
        if not values:
            status = "absent"
        elif diffs:
            status = "disagree"
        elif len(values) == 1:
            status = "single"
        else:
            status = "agree"
        report[name] = FieldCheck(name, values, normalised, status, diffs)
    return CrossSourceReport(report, mrz.valid if mrz is not None else None)
