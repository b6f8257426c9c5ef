"""EF.SOD, the Document Security Object (ICAO 9303-10 §4.6.2): decode, encode, signature helpers.

EF.SOD is ``77 L ContentInfo``: a CMS SignedData whose eContent (type 2.23.136.1.1.1) is the
LDSSecurityObject listing one hash per data group. Structures are asn1crypto classes; every
signature is checked with ``cryptography``. The signature helpers here (algorithm mapping,
public-key loading incl. explicit EC parameters) are shared by the trust store and by
Passive/Active Authentication.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from asn1crypto import algos, cms, core, keys
from asn1crypto import x509 as ax509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    PrivateKeyTypes,
    PublicKeyTypes,
)
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ekyc.errors import MalformedData, UnsupportedData
from readers.errors import MalformedTLV
from readers.tlv import encode as tlv_encode
from readers.tlv import parse_one

FILE = "EF.SOD"
SOD_TAG = 0x77
LDS_SECURITY_OBJECT_OID = "2.23.136.1.1.1"
# BSI TR-03111 ecdsa-plain-signatures: 0.4.0.127.0.7.1.1.4.1.<n>, signature is r||s.
_PLAIN_ECDSA = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
# Errors asn1crypto raises on malformed input when a lazily parsed field is first touched.
_ASN1_ERRORS = (ValueError, TypeError, KeyError, IndexError, OverflowError, UnicodeDecodeError)

Scheme = Literal["pkcs1v15", "pss", "ecdsa", "ecdsa_plain"]


class DataGroupHash(core.Sequence):
    _fields = [
        ("data_group_number", core.Integer),
        ("data_group_hash_value", core.OctetString),
    ]


class DataGroupHashValues(core.SequenceOf):
    _child_spec = DataGroupHash


class LDSVersionInfo(core.Sequence):
    _fields = [
        ("lds_version", core.PrintableString),
        ("unicode_version", core.PrintableString),
    ]


class LDSSecurityObject(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("hash_algorithm", algos.DigestAlgorithm),
        ("data_group_hash_values", DataGroupHashValues),
        ("lds_version_info", LDSVersionInfo, {"optional": True}),
    ]


@dataclass(frozen=True)
class SignatureAlgorithm:
    """A resolved signature algorithm: scheme, hash and (for RSA-PSS) MGF1 hash and salt."""

    scheme: Scheme
    hash_name: str
    mgf_hash_name: str | None = None
    salt_length: int | None = None


@dataclass(frozen=True)
class SignerInfo:
    """One CMS SignerInfo, decoded."""

    digest_algorithm: str
    signature_algorithm_oid: str
    signature_algorithm: SignatureAlgorithm | None  # None: not supported here
    signature: bytes
    signed_attrs: bytes | None  # DER with the SET tag: the bytes the signature covers
    message_digest: bytes | None
    content_type: str | None
    signing_time: datetime | None
    sid_issuer: ax509.Name | None
    sid_serial: int | None
    sid_key_id: bytes | None

    def matches(self, cert: ax509.Certificate) -> bool:
        """Whether ``cert`` is the certificate this SignerInfo names."""
        if self.sid_key_id is not None:
            return cert.key_identifier == self.sid_key_id
        return cert.issuer == self.sid_issuer and cert.serial_number == self.sid_serial


@dataclass(frozen=True)
class SignedContent:
    """A CMS SignedData: its eContent, signers and embedded certificates."""

    econtent_type: str
    econtent: bytes
    signers: tuple[SignerInfo, ...]
    certificates: tuple[ax509.Certificate, ...]


@dataclass(frozen=True)
class SecurityObject:
    """A decoded EF.SOD."""

    version: int
    hash_algorithm: str
    dg_hashes: dict[int, bytes]
    lds_version: str | None
    unicode_version: str | None
    signed: SignedContent

    @property
    def signer(self) -> SignerInfo:
        return self.signed.signers[0]

    @property
    def certificates(self) -> tuple[ax509.Certificate, ...]:
        return self.signed.certificates

    def ds_certificate(self) -> ax509.Certificate | None:
        """The embedded certificate named by the (first) signer, if present."""
        return next((c for c in self.certificates if self.signer.matches(c)), None)


def hash_data(hash_name: str, data: bytes) -> bytes:
    """Hash ``data`` with the algorithm named as asn1crypto names it (``sha256`` …)."""
    if hash_name not in _HASHES:
        raise UnsupportedData(f"hash algorithm {hash_name}")
    return hashlib.new(hash_name, data).digest()


def _hash_obj(name: str) -> hashes.HashAlgorithm:
    if name not in _HASHES:
        raise UnsupportedData(f"hash algorithm {name}")
    return _HASHES[name]()


def resolve_signature_algorithm(
    alg: algos.SignedDigestAlgorithm, digest_name: str | None = None
) -> SignatureAlgorithm:
    """Map an AlgorithmIdentifier to a SignatureAlgorithm; ``digest_name`` serves bare OIDs."""
    name = alg["algorithm"].native
    if name in _PLAIN_ECDSA:
        return SignatureAlgorithm("ecdsa_plain", _PLAIN_ECDSA[name])
    if name == "rsassa_pss":
        params = alg["parameters"]
        hash_name = params["hash_algorithm"]["algorithm"].native
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].native != "mgf1":
            raise UnsupportedData(f"RSA-PSS mask generation {mgf['algorithm'].native}")
        mgf_hash = mgf["parameters"]["algorithm"].native
        return SignatureAlgorithm("pss", hash_name, mgf_hash, params["salt_length"].native)
    if name in ("rsassa_pkcs1v15", "ecdsa"):
        if digest_name is None:
            raise UnsupportedData(f"{name} without a digest algorithm")
        scheme: Scheme = "pkcs1v15" if name == "rsassa_pkcs1v15" else "ecdsa"
        return SignatureAlgorithm(scheme, digest_name)
    hash_name, _, kind = name.partition("_")
    if kind == "rsa" and hash_name in _HASHES:
        return SignatureAlgorithm("pkcs1v15", hash_name)
    if kind == "ecdsa" and hash_name in _HASHES:
        return SignatureAlgorithm("ecdsa", hash_name)
    raise UnsupportedData(f"signature algorithm {name}")


def verify_signature(
    public_key: PublicKeyTypes, alg: SignatureAlgorithm, signature: bytes, data: bytes
) -> None:
    """Verify ``signature`` over ``data``; raise InvalidSignature, also on a key mismatch."""
    digest = _hash_obj(alg.hash_name)
    if alg.scheme in ("pkcs1v15", "pss"):
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise InvalidSignature("RSA signature but the key is not RSA")
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
        if alg.scheme == "pss":
            mgf_hash = _hash_obj(alg.mgf_hash_name or alg.hash_name)
            pad = padding.PSS(mgf=padding.MGF1(mgf_hash), salt_length=alg.salt_length or 0)
        public_key.verify(signature, data, pad, digest)
        return
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise InvalidSignature("ECDSA signature but the key is not EC")
    if alg.scheme == "ecdsa_plain":
        signature = plain_to_der(signature)
    public_key.verify(signature, data, ec.ECDSA(digest))


def plain_to_der(signature: bytes) -> bytes:
    """Convert a plain ECDSA signature r||s (BSI TR-03111) to DER; odd lengths are invalid."""
    if not signature or len(signature) % 2:
        raise InvalidSignature("plain ECDSA signature of odd length")
    half = len(signature) // 2
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    return encode_dss_signature(r, s)


# Named curves cryptography supports, tried in order when a key carries explicit parameters.
_NAMED_CURVES: tuple[ec.EllipticCurve, ...] = (
    ec.SECP256R1(),
    ec.BrainpoolP256R1(),
    ec.SECP384R1(),
    ec.BrainpoolP384R1(),
    ec.SECP521R1(),
    ec.BrainpoolP512R1(),
    ec.SECP224R1(),
    ec.SECP192R1(),
)


def load_public_key(spki_der: bytes) -> PublicKeyTypes:
    """Load a SubjectPublicKeyInfo, mapping explicit EC domain parameters to a named curve.

    Many eMRTD keys (CSCA, DS, DG15) spell brainpool curves out explicitly, which
    ``cryptography`` refuses. Such a key is accepted on the named curve of the same size on
    which both its point and the explicit base point lie.
    """
    try:
        return serialization.load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        error = exc
    try:
        info = keys.PublicKeyInfo.load(spki_der)
        params = info["algorithm"]["parameters"]
        if info["algorithm"]["algorithm"].native != "ec" or params.name != "specified":
            raise UnsupportedData(f"public key: {error}")
        spec = params.chosen
        field_bits = spec["field_id"]["parameters"].native.bit_length()
        base = spec["base"].to_coords()
        point = info["public_key"].to_coords()
    except _ASN1_ERRORS as exc:
        raise UnsupportedData(f"public key: {exc}") from exc
    for curve in _NAMED_CURVES:
        if curve.key_size != field_bits:
            continue
        try:
            ec.EllipticCurvePublicNumbers(base[0], base[1], curve).public_key()
            return ec.EllipticCurvePublicNumbers(point[0], point[1], curve).public_key()
        except ValueError:
            continue
    raise UnsupportedData("explicit EC parameters match no supported named curve")


def _tlv_value(data: bytes, file: str) -> tuple[bytes, int]:
    """Strip the ``77`` wrapper when present; return (ContentInfo DER, its offset)."""
    if data[:1] == b"\x30":
        return data, 0
    try:
        tlv = parse_one(data)
    except MalformedTLV as exc:
        raise MalformedData(file, exc.offset, exc.reason) from exc
    if tlv.tag != SOD_TAG:
        raise MalformedData(file, 0, f"expected tag 77, found {tlv.tag:X}")
    return tlv.value, tlv.header_len


def _parse_attrs(attrs: cms.CMSAttributes, file: str, offset: int) -> dict[str, object]:
    found: dict[str, object] = {}
    for attr in attrs:
        name = attr["type"].native
        if name in found or len(attr["values"]) != 1:
            raise MalformedData(file, offset, f"signed attribute {name} must have one value")
        found[name] = attr["values"][0].native
    return found


def _parse_signer(si: cms.SignerInfo, file: str, offset: int) -> SignerInfo:
    digest = si["digest_algorithm"]["algorithm"].native
    sig_alg_asn1 = si["signature_algorithm"]
    try:
        sig_alg: SignatureAlgorithm | None = resolve_signature_algorithm(sig_alg_asn1, digest)
    except UnsupportedData:
        sig_alg = None
    attrs = si["signed_attrs"]
    signed: bytes | None = None
    found: dict[str, object] = {}
    if not isinstance(attrs, core.Void):
        # The signature covers the attributes re-tagged from [0] IMPLICIT to SET (RFC 5652 §5.4).
        signed = b"\x31" + attrs.dump()[1:]
        found = _parse_attrs(attrs, file, offset)
    sid = si["sid"]
    issuer = serial = key_id = None
    if sid.name == "subject_key_identifier":
        key_id = sid.chosen.native
    else:
        issuer = sid.chosen["issuer"]
        serial = sid.chosen["serial_number"].native
        issuer.native  # noqa: B018 - force the lazy parse so malformed names fail here
    digest_attr = found.get("message_digest")
    ctype = found.get("content_type")
    stime = found.get("signing_time")
    return SignerInfo(
        digest_algorithm=digest,
        signature_algorithm_oid=sig_alg_asn1["algorithm"].dotted,
        signature_algorithm=sig_alg,
        signature=si["signature"].native,
        signed_attrs=signed,
        message_digest=digest_attr if isinstance(digest_attr, bytes) else None,
        content_type=ctype if isinstance(ctype, str) else None,
        signing_time=stime if isinstance(stime, datetime) else None,
        sid_issuer=issuer,
        sid_serial=serial,
        sid_key_id=key_id,
    )


def parse_signed_data(data: bytes, file: str, expected_type: str) -> SignedContent:
    """Decode a CMS ContentInfo/SignedData (optionally ``77``-wrapped) of one eContent type."""
    if not data:
        raise MalformedData(file, 0, "empty")
    der, offset = _tlv_value(data, file)
    try:
        info = cms.ContentInfo.load(der, strict=False)
        if info["content_type"].native != "signed_data":
            raise MalformedData(file, offset, "ContentInfo is not SignedData")
        sd = info["content"]
        encap = sd["encap_content_info"]
        ctype = encap["content_type"].dotted
        if ctype != expected_type:
            raise MalformedData(file, offset, f"eContent type {ctype}, expected {expected_type}")
        content = encap["content"]
        if isinstance(content, core.Void):
            raise MalformedData(file, offset, "eContent absent")
        econtent = content.native if isinstance(content, core.ParsableOctetString) else None
        if not isinstance(econtent, bytes):
            raise MalformedData(file, offset, "eContent is not an OCTET STRING")
        signers = tuple(_parse_signer(si, file, offset) for si in sd["signer_infos"])
        if not signers:
            raise MalformedData(file, offset, "no SignerInfo")
        certs_field = sd["certificates"]
        certs: list[ax509.Certificate] = []
        if not isinstance(certs_field, core.Void):
            for choice in certs_field:
                if choice.name == "certificate":
                    cert = choice.chosen
                    cert["tbs_certificate"]["subject_public_key_info"].dump()
                    cert.issuer.native  # noqa: B018 - force the lazy parse
                    certs.append(cert)
    except _ASN1_ERRORS as exc:
        raise MalformedData(file, offset, f"CMS: {exc}") from exc
    return SignedContent(ctype, econtent, signers, tuple(certs))


def parse_sod(data: bytes) -> SecurityObject:
    """Decode EF.SOD; raise MalformedData(file="EF.SOD", …) on any structural problem."""
    signed = parse_signed_data(data, FILE, LDS_SECURITY_OBJECT_OID)
    try:
        lso = LDSSecurityObject.load(signed.econtent, strict=True)
        hashes_ = {}
        for item in lso["data_group_hash_values"]:
            number = item["data_group_number"].native
            if not 1 <= number <= 16 or number in hashes_:
                raise MalformedData(FILE, 0, f"bad or repeated data group number {number}")
            hashes_[number] = item["data_group_hash_value"].native
        info = lso["lds_version_info"]
        lds_version = unicode_version = None
        if not isinstance(info, core.Void):
            lds_version = info["lds_version"].native
            unicode_version = info["unicode_version"].native
        version = lso["version"].native
        hash_name = lso["hash_algorithm"]["algorithm"].native
    except _ASN1_ERRORS as exc:
        raise MalformedData(FILE, 0, f"LDSSecurityObject: {exc}") from exc
    return SecurityObject(version, hash_name, hashes_, lds_version, unicode_version, signed)


def _sig_algorithm_asn1(scheme: Scheme, hash_name: str) -> algos.SignedDigestAlgorithm:
    if scheme == "pss":
        params = algos.RSASSAPSSParams(
            {
                "hash_algorithm": {"algorithm": hash_name},
                "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": hash_name}},
                "salt_length": _hash_obj(hash_name).digest_size,
                "trailer_field": "trailer_field_bc",
            }
        )
        return algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})
    if scheme == "ecdsa_plain":
        oid = next(k for k, v in _PLAIN_ECDSA.items() if v == hash_name)
        return algos.SignedDigestAlgorithm({"algorithm": oid})
    suffix = "rsa" if scheme == "pkcs1v15" else "ecdsa"
    return algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_{suffix}"})


def _sign(key: PrivateKeyTypes, scheme: Scheme, hash_name: str, data: bytes) -> bytes:
    digest = _hash_obj(hash_name)
    if isinstance(key, rsa.RSAPrivateKey) and scheme in ("pkcs1v15", "pss"):
        pad: padding.AsymmetricPadding = padding.PKCS1v15()
        if scheme == "pss":
            pad = padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        return key.sign(data, pad, digest)
    if isinstance(key, ec.EllipticCurvePrivateKey) and scheme in ("ecdsa", "ecdsa_plain"):
        der = key.sign(data, ec.ECDSA(digest, deterministic_signing=True))
        if scheme == "ecdsa":
            return der
        parsed = algos.DSASignature.load(der)
        size = (key.curve.key_size + 7) // 8
        return parsed["r"].native.to_bytes(size, "big") + parsed["s"].native.to_bytes(size, "big")
    raise UnsupportedData(f"cannot sign {scheme} with {type(key).__name__}")


def build_signed_data(
    econtent_type: str,
    econtent: bytes,
    *,
    signer_key: PrivateKeyTypes,
    signer_cert: x509.Certificate,
    digest_alg: str = "sha256",
    scheme: Scheme | None = None,
    signing_time: datetime | None = None,
    include_certificate: bool = True,
    use_key_id: bool = False,
) -> bytes:
    """Sign ``econtent`` as a CMS ContentInfo/SignedData with signed attributes."""
    if scheme is None:
        scheme = "ecdsa" if isinstance(signer_key, ec.EllipticCurvePrivateKey) else "pkcs1v15"
    cert = ax509.Certificate.load(signer_cert.public_bytes(serialization.Encoding.DER))
    attrs = [
        {"type": "content_type", "values": [econtent_type]},
        {"type": "message_digest", "values": [hash_data(digest_alg, econtent)]},
    ]
    if signing_time is not None:
        attrs.append({"type": "signing_time", "values": [cms.Time({"utc_time": signing_time})]})
    if use_key_id:
        sid = cms.SignerIdentifier({"subject_key_identifier": cert.key_identifier})
    else:
        sid = cms.SignerIdentifier(
            {
                "issuer_and_serial_number": {
                    "issuer": cert.issuer,
                    "serial_number": cert.serial_number,
                }
            }
        )
    signer = cms.SignerInfo(
        {
            "version": "v3" if use_key_id else "v1",
            "sid": sid,
            "digest_algorithm": {"algorithm": digest_alg},
            "signed_attrs": cms.CMSAttributes(attrs),
            "signature_algorithm": _sig_algorithm_asn1(scheme, digest_alg),
            "signature": b"",
        }
    )
    to_sign = b"\x31" + signer["signed_attrs"].dump()[1:]
    signer["signature"] = _sign(signer_key, scheme, digest_alg, to_sign)
    signed_data = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": digest_alg}],
        "encap_content_info": {
            "content_type": econtent_type,
            "content": core.ParsableOctetString(econtent),
        },
        "signer_infos": [signer],
    }
    if include_certificate:
        signed_data["certificates"] = [cert]
    info = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
    return info.dump()


def build_sod(
    data_groups: Mapping[int, bytes] | None = None,
    *,
    dg_hashes: Mapping[int, bytes] | None = None,
    hash_alg: str = "sha256",
    ds_key: PrivateKeyTypes,
    ds_cert: x509.Certificate,
    scheme: Scheme | None = None,
    digest_alg: str | None = None,
    signing_time: datetime | None = None,
    lds_version: tuple[str, str] | None = None,
    include_certificate: bool = True,
    use_key_id: bool = False,
) -> bytes:
    """Encode a signed EF.SOD (``77``-wrapped) over data-group bytes or precomputed hashes.

    ``scheme`` defaults to ECDSA for EC keys and PKCS#1 v1.5 for RSA; ``digest_alg`` (the
    CMS digest) defaults to ``hash_alg`` (the LDS data-group hash).
    """
    hashes_ = dict(dg_hashes or {})
    for number, content in (data_groups or {}).items():
        hashes_[number] = hash_data(hash_alg, content)
    lso: dict[str, object] = {
        "version": 1 if lds_version else 0,
        "hash_algorithm": {"algorithm": hash_alg},
        "data_group_hash_values": [
            {"data_group_number": n, "data_group_hash_value": h} for n, h in sorted(hashes_.items())
        ],
    }
    if lds_version:
        lso["lds_version_info"] = {"lds_version": lds_version[0], "unicode_version": lds_version[1]}
    content_info = build_signed_data(
        LDS_SECURITY_OBJECT_OID,
        LDSSecurityObject(lso).dump(),
        signer_key=ds_key,
        signer_cert=ds_cert,
        digest_alg=digest_alg or hash_alg,
        scheme=scheme,
        signing_time=signing_time,
        include_certificate=include_certificate,
        use_key_id=use_key_id,
    )
    return tlv_encode(SOD_TAG, content_info)


def message_digest_matches(signed: SignedContent, signer: SignerInfo) -> bool:
    """Whether the signed messageDigest (and content-type) attributes match the eContent."""
    if signer.signed_attrs is None:
        return True  # no attributes: the signature covers the eContent itself
    if signer.message_digest is None or signer.content_type != signed.econtent_type:
        return False
    actual = hash_data(signer.digest_algorithm, signed.econtent)
    return hmac.compare_digest(actual, signer.message_digest)


def verify_signer(signed: SignedContent, signer: SignerInfo, public_key: PublicKeyTypes) -> None:
    """Verify one SignerInfo's signature; raise InvalidSignature or UnsupportedData."""
    if signer.signature_algorithm is None:
        raise UnsupportedData(f"signature algorithm {signer.signature_algorithm_oid}")
    data = signer.signed_attrs if signer.signed_attrs is not None else signed.econtent
    verify_signature(public_key, signer.signature_algorithm, signer.signature, data)


def certificate_public_key(cert: ax509.Certificate) -> PublicKeyTypes:
    """The certificate's public key (explicit EC parameters mapped to a named curve)."""
    return load_public_key(cert["tbs_certificate"]["subject_public_key_info"].dump())


def verify_certificate_signature(cert: ax509.Certificate, issuer_key: PublicKeyTypes) -> None:
    """Verify that ``issuer_key`` signed ``cert``; raise InvalidSignature or UnsupportedData."""
    alg = resolve_signature_algorithm(cert["signature_algorithm"])
    verify_signature(
        issuer_key, alg, cert["signature_value"].native, cert["tbs_certificate"].dump()
    )
