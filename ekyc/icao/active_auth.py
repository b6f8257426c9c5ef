"""Server-side check of an Active Authentication answer (ICAO 9303-11 §6.1).

RSA: ISO/IEC 9796-2 scheme 1 with message recovery. The representative F = s^e mod n (or
n - F, the ISO 9796-2 alternative) must read 6A || M1 || H || trailer; trailer BC means
SHA-1, <id> CC names the hash. H is compared, in constant time, with hash(M1 || nonce).

ECDSA: the signature is plain r || s (BSI TR-03111); a DER signature is also accepted. The
hash comes from DG14's ActiveAuthenticationInfo signatureAlgorithm when given. Without it we
use SHA-256: ICAO names no default, SHA-256 is what the Vietnamese CCCD and most EC chips
use, and guessing among several hashes would weaken the check.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from ekyc.errors import UnsupportedData
from ekyc.icao.sod import SignatureAlgorithm, load_public_key, plain_to_der, verify_signature
from readers.errors import MalformedTLV
from readers.tlv import parse_one

DG15_TAG = 0x6F
DEFAULT_EC_HASH = "sha256"
# ISO/IEC 10118-3 hash identifiers in an explicit 9796-2 trailer (<id> CC).
TRAILER_HASHES = {0x33: "sha1", 0x34: "sha256", 0x35: "sha512", 0x36: "sha384", 0x38: "sha224"}
# DG14 ActiveAuthenticationInfo.signatureAlgorithm: BSI plain ECDSA and X9.62 ECDSA OIDs.
AA_SIGNATURE_OIDS = {
    "0.4.0.127.0.7.1.1.4.1.1": "sha1",
    "0.4.0.127.0.7.1.1.4.1.2": "sha224",
    "0.4.0.127.0.7.1.1.4.1.3": "sha256",
    "0.4.0.127.0.7.1.1.4.1.4": "sha384",
    "0.4.0.127.0.7.1.1.4.1.5": "sha512",
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}


class AAStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    UNSUPPORTED = "unsupported"
    #: the chip offers AA but there was no answer to check (an offline re-check of stored
    #: files, a request without a signature); whether that is acceptable is a policy's call
    NOT_PERFORMED = "not_performed"


@dataclass(frozen=True)
class ActiveAuthResult:
    """Outcome of Active Authentication with a stable reason code."""

    status: AAStatus
    code: str
    message: str
    algorithm: str  # "rsa-iso9796-2" or "ecdsa"
    hash_name: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is AAStatus.OK

    @property
    def performed(self) -> bool:
        return self.status is not AAStatus.NOT_PERFORMED


def aa_not_performed(code: str, message: str, algorithm: str = "unknown") -> ActiveAuthResult:
    """The result for a chip offering AA when no signature over a nonce can be checked."""
    return ActiveAuthResult(AAStatus.NOT_PERFORMED, code, message, algorithm)


def _public_key(info: bytes | PublicKeyTypes) -> PublicKeyTypes:
    if not isinstance(info, bytes):
        return info
    if info[:1] == bytes([DG15_TAG]):  # a whole DG15 file: 6F L SubjectPublicKeyInfo
        try:
            info = parse_one(info).value
        except MalformedTLV as exc:
            raise UnsupportedData(f"DG15: {exc.reason}") from exc
    return load_public_key(info)


def verify_active_auth(
    public_key_info: bytes | PublicKeyTypes,
    nonce: bytes,
    signature: bytes,
    dg14_aa_info_oid: str | None = None,
) -> ActiveAuthResult:
    """Verify the chip's answer to INTERNAL AUTHENTICATE over ``nonce`` with the DG15 key."""
    try:
        key = _public_key(public_key_info)
    except UnsupportedData as exc:
        return ActiveAuthResult(AAStatus.UNSUPPORTED, "aa_key_unsupported", str(exc), "unknown")
    if isinstance(key, rsa.RSAPublicKey):
        return _verify_rsa(key, nonce, signature)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return _verify_ecdsa(key, nonce, signature, dg14_aa_info_oid)
    msg = f"{type(key).__name__} is not an Active Authentication key"
    return ActiveAuthResult(AAStatus.UNSUPPORTED, "aa_key_unsupported", msg, "unknown")


def _rsa_fail(code: str, message: str, hash_name: str | None = None) -> ActiveAuthResult:
    return ActiveAuthResult(AAStatus.FAILED, code, message, "rsa-iso9796-2", hash_name)


def _verify_rsa(key: rsa.RSAPublicKey, nonce: bytes, signature: bytes) -> ActiveAuthResult:
    numbers = key.public_numbers()
    n = numbers.n
    size = (n.bit_length() + 7) // 8
    s = int.from_bytes(signature, "big")
    if not signature or len(signature) > size or s >= n:
        return _rsa_fail("aa_bad_length", "signature does not fit the modulus")
    m = pow(s, numbers.e, n)
    if m & 0xF != 0xC:  # ISO 9796-2: the signer may have sent min(s, n - s)
        m = n - m
    f = m.to_bytes(size, "big")
    if f[-1] == 0xBC:
        hash_name, trailer_len = "sha1", 1
    elif f[-1] == 0xCC and f[-2] in TRAILER_HASHES:
        hash_name, trailer_len = TRAILER_HASHES[f[-2]], 2
    else:
        return _rsa_fail("aa_bad_trailer", "recovered block has no ISO 9796-2 trailer")
    if f[0] != 0x6A:
        return _rsa_fail("aa_bad_header", "recovered block is not partial recovery (6A)")
    digest_len = hashlib.new(hash_name).digest_size
    m1 = f[1 : -(digest_len + trailer_len)]
    recovered = f[-(digest_len + trailer_len) : -trailer_len]
    expected = hashlib.new(hash_name, m1 + nonce).digest()
    if not hmac.compare_digest(recovered, expected):
        return _rsa_fail("aa_signature_invalid", "digest over M1 || nonce differs", hash_name)
    msg = "chip proved possession of the DG15 private key"
    return ActiveAuthResult(AAStatus.OK, "ok", msg, "rsa-iso9796-2", hash_name)


def _verify_ecdsa(
    key: ec.EllipticCurvePublicKey, nonce: bytes, signature: bytes, oid: str | None
) -> ActiveAuthResult:
    if oid is not None and oid not in AA_SIGNATURE_OIDS:
        msg = f"AA signature algorithm {oid}"
        return ActiveAuthResult(AAStatus.UNSUPPORTED, "aa_algorithm_unsupported", msg, "ecdsa")
    hash_name = AA_SIGNATURE_OIDS[oid] if oid else DEFAULT_EC_HASH
    size = (key.curve.key_size + 7) // 8
    try:
        if len(signature) == 2 * size:
            der = plain_to_der(signature)
        else:
            decode_dss_signature(signature)  # accept DER only if it is DER
            der = signature
        verify_signature(key, SignatureAlgorithm("ecdsa", hash_name), der, nonce)
    except (InvalidSignature, ValueError):
        msg = "ECDSA signature over the nonce does not verify"
        return ActiveAuthResult(AAStatus.FAILED, "aa_signature_invalid", msg, "ecdsa", hash_name)
    msg = "chip proved possession of the DG15 private key"
    return ActiveAuthResult(AAStatus.OK, "ok", msg, "ecdsa", hash_name)
