"""Limits and failure shapes over HTTP: rate limits, 413, 415, problem+json, probes, metrics,
JSON logs with the request id."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from api.observability import JsonFormatter
from tests.api.conftest import Api, AppFactory, assert_problem, b64, jpeg

PAGE = jpeg(np.full((240, 320, 3), 200, np.uint8))


def test_rate_limit_per_key(api: Api) -> None:
    token, _ = api.new_key("portal", rate=3)
    h = {"Authorization": f"Bearer {token}"}
    codes = [api.client.get("/v1/sessions/" + "0" * 32, headers=h).status_code for _ in range(3)]
    assert codes == [404, 404, 404]
    r = api.client.get("/v1/sessions/" + "0" * 32, headers=h)
    body = assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1 and body["retry_after"] >= 1
    # another key is not affected
    assert api.client.get("/v1/sessions/" + "0" * 32, headers=api.h("portal")).status_code == 404
    assert "ekyc_rate_limited_total 1.0" in api.client.get("/metrics").text or (
        "ekyc_rate_limited_total" in api.client.get("/metrics").text
    )


def test_json_body_over_limit_is_413(api: Api) -> None:
    big = b'{"procedure": "' + b"a" * (1024 * 1024 + 10) + b'"}'
    r = api.client.post(
        "/v1/sessions", content=big,
        headers={**api.h("kiosk"), "content-type": "application/json"},
    )  # fmt: skip
    assert_problem(r, 413, "payload_too_large")


def test_upload_limits(make_api: AppFactory) -> None:
    api = make_api(max_upload_bytes=200_000, max_image_bytes=50_000)
    h = api.h("kiosk")
    # the whole body over the upload limit
    huge = [("original", ("o.jpg", b"\xff\xd8\xff" + bytes(250_000), "image/jpeg"))]
    assert_problem(api.client.post("/v1/documents/compare", files=huge, headers=h), 413,
                   "payload_too_large")  # fmt: skip
    # one file over the per-image limit
    one = [("original", ("o.jpg", b"\xff\xd8\xff" + bytes(60_000), "image/jpeg")),
           ("copy", ("c.jpg", PAGE, "image/jpeg"))]  # fmt: skip
    assert_problem(api.client.post("/v1/documents/compare", files=one, headers=h), 413,
                   "payload_too_large")  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n...", b"<html><body>hi</body></html>", b"GIF89a" + bytes(20), b"MZ\x90\x00"],
)
def test_non_images_are_415_whatever_they_claim(api: Api, data: bytes) -> None:
    files = [("a", ("a.jpg", data, "image/jpeg")), ("b", ("b.jpg", PAGE, "image/jpeg"))]
    assert_problem(
        api.client.post("/v1/documents/compare", files=[("original", files[0][1]),
                        ("copy", files[1][1])], headers=api.h("portal")),
        415, "unsupported_media_type",
    )  # fmt: skip
    body = {"original": [b64(data)], "copy": [b64(PAGE)]}
    r = api.client.post("/v1/documents/compare", json=body, headers=api.h("portal"))
    assert_problem(r, 415, "unsupported_media_type")


def test_wrong_content_type_is_415(api: Api) -> None:
    sid = api.client.post(
        "/v1/sessions", json={"procedure": "xac-thuc-chip", "steps": ["documents"]},
        headers=api.h("kiosk"),
    ).json()["id"]  # fmt: skip
    r = api.client.post(
        f"/v1/sessions/{sid}/documents", content=b"original=x",
        headers={**api.h("kiosk"), "content-type": "text/plain"},
    )  # fmt: skip
    assert_problem(r, 415, "unsupported_media_type")


def test_documents_step_multipart(api: Api) -> None:
    sid = api.client.post(
        "/v1/sessions", json={"procedure": "xac-thuc-chip", "steps": ["documents"]},
        headers=api.h("kiosk"),
    ).json()["id"]  # fmt: skip
    calls: list[int] = []

    def comparer(originals: list, copies: list) -> object:
        from ekyc.document.compare import CopyVerdict

        calls.append(len(originals))
        assert originals[0].shape == (240, 320, 3)
        return CopyVerdict("MATCH", [])

    saved = api.runtime.service.documents
    api.runtime.service.documents = comparer
    try:
        files = [
            ("original", ("o.jpg", PAGE, "image/jpeg")),
            ("copy", ("c.jpg", PAGE, "image/jpeg")),
        ]
        r = api.client.post(f"/v1/sessions/{sid}/documents", files=files, headers=api.h("kiosk"))
        assert r.status_code == 200, r.text
        assert r.json()["step"]["outcome"] == "pass" and calls == [1]
        assert set(r.json()["step"]["evidence"]) == {"original_0", "copy_0", "document_compare"}
        r = api.client.post("/v1/documents/compare", files=files, headers=api.h("clerk"))
        assert r.status_code == 200 and r.json()["verdict"] == "MATCH"
    finally:
        api.runtime.service.documents = saved


def test_validation_and_unknown_routes_are_problems(api: Api) -> None:
    r = api.client.post("/v1/sessions", json={"procedure": 5}, headers=api.h("kiosk"))
    body = assert_problem(r, 422, "invalid_request")
    assert body["errors"][0]["loc"][:2] == ["body", "procedure"]
    assert_problem(api.client.get("/v1/nowhere"), 404, "not_found")
    assert_problem(api.client.delete("/v1/sessions"), 405, "method_not_allowed")
    r = api.client.post(
        "/v1/sessions",
        content=b"{nope",
        headers={**api.h("kiosk"), "content-type": "application/json"},
    )
    assert_problem(r, 422, "invalid_request")


def test_probes_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks == {"database": True, "trust_store": True, "models": True, "limits": True}
    text = api.client.get("/metrics").text
    assert "ekyc_http_request_duration_seconds_bucket" in text
    assert 'route="/v1/sessions/{session_id}"' in text  # templates, not raw ids


def test_readyz_reports_missing_models(make_api: AppFactory) -> None:
    api = make_api(face_models_enabled=True)  # asked for, but none given to the app
    body = assert_problem(api.client.get("/readyz"), 503, "not_ready")
    assert body["checks"]["models"] is False and body["checks"]["database"] is True


def test_request_id_in_json_logs(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="api.access"):
        api.client.get("/healthz", headers={"X-Request-ID": "kiosk-7.42"})
    rec = next(r for r in caplog.records if r.name == "api.access")
    line = json.loads(JsonFormatter().format(rec))
    assert line["route"] == "/healthz" and line["status"] == 200
    assert line["level"] == "info" and "duration_ms" in line
    # the access line is written while the request's context is live
    assert getattr(rec, "route", None) == "/healthz"


def test_ocr_card_without_engine_or_image(api: Api) -> None:
    r = api.client.post("/v1/ocr/card", json={}, headers=api.h("portal"))
    assert r.status_code in (422, 501), r.text
    if r.status_code == 422:
        assert r.json()["code"] == "invalid_request"


def test_background_sweep_expires_sessions(make_api: AppFactory, tmp_path: Path) -> None:
    import datetime as dt
    import time

    from ekyc.store.models import SessionRow

    # its own database: its sweeper runs on its own clock and would expire other tests' sessions
    api = make_api(
        database_url=f"sqlite:///{tmp_path / 'bg.db'}",
        background_jobs=True,
        expiry_interval_seconds=0.05,
        purge_interval_seconds=0.05,
    )
    sid = api.client.post(
        "/v1/sessions", json={"procedure": "xac-thuc-chip"}, headers=api.h("kiosk")
    ).json()["id"]
    api.clock.now += dt.timedelta(minutes=31)
    state = "created"
    for _ in range(400):  # nobody calls the session: the lifespan's sweeper must expire it
        with api.runtime.db.session(readonly=True) as s:
            row = s.get(SessionRow, sid, populate_existing=True)
            assert row is not None
            state = row.state
        if state == "expired":
            break
        time.sleep(0.05)
    assert state == "expired"
    assert 'ekyc_background_runs_total{job="expire",result="ok"}' in api.client.get("/metrics").text


def test_documents_compare_reads_text_and_locates_a_changed_date(api: Api) -> None:
    # the real comparer, OCR included, behind the HTTP helper: a photocopy of an A4 page
    # whose date was changed is a MISMATCH naming both readings; an honest one is a MATCH
    from ekyc.synth import degrade
    from ekyc.synth.document import render_a4
    from ekyc.synth.tamper import tamper

    page = render_a4(3, "birth_certificate")
    forged = tamper(page, "date", 3)
    honest_copy = jpeg(degrade.photocopy(page.image_bgr, 11), 70)
    forged_copy = jpeg(degrade.photocopy(forged.image_bgr, 11), 70)
    original = ("original", ("o.jpg", jpeg(page.image_bgr, 80), "image/jpeg"))  # < 1 MiB

    def compare(copy: bytes) -> httpx.Response:
        files = [original, ("copy", ("c.jpg", copy, "image/jpeg"))]
        return api.client.post("/v1/documents/compare", files=files, headers=api.h("clerk"))

    r = compare(honest_copy)
    assert r.status_code == 200 and r.json()["verdict"] == "MATCH", r.text
    # no regions given: the OCR's detector found the page's lines; with no changed ink on
    # them, none needed reading (the forged copy below is where they are read)
    assert len(r.json()["pages"][0]["lines"]) >= 10
    r = compare(forged_copy)
    body = r.json()
    assert r.status_code == 200 and body["verdict"] == "MISMATCH", r.text
    changed = [d for d in body["differences"] if d["reason"] == "text_changed"]
    assert changed and changed[0]["original_text"] != changed[0]["copy_text"]


def test_an_ocr_engine_that_cannot_load_is_a_501_problem(api: Api) -> None:
    # model and OCR errors are plain exceptions with stable codes (models/ imports nothing
    # from ekyc): they map like every other error, never to a 500
    from api.runtime import LazyOcr

    saved = api.runtime.ocr
    api.runtime.ocr = LazyOcr("paddle")  # no model folder configured
    try:
        files = [("image", ("card.jpg", PAGE, "image/jpeg"))]
        r = api.client.post("/v1/ocr/card", files=files, headers=api.h("portal"))
        assert_problem(r, 501, "ocr_engine_unavailable")
    finally:
        api.runtime.ocr = saved


def test_a_document_that_is_not_a_citizen_card_says_why(api: Api) -> None:
    # a card-shaped image printed with something else: refused with the reason, no fields
    image = np.full((638, 1012, 3), 235, np.uint8)
    cv2.rectangle(image, (0, 0), (1011, 637), (90, 90, 90), 6)
    cv2.putText(
        image, "HELLO WORLD 2026", (200, 320), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (20, 20, 20), 4
    )
    ok, png = cv2.imencode(".png", image)
    files = [("image", ("card.png", png.tobytes(), "image/png"))]
    r = api.client.post("/v1/ocr/card", files=files, headers=api.h("portal"))
    assert_problem(r, 422, "unknown_card")
    assert r.json()["reason"] == "no_printed_text"
