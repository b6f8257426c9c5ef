"""A throw-away ICAO PKI for tests and demos: CSCA, Document Signers, CRLs, a PEM trust folder.

EC keys are derived from a seed (deterministic and cheap); RSA keys are generated once per
(seed, size) and cached. Certificates follow the ICAO 9303-12 profile: CSCA with CA basic
constraints and keyCertSign, DS with digitalSignature, SKI/AKI, optional document type list.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from asn1crypto import core
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

KeyType = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
CscaSigning = Literal["pkcs1v15", "pss"]

DOCUMENT_TYPE_LIST_OID = x509.ObjectIdentifier("2.23.136.1.1.6.2")
CSCA_NOT_BEFORE = datetime(2020, 1, 1, tzinfo=UTC)
CSCA_NOT_AFTER = datetime(2040, 1, 1, tzinfo=UTC)
DS_NOT_BEFORE = datetime(2021, 1, 1, tzinfo=UTC)
DS_NOT_AFTER = datetime(2033, 1, 1, tzinfo=UTC)
_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "brainpoolP256r1": ec.BrainpoolP256R1(),
    "brainpoolP384r1": ec.BrainpoolP384R1(),
}


class _DocumentTypeList(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("doc_type_list", core.SetOf, {"spec": core.PrintableString}),
    ]


def make_key(
    key_type: KeyType = "ec", *, seed: str = "key", curve: str = "P-256", rsa_bits: int = 2048
) -> PrivateKey:
    """A private key; EC keys derive from ``seed``, RSA keys are cached per (seed, size)."""
    if key_type == "rsa":
        return _rsa_key(seed, rsa_bits)
    if curve not in _CURVES:
        raise ValueError(f"unknown curve {curve}")
    ec_curve = _CURVES[curve]
    stretched = hashlib.sha512(seed.encode()).digest() * 2
    secret = int.from_bytes(stretched, "big") % (1 << (ec_curve.key_size - 1)) + 1
    return ec.derive_private_key(secret, ec_curve)


@lru_cache(maxsize=32)
def _rsa_key(seed: str, bits: int) -> rsa.RSAPrivateKey:
    del seed  # RSA generation cannot be seeded in cryptography; the seed only keys the cache
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _serial(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big") >> 1 | 1


def _sign(
    builder: x509.CertificateBuilder, key: PrivateKey, signing: CscaSigning
) -> x509.Certificate:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    pad: padding.PSS | padding.PKCS1v15 = padding.PKCS1v15()
    if signing == "pss":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return builder.sign(key, hashes.SHA256(), rsa_padding=pad)


def _name(country: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test PKI"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_csca(
    country: str = "VN",
    key_type: KeyType = "ec",
    not_before: datetime = CSCA_NOT_BEFORE,
    not_after: datetime = CSCA_NOT_AFTER,
    *,
    key: PrivateKey | None = None,
    seed: str | None = None,
    common_name: str | None = None,
    serial: int | None = None,
    key_identifier: bytes | None = None,
    signing: CscaSigning = "pkcs1v15",
    ca: bool = True,
) -> tuple[PrivateKey, x509.Certificate]:
    """A self-signed CSCA certificate (CA, keyCertSign + cRLSign, SKI = AKI)."""
    seed = seed or f"csca-{country}-{key_type}"
    key = key or make_key(key_type, seed=seed)
    name = _name(country, common_name or f"CSCA {country} TEST")
    ski = key_identifier or x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    usage = x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial or _serial(seed))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier(ski), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(ski, None, None),
            critical=False,
        )
    )
    return key, _sign(builder, key, signing)


def make_ds(
    csca_key: PrivateKey,
    csca_cert: x509.Certificate,
    *,
    key_type: KeyType = "ec",
    curve: str = "P-256",
    rsa_bits: int = 2048,
    not_before: datetime = DS_NOT_BEFORE,
    not_after: datetime = DS_NOT_AFTER,
    key: PrivateKey | None = None,
    seed: str | None = None,
    common_name: str = "Document Signer TEST",
    serial: int | None = None,
    doc_types: Sequence[str] | None = ("ID",),
    digital_signature: bool = True,
    signing: CscaSigning = "pkcs1v15",
) -> tuple[PrivateKey, x509.Certificate]:
    """A Document Signer certificate issued by the CSCA (digitalSignature, SKI, AKI)."""
    country = csca_cert.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value
    if isinstance(country, bytes):
        country = country.decode()
    seed = seed or f"ds-{country}-{key_type}-{curve}-{common_name}"
    key = key or make_key(key_type, seed=seed, curve=curve, rsa_bits=rsa_bits)
    csca_ski = csca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    usage = x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=not digital_signature,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(str(country), common_name))
        .issuer_name(csca_cert.subject)
        .public_key(key.public_key())
        .serial_number(serial or _serial(seed))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(csca_ski.digest, None, None),
            critical=False,
        )
    )
    if doc_types:
        value = _DocumentTypeList({"version": 0, "doc_type_list": list(doc_types)}).dump()
        builder = builder.add_extension(
            x509.UnrecognizedExtension(DOCUMENT_TYPE_LIST_OID, value), critical=False
        )
    return key, _sign(builder, csca_key, signing)


def make_crl(
    csca_key: PrivateKey,
    csca_cert: x509.Certificate,
    revoked_serials: Iterable[int] = (),
    *,
    this_update: datetime = DS_NOT_BEFORE,
    next_update: datetime = CSCA_NOT_AFTER,
) -> x509.CertificateRevocationList:
    """A CRL signed by the CSCA listing ``revoked_serials``."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(csca_cert.subject)
        .last_update(this_update)
        .next_update(next_update)
    )
    for serial in revoked_serials:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(this_update)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    if isinstance(csca_key, ec.EllipticCurvePrivateKey):
        return builder.sign(csca_key, hashes.SHA256(), ecdsa_deterministic=True)
    return builder.sign(csca_key, hashes.SHA256())


def write_trust_folder(folder: Path, certs: Iterable[x509.Certificate]) -> list[Path]:
    """Write each certificate as ``csca_<n>.pem`` into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, cert in enumerate(certs):
        path = folder / f"csca_{i}.pem"
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths.append(path)
    return paths
