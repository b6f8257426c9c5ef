"""Symmetric primitives of ICAO 9303-11: key derivation, padding, 3DES/AES, MACs.

Thin recipes over ``cryptography``; the only hand-written parts are what ICAO
specifies (KDF counter layout, retail MAC, parity adjustment).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from enum import Enum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

KDF_ENC = 1
KDF_MAC = 2
KDF_PACE = 3


class Algorithm(Enum):
    TDES = "3DES"
    AES128 = "AES-128"
    AES192 = "AES-192"
    AES256 = "AES-256"

    @property
    def key_len(self) -> int:
        return {"3DES": 16, "AES-128": 16, "AES-192": 24, "AES-256": 32}[self.value]

    @property
    def block_size(self) -> int:
        return 8 if self is Algorithm.TDES else 16


def adjust_parity(key: bytes) -> bytes:
    """Set the DES odd-parity bit of every byte."""
    return bytes((b & 0xFE) | ((bin(b >> 1).count("1") + 1) & 1) for b in key)


def kdf(secret: bytes, counter: int, alg: Algorithm) -> bytes:
    """ICAO 9303-11 §9.7.1: H(secret || counter) truncated to the key length."""
    data = secret + counter.to_bytes(4, "big")
    if alg is Algorithm.TDES:
        return adjust_parity(hashlib.sha1(data).digest()[:16])
    if alg is Algorithm.AES128:
        return hashlib.sha1(data).digest()[:16]
    return hashlib.sha256(data).digest()[: alg.key_len]


def pad(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2 (0x80 then zeros)."""
    data = data + b"\x80"
    return data + b"\x00" * (-len(data) % block)


def unpad(data: bytes) -> bytes:
    stripped = data.rstrip(b"\x00")
    if not stripped or stripped[-1] != 0x80:
        raise ValueError("bad ISO/IEC 9797-1 padding")
    return stripped[:-1]


def _tdes_key(key: bytes) -> bytes:
    return key + key[:8] if len(key) == 16 else key


def _cipher(alg: Algorithm, key: bytes, iv: bytes) -> Cipher:
    if alg is Algorithm.TDES:
        return Cipher(TripleDES(_tdes_key(key)), modes.CBC(iv))
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def cbc_encrypt(alg: Algorithm, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    enc = _cipher(alg, key, iv or bytes(alg.block_size)).encryptor()
    return enc.update(data) + enc.finalize()


def cbc_decrypt(alg: Algorithm, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    dec = _cipher(alg, key, iv or bytes(alg.block_size)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_ecb_encrypt(key: bytes, block: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def retail_mac(key: bytes, padded: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (DES-CBC with a final 3DES step); input already padded."""
    ka, kb = key[:8], key[8:16]
    single = Cipher(TripleDES(ka * 3), modes.CBC(bytes(8))).encryptor()
    h = (single.update(padded) + single.finalize())[-8:]
    dec = Cipher(TripleDES(kb * 3), modes.ECB()).decryptor()
    h = dec.update(h) + dec.finalize()
    enc = Cipher(TripleDES(ka * 3), modes.ECB()).encryptor()
    return enc.update(h) + enc.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    c = CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def mac8(alg: Algorithm, key: bytes, data: bytes) -> bytes:
    """The 8-byte secure-messaging MAC: retail MAC (3DES) or truncated CMAC (AES)."""
    if alg is Algorithm.TDES:
        return retail_mac(key, pad(data, 8))
    return aes_cmac(key, data)[:8]


def ct_equal(a: bytes, b: bytes) -> bool:
    return hmac.compare_digest(a, b)


@dataclass(frozen=True)
class SessionKeys:
    alg: Algorithm
    k_enc: bytes
    k_mac: bytes

    @classmethod
    def derive(cls, secret: bytes, alg: Algorithm) -> SessionKeys:
        return cls(alg, kdf(secret, KDF_ENC, alg), kdf(secret, KDF_MAC, alg))
