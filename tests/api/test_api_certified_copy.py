"""The certified copy over HTTP: a cap-ban-sao session (chip, liveness, face match, a copy
too coarse to compare) goes to review, a clerk approves, the signed PDF is downloaded and
checked by POST /v1/verify/pdf; who may read it, and what a check says of other files."""

from __future__ import annotations

import datetime as dt
from typing import Any

import cv2
import pytest

from ekyc.synth import degrade
from ekyc.synth.document import render_a4
from tests.api.conftest import Api, AppFactory, assert_problem, chip_with_portrait, jpeg
from tests.api.test_api_sessions import _frames, chip_body, create

PDF = {"content-type": "application/pdf"}


def _liveness(api: Api, face: Any, sid: str, h: dict[str, str]) -> None:
    for _ in range(20):  # some orders the synthetic frames render badly (see test_api_sessions)
        challenge = api.client.post(f"/v1/sessions/{sid}/liveness/challenge", headers=h).json()
        if "turn_right" not in challenge["actions"]:
            break
    frames = _frames(face, challenge["actions"])
    api.clock.now += dt.timedelta(milliseconds=frames[-1][0] + 500)
    files = [("frames", (f"f{i}.jpg", d, "image/jpeg")) for i, (_, d) in enumerate(frames)]
    form = {"nonce": challenge["nonce"], "timestamps_ms": ",".join(str(t) for t, _ in frames)}
    r = api.client.post(f"/v1/sessions/{sid}/liveness/frames", data=form, files=files, headers=h)
    assert r.status_code == 200 and r.json()["step"]["outcome"] in ("pass", "review"), r.text


def test_cap_ban_sao_review_approve_download_and_verify(
    face_api: Api, face: Any, portrait: bytes
) -> None:
    api = face_api
    chip = chip_with_portrait(portrait)
    h = api.h("portal")
    sess = create(api, "portal", "cap-ban-sao")
    sid = sess["id"]
    url = f"/v1/sessions/{sid}/certified-copy.pdf"
    r = api.client.post(f"/v1/sessions/{sid}/chip", json=chip_body(chip, sess["nonce"]), headers=h)
    assert r.json()["step"]["outcome"] == "pass", r.text
    _liveness(api, face, sid, h)
    assert api.client.post(f"/v1/sessions/{sid}/face-match", json={}, headers=h).status_code == 200

    # a photocopy of the page taken far too coarse to compare: UNREADABLE, a clerk decides
    page = render_a4(3, "birth_certificate")
    coarse = cv2.resize(degrade.photocopy(page.image_bgr, 11), None, fx=0.3, fy=0.3)
    files = [
        ("original", ("o.jpg", jpeg(page.image_bgr, 80), "image/jpeg")),
        ("copy", ("c.jpg", jpeg(coarse, 85), "image/jpeg")),
    ]
    r = api.client.post(f"/v1/sessions/{sid}/documents", files=files, headers=h)
    assert r.status_code == 200, r.text
    step = r.json()["step"]
    assert step["outcome"] == "review" and r.json()["session"]["state"] == "review", step
    assert_problem(api.client.get(url, headers=h), 409, "certified_copy_not_available")

    rev = api.client.post(
        f"/v1/sessions/{sid}/review", json={"approve": True, "note": "copy read by eye"},
        headers=api.h("clerk"),
    )  # fmt: skip
    assert rev.status_code == 200 and rev.json()["state"] == "approved", rev.text

    got = api.client.get(url, headers=h)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    pdf = got.content
    assert pdf.startswith(b"%PDF-")
    assert api.client.get(url, headers=api.h("auditor")).content == pdf
    other, _ = api.new_key("portal")
    r = api.client.get(url, headers={"Authorization": f"Bearer {other}"})
    assert_problem(r, 404, "session_not_found")  # another portal's session: not found

    check = api.client.post("/v1/verify/pdf", content=pdf, headers=PDF)  # anonymous
    assert check.status_code == 200, check.text
    body = check.json()
    assert body["valid"] is True and body["reason"] is None, body
    assert body["session_id"] == sid and body["procedure"] == "cap-ban-sao"
    assert body["level"] == "B-LT" and body["time_stamped"] is True
    assert body["certified_by"].startswith("clerk: clerk-")
    assert body["page_sha256"] == [step["evidence"]["copy_0"]]
    assert "not for production" in body["signer"]["subject"]  # the local test CA
    # the clerk page sends it as a form, with its key
    form = {"file": ("copy.pdf", pdf, "application/pdf")}
    r = api.client.post("/v1/verify/pdf", files=form, headers=api.h("clerk"))
    assert r.status_code == 200 and r.json()["valid"] is True, r.text

    tampered = bytearray(pdf)
    at = pdf.index(b"stream", pdf.index(b"/Subtype /Image")) + 400
    tampered[at] ^= 0x01
    r = api.client.post("/v1/verify/pdf", content=bytes(tampered), headers=PDF)
    assert r.json()["valid"] is False and r.json()["reason"] == "altered", r.text

    audit = api.client.get("/v1/audit", params={"session_id": sid}, headers=api.h("auditor"))
    actions = [e["action"] for e in audit.json()]
    assert "certified_copy.issued" in actions and actions.count("certified_copy.read") == 2


def test_a_session_without_documents_has_no_certified_copy(api: Api) -> None:
    sess = create(api)
    r = api.client.get(f"/v1/sessions/{sess['id']}/certified-copy.pdf", headers=api.h("kiosk"))
    assert_problem(r, 409, "certified_copy_not_available")
    r = api.client.get("/v1/sessions/nope/certified-copy.pdf", headers=api.h("clerk"))
    assert_problem(r, 404, "session_not_found")
    r = api.client.get(f"/v1/sessions/{sess['id']}/certified-copy.pdf")
    assert_problem(r, 401, "unauthorized")


@pytest.mark.parametrize("data", [b"", b"not a pdf at all", b"%PDF-1.7\nbroken"])
def test_verify_pdf_answers_not_a_pdf(api: Api, data: bytes) -> None:
    r = api.client.post("/v1/verify/pdf", content=data, headers=PDF)
    assert r.status_code == 200, r.text
    assert r.json()["valid"] is False and r.json()["reason"] == "not_a_pdf"


def test_verify_pdf_media_types_and_limit(make_api: AppFactory) -> None:
    api = make_api(max_pdf_bytes=4096)
    r = api.client.post("/v1/verify/pdf", content=b"%PDF-", headers={"content-type": "text/plain"})
    assert_problem(r, 415, "unsupported_media_type")
    r = api.client.post("/v1/verify/pdf", files={"other": ("x.pdf", b"%PDF-", PDF["content-type"])})
    assert_problem(r, 422, "invalid_request")
    r = api.client.post("/v1/verify/pdf", content=b"%PDF-" + bytes(5000), headers=PDF)
    assert_problem(r, 413, "payload_too_large")
    big = {"file": ("x.pdf", b"%PDF-" + bytes(5000), PDF["content-type"])}
    assert_problem(api.client.post("/v1/verify/pdf", files=big), 413, "payload_too_large")
