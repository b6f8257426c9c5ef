"""Checking a certified copy PDF: is it ours, unchanged, signed by a certificate that chains
to a trusted root and was neither expired nor revoked, and what does it certify.

The answer is ``valid`` or one reason code, always with the facts that could be read:

- ``not_a_pdf``: the bytes are not a PDF that can be parsed;
- ``not_a_certified_copy``: a PDF without our certification signature (field
  ``EkycCertifiedCopy``, DocMDP) or without the ``/EkycCertifiedCopy`` catalog facts;
- ``altered``: the signed bytes were changed (digest or signature mismatch), or the file
  was updated after signing beyond what a certification signature allows (only validation
  data and document time-stamps may be appended);
- ``unknown_signer``: the signer certificate does not chain to a trust root;
- ``signer_revoked``: a CRL of its issuer lists the signer certificate;
- ``signer_expired``: the signer certificate was not valid at the signing time a trusted
  time-stamp proves (PAdES B-T/B-LT) or, without one (B-B), is not valid now;
- ``revocation_unknown``: no CRL of the signer's issuer, neither in the document's DSS nor
  among the verifier's, so revocation cannot be excluded.

Revocation is strict: a listed certificate fails whatever its revocation date, because the
service's time-stamps come from its own time-stamping unit and prove no more than the
service itself. Only the CRLs in the file's DSS and those the verifier holds are used:
nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import EmbeddedPdfSignature, validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel

from ekyc.verification.certified_copy import CATALOG_KEY, FORMAT
from ekyc.verification.pdf_signing import FIELD_NAME, PdfTrust

PdfReason = Literal[
    "not_a_pdf",
    "not_a_certified_copy",
    "altered",
    "unknown_signer",
    "signer_revoked",
    "signer_expired",
    "revocation_unknown",
]
Level = Literal["B-B", "B-T", "B-LT"]

#: what the signer certificate must allow: either one (as when signing, ``sign_pdf``)
_SIGNER_USAGE = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"})
_REVOKED = {"REVOKED", "REVOKED_NO_POE", "REVOKED_CA_NO_POE"}
_EXPIRED = {"EXPIRED", "NOT_YET_VALID", "OUT_OF_BOUNDS_NO_POE", "OUT_OF_BOUNDS_NOT_REVOKED"}
_MESSAGES: dict[str, str] = {
    "not_a_pdf": "the file is not a readable PDF",
    "not_a_certified_copy": "the PDF is not a certified copy issued by this service",
    "altered": "the PDF was changed after it was signed",
    "unknown_signer": "the signer's certificate does not chain to a trusted root",
    "signer_revoked": "the signer's certificate is revoked",
    "signer_expired": "the signer's certificate was not valid when it signed",
    "revocation_unknown": "no CRL of the signer's issuer is known: revocation is not excluded",
}


@dataclass(frozen=True)
class PdfVerification:
    """A certified copy's check: valid, or the reason it is not, and what it states."""

    valid: bool
    reason: PdfReason | None = None
    message: str = ""
    session_id: str | None = None
    procedure: str | None = None
    certified_by: str | None = None
    certified_at: str | None = None
    page_sha256: tuple[str, ...] = ()
    #: the signing time: proven by the time-stamp when there is one, else as the signer says
    signed_at: dt.datetime | None = None
    time_stamped: bool = False
    level: Level | None = None
    signer_subject: str | None = None
    signer_issuer: str | None = None
    signer_serial: str | None = None
    checked_at: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (facts read from the file are trustworthy only when valid)."""
        return {
            "valid": self.valid,
            "reason": self.reason,
            "message": self.message,
            "session_id": self.session_id,
            "procedure": self.procedure,
            "certified_by": self.certified_by,
            "certified_at": self.certified_at,
            "page_sha256": list(self.page_sha256),
            "signed_at": None if self.signed_at is None else self.signed_at.isoformat(),
            "time_stamped": self.time_stamped,
            "level": self.level,
            "signer": {
                "subject": self.signer_subject,
                "issuer": self.signer_issuer,
                "serial": self.signer_serial,
            },
            "checked_at": None if self.checked_at is None else self.checked_at.isoformat(),
        }


def _fail(reason: PdfReason, detail: str = "", **facts: Any) -> PdfVerification:
    message = _MESSAGES[reason] + (f": {detail}" if detail else "")
    return PdfVerification(False, reason, message, **facts)


def _text(value: object) -> str | None:
    return str(value) if isinstance(value, generic.TextStringObject | str) else None


def _catalog_facts(reader: PdfFileReader) -> dict[str, Any] | None:
    """The ``/EkycCertifiedCopy`` facts, or None when absent or of another format."""
    entry = reader.root.get(f"/{CATALOG_KEY}")
    if entry is None:
        return None
    entry = entry.get_object()
    if not isinstance(entry, generic.DictionaryObject) or _text(entry.get("/Format")) != FORMAT:
        return None
    pages = entry.get("/PageSHA256")
    hashes = tuple(str(v) for v in pages) if isinstance(pages, generic.ArrayObject) else ()
    return {
        "session_id": _text(entry.get("/SessionId")),
        "procedure": _text(entry.get("/Procedure")),
        "certified_by": _text(entry.get("/CertifiedBy")),
        "certified_at": _text(entry.get("/CertifiedAt")),
        "page_sha256": hashes,
    }


Dss = tuple[list[asn1_x509.Certificate], list[asn1_crl.CertificateList]]


def _dss(reader: PdfFileReader) -> Dss:
    """The certificates and CRLs of the document security store (empty without one)."""
    dss = reader.root.get("/DSS")
    if dss is None:
        return [], []
    dss = dss.get_object()

    def streams(key: str) -> list[bytes]:
        refs = dss.get(key)
        if not isinstance(refs, generic.ArrayObject):
            return []
        return [ref.get_object().data for ref in refs]

    certs = [asn1_x509.Certificate.load(b) for b in streams("/Certs")]
    crls = [asn1_crl.CertificateList.load(b) for b in streams("/CRLs")]
    return certs, crls


def _validate(
    sig: EmbeddedPdfSignature,
    trust: PdfTrust,
    signer_moment: dt.datetime,
    now: dt.datetime,
    dss: Dss,
    *,
    require_revocation: bool = True,
) -> PdfSignatureStatus:
    """pyHanko's status: the signer's chain at ``signer_moment``, the time-stamp's at now."""
    certs, crls = dss
    signer_vc = trust.validation_context(
        signer_moment, crls, certs, require_revocation=require_revocation
    )
    ts_vc = trust.validation_context(now, crls, certs, require_revocation=require_revocation)
    status: PdfSignatureStatus = validate_pdf_signature(
        sig, signer_vc, ts_vc, key_usage_settings=_SIGNER_USAGE
    )
    return status


def _allowed_update(status: PdfSignatureStatus) -> bool:
    """The signature covers the whole file, or what was appended is validation data only."""
    if status.coverage == SignatureCoverageLevel.ENTIRE_FILE:
        return True
    level = status.modification_level
    return (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.LTA_UPDATES
        and bool(status.docmdp_ok)
    )


def _crls(trust: PdfTrust, dss: Dss) -> list[x509.CertificateRevocationList]:
    """Every CRL known: the verifier's and the document's."""
    return list(trust.crls) + [x509.load_der_x509_crl(c.dump()) for c in dss[1]]


def _issuer_crls(
    status: PdfSignatureStatus, crls: list[x509.CertificateRevocationList]
) -> list[x509.CertificateRevocationList]:
    """The CRLs issued under the name of the signer's issuer."""
    issuer = status.signing_cert.issuer.dump()
    return [c for c in crls if c.issuer.public_bytes() == issuer]


def _listed(status: PdfSignatureStatus, crls: list[x509.CertificateRevocationList]) -> bool:
    """Whether a CRL signed by the validated issuer lists the signer certificate."""
    path = status.validation_path
    if path is None:
        return False
    chain = list(path.iter_certs(include_root=True))
    if len(chain) < 2:
        return False
    issuer_key = x509.load_der_x509_certificate(chain[-2].dump()).public_key()
    serial = status.signing_cert.serial_number
    for crl in _issuer_crls(status, crls):
        if not crl.is_signature_valid(issuer_key):  # type: ignore[arg-type]
            continue
        if crl.get_revoked_certificate_by_serial_number(serial) is not None:
            return True
    return False


def verify_certified_copy(data: bytes, trust: PdfTrust, now: dt.datetime) -> PdfVerification:
    """Check a certified copy PDF against ``trust`` (roots and CRLs) at ``now``."""
    if b"%PDF-" not in data[:1024]:
        return _fail("not_a_pdf", "no %PDF- header", checked_at=now)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = [s for s in reader.embedded_signatures if s.field_name == FIELD_NAME]
        catalog = _catalog_facts(reader)
    except (misc.PdfError, ValueError, TypeError, KeyError, AttributeError) as e:
        return _fail("not_a_pdf", str(e), checked_at=now)
    facts: dict[str, Any] = {**(catalog or {}), "checked_at": now}
    if not signatures:
        return _fail("not_a_certified_copy", f"no signature field {FIELD_NAME}", **facts)
    sig = signatures[0]
    if sig.docmdp_level is None:
        return _fail("not_a_certified_copy", "not a certification signature", **facts)
    if catalog is None:
        return _fail("not_a_certified_copy", f"no /{CATALOG_KEY} {FORMAT} facts", **facts)
    try:
        cert = sig.signer_cert
        facts.update(
            signer_subject=cert.subject.human_friendly,
            signer_issuer=cert.issuer.human_friendly,
            signer_serial=format(cert.serial_number, "x"),
        )
        dss = _dss(reader)
        status = _validate(sig, trust, now, now, dss)
        ts = status.timestamp_validity
        proven = ts is not None and ts.intact and ts.valid and ts.trusted
        if proven and ts is not None and ts.timestamp < now:
            # the time-stamp proves when it was signed: the chain is judged at that time
            status = _validate(sig, trust, ts.timestamp, now, dss)
    except (misc.PdfError, SignatureValidationError, ValueError, TypeError, KeyError) as e:
        return _fail("altered", f"the signature cannot be checked: {e}", **facts)
    # the level the file is built to (its time-stamp's trust is ``time_stamped``)
    level: Level = ("B-LT" if dss[0] and dss[1] else "B-T") if ts is not None else "B-B"
    signed_at = ts.timestamp if proven and ts is not None else status.signer_reported_dt
    facts.update(level=level, signed_at=signed_at, time_stamped=proven)
    if not (status.intact and status.valid):
        return _fail("altered", "the signed bytes do not match the signature", **facts)
    if ts is not None and not (ts.intact and ts.valid):
        return _fail("altered", "the time-stamp does not match the signature", **facts)
    if not _allowed_update(status):
        change = status.modification_level.name if status.modification_level else "unknown"
        return _fail("altered", f"updated after signing ({change.lower()})", **facts)
    crls = _crls(trust, dss)
    if not status.trusted:
        indic = status.trust_problem_indic
        name = str(getattr(indic, "name", ""))
        if name in _REVOKED:
            return _fail("signer_revoked", **facts)
        if name in _EXPIRED:
            return _fail("signer_expired", _validity(status), **facts)
        if not _issuer_crls(status, crls):
            moment = ts.timestamp if proven and ts is not None else now
            soft = _validate(sig, trust, moment, now, dss, require_revocation=False)
            if soft.trusted:
                return _fail("revocation_unknown", **facts)
        return _fail("unknown_signer", name.lower(), **facts)
    if _listed(status, crls):  # strict: whatever the revocation date
        return _fail("signer_revoked", "listed on a CRL of its issuer", **facts)
    return PdfVerification(True, None, "a certified copy issued by this service", **facts)


def _validity(status: PdfSignatureStatus) -> str:
    cert = status.signing_cert
    v = cert["tbs_certificate"]["validity"]
    return f"valid from {v['not_before'].native} to {v['not_after'].native}"


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.CRITICAL


# a failed diff analysis is logged by pyHanko with a traceback; the answer says ``altered``
for _name in ("pyhanko.sign.diff_analysis.policies", "pyhanko.sign.validation.pdf_embedded"):
    logging.getLogger(_name).addFilter(_Quiet())

__all__ = ["PdfReason", "PdfVerification", "verify_certified_copy"]
