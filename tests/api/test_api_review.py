"""The clerk's desk over HTTP: the review queue, review files, evidence reads (decrypted,
audit-logged, a clear 410 once purged), roles, and the QR check of a result."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from ekyc.document.compare import CopyVerdict, Difference, PageResult
from ekyc.synth import chip as synth_chip
from ekyc.synth.chip import SynthChip, build_chip
from ekyc.verification.result import result_qr
from tests.api.conftest import Api, assert_problem, jpeg
from tests.api.test_api_sessions import chip_body, create, tamper

PAGE = jpeg(np.full((240, 320, 3), 200, np.uint8))
HEAT = np.full((240, 320, 3), 90, np.uint8)


@pytest.fixture(scope="module")
def unknown_issuer_chip() -> SynthChip:
    """A genuine chip signed under a CSCA the service does not trust: the policy reviews it."""
    return build_chip(seed=12, aa="ec", pki=synth_chip.TestPki.generate("another-issuer"))


@pytest.fixture
def comparer(api: Api) -> Iterator[list[CopyVerdict]]:
    """The documents step answers whatever verdict the test puts in the list (no OCR)."""
    verdicts: list[CopyVerdict] = []
    saved = api.runtime.service.documents
    api.runtime.service.documents = lambda originals, copies: verdicts.pop(0)
    yield verdicts
    api.runtime.service.documents = saved


def unreadable() -> CopyVerdict:
    page = PageResult(0, "UNREADABLE", [], HEAT.copy(), "glare")
    return CopyVerdict("UNREADABLE", [], [page], ["page 0: glare"])


def mismatch() -> CopyVerdict:
    diff = Difference(
        0, "line3", (40, 60, 120, 18), "text_changed", "12/03/1990", "12/08/1990", 0.9
    )
    page = PageResult(0, "MISMATCH", [diff], HEAT.copy())
    return CopyVerdict("MISMATCH", [diff], [page])


def session_with_documents(api: Api, chip: SynthChip, verdict: CopyVerdict, verdicts: list) -> str:
    """A chip + documents session driven through the API; returns its id."""
    sess = create(api, procedure="xac-thuc-chip", steps=["documents"])
    sid, h = sess["id"], api.h("kiosk")
    r = api.client.post(f"/v1/sessions/{sid}/chip", json=chip_body(chip, sess["nonce"]), headers=h)
    assert r.status_code == 200, r.text
    verdicts.append(verdict)
    files = [("original", ("o.jpg", PAGE, "image/jpeg")), ("copy", ("c.jpg", PAGE, "image/jpeg"))]
    r = api.client.post(f"/v1/sessions/{sid}/documents", files=files, headers=h)
    assert r.status_code == 200, r.text
    return sid


def audit(api: Api, sid: str) -> list[dict[str, Any]]:
    r = api.client.get("/v1/audit", params={"session_id": sid}, headers=api.h("auditor"))
    assert r.status_code == 200, r.text
    body = r.json()
    return list(body["entries"] if isinstance(body, dict) else body)


def test_review_queue_file_and_approval(
    api: Api, unknown_issuer_chip: SynthChip, comparer: list[CopyVerdict]
) -> None:
    sid = session_with_documents(api, unknown_issuer_chip, unreadable(), comparer)
    assert api.client.get(f"/v1/sessions/{sid}", headers=api.h("clerk")).json()["state"] == "review"

    # the queue: clerk and auditor read it, oldest first; drivers may not
    for role in ("clerk", "auditor"):
        q = api.client.get("/v1/reviews", params={"limit": 100}, headers=api.h(role))
        assert q.status_code == 200, q.text
        assert q.json()["can_decide"] is (role == "clerk")  # the page hides the buttons
        mine = [i for i in q.json()["items"] if i["id"] == sid]
        assert mine and mine[0]["procedure"] == "xac-thuc-chip"
        codes = {r["code"] for r in mine[0]["reasons"]}
        assert {"issuer_unknown", "document_unreadable"} <= codes
        waits = [i["in_review_since"] for i in q.json()["items"]]
        assert waits == sorted(waits)
    for role in ("kiosk", "portal"):
        assert_problem(api.client.get("/v1/reviews", headers=api.h(role)), 403, "forbidden")
    page = api.client.get("/v1/reviews", params={"limit": 1}, headers=api.h("clerk")).json()
    assert len(page["items"]) == 1 and page["total"] >= 1 and page["limit"] == 1

    # the review file: the chip re-verified from its sealed files, the documents' verdict
    f = api.client.get(f"/v1/sessions/{sid}/review-file", headers=api.h("auditor"))
    assert f.status_code == 200, f.text
    body = f.json()
    ver = body["chip"]["verification"]
    assert ver["verdict"] == "issuer_unknown"
    assert ver["passive_authentication"]["data_groups"]["DG13"]["status"] == "ok"
    assert ver["active_authentication"]["status"] == "ok"  # the sealed AA signature
    assert ver["dg13"]["id_number"] == unknown_issuer_chip.citizen.id_number
    assert body["documents"]["verdict"] == "UNREADABLE"
    assert body["documents"]["pages"][0]["heatmap"] == "heatmap_0"
    fields = {r["field"]: r for r in body["fields"]["rows"]}
    assert fields["id_number"]["status"] == "agree"  # DG13 and the chip's MRZ
    assert {e["name"] for e in body["evidence"]} >= {"chip_files", "original_0", "heatmap_0"}
    assert_problem(
        api.client.get(f"/v1/sessions/{sid}/review-file", headers=api.h("kiosk")), 403, "forbidden"
    )

    # evidence: decrypted, every read audit-logged with the actor and the evidence id
    heat = api.client.get(f"/v1/sessions/{sid}/evidence/heatmap_0", headers=api.h("clerk"))
    assert heat.status_code == 200 and heat.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(heat.content)).size == (320, 240)
    assert heat.headers["cache-control"] == "no-store"
    orig = api.client.get(f"/v1/sessions/{sid}/evidence/original_0", headers=api.h("auditor"))
    assert orig.status_code == 200 and orig.content == PAGE
    raw = api.client.get(f"/v1/sessions/{sid}/evidence/chip_files", headers=api.h("clerk"))
    assert raw.headers["content-type"] == "application/json" and "EF.SOD" in raw.json()
    reads = [e for e in audit(api, sid) if e["action"] == "evidence.read"]
    assert {(e["actor"], e["detail"]["name"]) for e in reads} >= {
        (api.key_ids["clerk"], "heatmap_0"),
        (api.key_ids["auditor"], "original_0"),
    }
    assert all(e["detail"]["evidence_id"] for e in reads)
    assert any(e["action"] == "review_file.read" for e in audit(api, sid))
    assert_problem(
        api.client.get(f"/v1/sessions/{sid}/evidence/nothing_9", headers=api.h("clerk")),
        404,
        "evidence_not_found",
    )
    for role in ("kiosk", "portal"):
        r = api.client.get(f"/v1/sessions/{sid}/evidence/original_0", headers=api.h(role))
        assert_problem(r, 403, "forbidden")

    # the auditor reads but cannot decide; the clerk approves with a reason
    body = {"approve": True, "note": "issuer confirmed by phone"}
    rev = api.client.post(f"/v1/sessions/{sid}/review", json=body, headers=api.h("auditor"))
    assert_problem(rev, 403, "forbidden")
    rev = api.client.post(f"/v1/sessions/{sid}/review", json=body, headers=api.h("clerk"))
    assert rev.status_code == 200 and rev.json()["state"] == "approved"
    q = api.client.get("/v1/reviews", params={"limit": 100}, headers=api.h("clerk")).json()
    assert sid not in [i["id"] for i in q["items"]]

    # retention: once purged, the evidence is gone with a clear answer (and the try logged)
    api.clock.now += dt.timedelta(seconds=1)
    try:
        assert api.runtime.service.purge().evidence_deleted > 0
        gone = api.client.get(f"/v1/sessions/{sid}/evidence/original_0", headers=api.h("clerk"))
        assert_problem(gone, 410, "evidence_purged")
        refused = [e for e in audit(api, sid) if e["action"] == "evidence.read_refused"]
        assert refused and refused[-1]["actor"] == api.key_ids["clerk"]
        after = api.client.get(f"/v1/sessions/{sid}/review-file", headers=api.h("clerk")).json()
        assert after["chip"]["available"] is False
        assert not any(e["available"] for e in after["evidence"])
    finally:
        api.clock.now -= dt.timedelta(seconds=1)


def test_review_file_lists_each_difference_with_both_readings(
    api: Api, chip: SynthChip, comparer: list[CopyVerdict]
) -> None:
    sid = session_with_documents(api, chip, mismatch(), comparer)
    assert api.client.get(f"/v1/sessions/{sid}", headers=api.h("clerk")).json()["state"] == (
        "declined"
    )
    body = api.client.get(f"/v1/sessions/{sid}/review-file", headers=api.h("clerk")).json()
    (d,) = body["documents"]["differences"]
    assert d["kind"] == "text_changed" and d["box"] == [40, 60, 120, 18]
    assert (d["original_text"], d["copy_text"]) == ("12/03/1990", "12/08/1990")
    assert body["documents"]["readings_sealed"] is True
    # the readings stay out of the step outcome (and so out of the signed result)
    session = api.client.get(f"/v1/sessions/{sid}", headers=api.h("clerk")).json()
    assert "12/08/1990" not in json.dumps(session)
    token = api.client.get(f"/v1/sessions/{sid}/result", headers=api.h("clerk")).json()["token"]
    assert "12/08/1990" not in token


def test_review_file_of_someone_elses_or_no_session(api: Api) -> None:
    assert_problem(
        api.client.get("/v1/sessions/nope/review-file", headers=api.h("clerk")),
        404,
        "session_not_found",
    )
    assert_problem(
        api.client.get("/v1/sessions/nope/evidence/chip_files", headers=api.h("clerk")),
        404,
        "session_not_found",
    )
    assert_problem(api.client.get("/v1/reviews"), 401, "unauthorized")


def _png_of(content: str) -> bytes:
    import segno

    out = io.BytesIO()
    segno.make_qr(content, error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def test_verify_qr_token_link_and_tampered(api: Api, chip: SynthChip) -> None:
    sess = create(api)
    sid, h = sess["id"], api.h("kiosk")
    r = api.client.post(f"/v1/sessions/{sid}/chip", json=chip_body(chip, sess["nonce"]), headers=h)
    assert r.json()["session"]["state"] == "approved"
    res = api.client.get(f"/v1/sessions/{sid}/result", headers=h).json()

    def scan(png: bytes, role: str = "clerk") -> Any:
        files = {"image": ("qr.png", png, "image/png")}
        return api.client.post("/v1/verify/qr", files=files, headers=api.h(role))

    qr = api.client.get(f"/v1/sessions/{sid}/result.png", headers=h).content
    ok = scan(qr)
    assert ok.status_code == 200, ok.text
    assert ok.json()["valid"] is True and ok.json()["session_id"] == sid
    # a photo of it, scaled and as JPEG, is still read
    photo = cv2.resize(
        cv2.imdecode(np.frombuffer(qr, np.uint8), cv2.IMREAD_COLOR), None, fx=1.5, fy=1.5
    )
    assert scan(jpeg(photo), "portal").json()["valid"] is True
    link = scan(_png_of(res["verify_url"])).json()
    assert link["valid"] is True and link["kind"] == "link" and link["decision"] == "approved"
    bad = scan(_png_of(tamper(res["token"]))).json()
    assert bad["valid"] is False and bad["reason"] == "bad_signature"
    forged_link = res["verify_url"].rsplit("=", 1)[0] + "=" + "A" * 22
    assert scan(_png_of(forged_link)).json()["reason"] == "unknown_result"
    assert scan(_png_of("hello")).json()["reason"] == "malformed"
    assert_problem(scan(PAGE), 422, "qr_not_found")
    long = result_qr("x" * 2000, sid, "http://127.0.0.1:8000/v/result")
    assert long.kind == "link" and scan(long.png).json()["reason"] == "unknown_result"
    assert_problem(scan(qr, "admin"), 403, "forbidden")
