"""The CSCA trust store: certificates from a PEM/DER folder and/or ICAO master lists.

A master list (ICAO 9303-12 §9) is a CMS SignedData with eContent 2.23.136.1.1.2,
``CscaMasterList {version, certList SET OF Certificate}``. Its own signature is verified and
reported, never silently trusted or silently ignored. CSCAs are indexed by subject name and
subject key identifier; a DS certificate's issuer is looked up by AKI first, then by name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import core, pem
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ekyc.errors import MalformedData, TrustStoreError, UnsupportedData
from ekyc.icao.sod import (
    SignedContent,
    certificate_public_key,
    message_digest_matches,
    parse_signed_data,
    verify_certificate_signature,
    verify_signer,
)

CSCA_MASTER_LIST_OID = "2.23.136.1.1.2"
CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}
MASTER_LIST_SUFFIXES = {".mls", ".ml"}
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeDecodeError)


class TrustStoreFileError(TrustStoreError):
    """A trust-store file cannot be read, parsed, or (when required) verified."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class CscaMasterList(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("cert_list", core.SetOf, {"spec": ax509.Certificate}),
    ]


@dataclass(frozen=True)
class CscaEntry:
    """One trusted CSCA (or link) certificate and where it came from."""

    certificate: ax509.Certificate
    source: str

    @property
    def subject(self) -> ax509.Name:
        return self.certificate.subject

    @property
    def key_identifier(self) -> bytes | None:
        return self.certificate.key_identifier

    @property
    def country(self) -> str | None:
        """The subject's country code, upper case (master lists also carry ``gb``, ``si`` …)."""
        value = self.certificate.subject.native.get("country_name")
        if not isinstance(value, str):
            return None
        return value.strip().upper() or None

    @property
    def self_signed(self) -> bool:
        return self.certificate.issuer == self.certificate.subject

    def public_key(self) -> PublicKeyTypes:
        """The CSCA public key; raise UnsupportedData for keys ``cryptography`` cannot use."""
        return certificate_public_key(self.certificate)


@dataclass(frozen=True)
class MasterListReport:
    """What loading one master list found."""

    source: str
    certificates: int
    added: int
    signature_verified: bool
    signer_issued_by_csca: bool  # the signer certificate chains to a CSCA in the list
    reason: str  # "ok" or a machine code explaining why the signature did not verify
    signer_subject: str | None


def _load_certificate(der: bytes, source: str) -> ax509.Certificate:
    try:
        cert = ax509.Certificate.load(der, strict=True)
        _ = cert.subject.hashable, cert.issuer.hashable, cert.key_identifier
        _ = cert.authority_key_identifier, cert["tbs_certificate"]["validity"].native
    except _ASN1_ERRORS as exc:
        raise TrustStoreFileError(source, f"not a certificate: {exc}") from exc
    return cert


def verify_issued_by(cert: ax509.Certificate, issuer: CscaEntry) -> None:
    """Check that ``issuer`` signed ``cert``; raise InvalidSignature or UnsupportedData."""
    try:
        verify_certificate_signature(cert, issuer.public_key())
    except _ASN1_ERRORS as exc:
        raise UnsupportedData(f"certificate signature: {exc}") from exc


@dataclass
class TrustStore:
    """Trusted CSCA certificates, indexed by subject and subject key identifier."""

    entries: list[CscaEntry] = field(default_factory=list)
    master_lists: list[MasterListReport] = field(default_factory=list)
    _by_key_id: dict[bytes, list[CscaEntry]] = field(default_factory=dict)
    _by_subject: dict[str, list[CscaEntry]] = field(default_factory=dict)
    _fingerprints: set[bytes] = field(default_factory=set)

    @classmethod
    def load(cls, *paths: Path | str, require_signed_master_lists: bool = False) -> TrustStore:
        """Build a store from folders, certificate files and master lists."""
        store = cls()
        for path in paths:
            p = Path(path)
            if p.is_dir():
                store.add_folder(p, require_signed_master_lists=require_signed_master_lists)
            else:
                store.add_file(p, require_signed_master_lists=require_signed_master_lists)
        return store

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[CscaEntry]:
        return iter(self.entries)

    @property
    def countries(self) -> set[str]:
        """The upper-case country codes of the CSCAs held."""
        return {e.country for e in self.entries if e.country}

    def add_certificate(
        self, cert: ax509.Certificate | x509.Certificate | bytes, source: str = "memory"
    ) -> bool:
        """Add one CSCA certificate; return False when it was already present."""
        if isinstance(cert, x509.Certificate):
            cert = cert.public_bytes(serialization.Encoding.DER)
        if isinstance(cert, bytes):
            cert = _load_certificate(cert, source)
        fingerprint = hashlib.sha256(cert.dump()).digest()
        if fingerprint in self._fingerprints:
            return False
        self._fingerprints.add(fingerprint)
        entry = CscaEntry(cert, source)
        self.entries.append(entry)
        self._by_subject.setdefault(cert.subject.hashable, []).append(entry)
        if cert.key_identifier:
            self._by_key_id.setdefault(cert.key_identifier, []).append(entry)
        return True

    def add_folder(self, folder: Path | str, *, require_signed_master_lists: bool = False) -> int:
        """Add every certificate and master list file in ``folder``; return how many were added."""
        root = Path(folder)
        if not root.is_dir():
            raise TrustStoreFileError(root, "not a folder")
        before = len(self)
        for path in sorted(root.iterdir()):
            suffix = path.suffix.lower()
            if suffix in CERT_SUFFIXES or suffix in MASTER_LIST_SUFFIXES:
                self.add_file(path, require_signed_master_lists=require_signed_master_lists)
        return len(self) - before

    def add_file(self, path: Path | str, *, require_signed_master_lists: bool = False) -> int:
        """Add a certificate file (PEM, possibly several, or DER) or a master list."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise TrustStoreFileError(p, f"cannot read: {exc.strerror}") from exc
        if p.suffix.lower() in MASTER_LIST_SUFFIXES:
            report = self.add_master_list(data, source=str(p), require_signature=False)
            if require_signed_master_lists and not report.signature_verified:
                raise TrustStoreFileError(p, f"master list signature: {report.reason}")
            return report.added
        ders = [data]
        if pem.detect(data):
            try:
                ders = [der for _, _, der in pem.unarmor(data, multiple=True)]
            except ValueError as exc:
                raise TrustStoreFileError(p, f"bad PEM: {exc}") from exc
            if not ders:
                raise TrustStoreFileError(p, "no certificate in PEM")
        return sum(self.add_certificate(_load_certificate(d, str(p)), str(p)) for d in ders)

    def add_master_list(
        self, data: bytes, *, source: str = "master list", require_signature: bool = False
    ) -> MasterListReport:
        """Add the CSCAs of an ICAO master list, verifying and reporting its signature."""
        try:
            signed = parse_signed_data(data, source, CSCA_MASTER_LIST_OID)
            ml = CscaMasterList.load(signed.econtent, strict=True)
            certs = [_load_certificate(c.dump(), source) for c in ml["cert_list"]]
        except MalformedData as exc:
            raise TrustStoreFileError(source, f"bad master list: {exc.reason}") from exc
        except _ASN1_ERRORS as exc:
            raise TrustStoreFileError(source, f"bad master list: {exc}") from exc
        listed = TrustStore()
        for cert in certs:
            listed.add_certificate(cert, source)
        verified, chained, reason, signer_subject = _verify_master_list(signed, listed)
        if require_signature and not verified:
            raise TrustStoreFileError(source, f"master list signature: {reason}")
        added = sum(self.add_certificate(c, source) for c in certs)
        report = MasterListReport(
            source, len(certs), added, verified, chained, reason, signer_subject
        )
        self.master_lists.append(report)
        return report

    def find_issuers(self, cert: ax509.Certificate) -> tuple[list[CscaEntry], str]:
        """Candidate issuers of ``cert`` and how they were found: ``aki``, ``name`` or ``none``.

        Self-signed candidates come before link certificates with the same key.
        """
        aki = cert.authority_key_identifier
        if aki and aki in self._by_key_id:
            found, how = self._by_key_id[aki], "aki"
        elif cert.issuer.hashable in self._by_subject:
            found, how = self._by_subject[cert.issuer.hashable], "name"
        else:
            return [], "none"
        return sorted(found, key=lambda e: not e.self_signed), how


def _verify_master_list(
    signed: SignedContent, listed: TrustStore
) -> tuple[bool, bool, str, str | None]:
    """Return (signature verified, signer chains to a listed CSCA, reason, signer subject)."""
    signer = signed.signers[0]
    cert = next((c for c in signed.certificates if signer.matches(c)), None)
    if cert is None:
        return False, False, "signer_certificate_missing", None
    subject = cert.subject.human_friendly
    if not message_digest_matches(signed, signer):
        return False, False, "message_digest_mismatch", subject
    try:
        verify_signer(signed, signer, certificate_public_key(cert))
    except InvalidSignature:
        return False, False, "signature_invalid", subject
    except UnsupportedData:
        return False, False, "unsupported_algorithm", subject
    chained = False
    for issuer in listed.find_issuers(cert)[0]:
        try:
            verify_issued_by(cert, issuer)
        except (InvalidSignature, UnsupportedData):
            continue
        chained = True
        break
    return True, chained, "ok", subject
