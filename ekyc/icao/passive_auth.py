"""Passive Authentication (ICAO 9303-11 §5.1), every check reported on its own.

Checks: data-group hashes against the SOD; the CMS signature (messageDigest and the signature
over the signed attributes with the DS key); DS → CSCA chain (CSCA in the trust store, DS
signed by it, CSCA self-signed CA, key usages); validity of DS and CSCA at ``now``; revocation
when CRLs are supplied. The verdict keeps "authentic data, unknown issuer" apart from forgery.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from ekyc.errors import UnsupportedData
from ekyc.icao.sod import (
    SecurityObject,
    certificate_public_key,
    hash_data,
    message_digest_matches,
    parse_sod,
    verify_signer,
)
from ekyc.icao.trust_store import CscaEntry, TrustStore, verify_issued_by

DG_HASHES = "dg_hashes"
MESSAGE_DIGEST = "message_digest"
SOD_SIGNATURE = "sod_signature"
CSCA_LOOKUP = "csca_lookup"
DS_SIGNED_BY_CSCA = "ds_signed_by_csca"
CSCA_SELF_SIGNED = "csca_self_signed"
CSCA_IS_CA = "csca_is_ca"
DS_KEY_USAGE = "ds_key_usage"
DS_VALIDITY = "ds_validity"
CSCA_VALIDITY = "csca_validity"
REVOCATION = "revocation"


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    NOT_CHECKED = "not_checked"
    UNKNOWN = "unknown"  # could not be decided (missing certificate, unsupported algorithm …)


class Verdict(StrEnum):
    VALID = "valid"
    ISSUER_UNKNOWN = "issuer_unknown"  # authentic data, unverified issuer
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNVERIFIABLE = "unverifiable"  # the SOD signature itself could not be checked
    INVALID = "invalid"  # forged or altered


@dataclass(frozen=True)
class Check:
    """One check: its status, a stable machine code and a human message."""

    name: str
    status: Status
    code: str
    message: str


@dataclass(frozen=True)
class PassiveAuthResult:
    """The verdict plus every individual check."""

    verdict: Verdict
    checks: dict[str, Check]
    dg_checks: dict[int, Check]
    sod: SecurityObject
    ds_certificate: ax509.Certificate | None
    csca: CscaEntry | None

    @property
    def problems(self) -> list[Check]:
        """Checks that did not pass, data groups first."""
        all_checks = [*self.dg_checks.values(), *self.checks.values()]
        return [c for c in all_checks if c.status in (Status.FAILED, Status.UNKNOWN)]


def _ok(name: str, message: str, code: str = "ok") -> Check:
    return Check(name, Status.OK, code, message)


def _fail(name: str, code: str, message: str) -> Check:
    return Check(name, Status.FAILED, code, message)


def _check_dg_hashes(sod: SecurityObject, data_groups: Mapping[int, bytes]) -> dict[int, Check]:
    out: dict[int, Check] = {}
    for number in sorted(set(sod.dg_hashes) | set(data_groups)):
        name = f"DG{number}"
        if number not in data_groups:
            msg = f"{name} is listed in the SOD but was not supplied"
            out[number] = Check(name, Status.NOT_CHECKED, "dg_not_supplied", msg)
        elif number not in sod.dg_hashes:
            msg = f"{name} was supplied but the SOD does not cover it"
            out[number] = _fail(name, "dg_not_in_sod", msg)
        elif hmac.compare_digest(
            hash_data(sod.hash_algorithm, data_groups[number]), sod.dg_hashes[number]
        ):
            out[number] = _ok(name, f"{name} hash matches the SOD", "dg_hash_match")
        else:
            out[number] = _fail(name, "dg_hash_mismatch", f"{name} hash differs from the SOD")
    return out


def _check_signature(sod: SecurityObject, ds: ax509.Certificate | None) -> tuple[Check, Check]:
    signer = sod.signer
    if message_digest_matches(sod.signed, signer):
        digest = _ok(MESSAGE_DIGEST, "messageDigest matches the LDS security object")
    else:
        msg = "messageDigest or content-type attribute does not match the LDS security object"
        digest = _fail(MESSAGE_DIGEST, "message_digest_mismatch", msg)
    if ds is None:
        msg = "the SOD carries no certificate matching its signer"
        return digest, Check(SOD_SIGNATURE, Status.UNKNOWN, "ds_certificate_missing", msg)
    try:
        verify_signer(sod.signed, signer, certificate_public_key(ds))
    except InvalidSignature:
        return digest, _fail(SOD_SIGNATURE, "signature_invalid", "SOD signature does not verify")
    except UnsupportedData as exc:
        return digest, Check(SOD_SIGNATURE, Status.UNKNOWN, "unsupported_algorithm", str(exc))
    return digest, _ok(SOD_SIGNATURE, "SOD signature verifies with the DS key")


def _key_usage(cert: ax509.Certificate) -> set[str] | None:
    value = cert.key_usage_value
    return None if value is None else set(value.native)


def _check_chain(
    ds: ax509.Certificate, store: TrustStore
) -> tuple[CscaEntry | None, dict[str, Check]]:
    checks: dict[str, Check] = {}
    candidates, how = store.find_issuers(ds)
    issuer = ds.issuer.human_friendly
    if not candidates:
        msg = f"no trusted CSCA for issuer {issuer}"
        checks[CSCA_LOOKUP] = _fail(CSCA_LOOKUP, "csca_not_found", msg)
        return None, checks
    checks[CSCA_LOOKUP] = _ok(CSCA_LOOKUP, f"CSCA found by {how}: {issuer}", f"found_by_{how}")
    csca: CscaEntry | None = None
    unsupported = ""
    for entry in candidates:
        try:
            verify_issued_by(ds, entry)
        except InvalidSignature:
            continue
        except UnsupportedData as exc:
            unsupported = str(exc)
            continue
        csca = entry
        break
    if csca is None:
        if unsupported:
            checks[DS_SIGNED_BY_CSCA] = Check(
                DS_SIGNED_BY_CSCA, Status.UNKNOWN, "unsupported_algorithm", unsupported
            )
        else:
            code = "ds_signature_invalid" if how == "aki" else "csca_key_mismatch"
            msg = f"DS certificate is not signed by any trusted CSCA named {issuer}"
            checks[DS_SIGNED_BY_CSCA] = _fail(DS_SIGNED_BY_CSCA, code, msg)
        return None, checks
    checks[DS_SIGNED_BY_CSCA] = _ok(DS_SIGNED_BY_CSCA, "DS certificate signed by the CSCA")
    checks[CSCA_SELF_SIGNED] = _check_self_signed(csca)
    usage = _key_usage(csca.certificate)
    if not csca.certificate.ca:
        checks[CSCA_IS_CA] = _fail(CSCA_IS_CA, "csca_not_ca", "CSCA lacks CA basic constraints")
    elif usage is not None and "key_cert_sign" not in usage:
        checks[CSCA_IS_CA] = _fail(CSCA_IS_CA, "csca_key_usage", "CSCA lacks keyCertSign")
    else:
        checks[CSCA_IS_CA] = _ok(CSCA_IS_CA, "CSCA is a CA allowed to sign certificates")
    ds_usage = _key_usage(ds)
    if ds_usage is None:
        msg = "DS certificate has no key usage extension"
        checks[DS_KEY_USAGE] = _ok(DS_KEY_USAGE, msg, "key_usage_absent")
    elif "digital_signature" in ds_usage:
        checks[DS_KEY_USAGE] = _ok(DS_KEY_USAGE, "DS key usage allows digitalSignature")
    else:
        msg = "DS key usage lacks digitalSignature"
        checks[DS_KEY_USAGE] = _fail(DS_KEY_USAGE, "ds_key_usage", msg)
    return csca, checks


def _check_self_signed(csca: CscaEntry) -> Check:
    if not csca.self_signed:
        msg = "trusted CSCA is a link certificate (issuer differs from subject)"
        return Check(CSCA_SELF_SIGNED, Status.NOT_CHECKED, "csca_link_certificate", msg)
    try:
        verify_issued_by(csca.certificate, csca)
    except InvalidSignature:
        return _fail(CSCA_SELF_SIGNED, "csca_self_signature_invalid", "CSCA self-signature fails")
    except UnsupportedData as exc:
        return Check(CSCA_SELF_SIGNED, Status.UNKNOWN, "unsupported_algorithm", str(exc))
    return _ok(CSCA_SELF_SIGNED, "CSCA is self-signed and its signature verifies")


def _check_validity(name: str, label: str, cert: ax509.Certificate, now: datetime) -> Check:
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native
    not_after = validity["not_after"].native
    if now < not_before:
        return _fail(name, "not_yet_valid", f"{label} certificate not valid before {not_before}")
    if now > not_after:
        return _fail(name, "expired", f"{label} certificate expired on {not_after}")
    return _ok(name, f"{label} certificate valid until {not_after}")


def _load_crls(
    crls: Iterable[bytes | x509.CertificateRevocationList],
) -> list[x509.CertificateRevocationList]:
    out = []
    for crl in crls:
        if not isinstance(crl, bytes):
            out.append(crl)
        elif crl.lstrip().startswith(b"-----"):
            out.append(x509.load_pem_x509_crl(crl))
        else:
            out.append(x509.load_der_x509_crl(crl))
    return out


def _check_revocation(
    ds: ax509.Certificate,
    csca: CscaEntry,
    crls: Iterable[bytes | x509.CertificateRevocationList] | None,
    now: datetime,
) -> Check:
    if crls is None:
        return Check(REVOCATION, Status.NOT_CHECKED, "no_crl_configured", "no CRLs configured")
    try:
        loaded = _load_crls(crls)
        issuer_key = csca.public_key()
    except (ValueError, UnsupportedData) as exc:
        return Check(REVOCATION, Status.UNKNOWN, "crl_unreadable", str(exc))
    for crl in loaded:
        if ax509.Name.load(crl.issuer.public_bytes()) != csca.subject:
            continue
        if not crl.is_signature_valid(issuer_key):  # type: ignore[arg-type]
            msg = "a CRL naming this CSCA does not verify; revocation unknown"
            return Check(REVOCATION, Status.UNKNOWN, "crl_signature_invalid", msg)
        next_update = crl.next_update_utc
        if next_update is not None and now > next_update:
            msg = f"CRL is stale (next update was {next_update})"
            return Check(REVOCATION, Status.UNKNOWN, "crl_stale", msg)
        if crl.get_revoked_certificate_by_serial_number(ds.serial_number) is not None:
            return _fail(REVOCATION, "ds_revoked", "DS certificate is revoked")
        return _ok(REVOCATION, "DS certificate is not on the CSCA's CRL")
    msg = "no CRL from this CSCA among those configured"
    return Check(REVOCATION, Status.UNKNOWN, "crl_missing", msg)


def _verdict(checks: dict[str, Check], dg_checks: dict[int, Check]) -> Verdict:
    """Precedence: INVALID > UNVERIFIABLE > REVOKED > ISSUER_UNKNOWN > EXPIRED > VALID."""

    def failed(name: str, *codes: str) -> bool:
        check = checks.get(name)
        return (
            check is not None
            and check.status is Status.FAILED
            and (not codes or check.code in codes)
        )

    if any(c.status is Status.FAILED for c in dg_checks.values()):
        return Verdict.INVALID
    if failed(MESSAGE_DIGEST) or failed(SOD_SIGNATURE):
        return Verdict.INVALID
    if checks[SOD_SIGNATURE].status is not Status.OK:
        return Verdict.UNVERIFIABLE
    chain_broken = (
        failed(DS_SIGNED_BY_CSCA, "ds_signature_invalid")
        or failed(CSCA_SELF_SIGNED)
        or failed(CSCA_IS_CA)
        or failed(DS_KEY_USAGE)
    )
    if chain_broken:
        return Verdict.INVALID
    if failed(DS_VALIDITY, "not_yet_valid") or failed(CSCA_VALIDITY, "not_yet_valid"):
        return Verdict.INVALID
    if failed(REVOCATION, "ds_revoked"):
        return Verdict.REVOKED
    if checks.get(DS_SIGNED_BY_CSCA, checks[CSCA_LOOKUP]).status is not Status.OK:
        return Verdict.ISSUER_UNKNOWN
    if failed(DS_VALIDITY) or failed(CSCA_VALIDITY):
        return Verdict.EXPIRED
    return Verdict.VALID


def passive_authenticate(
    sod: bytes | SecurityObject,
    data_groups: Mapping[int, bytes],
    trust_store: TrustStore,
    now: datetime,
    crls: Iterable[bytes | x509.CertificateRevocationList] | None = None,
) -> PassiveAuthResult:
    """Run Passive Authentication; a malformed SOD raises MalformedData(file="EF.SOD")."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    parsed = parse_sod(sod) if isinstance(sod, bytes) else sod
    dg_checks = _check_dg_hashes(parsed, data_groups)
    checks: dict[str, Check] = {}
    failed_dgs = [c.name for c in dg_checks.values() if c.status is Status.FAILED]
    if failed_dgs:
        checks[DG_HASHES] = _fail(DG_HASHES, "dg_check_failed", ", ".join(failed_dgs))
    elif not any(c.status is Status.OK for c in dg_checks.values()):
        checks[DG_HASHES] = Check(DG_HASHES, Status.NOT_CHECKED, "no_dg", "no data group supplied")
    else:
        checks[DG_HASHES] = _ok(DG_HASHES, "every supplied data group matches the SOD")
    ds = parsed.ds_certificate()
    checks[MESSAGE_DIGEST], checks[SOD_SIGNATURE] = _check_signature(parsed, ds)
    csca: CscaEntry | None = None
    if ds is None:
        msg = "no DS certificate"
        checks[CSCA_LOOKUP] = Check(CSCA_LOOKUP, Status.NOT_CHECKED, "no_ds_certificate", msg)
    else:
        csca, chain = _check_chain(ds, trust_store)
        checks.update(chain)
        checks[DS_VALIDITY] = _check_validity(DS_VALIDITY, "DS", ds, now)
    if csca is not None and ds is not None:
        checks[CSCA_VALIDITY] = _check_validity(CSCA_VALIDITY, "CSCA", csca.certificate, now)
        checks[REVOCATION] = _check_revocation(ds, csca, crls, now)
    return PassiveAuthResult(_verdict(checks, dg_checks), checks, dg_checks, parsed, ds, csca)
