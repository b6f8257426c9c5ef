"""Signed results: compact JWS (ES256 or Ed25519/EdDSA) with a key set that rotates.

Keys live as PKCS#8 PEM files in one folder, named by their ``kid`` (the RFC 7638 JWK
thumbprint); the file ``active`` names the signing key. Every other key in the folder is
retired: it still verifies tokens it signed until its file is removed. The folder is
created with a fresh ES256 key on first use.

EdDSA keys sign with the fully specified ``alg`` "Ed25519" (RFC 9864), which replaces the
polymorphic "EdDSA". Verification never trusts the token's header beyond choosing a key:
the key's own algorithm must match, and only algorithms we sign with are accepted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, KeySet, OKPKey

from ekyc.errors import EkycError

Alg = Literal["ES256", "Ed25519"]
ALGORITHMS: tuple[Alg, ...] = ("ES256", "Ed25519")
ACTIVE_FILE = "active"
ReasonCode = Literal[
    "bad_signature", "expired", "unknown_key", "malformed", "not_yet_valid", "wrong_issuer"
]
JoseKey = ECKey | OKPKey


class SigningKeyError(EkycError):
    """The signing key folder cannot be read or holds an unusable key."""

    code = "signing_key_error"


@dataclass(frozen=True)
class VerifyOutcome:
    """Whether a token is valid; when not, ``reason`` says why with a stable code."""

    valid: bool
    reason: ReasonCode | None = None
    message: str = ""
    claims: dict[str, Any] | None = None
    kid: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "valid": self.valid,
            "reason": self.reason,
            "message": self.message,
            "kid": self.kid,
            "claims": self.claims,
        }


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    alg: Alg
    key: JoseKey

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK with ``kid``, ``alg`` and ``use``."""
        d: dict[str, Any] = dict(self.key.as_dict(private=False))
        d.update({"kid": self.kid, "alg": self.alg, "use": "sig"})
        return d


def _entry(private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> KeyEntry:
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if private.curve.name != "secp256r1":
            raise SigningKeyError(f"ES256 needs a P-256 key, not {private.curve.name}")
        key: JoseKey = ECKey.import_key(private)
        alg: Alg = "ES256"
    elif isinstance(private, ed25519.Ed25519PrivateKey):
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key, alg = OKPKey.import_key(pem), "Ed25519"
    else:
        raise SigningKeyError(f"unsupported signing key type {type(private).__name__}")
    return KeyEntry(key.thumbprint(), alg, key)


def generate_key(alg: Alg = "ES256") -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey:
    """A fresh private key for ``alg``."""
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise SigningKeyError(f"unsupported algorithm {alg!r}")


def _pem(private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class Signer:
    """The key set: one active signing key and retired keys that still verify."""

    issuer: str
    keys: dict[str, KeyEntry] = field(default_factory=dict)
    active_kid: str | None = None
    folder: Path | None = None

    @classmethod
    def from_keys(
        cls,
        keys: Iterable[ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey],
        issuer: str,
        active: int = 0,
    ) -> Signer:
        """A signer from private keys held in memory; ``keys[active]`` signs."""
        entries = [_entry(k) for k in keys]
        if not entries:
            raise SigningKeyError("no signing key")
        return cls(issuer, {e.kid: e for e in entries}, entries[active].kid)

    @classmethod
    def from_folder(cls, folder: Path, issuer: str, create_alg: Alg = "ES256") -> Signer:
        """Load every ``*.pem`` in ``folder``; create the folder and a key when none exists."""
        folder = Path(folder)
        signer = cls(issuer, folder=folder)
        paths = sorted(folder.glob("*.pem")) if folder.is_dir() else []
        for path in paths:
            try:
                private = serialization.load_pem_private_key(path.read_bytes(), None)
            except (OSError, ValueError, TypeError) as e:
                raise SigningKeyError(f"{path.name}: cannot load the key: {e}") from e
            if not isinstance(private, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
                raise SigningKeyError(f"{path.name}: unsupported key type")
            entry = _entry(private)
            signer.keys[entry.kid] = entry
        active = folder / ACTIVE_FILE
        if active.is_file():
            kid = active.read_text("ascii").strip()
            if kid not in signer.keys:
                raise SigningKeyError(f"the active key {kid!r} has no PEM file in {folder}")
            signer.active_kid = kid
        elif signer.keys:
            raise SigningKeyError(f"{folder} holds keys but no {ACTIVE_FILE!r} file naming one")
        else:
            signer.rotate(create_alg)
        return signer

    def _write(self, private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> None:
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        kid = _entry(private).kid
        path = self.folder / f"{kid}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(_pem(private))
        tmp = self.folder / f".{ACTIVE_FILE}.tmp"
        tmp.write_text(kid + "\n", "ascii")
        tmp.replace(self.folder / ACTIVE_FILE)  # atomic: readers never see a half-written kid

    def rotate(
        self,
        alg: Alg = "ES256",
        private: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | None = None,
    ) -> str:
        """Make a new key active (generated when not given); the old one keeps verifying."""
        private = private if private is not None else generate_key(alg)
        entry = _entry(private)
        self._write(private)
        self.keys[entry.kid] = entry
        self.active_kid = entry.kid
        return entry.kid

    def remove(self, kid: str) -> None:
        """Forget a retired key: tokens it signed stop verifying (``unknown_key``)."""
        if kid == self.active_kid:
            raise SigningKeyError("the active key cannot be removed; rotate first")
        if self.keys.pop(kid, None) is None:
            raise SigningKeyError(f"no key {kid!r}")
        if self.folder is not None:
            (self.folder / f"{kid}.pem").unlink(missing_ok=True)

    @property
    def active(self) -> KeyEntry:
        """The signing key."""
        if self.active_kid is None:
            raise SigningKeyError("no active signing key")
        return self.keys[self.active_kid]

    def jwks(self) -> dict[str, Any]:
        """The public JWK Set: the active key first, then retired ones."""
        order = sorted(self.keys.values(), key=lambda e: e.kid != self.active_kid)
        return {"keys": [e.public_jwk() for e in order]}

    def sign(
        self, claims: Mapping[str, Any], subject: str, now: dt.datetime, lifetime: dt.timedelta
    ) -> str:
        """A compact JWS over ``claims`` plus ``iss``, ``sub``, ``iat`` and ``exp``."""
        key = self.active
        iat = int(now.timestamp())
        payload = {
            **claims,
            "iss": self.issuer,
            "sub": subject,
            "iat": iat,
            "exp": iat + int(lifetime.total_seconds()),
        }
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        header = {"alg": key.alg, "kid": key.kid, "typ": "JWT"}
        return jws.serialize_compact(header, body.encode(), key.key, algorithms=[key.alg])

    def verify(self, token: str, now: dt.datetime, leeway: int = 0) -> VerifyOutcome:
        """Check a token against this key set; never raises for bad input."""
        return verify_token(token, self.jwks(), now, issuer=self.issuer, leeway=leeway)


def verify_token(
    token: str,
    jwks: Mapping[str, Any],
    now: dt.datetime,
    *,
    issuer: str | None = None,
    leeway: int = 0,
) -> VerifyOutcome:
    """Verify a compact JWS against a public JWK Set (what an integrator holds)."""
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 64_000:
        return VerifyOutcome(False, "malformed", "not a compact JWS")
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        header = compact.protected
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError) as e:
        return VerifyOutcome(False, "malformed", f"cannot decode the token: {e}")
    kid, alg = header.get("kid"), header.get("alg")
    if not isinstance(claims, dict) or not isinstance(kid, str) or alg not in ALGORITHMS:
        return VerifyOutcome(False, "malformed", "the header needs kid and an accepted alg")
    jwk = next((k for k in jwks.get("keys", []) if k.get("kid") == kid), None)
    if jwk is None:
        return VerifyOutcome(False, "unknown_key", f"no key {kid!r} in the key set", kid=kid)
    if jwk.get("alg", alg) != alg:  # the key decides its algorithm, not the token
        return VerifyOutcome(False, "bad_signature", "alg does not match the key", kid=kid)
    try:
        key = KeySet.import_key_set({"keys": [jwk]}).keys[0]
        jws.deserialize_compact(token, key, algorithms=[alg])
    except BadSignatureError:
        return VerifyOutcome(False, "bad_signature", "the signature does not verify", kid=kid)
    except JoseError as e:
        return VerifyOutcome(False, "bad_signature", f"the signature does not verify: {e}", kid=kid)
    return _check_claims(claims, now, issuer, leeway, kid)


def _check_claims(
    claims: dict[str, Any], now: dt.datetime, issuer: str | None, leeway: int, kid: str
) -> VerifyOutcome:
    t = now.timestamp()
    iat, exp, nbf = claims.get("iat"), claims.get("exp"), claims.get("nbf", claims.get("iat"))
    if not all(isinstance(v, int) for v in (iat, exp, nbf)):
        return VerifyOutcome(False, "malformed", "iat and exp must be integers", claims, kid)
    assert isinstance(exp, int) and isinstance(nbf, int)  # narrowed above, for mypy
    if issuer is not None and claims.get("iss") != issuer:
        return VerifyOutcome(False, "wrong_issuer", "issued by someone else", claims, kid)
    if t > exp + leeway:
        return VerifyOutcome(False, "expired", "the token has expired", claims, kid)
    if t < nbf - leeway:
        return VerifyOutcome(False, "not_yet_valid", "the token is not valid yet", claims, kid)
    return VerifyOutcome(True, None, "valid", claims, kid)
