"""Encryption at rest: AES-256-GCM with a keyring so old blobs stay readable after rotation."""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ekyc.store.errors import DecryptionFailed, KeyConfigError, UnknownKey

if TYPE_CHECKING:
    from ekyc.settings import Settings

KEY_BYTES = 32
NONCE_BYTES = 12


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes  # includes the 16-byte GCM tag


def evidence_aad(session_id: str, kind: str, evidence_id: str) -> bytes:
    """Associated data binding an evidence blob to its session, kind and row."""
    return json.dumps(["ekyc-evidence-v1", session_id, kind, evidence_id]).encode()


class Encryptor:
    """AES-256-GCM sealing with the active key; opening with whichever key sealed the blob."""

    def __init__(
        self,
        keys: Mapping[str, bytes],
        active: str,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if active not in keys:
            raise KeyConfigError(f"active key id {active!r} is not in the keyring")
        for key_id, key in keys.items():
            if len(key) != KEY_BYTES:
                raise KeyConfigError(f"key {key_id!r} is {len(key)} bytes, need {KEY_BYTES}")
        self._keys = {k: AESGCM(v) for k, v in keys.items()}
        self.active = active
        self._rng = rng

    @property
    def key_ids(self) -> frozenset[str]:
        """Ids of every key this encryptor can open with."""
        return frozenset(self._keys)

    def seal(self, plaintext: bytes, aad: bytes) -> Sealed:
        """Encrypt ``plaintext`` under the active key, authenticating ``aad`` with it."""
        nonce = self._rng(NONCE_BYTES)
        return Sealed(self.active, nonce, self._keys[self.active].encrypt(nonce, plaintext, aad))

    def open(self, sealed: Sealed, aad: bytes) -> bytes:
        """Decrypt a sealed blob; raises UnknownKey or DecryptionFailed."""
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise UnknownKey(sealed.key_id)
        try:
            return aead.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag as e:
            raise DecryptionFailed(f"blob sealed with key {sealed.key_id!r} fails to open") from e

    @classmethod
    def from_b64(cls, key_b64: str, key_id: str) -> Encryptor:
        """One key given as base64 (standard or URL-safe alphabet)."""
        return cls({key_id: _decode_key(key_b64, key_id)}, key_id)

    @classmethod
    def from_key_file(cls, path: Path, key_id: str = "k1") -> Encryptor:
        """Keys from a file: a JSON keyring ``{"active": id, "keys": {id: b64}}`` or one b64 key."""
        try:
            text = path.read_text().strip()
        except OSError as e:
            raise KeyConfigError(f"cannot read key file {path}: {e}") from e
        if not text.startswith("{"):
            return cls.from_b64(text, key_id)
        try:
            doc = json.loads(text)
            keys = {str(k): _decode_key(str(v), str(k)) for k, v in doc["keys"].items()}
            return cls(keys, str(doc["active"]))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise KeyConfigError(f"key file {path} is not a valid keyring: {e}") from e

    @classmethod
    def from_settings(
        cls, settings: Settings, rng: Callable[[int], bytes] = os.urandom
    ) -> Encryptor:
        """The key from ``EKYC_ENCRYPTION_KEY_B64`` or the key file (created when missing)."""
        if settings.encryption_key_b64 is not None:
            return cls.from_b64(
                settings.encryption_key_b64.get_secret_value(), settings.encryption_key_id
            )
        path = settings.encryption_key_file
        if path is None:
            raise KeyConfigError("set EKYC_ENCRYPTION_KEY_B64 or EKYC_ENCRYPTION_KEY_FILE")
        if not path.exists():
            key_id = settings.encryption_key_id
            write_keyring(path, {key_id: rng(KEY_BYTES)}, key_id)
        return cls.from_key_file(path, settings.encryption_key_id)


def write_keyring(path: Path, keys: Mapping[str, bytes], active: str) -> None:
    """Write a JSON keyring readable only by its owner (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"active": active, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()}}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2)


def _decode_key(text: str, key_id: str) -> bytes:
    try:
        key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyConfigError(f"key {key_id!r} is not valid base64") from e
    if len(key) != KEY_BYTES:
        raise KeyConfigError(f"key {key_id!r} is {len(key)} bytes, need {KEY_BYTES}")
    return key
