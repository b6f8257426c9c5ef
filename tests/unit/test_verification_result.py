"""Result claims carry outcomes and evidence hashes only; the QR decodes back."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import zxingcpp
from PIL import Image

from ekyc.verification.policy import Decision
from ekyc.verification.result import (
    MAX_QR_TOKEN,
    result_claims,
    result_qr,
    sha256_hex,
    verify_link,
)
from ekyc.verification.signing import Signer, generate_key
from ekyc.verification.states import State
from ekyc.verification.steps import Outcome, Reason, Step, StepOutcome

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
PORTRAIT = b"\xff\xd8 pretend this is a JPEG of a face"


def _decode(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1
    return found[0].text


def _outcomes() -> dict[Step, StepOutcome]:
    return {
        Step.FACE_MATCH: StepOutcome(
            Step.FACE_MATCH,
            Outcome.PASS,
            0.81234567,
            0.3676,
            {"embedder": "sface-2021dec-int8bq"},
            detail={"operating_point": "fmr_1e-4", "extrapolated": True, "secret": "x"},
            evidence={"chip_portrait": sha256_hex(PORTRAIT)},
        ),
        Step.CHIP: StepOutcome(
            Step.CHIP,
            Outcome.REVIEW,
            reasons=(Reason("issuer_unknown", "CSCA not in store", "chip"),),
            detail={"verdict": "issuer_unknown", "passive_authentication": "issuer_unknown"},
        ),
    }


def test_claims() -> None:
    decision = Decision(State.REVIEW, (Reason("issuer_unknown", "CSCA not in store", "chip"),))
    claims = result_claims(
        "sess-1", "dang-ky-thuong-tru", decision, _outcomes(), (Step.CHIP, Step.FACE_MATCH), 1
    )
    assert claims["decision"] == "review" and claims["sid"] == "sess-1"
    assert list(claims["steps"]) == ["chip", "face_match"]  # canonical step order
    face = claims["steps"]["face_match"]
    assert face["score"] == 0.8123 and face["threshold"] == 0.3676
    assert face["model_ids"] == {"embedder": "sface-2021dec-int8bq"}
    assert face["operating_point"] == "fmr_1e-4"
    assert face["evidence_sha256"]["chip_portrait"] == sha256_hex(PORTRAIT)
    assert "secret" not in face  # only the whitelisted facts of a step are signed
    assert claims["steps"]["chip"]["reasons"] == ["issuer_unknown"]
    assert claims["reasons"][0]["code"] == "issuer_unknown"
    assert PORTRAIT.decode("latin-1") not in json.dumps(claims)


def test_short_token_goes_in_the_qr() -> None:
    signer = Signer.from_keys([generate_key()], issuer="ekyc")
    token = signer.sign({"decision": "approved"}, "s1", NOW, dt.timedelta(days=1))
    assert len(token) <= MAX_QR_TOKEN
    qr = result_qr(token, "s1", "https://ekyc.example/v")
    assert qr.kind == "token" and qr.png.startswith(b"\x89PNG")
    assert _decode(qr.png) == token
    assert signer.verify(_decode(qr.png), NOW).valid  # scanned, then verified offline


def test_long_token_becomes_a_verify_link() -> None:
    signer = Signer.from_keys([generate_key()], issuer="ekyc")
    decision = Decision(State.APPROVED, ())
    claims = result_claims("s1", "cap-ban-sao", decision, _outcomes(), tuple(Step), 1)
    claims["padding"] = "x" * MAX_QR_TOKEN
    token = signer.sign(claims, "s1", NOW, dt.timedelta(days=1))
    qr = result_qr(token, "s 1/2", "https://ekyc.example/v/")
    assert qr.kind == "link"
    text = _decode(qr.png)
    assert text == verify_link("https://ekyc.example/v", "s 1/2", token)
    assert text.startswith("https://ekyc.example/v/s%201%2F2?h=")
    # the hash binds the link to this token and no other
    assert verify_link("https://e/v", "s", token) != verify_link("https://e/v", "s", token + "x")


@pytest.mark.parametrize("length", [MAX_QR_TOKEN - 1, MAX_QR_TOKEN])
def test_qr_at_the_limit_still_decodes(length: int) -> None:
    token = ("eyJ" + "a" * length)[:length]
    assert _decode(result_qr(token, "s", "https://e/v").png) == token
