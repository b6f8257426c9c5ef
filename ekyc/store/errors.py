"""Storage error vocabulary: each error has a stable ``code``."""

from __future__ import annotations

from ekyc.errors import EkycError


class StoreError(EkycError):
    code = "store_error"


class NotFound(StoreError):
    """The row a repository was asked for does not exist."""

    code = "not_found"

    def __init__(self, table: str, key: str) -> None:
        self.table = table
        self.key = key
        super().__init__(f"{table}: no row {key!r}")


class ConcurrentUpdate(StoreError):
    """An optimistic update lost the race: the row's version moved on since it was read."""

    code = "concurrent_update"

    def __init__(self, table: str, key: str, expected_version: int) -> None:
        self.table = table
        self.key = key
        self.expected_version = expected_version
        super().__init__(f"{table} {key!r}: version {expected_version} is no longer current")


class KeyConfigError(StoreError):
    """The encryption key material is missing or malformed."""

    code = "encryption_key_error"


class UnknownKey(StoreError):
    """A sealed blob names a key id the keyring does not hold."""

    code = "unknown_encryption_key"

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(f"no encryption key with id {key_id!r}")


class DecryptionFailed(StoreError):
    """AES-GCM authentication failed: wrong key, wrong binding (AAD) or altered bytes."""

    code = "decryption_failed"


class IntegrityError(StoreError):
    """Decrypted evidence does not match its recorded SHA-256."""

    code = "evidence_integrity_error"
