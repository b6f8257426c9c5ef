"""Server-side verification of a CCCD chip read: parse every file, run Passive
Authentication against our own trust store, verify Active Authentication over
the nonce *we* issued, and cross-check the MRZ against DG13.

Input is only raw file bytes (from a kiosk, a phone, the reader bridge or files stored
by an earlier read); nothing a client concluded is trusted. Any data group 1–16 may be
given (a passport's DG11/DG12, a CCCD's DG3/DG4 …): each is hash-checked against the
SOD, parsed where a parser exists and otherwise reported as present, not parsed.

Active Authentication: a chip offers it when DG15 is supplied or the SOD lists DG15.
Without a signature over a nonce (an offline re-check, a request that sent none) AA is
``not_performed``; ``require_aa`` (the default, and what every live flow uses) makes
that fail the verification, an offline re-check may pass ``require_aa=False``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from PIL import Image

from ekyc.cccd.dg13 import Dg13, parse_dg13
from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao.active_auth import ActiveAuthResult, aa_not_performed, verify_active_auth
from ekyc.icao.dg1 import parse_dg1
from ekyc.icao.dg2 import Dg2, parse_dg2
from ekyc.icao.dg14 import parse_dg14
from ekyc.icao.dg15 import Dg15, parse_dg15
from ekyc.icao.mrz import Mrz
from ekyc.icao.passive_auth import PassiveAuthResult, Verdict, passive_authenticate
from ekyc.icao.trust_store import TrustStore

#: the data groups this service parses; every other DG (1–16) is only hash-checked
PARSERS: dict[int, Callable[[bytes], Any]] = {
    1: parse_dg1,
    2: parse_dg2,
    13: parse_dg13,
    14: parse_dg14,
    15: parse_dg15,
}
NOT_PARSED = "present, not parsed"
_AA_ALGORITHMS = {"rsa": "rsa-iso9796-2", "ec": "ecdsa"}  # DG15 key → ActiveAuthResult name


class ChipVerdict(StrEnum):
    VALID = "valid"  # genuine data from a trusted issuer, chip not cloned
    ISSUER_UNKNOWN = "issuer_unknown"  # authentic data, but the CSCA is not in our store
    EXPIRED = "expired"
    INVALID = "invalid"  # forged, altered, cloned or inconsistent


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True)
class DataGroupReport:
    """One supplied data group: its hash check against the SOD and whether it was parsed."""

    number: int
    hash_status: str  # ekyc.icao.passive_auth.Status: ok, failed (mismatch, not in the SOD)
    hash_code: str
    parsed: bool
    note: str  # "parsed", "present, not parsed", or why parsing failed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "hash": self.hash_status,
            "hash_code": self.hash_code,
            "parsed": self.parsed,
            "note": self.note,
        }


@dataclass
class ChipVerification:
    verdict: ChipVerdict
    reasons: list[Reason]
    passive: PassiveAuthResult
    active: ActiveAuthResult | None
    mrz: Mrz | None
    dg13: Dg13 | None
    portrait: Dg2 | None
    file_errors: dict[str, Reason] = field(default_factory=dict)
    consistency: dict[str, bool] = field(default_factory=dict)
    data_groups: dict[int, DataGroupReport] = field(default_factory=dict)
    aa_required: bool = True  # whether AA not performed fails this verification

    def portrait_image(self) -> Image.Image | None:
        return self.portrait.to_image() if self.portrait is not None else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (no raw biometric bytes)."""
        face = self.portrait.portrait if self.portrait is not None else None
        return {
            "verdict": self.verdict.value,
            "reasons": [dataclasses.asdict(r) for r in self.reasons],
            "passive_authentication": {
                "verdict": self.passive.verdict.value,
                "checks": {k: _check(c) for k, c in self.passive.checks.items()},
                "data_groups": {f"DG{n}": _check(c) for n, c in self.passive.dg_checks.items()},
                "document_signer": _subject(self.passive.ds_certificate),
                "csca": _subject(self.passive.csca.certificate) if self.passive.csca else None,
            },
            "active_authentication": None
            if self.active is None
            else {
                "status": self.active.status.value,
                "code": self.active.code,
                "message": self.active.message,
                "algorithm": self.active.algorithm,
                "required": self.aa_required,
            },
            "data_groups": {
                f"DG{n}": self.data_groups[n].to_dict() for n in sorted(self.data_groups)
            },
            "mrz": None
            if self.mrz is None
            else {
                "text": self.mrz.text,
                "format": self.mrz.format,
                "document_code": self.mrz.document_code,
                "issuing_state": self.mrz.issuing_state,
                "document_number": self.mrz.document_number,
                "id_number": self.mrz.id_number,
                "surname": self.mrz.surname,
                "given_names": self.mrz.given_names,
                "date_of_birth": self.mrz.date_of_birth,
                "sex": self.mrz.sex,
                "date_of_expiry": self.mrz.date_of_expiry,
                "nationality": self.mrz.nationality,
                "checks": self.mrz.checks,
            },
            "dg13": None
            if self.dg13 is None
            else {
                k: v
                for k, v in dataclasses.asdict(self.dg13).items()
                if k not in ("unknown", "version", "oid")
            },
            "portrait": None
            if face is None
            else {
                "mime_type": face.mime_type,
                "width": face.width,
                "height": face.height,
                "bytes": len(face.image),
            },
            "consistency": self.consistency,
            "file_errors": {k: dataclasses.asdict(v) for k, v in self.file_errors.items()},
        }


def _check(c: Any) -> dict[str, str]:
    return {"status": c.status.value, "code": c.code, "message": c.message}


def _subject(cert: Any) -> str | None:
    return cert.subject.human_friendly if cert is not None else None


def _dg_number(name: str) -> int | None:
    return int(name[2:]) if name.startswith("DG") and name[2:].isdigit() else None


def verify_chip(
    files: Mapping[str, bytes],
    trust_store: TrustStore,
    now: dt.datetime,
    aa_nonce: bytes | None = None,
    aa_signature: bytes | None = None,
    *,
    require_aa: bool = True,
) -> ChipVerification:
    """Verify raw chip files (``EF.SOD``, ``DG1`` … ``DG16``) read from a CCCD or passport.

    Raises ``MalformedData`` only when EF.SOD itself cannot be parsed (nothing can be
    verified then); a malformed data group is reported in ``file_errors`` and fails.
    ``require_aa=False`` lets a chip whose AA was not performed (no nonce or signature)
    pass on its other checks; AA that was performed and failed always fails.
    """
    if "EF.SOD" not in files:
        raise MalformedData("EF.SOD", 0, "EF.SOD is missing: the chip data cannot be verified")
    dgs = {n: data for name, data in files.items() if (n := _dg_number(name)) is not None}
    passive = passive_authenticate(files["EF.SOD"], dgs, trust_store, now)
    reasons = [Reason(c.code, c.message) for c in passive.problems]
    errors: dict[str, Reason] = {}
    parsed: dict[int, Any] = {}
    for number in sorted(dgs):
        parser = PARSERS.get(number)
        if parser is None:
            continue
        try:
            parsed[number] = parser(dgs[number])
        except (MalformedData, UnsupportedData) as e:
            errors[f"DG{number}"] = Reason(e.code, str(e))

    dg1 = parsed.get(1)
    mrz = dg1.mrz if dg1 is not None else None
    dg13: Dg13 | None = parsed.get(13)
    portrait: Dg2 | None = parsed.get(2)
    dg14 = parsed.get(14)
    if mrz is None and "DG1" not in errors:
        errors["DG1"] = Reason("dg1_missing", "DG1 (the MRZ) was not supplied")

    aa_offered = 15 in dgs or 15 in passive.sod.dg_hashes
    active = (
        _active_auth(files, dg14, parsed.get(15), aa_nonce, aa_signature) if aa_offered else None
    )
    consistency = _consistency(mrz, dg13)
    for name, ok in consistency.items():
        if not ok:
            reasons.append(Reason(f"inconsistent_{name}", f"DG1 and DG13 disagree on {name}"))
    if mrz is not None and not mrz.valid:
        bad = ", ".join(k for k, v in mrz.checks.items() if not v)
        reasons.append(Reason("mrz_check_digit", f"MRZ check digits fail: {bad}"))
    reasons += list(errors.values())
    if active is not None and active.performed and not active.ok:
        reasons.append(Reason(active.code, active.message))
    aa_missing = False
    if active is not None and not active.performed and require_aa:
        aa_missing = True
        reasons.append(Reason("aa_missing", f"{active.message}, and this check requires AA"))

    verdict = _verdict(passive, active, mrz, consistency, errors, aa_missing)
    reports = {n: _report(n, passive, n in parsed, errors.get(f"DG{n}")) for n in dgs}
    return ChipVerification(
        verdict,
        reasons,
        passive,
        active,
        mrz,
        dg13,
        portrait,
        errors,
        consistency,
        reports,
        require_aa,
    )


def _report(
    number: int, passive: PassiveAuthResult, parsed: bool, error: Reason | None
) -> DataGroupReport:
    check = passive.dg_checks[number]
    if parsed:
        note = "parsed"
    elif error is not None:
        note = f"not parsed: {error.message}"
    else:
        note = NOT_PARSED
    return DataGroupReport(number, check.status.value, check.code, parsed, note)


def _active_auth(
    files: Mapping[str, bytes],
    dg14: Any,
    dg15: Dg15 | None,
    nonce: bytes | None,
    signature: bytes | None,
) -> ActiveAuthResult:
    """AA is checked only over the server's nonce; a chip offering DG15 must answer it."""
    if "DG15" not in files:
        msg = "the SOD lists DG15 (Active Authentication) but DG15 was not supplied"
        return aa_not_performed("dg15_not_supplied", msg)
    algorithm = _AA_ALGORITHMS.get(dg15.algorithm, "unknown") if dg15 else "unknown"
    if nonce is None or signature is None:
        msg = (
            "the chip offers Active Authentication (DG15) but "
            "no signature over a server nonce was supplied"
        )
        return aa_not_performed("aa_not_performed", msg, algorithm)
    oid = None
    if dg14 is not None and dg14.infos.active_auth:
        oid = dg14.infos.active_auth[0].signature_algorithm
    return verify_active_auth(files["DG15"], nonce, signature, dg14_aa_info_oid=oid)


def _consistency(mrz: Mrz | None, dg13: Dg13 | None) -> dict[str, bool]:
    if mrz is None or dg13 is None:
        return {}
    out: dict[str, bool] = {}
    if mrz.id_number and dg13.id_number:
        out["id_number"] = mrz.id_number == dg13.id_number
    if dg13.birth_date:
        out["date_of_birth"] = mrz.date_of_birth == dg13.birth_date.strftime("%y%m%d")
    if dg13.sex_code and mrz.sex:
        out["sex"] = mrz.sex == dg13.sex_code
    return out


def _verdict(
    passive: PassiveAuthResult,
    active: ActiveAuthResult | None,
    mrz: Mrz | None,
    consistency: dict[str, bool],
    errors: dict[str, Reason],
    aa_missing: bool,
) -> ChipVerdict:
    genuine = (
        not errors
        and not aa_missing
        and (active is None or active.ok or not active.performed)
        and mrz is not None
        and mrz.valid
        and all(consistency.values())
    )
    if not genuine or passive.verdict in (Verdict.INVALID, Verdict.UNVERIFIABLE, Verdict.REVOKED):
        return ChipVerdict.INVALID
    if passive.verdict is Verdict.ISSUER_UNKNOWN:
        return ChipVerdict.ISSUER_UNKNOWN
    if passive.verdict is Verdict.EXPIRED:
        return ChipVerdict.EXPIRED
    return ChipVerdict.VALID
