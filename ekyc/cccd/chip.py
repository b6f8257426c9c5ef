"""Server-side verification of a CCCD chip read: parse every file, run Passive
Authentication against our own trust store, verify Active Authentication over
the nonce *we* issued, and cross-check the MRZ against DG13.

Input is only raw file bytes (from a kiosk, a phone or the reader bridge);
nothing a client concluded is trusted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from PIL import Image

from ekyc.cccd.dg13 import Dg13, parse_dg13
from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao.active_auth import ActiveAuthResult, verify_active_auth
from ekyc.icao.dg1 import parse_dg1
from ekyc.icao.dg2 import Dg2, parse_dg2
from ekyc.icao.dg14 import parse_dg14
from ekyc.icao.mrz import Mrz
from ekyc.icao.passive_auth import PassiveAuthResult, Verdict, passive_authenticate
from ekyc.icao.trust_store import TrustStore


class ChipVerdict(StrEnum):
    VALID = "valid"  # genuine data from a trusted issuer, chip not cloned
    ISSUER_UNKNOWN = "issuer_unknown"  # authentic data, but the CSCA is not in our store
    EXPIRED = "expired"
    INVALID = "invalid"  # forged, altered, cloned or inconsistent


@dataclass(frozen=True)
class Reason:
    code: str
    message: str


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
            },
            "mrz": None
            if self.mrz is None
            else {
                "text": self.mrz.text,
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
) -> ChipVerification:
    """Verify raw chip files (``EF.SOD``, ``DG1`` …) read from a CCCD.

    Raises ``MalformedData`` only when EF.SOD itself cannot be parsed (nothing can be
    verified then); a malformed data group is reported in ``file_errors`` and fails.
    """
    if "EF.SOD" not in files:
        raise MalformedData("EF.SOD", 0, "EF.SOD is missing: the chip data cannot be verified")
    dgs = {n: data for name, data in files.items() if (n := _dg_number(name)) is not None}
    passive = passive_authenticate(files["EF.SOD"], dgs, trust_store, now)
    reasons = [Reason(c.code, c.message) for c in passive.problems]
    errors: dict[str, Reason] = {}

    def parse(name: str, fn: Any) -> Any:
        if name not in files:
            return None
        try:
            return fn(files[name])
        except (MalformedData, UnsupportedData) as e:
            errors[name] = Reason(e.code, str(e))
            return None

    dg1 = parse("DG1", parse_dg1)
    mrz = dg1.mrz if dg1 is not None else None
    dg13 = parse("DG13", parse_dg13)
    portrait = parse("DG2", parse_dg2)
    dg14 = parse("DG14", parse_dg14)
    if mrz is None and "DG1" not in errors:
        errors["DG1"] = Reason("dg1_missing", "DG1 (the MRZ) was not supplied")

    active = _active_auth(files, dg14, aa_nonce, aa_signature, errors)
    consistency = _consistency(mrz, dg13)
    for name, ok in consistency.items():
        if not ok:
            reasons.append(Reason(f"inconsistent_{name}", f"DG1 and DG13 disagree on {name}"))
    if mrz is not None and not mrz.valid:
        bad = ", ".join(k for k, v in mrz.checks.items() if not v)
        reasons.append(Reason("mrz_check_digit", f"MRZ check digits fail: {bad}"))
    reasons += list(errors.values())
    if active is not None and not active.ok:
        reasons.append(Reason(active.code, active.message))

    verdict = _verdict(passive, active, mrz, consistency, errors)
    return ChipVerification(
        verdict, reasons, passive, active, mrz, dg13, portrait, errors, consistency
    )


def _active_auth(
    files: Mapping[str, bytes],
    dg14: Any,
    nonce: bytes | None,
    signature: bytes | None,
    errors: dict[str, Reason],
) -> ActiveAuthResult | None:
    """AA is checked only over the server's nonce; a chip offering DG15 must answer it."""
    if "DG15" not in files:
        return None
    if nonce is None or signature is None:
        errors["AA"] = Reason(
            "aa_missing",
            "the chip offers Active Authentication (DG15) but "
            "no signature over the server's nonce was supplied",
        )
        return None
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
) -> ChipVerdict:
    genuine = (
        not errors
        and (active is None or active.ok)
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
