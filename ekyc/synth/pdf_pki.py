"""A local test CA for signed certified copies: root CA, the service's signing certificate,
a time-stamping certificate and a CRL, written as PEM files the settings point at.

Like the chip test PKI (``ekyc.synth.pki``) this stands in for a real hierarchy that cannot
be had here: a production deployment points ``EKYC_PDF_SIGNER_*`` at the certificate its
CA issued instead. Keys are fresh random EC P-256 keys (never derived from a seed: the
folder may end up signing real-looking documents on a developer's machine).

The signer certificate carries digitalSignature + nonRepudiation (content commitment), what
PDF validators expect of a document signer; the time-stamping certificate carries the
critical extended key usage timeStamping (RFC 3161 §2.3).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: file names in a signer folder (written by ``ekyc certs init-pdf``, read by the service)
SIGNER_KEY = "signer-key.pem"
SIGNER_CERT = "signer.pem"
CHAIN = "chain.pem"
CRL = "crl.pem"
TSA_KEY = "tsa-key.pem"
TSA_CERT = "tsa.pem"
CA_KEY = "ca-key.pem"  # kept so a developer can issue a new CRL; never part of production

ORGANISATION = "ekyc local test CA (not for production)"


@dataclass(frozen=True)
class PdfTestPki:
    """The keys and certificates of one local test CA."""

    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey
    signer_cert: x509.Certificate
    tsa_key: ec.EllipticCurvePrivateKey
    tsa_cert: x509.Certificate
    crl: x509.CertificateRevocationList


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(**on: bool) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    )
    return x509.KeyUsage(**{n: on.get(n, False) for n in names})


def _serial() -> int:
    return int.from_bytes(os.urandom(16), "big") >> 1 | 1


def make_ca(
    now: dt.datetime, *, common_name: str = "ekyc certified copy test root", years: int = 20
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A self-signed root CA (keyCertSign + cRLSign, one level of issued certificates)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def issue(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    common_name: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    *,
    time_stamping: bool = False,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """An end-entity certificate: a document signer, or a time-stamping unit."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = _usage(digital_signature=True, content_commitment=not time_stamping)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if time_stamping:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def make_crl(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    now: dt.datetime,
    revoked: Iterable[tuple[int, dt.datetime]] = (),
    *,
    next_update: dt.timedelta = dt.timedelta(days=365 * 5),
) -> x509.CertificateRevocationList:
    """A CRL of the CA listing ``(serial, revocation time)`` pairs (CRL number = now)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - dt.timedelta(minutes=1))
        .next_update(now + next_update)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    for serial, when in revoked:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(ca_key, hashes.SHA256())


def make_pdf_pki(
    now: dt.datetime,
    *,
    signer_years: int = 2,
    signer_name: str = "ekyc certified copy signer (test)",
) -> PdfTestPki:
    """A root CA, a signer and a time-stamping certificate valid from now, and an empty CRL."""
    ca_key, ca_cert = make_ca(now)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(days=365 * signer_years)
    signer_key, signer_cert = issue(ca_key, ca_cert, signer_name, start, end)
    tsa_key, tsa_cert = issue(
        ca_key, ca_cert, "ekyc time-stamping unit (test)", start, end, time_stamping=True
    )
    crl = make_crl(ca_key, ca_cert, now)
    return PdfTestPki(ca_key, ca_cert, signer_key, signer_cert, tsa_key, tsa_cert, crl)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, private: bool = False) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def write_pdf_pki(folder: Path, pki: PdfTestPki) -> dict[str, Path]:
    """Write the PKI as PEM files into ``folder`` (private keys 0600); returns them by role."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = serialization.Encoding.PEM
    files = {
        "signer_key": (SIGNER_KEY, _key_pem(pki.signer_key), True),
        "signer_cert": (SIGNER_CERT, pki.signer_cert.public_bytes(pem), False),
        "chain": (CHAIN, pki.ca_cert.public_bytes(pem), False),
        "crl": (CRL, pki.crl.public_bytes(pem), False),
        "tsa_key": (TSA_KEY, _key_pem(pki.tsa_key), True),
        "tsa_cert": (TSA_CERT, pki.tsa_cert.public_bytes(pem), False),
        "ca_key": (CA_KEY, _key_pem(pki.ca_key), True),
    }
    out = {}
    for role, (name, data, private) in files.items():
        _write(folder / name, data, private)
        out[role] = folder / name
    return out
