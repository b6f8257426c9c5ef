"""PAdES signatures on certified copies (pyHanko): the service's key material, its own RFC 3161
time-stamping unit, and the trust roots and CRLs a verifier uses.

A certified copy is signed with a PAdES certification signature (DocMDP "no changes") in a
field named ``EkycCertifiedCopy``. The Document Security Store (the CA certificates and the
CRLs the service holds) is written in the same revision as the signature, so the signed
byte range covers the whole file and nothing is ever appended after it. Nothing is fetched
from the network: revocation data are the CRL files configured here.

Levels: with a time-stamping unit configured, the signature carries a signature time-stamp
(PAdES B-T) and, with the DSS, is PAdES B-LT; without one it is PAdES B-B with the DSS
(the validation data are still embedded, but no time is proven, so it stops validating
when the signer certificate expires). A production deployment points the settings at the
certificate its CA issued and, preferably, at an independent time-stamping unit's key;
``ekyc certs init-pdf`` makes a local test CA for development.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asn1crypto import cms, tsp
from asn1crypto import crl as asn1_crl
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    PdfSignatureMetadata,
    PdfSigningSession,
    SigDSSPlacementPreference,
)
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from ekyc.errors import EkycError

if TYPE_CHECKING:
    from ekyc.settings import Settings

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

#: the signature field of a certified copy (what the verifier looks for)
FIELD_NAME = "EkycCertifiedCopy"
#: the service's own time-stamping policy: an OID under 2.25 (a UUID, ITU-T X.667)
TSA_POLICY_OID = "2.25.57291123618904058998612470878348918776"
_CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")
_CRL_SUFFIXES = (".pem", ".crl", ".der")


class PdfSigningError(EkycError):
    """The PDF signing key material cannot be loaded or cannot sign."""

    code = "pdf_signing_error"


def _files(paths: Iterable[Path], suffixes: Sequence[str]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes)
        elif path.is_file():
            out.append(path)
        else:
            raise PdfSigningError(f"{path}: no such file or folder")
    return out


def load_certificates(paths: Iterable[Path]) -> list[x509.Certificate]:
    """Every certificate in PEM bundles, DER files and folders of them."""
    certs: list[x509.Certificate] = []
    for path in _files(paths, _CERT_SUFFIXES):
        data = path.read_bytes()
        try:
            if b"-----BEGIN" in data:
                certs += x509.load_pem_x509_certificates(data)
            else:
                certs.append(x509.load_der_x509_certificate(data))
        except ValueError as e:
            raise PdfSigningError(f"{path}: not a certificate: {e}") from e
    return certs


def load_crls(paths: Iterable[Path]) -> list[x509.CertificateRevocationList]:
    """Every CRL in PEM or DER files and folders of them."""
    crls: list[x509.CertificateRevocationList] = []
    for path in _files(paths, _CRL_SUFFIXES):
        data = path.read_bytes()
        try:
            if b"-----BEGIN" in data:
                blocks = data.split(b"-----END X509 CRL-----")
                crls += [
                    x509.load_pem_x509_crl(b + b"-----END X509 CRL-----\n")
                    for b in blocks
                    if b"-----BEGIN X509 CRL-----" in b
                ]
            else:
                crls.append(x509.load_der_x509_crl(data))
        except ValueError as e:
            raise PdfSigningError(f"{path}: not a CRL: {e}") from e
    return crls


def load_private_key(path: Path, password: bytes | None = None) -> PrivateKey:
    """An EC or RSA private key from a PEM or DER file."""
    data = Path(path).read_bytes()
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except (ValueError, TypeError) as e:
        raise PdfSigningError(f"{path}: cannot load the private key: {e}") from e
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PdfSigningError(f"{path}: only EC and RSA keys can sign PDFs")
    return key


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _asn1_crl(crl: x509.CertificateRevocationList) -> asn1_crl.CertificateList:
    return asn1_crl.CertificateList.load(crl.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def _self_signed(cert: x509.Certificate) -> bool:
    return cert.issuer == cert.subject


def _check_pair(key: PrivateKey, cert: x509.Certificate, what: str) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise PdfSigningError(f"the {what} key does not belong to its certificate")


@dataclass(frozen=True)
class TimeStampingUnit:
    """The service's own RFC 3161 time-stamping key and certificate (EKU timeStamping)."""

    key: PrivateKey
    cert: x509.Certificate

    def stamper(self, clock: Clock, chain: Sequence[x509.Certificate] = ()) -> TimeStamper:
        """A pyHanko time stamper answering from this unit at ``clock()``, in process."""
        return LocalTimeStamper(self, clock, chain)


def _simple_signer(
    key: PrivateKey, cert: x509.Certificate, chain: Sequence[x509.Certificate]
) -> signers.SimpleSigner:
    store = SimpleCertificateStore.from_certs([_asn1_cert(c) for c in chain])
    return signers.SimpleSigner(
        signing_cert=_asn1_cert(cert), signing_key=_asn1_key(key), cert_registry=store
    )


class LocalTimeStamper(TimeStamper):
    """RFC 3161 time-stamps signed in process by a configured unit (nothing on the network)."""

    def __init__(
        self, unit: TimeStampingUnit, clock: Clock, chain: Sequence[x509.Certificate]
    ) -> None:
        super().__init__(include_nonce=True)
        self.unit, self.clock = unit, clock
        self.signer = _simple_signer(unit.key, unit.cert, chain)

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        """Answer a time-stamp request: a TSTInfo over its imprint, signed (CAdES attributes)."""
        info: dict[str, Any] = {
            "version": "v1",
            "policy": TSA_POLICY_OID,
            "message_imprint": req["message_imprint"],
            "serial_number": int.from_bytes(os.urandom(16), "big") >> 1,
            "gen_time": self.clock().astimezone(dt.UTC),
            "tsa": asn1_x509.GeneralName(
                name="directory_name", value=_asn1_cert(self.unit.cert).subject
            ),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        content = cms.EncapsulatedContentInfo(
            {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(tsp.TSTInfo(info).dump()),
            }
        )
        token = await self.signer.async_sign_general_data(
            content, "sha256", detached=False, use_cades=True
        )
        status = tsp.PKIStatusInfo({"status": tsp.PKIStatus("granted")})
        return tsp.TimeStampResp({"status": status, "time_stamp_token": token})


@dataclass(frozen=True)
class PdfSigningIdentity:
    """The service's PDF signing key, its certificate, the chain above it and its CRLs."""

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    tsa: TimeStampingUnit | None = None
    test_ca: bool = False  # made by ``ekyc certs init-pdf`` / on first use, not production

    @property
    def subject(self) -> str:
        """The signer certificate's subject (RFC 4514)."""
        return self.cert.subject.rfc4514_string()

    @property
    def roots(self) -> tuple[x509.Certificate, ...]:
        """The chain's self-signed certificates, else its last one (the trust anchor)."""
        roots = tuple(c for c in self.chain if _self_signed(c))
        return roots or self.chain[-1:]

    @classmethod
    def from_files(
        cls,
        key: Path,
        cert: Path,
        chain: Iterable[Path] = (),
        crls: Iterable[Path] = (),
        *,
        password: bytes | None = None,
        tsa_key: Path | None = None,
        tsa_cert: Path | None = None,
        test_ca: bool = False,
    ) -> PdfSigningIdentity:
        """Load the identity from PEM/DER files (chain and CRLs may be folders)."""
        private = load_private_key(key, password)
        certs = load_certificates([cert])
        if not certs:
            raise PdfSigningError(f"{cert}: no certificate in it")
        _check_pair(private, certs[0], "PDF signer")
        unit = None
        if (tsa_key is None) != (tsa_cert is None):
            raise PdfSigningError("the time-stamping unit needs both its key and certificate")
        if tsa_key is not None and tsa_cert is not None:
            tsa_certs = load_certificates([tsa_cert])
            if not tsa_certs:
                raise PdfSigningError(f"{tsa_cert}: no certificate in it")
            unit = TimeStampingUnit(load_private_key(tsa_key, password), tsa_certs[0])
            _check_pair(unit.key, unit.cert, "time-stamping")
        issuers = tuple(load_certificates(chain)) + tuple(certs[1:])
        return cls(private, certs[0], issuers, tuple(load_crls(crls)), unit, test_ca)

    @classmethod
    def from_folder(cls, folder: Path, *, test_ca: bool = False) -> PdfSigningIdentity:
        """The identity in a folder written by ``ekyc certs init-pdf``."""
        from ekyc.synth import pdf_pki as f  # the folder layout it writes

        folder = Path(folder)
        tsa = (folder / f.TSA_KEY).is_file() and (folder / f.TSA_CERT).is_file()
        crl = folder / f.CRL
        return cls.from_files(
            folder / f.SIGNER_KEY,
            folder / f.SIGNER_CERT,
            [folder / f.CHAIN],
            [crl] if crl.is_file() else [],
            tsa_key=folder / f.TSA_KEY if tsa else None,
            tsa_cert=folder / f.TSA_CERT if tsa else None,
            test_ca=test_ca,
        )

    @classmethod
    def from_settings(cls, settings: Settings, now: dt.datetime) -> PdfSigningIdentity:
        """The configured identity; without ``EKYC_PDF_SIGNER_KEY``/``_CERT``, the local
        test CA in ``EKYC_PDF_TEST_CA_DIR`` (created there on first use)."""
        s = settings
        password = (
            s.pdf_signer_key_password.get_secret_value().encode()
            if s.pdf_signer_key_password is not None
            else None
        )
        if s.pdf_signer_key is not None or s.pdf_signer_cert is not None:
            if s.pdf_signer_key is None or s.pdf_signer_cert is None:
                raise PdfSigningError("set both EKYC_PDF_SIGNER_KEY and EKYC_PDF_SIGNER_CERT")
            return cls.from_files(
                s.pdf_signer_key,
                s.pdf_signer_cert,
                s.pdf_signer_chain,
                s.pdf_crls,
                password=password,
                tsa_key=s.pdf_tsa_key,
                tsa_cert=s.pdf_tsa_cert,
            )
        from ekyc.synth import pdf_pki

        folder = s.pdf_test_ca_dir
        if not (folder / pdf_pki.SIGNER_KEY).is_file():
            pdf_pki.write_pdf_pki(folder, pdf_pki.make_pdf_pki(now))
            log.warning("created a local test CA for certified copies in %s", folder)
        log.warning(
            "certified copies are signed by the local test CA in %s: set EKYC_PDF_SIGNER_KEY "
            "and EKYC_PDF_SIGNER_CERT to the deployment's certificate",
            folder,
        )
        identity = cls.from_folder(folder, test_ca=True)
        cert = identity.cert
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            # a test CA is disposable: one whose signer is out of date is made anew
            pdf_pki.write_pdf_pki(folder, pdf_pki.make_pdf_pki(now))
            log.warning("the local test CA in %s was out of date: made a new one", folder)
            identity = cls.from_folder(folder, test_ca=True)
        return identity


@dataclass(frozen=True)
class PdfTrust:
    """What a verifier trusts: root (anchor) certificates and the CRLs it holds."""

    roots: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...] = ()
    intermediates: tuple[x509.Certificate, ...] = ()

    @classmethod
    def load(cls, roots: Iterable[Path], crls: Iterable[Path] = ()) -> PdfTrust:
        """Roots and CRLs from PEM/DER files and folders."""
        certs = load_certificates(roots)
        if not certs:
            raise PdfSigningError("no trust root certificate given")
        return cls(tuple(certs), tuple(load_crls(crls)))

    @classmethod
    def of(cls, identity: PdfSigningIdentity) -> PdfTrust:
        """Trust what the service itself signs with: its chain's root and its CRLs."""
        inter = tuple(c for c in identity.chain if c not in identity.roots)
        return cls(identity.roots, identity.crls, inter)

    @classmethod
    def from_settings(cls, settings: Settings, identity: PdfSigningIdentity | None) -> PdfTrust:
        """``EKYC_PDF_TRUST_ROOTS`` and ``EKYC_PDF_CRLS``; by default the signer's own root."""
        crls = tuple(load_crls(settings.pdf_crls))
        if settings.pdf_trust_roots:
            return cls(tuple(load_certificates(settings.pdf_trust_roots)), crls)
        if identity is None:
            raise PdfSigningError("no PDF trust roots: set EKYC_PDF_TRUST_ROOTS")
        own = cls.of(identity)
        return cls(own.roots, crls or own.crls, own.intermediates)

    def validation_context(
        self,
        moment: dt.datetime,
        extra_crls: Iterable[asn1_crl.CertificateList] = (),
        extra_certs: Iterable[asn1_x509.Certificate] = (),
        *,
        require_revocation: bool = True,
    ) -> ValidationContext:
        """A pyHanko validation context at ``moment`` that fetches nothing; every certificate
        below a root needs a CRL (``require``: certificates without a distribution point
        would otherwise go unchecked)."""
        return ValidationContext(
            trust_roots=[_asn1_cert(c) for c in self.roots],
            other_certs=[_asn1_cert(c) for c in self.intermediates] + list(extra_certs),
            crls=[_asn1_crl(c) for c in self.crls] + list(extra_crls),
            allow_fetching=False,
            revocation_mode="require" if require_revocation else "soft-fail",
            # a CRL issued after ``moment`` still tells what was revoked before it
            retroactive_revinfo=True,
            moment=moment,
        )


def sign_pdf(
    unsigned: bytes,
    identity: PdfSigningIdentity,
    now: dt.datetime,
    *,
    catalog: Mapping[str, Mapping[str, str | Sequence[str]]],
    reason: str,
    location: str,
    name: str | None = None,
) -> bytes:
    """Sign ``unsigned`` (a PDF) with a PAdES certification signature in ``FIELD_NAME``.

    Each ``catalog`` entry (name → its keys and text values, or arrays of text) is written
    into the document catalog as a dictionary, in the signed revision. The signer
    certificate is validated at ``now`` first (with the identity's CRLs); an expired or
    revoked one raises ``PdfSigningError``.
    """
    trust = PdfTrust.of(identity)
    # without CRLs there is no revocation data to embed: the DSS then holds certificates only
    vc = trust.validation_context(now, require_revocation=bool(identity.crls))
    signer = _simple_signer(identity.key, identity.cert, identity.chain)
    meta = PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        embed_validation_info=True,
        validation_context=vc,
        signer_key_usage={"non_repudiation", "digital_signature"},  # either one
        reason=reason,
        location=location,
        name=name,
        dss_settings=DSSContentSettings(
            placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False
        ),
    )
    stamper = (
        identity.tsa.stamper(lambda: now, identity.chain) if identity.tsa is not None else None
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(unsigned), strict=True)
    for key, entries in catalog.items():
        writer.root[generic.NameObject(f"/{key}")] = _pdf_dict(entries)
    writer.update_root()
    try:
        out = ClockedPdfSigner(meta, signer, stamper, now).sign_pdf(writer)
    except (SigningError, PathBuildingError, PathValidationError) as e:
        raise PdfSigningError(f"cannot sign the certified copy: {e}") from e
    return bytes(out.getvalue())


def _pdf_dict(entries: Mapping[str, str | Sequence[str]]) -> generic.DictionaryObject:
    """A PDF dictionary of text strings and arrays of them."""
    out = generic.DictionaryObject()
    for name, value in entries.items():
        out[generic.NameObject(f"/{name}")] = (
            generic.TextStringObject(value)
            if isinstance(value, str)
            else generic.ArrayObject(generic.TextStringObject(v) for v in value)
        )
    return out


class ClockedPdfSigner(signers.PdfSigner):
    """A PdfSigner whose signing time (/M) is the injected clock's, not the host's."""

    def __init__(
        self,
        meta: PdfSignatureMetadata,
        signer: signers.Signer,
        timestamper: TimeStamper | None,
        now: dt.datetime,
    ) -> None:
        super().__init__(meta, signer, timestamper=timestamper)
        self.now = now

    def init_signing_session(
        self, pdf_out: Any, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        """pyHanko's session, at our clock's time."""
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self.now
        return session


class _BelowError(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


# pyHanko logs each failed certificate check with a traceback, and warns that fetching is off
# while embedding validation data (the point here: every CRL is local). The check's answer
# carries the reason instead, so only its errors are logged.
for _name in ("pyhanko.sign.signers.pdf_signer", "pyhanko.sign.validation.generic_cms"):
    logging.getLogger(_name).addFilter(_BelowError())


__all__ = [
    "FIELD_NAME",
    "LocalTimeStamper",
    "PdfSigningError",
    "PdfSigningIdentity",
    "PdfTrust",
    "TimeStampingUnit",
    "load_certificates",
    "load_crls",
    "sign_pdf",
]
