"""Result signing: ES256/Ed25519 compact JWS, key set rotation, and every failure reason."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from joserfc.jwk import ECKey

from ekyc.verification.signing import (
    Signer,
    SigningKeyError,
    generate_key,
    verify_token,
)

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture
def signer(tmp_path: Path) -> Signer:
    return Signer.from_folder(tmp_path / "keys", issuer="ekyc-test")


@pytest.mark.parametrize("alg", ["ES256", "Ed25519"])
def test_sign_and_verify(alg: str) -> None:
    s = Signer.from_keys([generate_key(alg)], issuer="ekyc-test")  # type: ignore[arg-type]
    token = s.sign({"decision": "approved", "sid": "s1"}, "s1", NOW, HOUR)
    header = json.loads(_unb64(token.split(".")[0]))
    assert header["alg"] == alg and header["kid"] == s.active_kid
    out = s.verify(token, NOW + dt.timedelta(minutes=5))
    assert out.valid and out.reason is None and out.kid == s.active_kid
    assert out.claims is not None
    assert out.claims["decision"] == "approved"
    assert out.claims["iss"] == "ekyc-test" and out.claims["sub"] == "s1"
    assert out.claims["exp"] - out.claims["iat"] == 3600


def test_kid_is_rfc7638_thumbprint(signer: Signer) -> None:
    jwk = signer.jwks()["keys"][0]
    public = {k: jwk[k] for k in ("kty", "crv", "x", "y")}
    assert jwk["kid"] == ECKey.import_key(public).thumbprint()
    assert "d" not in jwk  # never a private part in the published set
    assert jwk["alg"] == "ES256" and jwk["use"] == "sig"


def test_tampered_payload_is_bad_signature(signer: Signer) -> None:
    token = signer.sign({"decision": "declined"}, "s1", NOW, HOUR)
    h, p, sig = token.split(".")
    claims = json.loads(_unb64(p))
    claims["decision"] = "approved"
    forged = ".".join([h, _b64(json.dumps(claims).encode()), sig])
    assert signer.verify(forged, NOW).reason == "bad_signature"
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    assert signer.verify(f"{h}.{p}.{flipped}", NOW).reason == "bad_signature"


def test_expired_and_not_yet_valid(signer: Signer) -> None:
    token = signer.sign({}, "s1", NOW, HOUR)
    assert signer.verify(token, NOW + HOUR + dt.timedelta(seconds=1)).reason == "expired"
    assert signer.verify(token, NOW + HOUR + dt.timedelta(seconds=1), leeway=5).valid
    assert signer.verify(token, NOW - dt.timedelta(minutes=1)).reason == "not_yet_valid"


def test_unknown_key_and_wrong_issuer(signer: Signer) -> None:
    stranger = Signer.from_keys([generate_key()], issuer="ekyc-test")
    token = stranger.sign({}, "s1", NOW, HOUR)
    out = signer.verify(token, NOW)
    assert out.reason == "unknown_key" and out.kid == stranger.active_kid
    other_iss = Signer(issuer="evil", keys=signer.keys, active_kid=signer.active_kid)
    assert signer.verify(other_iss.sign({}, "s1", NOW, HOUR), NOW).reason == "wrong_issuer"


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "!!.??.**", _b64(b'{"alg":"none"}') + "." + _b64(b"{}") + "."],
)
def test_malformed(signer: Signer, token: str) -> None:
    out = signer.verify(token, NOW)
    assert not out.valid and out.reason == "malformed"


def test_algorithm_confusion_is_refused(signer: Signer) -> None:
    # alg HS256 keyed with the public key bytes: the classic confusion attack
    header = _b64(json.dumps({"alg": "HS256", "kid": signer.active_kid}).encode())
    token = f"{header}.{_b64(b'{}')}.{_b64(b'x' * 32)}"
    assert signer.verify(token, NOW).reason == "malformed"
    # a header naming Ed25519 against an ES256 key
    good = signer.sign({}, "s1", NOW, HOUR)
    h = _b64(json.dumps({"alg": "Ed25519", "kid": signer.active_kid}).encode())
    assert signer.verify(h + good[good.index(".") :], NOW).reason == "bad_signature"


def test_rotation(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    s = Signer.from_folder(folder, issuer="ekyc-test")
    old_kid = s.active_kid
    old_token = s.sign({"n": 1}, "s1", NOW, HOUR)
    new_kid = s.rotate("Ed25519")
    new_token = s.sign({"n": 2}, "s2", NOW, HOUR)
    assert json.loads(_unb64(new_token.split(".")[0]))["kid"] == new_kid != old_kid
    assert [k["kid"] for k in s.jwks()["keys"]] == [new_kid, old_kid]
    assert s.verify(old_token, NOW).valid and s.verify(new_token, NOW).valid
    # another replica reading the same folder agrees on everything
    replica = Signer.from_folder(folder, issuer="ekyc-test")
    assert replica.active_kid == new_kid and replica.verify(old_token, NOW).valid
    # an integrator holding only the JWKS verifies too
    assert verify_token(old_token, s.jwks(), NOW, issuer="ekyc-test").valid
    assert old_kid is not None
    s.remove(old_kid)
    assert s.verify(old_token, NOW).reason == "unknown_key"
    assert not (folder / f"{old_kid}.pem").exists()
    assert Signer.from_folder(folder, issuer="ekyc-test").verify(old_token, NOW).reason == (
        "unknown_key"
    )
    with pytest.raises(SigningKeyError):
        s.remove(new_kid)  # the active key stays until something replaces it


def test_key_files_are_private(tmp_path: Path) -> None:
    s = Signer.from_folder(tmp_path / "keys", issuer="i")
    pem = tmp_path / "keys" / f"{s.active_kid}.pem"
    assert pem.stat().st_mode & 0o077 == 0
    assert b"PRIVATE KEY" in pem.read_bytes()


def test_broken_folder(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "x.pem").write_text("not a key")
    with pytest.raises(SigningKeyError):
        Signer.from_folder(folder, issuer="i")
    (folder / "x.pem").unlink()
    (folder / "active").write_text("nope")
    with pytest.raises(SigningKeyError):
        Signer.from_folder(folder, issuer="i")
