"""API keys: the secret is shown once at creation; only its SHA-256 is stored."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ekyc.store.errors import NotFound
from ekyc.store.models import ApiKey, Role, new_id

SECRET_BYTES = 32
TOKEN_PREFIX = "ekyc"
_TOKEN = re.compile(r"^ekyc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class CreatedKey:
    key: ApiKey
    #: the bearer token ``ekyc_<prefix>_<secret>``: returned once, never stored
    token: str


def hash_secret(secret: bytes) -> str:
    """SHA-256 (hex) of a key secret, as stored in ``api_keys.key_hash``."""
    return hashlib.sha256(secret).hexdigest()


class ApiKeys:
    """Create, authenticate, list and revoke API keys."""

    def __init__(self, s: Session, rng: Callable[[int], bytes] = os.urandom) -> None:
        self.s = s
        self.rng = rng

    def create(
        self, name: str, role: Role | str, now: dt.datetime, rate_per_minute: int = 600
    ) -> CreatedKey:
        """Store a new key and return it with its token (the only time the token exists)."""
        secret = self.rng(SECRET_BYTES)
        prefix = self.rng(6).hex()
        key = ApiKey(
            id=new_id(self.rng),
            name=name,
            role=Role(role).value,
            prefix=prefix,
            key_hash=hash_secret(secret),
            created_at=now,
            revoked_at=None,
            rate_per_minute=rate_per_minute,
        )
        self.s.add(key)
        self.s.flush()
        secret_text = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
        return CreatedKey(key, f"{TOKEN_PREFIX}_{prefix}_{secret_text}")

    def authenticate(self, token: str) -> ApiKey | None:
        """The active key a token belongs to; None for unknown, malformed or revoked tokens."""
        m = _TOKEN.match(token.strip())
        if m is None:
            return None
        try:
            secret = base64.urlsafe_b64decode(m.group(2) + "=")
        except (binascii.Error, ValueError):
            return None
        # the last of 43 characters carries 2 unused bits: accept only the one spelling we issue
        if base64.urlsafe_b64encode(secret).rstrip(b"=").decode() != m.group(2):
            return None
        key = self.s.scalars(select(ApiKey).where(ApiKey.prefix == m.group(1))).one_or_none()
        # hash anyway when the prefix is unknown so timing says nothing about which prefixes exist
        expected = key.key_hash if key is not None else "0" * 64
        if not hmac.compare_digest(hash_secret(secret), expected):
            return None
        if key is None or key.revoked_at is not None:
            return None
        return key

    def get(self, key_id: str) -> ApiKey:
        """A key by id; raises NotFound."""
        key = self.s.get(ApiKey, key_id)
        if key is None:
            raise NotFound("api_keys", key_id)
        return key

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        """All keys, oldest first."""
        q = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        if not include_revoked:
            q = q.where(ApiKey.revoked_at.is_(None))
        return list(self.s.scalars(q))

    def revoke(self, key_id: str, now: dt.datetime) -> ApiKey:
        """Revoke a key (idempotent: the first revocation time is kept)."""
        key = self.get(key_id)
        if key.revoked_at is None:
            key.revoked_at = now
            self.s.flush()
        return key


def key_summary(key: ApiKey) -> dict[str, Any]:
    """A key as shown to admins and on the command line (never its hash)."""
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "prefix": key.prefix,
        "rate_per_minute": key.rate_per_minute,
        "created_at": key.created_at.isoformat(),
        "revoked_at": None if key.revoked_at is None else key.revoked_at.isoformat(),
    }
