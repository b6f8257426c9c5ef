"""Encryptor: AES-256-GCM sealing, AAD binding, key rotation and key loading."""

from __future__ import annotations

import base64
import json
import random
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from ekyc.settings import Settings
from ekyc.store.crypto import Encryptor, Sealed, evidence_aad, write_keyring
from ekyc.store.errors import DecryptionFailed, KeyConfigError, UnknownKey

K1 = bytes(range(32))
K2 = bytes(range(32, 64))
AAD = evidence_aad("s1", "selfie_frame", "e1")


def test_seal_open_round_trip_with_injected_nonce() -> None:
    enc = Encryptor({"k1": K1}, "k1", rng=lambda n: b"\x07" * n)
    sealed = enc.seal(b"portrait bytes", AAD)
    assert sealed.key_id == "k1"
    assert sealed.nonce == b"\x07" * 12
    assert b"portrait" not in sealed.ciphertext
    assert len(sealed.ciphertext) == len(b"portrait bytes") + 16  # GCM tag
    assert enc.open(sealed, AAD) == b"portrait bytes"


def test_fresh_nonce_per_seal() -> None:
    enc = Encryptor({"k1": K1}, "k1", rng=random.Random(5).randbytes)
    a, b = enc.seal(b"x", AAD), enc.seal(b"x", AAD)
    assert a.nonce != b.nonce and a.ciphertext != b.ciphertext


@pytest.mark.parametrize(
    "other_aad",
    [
        evidence_aad("s2", "selfie_frame", "e1"),
        evidence_aad("s1", "chip_portrait", "e1"),
        evidence_aad("s1", "selfie_frame", "e2"),
    ],
)
def test_aad_binds_session_kind_and_row(other_aad: bytes) -> None:
    enc = Encryptor({"k1": K1}, "k1")
    sealed = enc.seal(b"frame", AAD)
    with pytest.raises(DecryptionFailed):
        enc.open(sealed, other_aad)


def test_wrong_key_and_altered_bytes_fail() -> None:
    sealed = Encryptor({"k1": K1}, "k1").seal(b"frame", AAD)
    with pytest.raises(DecryptionFailed) as e:
        Encryptor({"k1": K2}, "k1").open(sealed, AAD)
    assert e.value.code == "decryption_failed"
    flipped = bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    with pytest.raises(DecryptionFailed):
        Encryptor({"k1": K1}, "k1").open(Sealed("k1", sealed.nonce, flipped), AAD)


def test_unknown_key_id() -> None:
    sealed = Encryptor({"old": K1}, "old").seal(b"frame", AAD)
    with pytest.raises(UnknownKey) as e:
        Encryptor({"new": K2}, "new").open(sealed, AAD)
    assert e.value.key_id == "old"


def test_rotation_opens_blobs_of_any_known_key() -> None:
    old = Encryptor({"k1": K1}, "k1").seal(b"before rotation", AAD)
    rotated = Encryptor({"k1": K1, "k2": K2}, "k2")
    assert rotated.open(old, AAD) == b"before rotation"
    new = rotated.seal(b"after", AAD)
    assert new.key_id == "k2"
    assert rotated.key_ids == {"k1", "k2"}


def test_bad_key_material_rejected() -> None:
    with pytest.raises(KeyConfigError):
        Encryptor({"k1": b"short"}, "k1")
    with pytest.raises(KeyConfigError):
        Encryptor({"k1": K1}, "k2")
    with pytest.raises(KeyConfigError):
        Encryptor.from_b64("not base64!!", "k1")
    with pytest.raises(KeyConfigError):
        Encryptor.from_b64(base64.b64encode(b"16 bytes is AES1").decode(), "k1")


def test_key_file_formats(tmp_path: Path) -> None:
    bare = tmp_path / "bare.key"
    bare.write_text(base64.urlsafe_b64encode(K1).decode() + "\n")
    sealed = Encryptor.from_key_file(bare, "k9").seal(b"x", AAD)
    assert sealed.key_id == "k9"
    ring = tmp_path / "ring.json"
    write_keyring(ring, {"k9": K1, "k10": K2}, "k10")
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    enc = Encryptor.from_key_file(ring)
    assert enc.active == "k10"
    assert enc.open(sealed, AAD) == b"x"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"keys": {}}))
    with pytest.raises(KeyConfigError):
        Encryptor.from_key_file(broken)
    with pytest.raises(KeyConfigError):
        Encryptor.from_key_file(tmp_path / "missing.json")


def test_from_settings_creates_key_file_once(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys.json"
    settings = Settings(encryption_key_file=path, encryption_key_id="main")
    first = Encryptor.from_settings(settings, rng=random.Random(1).randbytes)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.seal(b"kept across restarts", AAD)
    again = Encryptor.from_settings(settings)
    assert again.open(sealed, AAD) == b"kept across restarts"


def test_from_settings_b64_wins_over_file(tmp_path: Path) -> None:
    settings = Settings(
        encryption_key_b64=SecretStr(base64.b64encode(K2).decode()),
        encryption_key_id="env",
        encryption_key_file=tmp_path / "never.json",
    )
    enc = Encryptor.from_settings(settings)
    assert enc.active == "env"
    assert not (tmp_path / "never.json").exists()
    assert Encryptor({"env": K2}, "env").open(enc.seal(b"y", AAD), AAD) == b"y"
