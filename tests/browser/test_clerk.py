"""The clerk page in a real browser against the live API: sign in with a clerk key, the
queue, one session's review file (chip with its PA/AA checks, liveness frames and signals,
face score against threshold, the cross-source field table, the copy's differences on the
heatmap with both readings), approve and decline with a reason, the certified copy download
checked through the page's PDF box, and the verify panel (pasted token, tampered token,
verify link, a result QR seen by the fake camera)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from tests.api.test_api_sessions import tamper
from tests.browser.clerk_sessions import Driver
from tests.browser.conftest import LiveApi, write_y4m

Shot = Callable[[Any, str], Path]
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Desk:
    """Sessions waiting for (or decided without) the clerk, made once for the module."""

    review_copy: str  # cap-ban-sao in review (issuer unknown), a clean copy of the card
    review_chip: str  # xac-thuc-chip in review (issuer unknown)
    for_auditor: str  # another one
    edited_copy: str  # chip + documents, declined: the copy's expiry date was edited


@pytest.fixture(scope="module")
def desk(live_api: LiveApi) -> Desk:
    d = Driver(live_api.url, live_api.keys["kiosk"], live_api.runtime.face)
    return Desk(
        d.certified_copy_session(),
        d.chip_only_session(),
        d.chip_only_session(),
        d.edited_copy_session(),
    )


def api_get(live_api: LiveApi, path: str, role: str = "clerk", **kw: Any) -> httpx.Response:
    h = {"Authorization": f"Bearer {live_api.keys[role]}"}
    return httpx.get(live_api.url + path, headers=h, timeout=60, **kw)


def open_page(live_api: LiveApi, browser: Any) -> tuple[Any, list[str]]:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # an answered 4xx is logged by Chromium as a failed resource: those are expected here
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.goto(f"{live_api.url}/clerk")
    return page, errors


def sign_in(page: Any, key: str) -> None:
    """With the keyboard only: type the key, press Enter."""
    page.focus("#key")
    page.keyboard.type(key)
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen-queue:not(.hidden)")


def open_session(page: Any, sid: str) -> None:
    page.fill("#open-id", sid)
    page.press("#open-id", "Enter")
    page.wait_for_selector(f"#h-file:has-text('{sid}')")
    page.wait_for_selector("#chip")


def state_of(live_api: LiveApi, sid: str) -> str:
    return str(api_get(live_api, f"/v1/sessions/{sid}").json()["state"])


def test_clerk_reviews_approves_and_checks_the_certified_copy(
    live_api: LiveApi, launch_browser: Any, screenshot: Shot, desk: Desk
) -> None:
    sid = desk.review_copy
    page, errors = open_page(live_api, launch_browser())
    screenshot(page, "1-signin")
    # a key the server refuses: a clear message, still signed out
    page.fill("#key", "ekyc_not-a-key")
    page.press("#key", "Enter")
    page.wait_for_selector("#message[data-kind='error']")
    assert "Khoá không được chấp nhận" in page.inner_text("#message")
    page.fill("#key", "")
    sign_in(page, live_api.keys["clerk"])

    # the queue: the session with why it waits, the longest waiting first
    row = page.locator(f"#queue-rows tr[data-session='{sid}']")
    row.wait_for()
    assert row.locator("li[data-code='issuer_unknown']").count() == 1
    assert "cap-ban-sao" in row.inner_text()
    screenshot(page, "2-queue")
    row.locator("button.open").click()
    page.wait_for_selector("#pa-checks")
    file = api_get(live_api, f"/v1/sessions/{sid}/review-file").json()

    # chip: holder data, every PA check (the DS is not signed by a trusted CSCA), AA passed
    chip = page.locator("#chip")
    assert chip.locator(".badge[data-status='issuer_unknown']").count() >= 1
    holder = file["chip"]["verification"]["dg13"]
    assert holder["full_name"] in chip.inner_text() and holder["id_number"] in chip.inner_text()
    checks = file["chip"]["verification"]["passive_authentication"]["checks"]
    assert page.locator("#pa-checks tbody tr").count() == len(checks)
    failed = page.locator("#pa-checks tr[data-check='ds_signed_by_csca'] .badge")
    assert failed.get_attribute("data-status") == "failed"
    assert page.locator("#data-groups tr[data-dg='DG13'] .badge").get_attribute("data-status") == (
        "ok"
    )
    assert page.locator("#aa-check .badge").get_attribute("data-status") == "ok"
    # liveness: one figure per frame with its signals, the best one marked
    frames = file["liveness"]["frames"]
    assert page.locator("#frames figure").count() == len(frames)
    page.wait_for_function(
        "n => [...document.querySelectorAll('#frames img')].filter(i => i.complete && "
        "i.naturalWidth > 0).length === n",
        arg=len(frames),
    )
    assert page.locator("#frames figure.best").count() == 1
    assert page.locator("#signals tr[data-signal='passive_pad'] .badge").count() == 1
    # face match: the score against the threshold, with the review band
    m = file["face_match"]
    assert page.inner_text("#face-score") == f"{m['score']:.3f}"
    assert page.inner_text("#face-threshold") == f"{m['threshold']:.3f}"
    # the cross-source table: chip DG13, QR, MRZ and the printed card agree on the ID
    idrow = page.locator("#field-table tr[data-field='id_number']")
    assert idrow.get_attribute("data-status") == "agree"
    assert idrow.locator("td[data-source]").count() == 4
    # the copy matches its original: a heatmap and no difference
    page.wait_for_selector("canvas.heatmap[data-drawn='true']")
    assert page.locator("#no-differences").count() == 1
    screenshot(page, "3-review-file")

    # approve: a reason is required, the server records it
    page.click("#approve")
    page.wait_for_selector("#message[data-kind='error']")
    assert page.evaluate("document.activeElement.id") == "decide-note"
    assert state_of(live_api, sid) == "review"
    reason = "Cơ quan cấp đã xác nhận qua điện thoại"
    page.fill("#decide-note", reason)
    page.click("#approve")
    page.wait_for_selector("#decided .badge[data-status='approved']")
    assert state_of(live_api, sid) == "approved"
    audit = api_get(live_api, "/v1/audit", "auditor", params={"session_id": sid}).json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    resolved = [e for e in entries if e["action"] == "review.resolved"]
    assert resolved and resolved[-1]["detail"] == {"decision": "approved", "note": reason}
    reads = {e["detail"]["name"] for e in entries if e["action"] == "evidence.read"}
    assert {"chip_portrait", "heatmap_0", "selfie_frame_0"} <= reads

    # the certified copy: offered once the server has it, downloaded, checked by the page
    link = page.locator("#certified-copy-link")
    link.wait_for()
    screenshot(page, "4-approved")
    with page.expect_download() as got:
        link.click()
    pdf = Path(got.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    page.click("#tab-verify")
    page.set_input_files(
        "#pdf", files=[{"name": "copy.pdf", "mimeType": "application/pdf", "buffer": pdf}]
    )
    page.click("#pdf-form button[type=submit]")
    page.wait_for_selector("#verify-result[data-valid='true']")
    assert sid in page.inner_text("#verify-result")
    screenshot(page, "5-pdf-valid")
    altered = bytearray(pdf)
    altered[pdf.index(b"stream", pdf.index(b"/Subtype /Image")) + 400] ^= 0x01
    page.set_input_files(
        "#pdf",
        files=[{"name": "copy.pdf", "mimeType": "application/pdf", "buffer": bytes(altered)}],
    )
    page.click("#pdf-form button[type=submit]")
    page.wait_for_selector("#verify-result[data-valid='false'][data-reason='altered']")
    screenshot(page, "6-pdf-altered")
    assert errors == []


def test_clerk_declines_and_reads_the_differences(
    live_api: LiveApi, launch_browser: Any, screenshot: Shot, desk: Desk
) -> None:
    page, errors = open_page(live_api, launch_browser())
    sign_in(page, live_api.keys["clerk"])
    page.locator(f"button.open[data-session='{desk.review_chip}']").click()
    page.wait_for_selector("#decide-note")
    assert "không có bước liveness" in page.inner_text("#liveness")  # not in this procedure
    # decline with the keyboard: reason, then Tab past Approve to Decline, Enter
    page.focus("#decide-note")
    page.keyboard.type("Không xác minh được cơ quan cấp thẻ")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "approve"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "decline"
    page.keyboard.press("Enter")
    page.wait_for_selector("#decided .badge[data-status='declined']")
    assert state_of(live_api, desk.review_chip) == "declined"
    assert page.locator("#certified-copy-link").count() == 0
    screenshot(page, "1-declined")

    # a session the policy declined, opened by its id: each difference with both readings
    page.click("#file-back")
    page.wait_for_selector("#screen-queue:not(.hidden)")
    assert page.locator(f"#queue-rows tr[data-session='{desk.review_chip}']").count() == 0
    open_session(page, desk.edited_copy)
    diffs = api_get(live_api, f"/v1/sessions/{desk.edited_copy}/review-file").json()["documents"][
        "differences"
    ]
    assert diffs and page.locator("#differences tbody tr").count() == len(diffs)
    first = page.locator("#differences tbody tr").first
    assert first.get_attribute("data-kind") == diffs[0]["kind"]
    assert first.locator(".reading-original").inner_text() == diffs[0]["original_text"]
    assert first.locator(".reading-copy").inner_text() == diffs[0]["copy_text"]
    assert diffs[0]["original_text"] != diffs[0]["copy_text"]
    page.wait_for_selector("canvas.heatmap[data-drawn='true']")
    assert page.locator("#decide textarea").count() == 0  # nothing to decide
    screenshot(page, "2-differences")
    page.click("#lang")
    page.wait_for_selector("#documents-h:has-text('Copy against the original')")
    assert "Read on the copy" in page.inner_text("#differences")
    screenshot(page, "3-differences-en")

    # an auditor reads the same file but may not decide
    page.click("#signout")
    sign_in(page, live_api.keys["auditor"])
    assert page.is_visible("#readonly")
    page.locator(f"button.open[data-session='{desk.for_auditor}']").click()
    page.wait_for_selector("#decide-readonly")
    assert page.locator("#approve, #decline, #decide-note").count() == 0
    assert page.locator("#pa-checks tbody tr").count() > 0
    screenshot(page, "4-auditor")
    assert errors == []


def _qr_video(png: bytes, path: Path) -> Path:
    """A short camera video of a result QR held in front of the lens (white paper, noise)."""
    qr = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert qr is not None
    frame = np.full((480, 640, 3), 235, np.uint8)
    side = min(400, qr.shape[0])
    qr = cv2.resize(qr, (side, side), interpolation=cv2.INTER_NEAREST)
    y, x = (480 - side) // 2, (640 - side) // 2
    frame[y : y + side, x : x + side] = qr
    rng = np.random.default_rng(0)
    frames = [
        np.clip(frame.astype(np.int16) + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
        for _ in range(10)
    ]
    return write_y4m(path, frames, fps=10)


def test_verify_panel_token_link_and_qr(
    live_api: LiveApi, launch_browser: Any, screenshot: Shot, desk: Desk, tmp_path: Path
) -> None:
    sid = desk.edited_copy  # declined by the policy: its result is signed all the same
    result = api_get(live_api, f"/v1/sessions/{sid}/result").json()
    png = api_get(live_api, f"/v1/sessions/{sid}/result.png").content
    page, errors = open_page(live_api, launch_browser(video=_qr_video(png, tmp_path / "qr.y4m")))
    sign_in(page, live_api.keys["clerk"])
    page.click("#tab-verify")
    page.wait_for_selector("#screen-verify:not(.hidden)")

    page.fill("#paste", result["token"])
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#verify-result[data-valid='true']")
    assert sid in page.inner_text("#verify-result")
    screenshot(page, "1-token-valid")
    page.fill("#paste", tamper(result["token"]))
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#verify-result[data-valid='false'][data-reason='bad_signature']")
    screenshot(page, "2-token-tampered")
    page.fill("#paste", result["verify_url"])
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#verify-result[data-valid='true']")
    page.fill("#paste", result["verify_url"][:-4] + "AAAA")
    page.click("#paste-form button[type=submit]")
    page.wait_for_selector("#verify-result[data-valid='false'][data-reason='unknown_result']")

    # the camera: frames go to POST /v1/verify/qr until the server reads the QR
    page.click("#qr-start")
    page.wait_for_selector("#verify-result[data-valid='true']")
    assert sid in page.inner_text("#verify-result")
    assert page.is_hidden("#qr-video")  # the camera is off again
    screenshot(page, "3-qr-valid")
    assert errors == []
