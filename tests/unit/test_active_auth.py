"""Active Authentication: card signing (readers.vcard.aa_card) against server verification."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ekyc.icao.active_auth import AAStatus, verify_active_auth
from ekyc.synth.pki import make_key
from readers.tlv import encode
from readers.vcard.aa_card import aa_sign

NONCE = bytes.fromhex("0123456789ABCDEF")
RSA_KEYS = {bits: make_key("rsa", seed=f"aa-{bits}", rsa_bits=bits) for bits in (1024, 2048)}
OTHER_RSA = make_key("rsa", seed="aa-other", rsa_bits=1024)


def _counter_rng() -> Callable[[int], bytes]:
    counter = itertools.count()
    return lambda n: bytes(next(counter) % 256 for _ in range(n))


def _spki(key) -> bytes:  # type: ignore[no-untyped-def]
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("bits", [1024, 2048])
@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_rsa_round_trip(bits: int, hash_name: str) -> None:
    key = RSA_KEYS[bits]
    signature = aa_sign(key, NONCE, _counter_rng(), hash_name=hash_name)
    assert len(signature) == bits // 8
    result = verify_active_auth(_spki(key), NONCE, signature)
    assert result.ok and result.code == "ok"
    assert result.algorithm == "rsa-iso9796-2" and result.hash_name == hash_name


def test_rsa_signing_is_deterministic_with_injected_rng() -> None:
    key = RSA_KEYS[1024]
    assert aa_sign(key, NONCE, _counter_rng()) == aa_sign(key, NONCE, _counter_rng())


def test_rsa_cloned_chip_wrong_key_fails() -> None:
    signature = aa_sign(OTHER_RSA, NONCE)
    result = verify_active_auth(_spki(RSA_KEYS[1024]), NONCE, signature)
    assert result.status is AAStatus.FAILED


@pytest.mark.parametrize("hash_name", ["sha1", "sha256"])
def test_rsa_nonce_mismatch_fails(hash_name: str) -> None:
    key = RSA_KEYS[1024]
    signature = aa_sign(key, NONCE, hash_name=hash_name)
    result = verify_active_auth(key.public_key(), b"\x00" * 8, signature)
    assert result.status is AAStatus.FAILED and result.code == "aa_signature_invalid"


def test_rsa_alternative_signature_n_minus_s_is_accepted() -> None:
    key = RSA_KEYS[1024]
    s = int.from_bytes(aa_sign(key, NONCE), "big")
    n = key.public_key().public_numbers().n
    assert verify_active_auth(key.public_key(), NONCE, (n - s).to_bytes(128, "big")).ok


def test_rsa_oversized_signature_fails() -> None:
    key = RSA_KEYS[1024]
    result = verify_active_auth(key.public_key(), NONCE, b"\xff" * 129)
    assert result.code == "aa_bad_length"


@pytest.mark.parametrize("curve", ["P-256", "brainpoolP256r1"])
def test_ecdsa_round_trip_wrong_key_and_nonce(curve: str) -> None:
    key = make_key("ec", seed="aa-ec", curve=curve)
    signature = aa_sign(key, NONCE)
    assert len(signature) == 64
    dg15 = encode(0x6F, _spki(key))  # a whole DG15 file is accepted too
    result = verify_active_auth(dg15, NONCE, signature)
    assert result.ok and result.algorithm == "ecdsa" and result.hash_name == "sha256"
    clone = make_key("ec", seed="aa-clone", curve=curve)
    assert verify_active_auth(_spki(key), NONCE, aa_sign(clone, NONCE)).code == (
        "aa_signature_invalid"
    )
    assert not verify_active_auth(_spki(key), NONCE[::-1], signature).ok


def test_ecdsa_hash_comes_from_dg14_oid() -> None:
    key = make_key("ec", seed="aa-ec", curve="P-384")
    signature = aa_sign(key, NONCE, hash_name="sha384")
    assert not verify_active_auth(_spki(key), NONCE, signature).ok  # default SHA-256
    result = verify_active_auth(_spki(key), NONCE, signature, "0.4.0.127.0.7.1.1.4.1.4")
    assert result.ok and result.hash_name == "sha384"
    unknown = verify_active_auth(_spki(key), NONCE, signature, "1.2.3.4")
    assert unknown.status is AAStatus.UNSUPPORTED


def test_ecdsa_der_signature_is_accepted() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = make_key("ec", seed="aa-ec")
    der = key.sign(NONCE, ec.ECDSA(hashes.SHA256()))
    assert verify_active_auth(key.public_key(), NONCE, der).ok
    assert not verify_active_auth(key.public_key(), NONCE, b"\x30\x01").ok


def test_unusable_key_is_unsupported() -> None:
    result = verify_active_auth(b"\x30\x03\x02\x01\x01", NONCE, b"\x00" * 64)
    assert result.status is AAStatus.UNSUPPORTED and result.code == "aa_key_unsupported"
