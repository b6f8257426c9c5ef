"""The card half of Active Authentication (ICAO 9303-11 §6.1): sign the terminal's nonce.

RSA: ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery,
F = 6A || M1 || H(M1 || nonce) || trailer, where M1 is chip randomness filling the block and
the trailer is BC (implicit SHA-1) or <hash id> CC; the signature is F^d mod n (raw RSA).
EC: ECDSA over the nonce, returned as plain r || s (BSI TR-03111).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

# ISO/IEC 10118-3 hash identifiers used in the explicit trailer (<id> CC).
HASH_IDS = {"sha1": 0x33, "sha256": 0x34, "sha512": 0x35, "sha384": 0x36, "sha224": 0x38}
_EC_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
HEADER_PARTIAL_RECOVERY = 0x6A


def aa_sign(
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
    nonce: bytes,
    rng: Callable[[int], bytes] = os.urandom,
    *,
    hash_name: str | None = None,
) -> bytes:
    """Answer INTERNAL AUTHENTICATE: RSA defaults to SHA-1 (trailer BC), EC to SHA-256."""
    if isinstance(private_key, rsa.RSAPrivateKey):
        return _rsa_9796_2(private_key, nonce, rng, hash_name or "sha1")
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return _ecdsa_plain(private_key, nonce, hash_name or "sha256")
    raise TypeError(f"unsupported Active Authentication key {type(private_key).__name__}")


def _rsa_9796_2(key: rsa.RSAPrivateKey, nonce: bytes, rng: Callable[[int], bytes], h: str) -> bytes:
    if h not in HASH_IDS:
        raise ValueError(f"unsupported hash {h}")
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    if n.bit_length() % 8:
        raise ValueError("modulus length must be a multiple of 8 bits")
    size = n.bit_length() // 8
    trailer = b"\xbc" if h == "sha1" else bytes([HASH_IDS[h], 0xCC])
    digest_len = hashlib.new(h).digest_size
    m1 = rng(size - 1 - digest_len - len(trailer))
    digest = hashlib.new(h, m1 + nonce).digest()
    f = bytes([HEADER_PARTIAL_RECOVERY]) + m1 + digest + trailer
    s = pow(int.from_bytes(f, "big"), numbers.d, n)
    return s.to_bytes(size, "big")


def _ecdsa_plain(key: ec.EllipticCurvePrivateKey, nonce: bytes, h: str) -> bytes:
    if h not in _EC_HASHES:
        raise ValueError(f"unsupported hash {h}")
    der = key.sign(nonce, ec.ECDSA(_EC_HASHES[h](), deterministic_signing=True))
    r, s = decode_dss_signature(der)
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
