"""The kiosk page in a real browser: a whole certified-copy session (the CAN read from the
card's print by the camera, the chip read through the reader bridge, pcscd and the virtual
card, the face challenge filmed by Chromium's fake camera, the pages photographed and
uploaded) against the live server, and each way it can fail with its bilingual message and
retry.

The fake camera plays a .y4m that the test writes before the page opens the camera; Chromium
reads the file each time the camera opens, so the "scene" in front of it changes between
steps (the card's front, the citizen's face, a document page). The liveness video performs
the challenge the server will issue: for the test, the server draws its challenges from a
seeded generator (``planned_challenges``), and the video follows the kiosk page's capture
plan (LIVENESS_PLAN in api/static/kiosk/kiosk.js). The server still checks the frames
exactly as it would a person's.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from ekyc.face.challenge import Action
from tests.browser.conftest import ARTIFACTS, LiveApi, ThreadedServer, write_y4m

LIVE_PHOTO = "obama__obama-480p.jpg"  # the citizen in front of the kiosk camera
PORTRAIT_PHOTO = "obama__obama2.jpg"  # the same person's portrait in the chip (DG2)
CARD_SEED = 11  # the synthetic citizen: chip, printed card and CAN
#: the server's challenges in these tests: turn_left, look_up, come_closer; then turn_right,
#: look_up (see planned_challenges)
CHALLENGE_SEED = 1
#: LIVENESS_PLAN of kiosk.js: look straight for LEAD_MS, then SLOT_MS per action
LEAD_MS, SLOT_MS = 1500, 2000
FACE_FPS = 10
SCREEN_TIMEOUT = 60_000  # ms; a loaded 2-core machine runs OCR, PAD and the comparison


# ---- the scene in front of the camera ---------------------------------------------------


class FakeCamera:
    """The .y4m file Chromium's fake camera plays; ``show`` replaces what it films."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def show(self, frames: Sequence[np.ndarray], fps: int) -> None:
        tmp = self.path.with_suffix(".next.y4m")
        write_y4m(tmp, frames, fps)
        os.replace(tmp, self.path)  # the page's next getUserMedia reads the new scene


def encode_jpeg(bgr: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


@functools.cache
def portrait_jpeg() -> bytes:
    from tests.support import read_face

    return encode_jpeg(read_face(PORTRAIT_PHOTO))


def card_scene(citizen: Any) -> list[np.ndarray]:
    """The card's front held under the camera (a 1280×960 phone-style photo)."""
    from ekyc.synth import degrade
    from ekyc.synth.card import render_card

    card = render_card(citizen, "front", "cccd2021", seed=CARD_SEED, portrait=portrait_jpeg())
    photo = degrade.phone_photo(card.image_bgr, seed=5, glare=False)
    return [photo, photo]


def _amount(phase: float) -> float:
    """How far into an action the head is at ``phase`` (0–1) of its slot: out and back."""
    if phase < 0.1 or phase >= 0.8:
        return 0.0
    if phase < 0.3:
        return (phase - 0.1) / 0.2
    if phase < 0.6:
        return 1.0
    return 1.0 - (phase - 0.6) / 0.2


def face_scene(face: Any, actions: Sequence[Action]) -> list[np.ndarray]:
    """The citizen performing ``actions`` on the kiosk's schedule: frontal for LEAD_MS, then
    each movement out and back within its slot, then frontal again (real head movements
    rendered from one photo by ekyc.synth.liveness, fresh sensor noise on every frame)."""
    from ekyc.synth import liveness as sl
    from tests.support import read_face

    photo = read_face(LIVE_PHOTO)
    det = face.detector.detect(photo)[0]
    nose = (float(det.landmarks[2][0]), float(det.landmarks[2][1]))
    subject = sl.frame_from_photo(photo, det.box, nose)
    rng = np.random.default_rng(7)
    end = LEAD_MS + len(actions) * SLOT_MS
    cache: dict[tuple[Action | None, float], np.ndarray] = {}
    frames = []
    for k in range((end + 1500) * FACE_FPS // 1000):
        v = k * 1000 / FACE_FPS
        action, amount = None, 0.0
        if LEAD_MS <= v < end:
            i = int((v - LEAD_MS) // SLOT_MS)
            action, amount = actions[i], _amount(((v - LEAD_MS) % SLOT_MS) / SLOT_MS)
        key = (action if amount else None, round(amount, 3))
        if key not in cache:
            cache[key] = sl.render(subject, key[0], amount)
        frames.append(sl.add_noise(cache[key], 2.0, rng))
    return frames


def still_face_scene() -> list[np.ndarray]:
    """The citizen standing still (a challenge that asks for movements fails): 10 s of fresh
    frames, longer than any capture, so the looping video never repeats a frame."""
    from ekyc.synth import liveness as sl
    from tests.support import read_face

    photo = cv2.resize(read_face(LIVE_PHOTO), (640, 480))
    rng = np.random.default_rng(3)
    return [sl.add_noise(photo, 2.0, rng) for _ in range(10 * FACE_FPS)]


def page_scene() -> tuple[list[np.ndarray], bytes]:
    """An A4 original under the document camera, and a photocopy of it as an image file."""
    from ekyc.synth import degrade
    from ekyc.synth.document import render_a4

    page = render_a4(3, "birth_certificate")
    copy = encode_jpeg(degrade.photocopy(page.image_bgr, 11), 70)
    return [page.image_bgr, page.image_bgr], copy


# ---- fixtures ---------------------------------------------------------------------------


@pytest.fixture
def planned_challenges(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Action, ...]]:
    """The live server draws liveness challenges from a generator seeded with CHALLENGE_SEED
    (only the draw is fixed: issuing, storing, the single-use nonce and every check are the
    server's own); returns the challenges it will issue, in order."""
    import ekyc.verification.service as service

    real = service.issue_challenge
    draws = random.Random(CHALLENGE_SEED).randbytes

    def issue(clock: Any, rng: Any, **kw: Any) -> Any:
        return real(clock, draws, **kw)

    monkeypatch.setattr(service, "issue_challenge", issue)
    ahead = random.Random(CHALLENGE_SEED).randbytes
    return [real(lambda: 0.0, ahead).actions for _ in range(3)]


@pytest.fixture
def quick_bridge(live_api: LiveApi, pcscd: None) -> Iterator[str]:
    """A reader bridge that waits 2 s for a card and does not resume a pulled card itself,
    so the page sees ``no_card`` and ``card_removed`` (the shipped bridge waits 30 s and
    resumes twice)."""
    from readers.bridge import Bridge, create_app, pcsc_bridge
    from readers.kiosk import read_chip

    read = functools.partial(read_chip, wait=2.0, resumes=0)
    bridge = Bridge(read, pcsc_bridge().list_readers, frozenset({live_api.url}))
    with ThreadedServer(create_app(bridge)) as server:
        yield server.url


@pytest.fixture
def camera(tmp_path: Path) -> FakeCamera:
    cam = FakeCamera(tmp_path / "camera.y4m")
    cam.show([np.full((480, 640, 3), 90, np.uint8)] * 2, 5)
    return cam


# ---- driving the page -------------------------------------------------------------------


def open_kiosk(browser: Any, live_api: LiveApi, bridge: str | None, **context: Any) -> Page:
    page = browser.new_context(viewport={"width": 1200, "height": 1000}, **context).new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{live_api.url}/kiosk")
    expect(page.locator("body")).to_have_attribute("data-screen", "signin")
    assert problems == []
    if bridge is not None:
        set_bridge(page, bridge)
    return page


def set_bridge(page: Page, url: str) -> None:
    if not page.locator("#settings").evaluate("d => d.open"):
        page.click("#settings summary")
    page.fill("#bridge-url", url)
    page.click("#settings-form button[type=submit]")


def screen(page: Page, name: str, timeout: int = SCREEN_TIMEOUT) -> None:
    expect(page.locator("body")).to_have_attribute("data-screen", name, timeout=timeout)


def sign_in_and_start(page: Page, live_api: LiveApi, procedure: str) -> str:
    page.fill("#key", live_api.keys["kiosk"])
    page.keyboard.press("Enter")
    screen(page, "start")
    page.select_option("#procedure", procedure)
    page.click("#start-session")
    screen(page, "chip")
    return session_id(page)


def session_id(page: Page) -> str:
    return str(page.locator("body").get_attribute("data-session"))


def read_card(page: Page, can: str) -> None:
    page.fill("#can", can)
    page.click("#read-card")


def expect_error(page: Page, code: str, vi: str, en: str, timeout: int = SCREEN_TIMEOUT) -> None:
    """The message box shows ``code``'s message in Vietnamese with English beneath."""
    box = page.locator("#error")
    expect(box).to_have_attribute("data-code", code, timeout=timeout)
    expect(box).to_be_visible()
    expect(box.locator(".vi")).to_contain_text(vi)
    expect(box.locator(".en")).to_contain_text(en)


def expect_outcome(page: Page, state: str, timeout: int = SCREEN_TIMEOUT) -> None:
    screen(page, "outcome", timeout)
    expect(page.locator("#outcome")).to_have_attribute("data-state", state)
    expect(page.locator("#error")).to_be_hidden()
    if state in ("approved", "declined"):
        expect(page.locator("#qr-img")).to_be_visible(timeout=timeout)


def server_session(live_api: LiveApi, sid: str) -> dict[str, Any]:
    h = {"Authorization": f"Bearer {live_api.keys['kiosk']}"}
    r = httpx.get(f"{live_api.url}/v1/sessions/{sid}", headers=h)
    assert r.status_code == 200, r.text
    return dict(r.json())


def qr_text(page: Page) -> str:
    png = page.locator("#qr-img").screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(found) == 1, "the result QR does not decode"
    return str(found[0].text)


# ---- the whole session ------------------------------------------------------------------


def test_certified_copy_session_end_to_end(
    live_api: LiveApi,
    reader_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
    camera: FakeCamera,
    planned_challenges: list[tuple[Action, ...]],
    browser_face: Any,
) -> None:
    chip, _, _ = insert_card(seed=CARD_SEED, portrait=portrait_jpeg())
    citizen = chip.citizen
    # every scene is prepared before the clock starts: the session time is the kiosk's
    scenes = {
        "card": card_scene(citizen),
        "face": face_scene(browser_face, planned_challenges[0]),
    }
    pages, copy_jpeg = page_scene()
    camera.show(scenes["card"], 5)
    page = open_kiosk(launch_browser(video=camera.path), live_api, reader_bridge)
    screenshot(page, "1-signin")
    page.fill("#key", live_api.keys["kiosk"])
    page.click("#signin-form button[type=submit]")
    screen(page, "start")
    page.select_option("#procedure", "cap-ban-sao")
    screenshot(page, "2-procedure")

    stages: dict[str, float] = {}
    started = last = time.monotonic()

    def stage(name: str) -> None:
        nonlocal last
        now = time.monotonic()
        stages[name] = round(now - last, 2)
        last = now

    page.click("#start-session")
    screen(page, "chip")
    sid = session_id(page)
    stage("create_session")

    # the CAN from the card's printed ID number, by the camera and the server's OCR
    page.click("#can-camera")
    expect(page.locator("#can-video")).to_be_visible()
    page.click("#can-capture")
    expect(page.locator("#can")).to_have_value(citizen.can.number, timeout=SCREEN_TIMEOUT)
    assert citizen.id_number.endswith(citizen.can.number)
    stage("can_by_camera")
    screenshot(page, "3-card-can")

    camera.show(scenes["face"], FACE_FPS)
    page.click("#read-card")
    screen(page, "liveness")
    stage("chip_read_and_verify")
    done = page.locator("#progress li.done .name").all_inner_texts()
    assert {"EF.SOD", "DG1", "DG2", "DG15"} <= set(done), done  # per-file progress shown

    page.click("#start-liveness")
    expect(page.locator("#prompt")).to_be_visible()
    expect(page.locator("body")).to_have_attribute(
        "data-challenge", ",".join(a.value for a in planned_challenges[0])
    )
    # the first movement's prompt, in Vietnamese (the page's language)
    expect(page.locator("#prompt-text")).to_have_text("Quay đầu sang trái", timeout=5000)
    screenshot(page, "4-liveness")
    camera.show(pages, 2)  # read when the page opens the document camera
    screen(page, "documents")
    stage("liveness_and_face_match")

    page.click("#doc-camera")
    expect(page.locator("#capture-original")).to_be_enabled()
    page.click("#capture-original")
    expect(page.locator("#pages-original img")).to_have_count(1)
    copy_file = FilePayload(name="copy-1.jpg", mimeType="image/jpeg", buffer=copy_jpeg)
    page.set_input_files("#file-copy", files=[copy_file])  # the file input, beside the camera
    expect(page.locator("#pages-copy img")).to_have_count(1)
    screenshot(page, "5-documents")
    page.click("#submit-documents")
    expect_outcome(page, "approved")
    stage("documents")
    elapsed = time.monotonic() - started
    screenshot(page, "6-outcome")

    assert session_id(page) == sid
    content = qr_text(page)
    assert sid in content or content.count(".") == 2  # the verify link or the token itself
    expect(page.locator("#status-link")).to_be_visible()  # the citizen's status page
    assert str(page.locator("#status-link").get_attribute("href")).startswith(
        f"{live_api.url}/s/{sid}"
    )
    body = server_session(live_api, sid)
    assert body["state"] == "approved"
    assert {s: o["outcome"] for s, o in body["steps"].items()} == {
        "chip": "pass",
        "liveness": "pass",
        "face_match": "pass",
        "documents": "pass",
    }

    record = {
        "test": "test_certified_copy_session_end_to_end",
        "procedure": "cap-ban-sao",
        "state": body["state"],
        "seconds": round(elapsed, 2),
        "stages_seconds": stages,
        "challenge": [a.value for a in planned_challenges[0]],
        "what": "from pressing Start to the result QR on screen: session, CAN by camera + OCR, "
        "chip read through the reader bridge + server verification, liveness capture + "
        "check + face match, document capture + comparison",
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "kiosk-session-time.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"\nkiosk session: {elapsed:.1f} s {stages}")


# ---- what goes wrong --------------------------------------------------------------------


def test_wrong_can_is_refused_and_the_right_one_reads(
    live_api: LiveApi,
    reader_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
) -> None:
    chip, _, _ = insert_card(seed=21)
    page = open_kiosk(launch_browser(), live_api, reader_bridge)
    sid = sign_in_and_start(page, live_api, "xac-thuc-chip")
    wrong = "000000" if chip.citizen.can.number != "000000" else "111111"
    read_card(page, wrong)
    expect_error(page, "access_denied", "Số CAN không đúng", "Wrong CAN: the chip refused it")
    expect(page.locator("#retry")).to_be_visible()
    screenshot(page, "wrong-can")
    page.fill("#can", chip.citizen.can.number)
    page.click("#retry")
    expect_outcome(page, "approved")
    assert session_id(page) == sid  # the same session: nothing was sent for the wrong CAN


def test_card_pulled_mid_read_then_retry_reads_it(
    live_api: LiveApi,
    quick_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
) -> None:
    from readers.pcsc import PcscContext
    from readers.vcard.card import Faults
    from tests.conftest import READER

    chip, card, link = insert_card(seed=22, faults=Faults(remove_after_apdus=16))
    page = open_kiosk(launch_browser(), live_api, quick_bridge)
    sid = sign_in_and_start(page, live_api, "xac-thuc-chip")
    read_card(page, chip.citizen.can.number)
    expect_error(page, "card_removed", "Thẻ đã bị rút ra khi đang đọc", "The card was removed")
    assert page.locator("#progress li").count() >= 1  # it had started: per-file progress
    screenshot(page, "card-pulled")
    deadline = time.monotonic() + 5  # the faulty card leaves the field; pcscd notices
    while link.inserted and time.monotonic() < deadline:
        time.sleep(0.01)
    with PcscContext() as ctx:
        assert ctx.wait_for_removal(READER, 5)
    card.faults.remove_after_apdus = None
    link.insert()  # the citizen puts the card back
    page.click("#retry")
    expect_outcome(page, "approved")
    assert session_id(page) == sid


def test_bridge_not_running_then_no_card_then_read(
    live_api: LiveApi,
    quick_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
) -> None:
    from tests.browser.conftest import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    page = open_kiosk(launch_browser(), live_api, dead)
    sid = sign_in_and_start(page, live_api, "xac-thuc-chip")
    read_card(page, "123456")
    expect_error(
        page,
        "bridge_unreachable",
        "Không kết nối được chương trình đầu đọc thẻ (ekyc reader-bridge)",
        "Cannot reach the card reader program (ekyc reader-bridge)",
    )
    expect(page.locator("#error .vi")).to_contain_text(dead)
    screenshot(page, "bridge-down")
    # staff start the bridge (here: point the page at the running one) and retry: no card yet
    set_bridge(page, quick_bridge)
    page.click("#retry")
    expect_error(page, "no_card", "Không thấy thẻ trên đầu đọc", "No card on the reader")
    screenshot(page, "no-card")
    chip, _, _ = insert_card(seed=23)
    page.fill("#can", chip.citizen.can.number)
    page.click("#retry")
    expect_outcome(page, "approved")
    assert session_id(page) == sid


def test_camera_denied_then_allowed_reads_the_can(
    live_api: LiveApi,
    reader_bridge: str,
    pcscd: None,
    test_pki: Any,
    launch_browser: Any,
    screenshot: Any,
    camera: FakeCamera,
) -> None:
    from ekyc.synth.chip import sample_citizen

    citizen = sample_citizen(CARD_SEED)
    camera.show(card_scene(citizen), 5)
    browser = launch_browser(video=camera.path, fake_ui=False)  # no prompt answered: denied
    page = open_kiosk(browser, live_api, reader_bridge)
    sign_in_and_start(page, live_api, "dang-ky-thuong-tru")
    page.click("#can-camera")
    expect_error(
        page, "camera_denied", "chưa được phép dùng camera", "The page may not use the camera"
    )
    screenshot(page, "camera-denied")
    page.context.grant_permissions(["camera"], origin=live_api.url)
    page.click("#retry")
    expect(page.locator("#can-video")).to_be_visible()
    page.click("#can-capture")
    expect(page.locator("#can")).to_have_value(citizen.can.number, timeout=SCREEN_TIMEOUT)


def test_lost_server_answer_is_retried_with_the_same_idempotency_key(
    live_api: LiveApi,
    reader_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
) -> None:
    chip, _, _ = insert_card(seed=24)
    page = open_kiosk(launch_browser(), live_api, reader_bridge)
    sid = sign_in_and_start(page, live_api, "xac-thuc-chip")
    sent: list[str] = []

    def lose_answer(route: Any) -> None:
        # the chip files reach the server, which records the step; the answer never arrives
        sent.append(route.request.headers["idempotency-key"])
        route.fetch()
        route.abort("connectionreset")

    page.route(f"**/v1/sessions/{sid}/chip", lose_answer)
    read_card(page, chip.citizen.can.number)
    expect_error(
        page, "server_unreachable", "Không kết nối được máy chủ", "Cannot reach the server"
    )
    screenshot(page, "server-unreachable")
    assert server_session(live_api, sid)["steps"]["chip"]["outcome"] == "pass"
    page.unroute(f"**/v1/sessions/{sid}/chip")
    replays: list[str] = []

    def pass_through(route: Any) -> None:
        sent.append(route.request.headers["idempotency-key"])
        response = route.fetch()
        replays.append(response.headers.get("idempotent-replayed", ""))
        route.fulfill(response=response)

    page.route(f"**/v1/sessions/{sid}/chip", pass_through)
    page.click("#retry")  # the same files under the same key: the server replays its answer
    expect_outcome(page, "approved")
    assert len(sent) == 2 and sent[0] == sent[1]
    assert replays == ["true"]
    assert session_id(page) == sid


def test_server_unreachable_at_sign_in(
    live_api: LiveApi, launch_browser: Any, screenshot: Any
) -> None:
    page = open_kiosk(launch_browser(), live_api, None)
    page.route("**/v1/**", lambda route: route.abort("connectionrefused"))
    page.fill("#key", live_api.keys["kiosk"])
    page.click("#signin-form button[type=submit]")
    expect_error(
        page, "server_unreachable", "Không kết nối được máy chủ", "Cannot reach the server"
    )
    page.unroute("**/v1/**")
    page.fill("#key", "not-a-key")
    page.click("#signin-form button[type=submit]")
    expect_error(page, "unauthorized", "Khoá không hợp lệ", "The key is not valid")
    screenshot(page, "bad-key")
    page.fill("#key", live_api.keys["kiosk"])
    page.click("#signin-form button[type=submit]")
    screen(page, "start")


def test_expired_session_starts_a_new_one(
    live_api: LiveApi,
    reader_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
) -> None:
    import datetime as dt

    from ekyc.store.models import SessionRow

    chip, _, _ = insert_card(seed=25)
    page = open_kiosk(launch_browser(), live_api, reader_bridge)
    sid = sign_in_and_start(page, live_api, "xac-thuc-chip")
    with live_api.runtime.db.session() as s:  # the citizen walked away for half an hour
        row = s.get(SessionRow, sid)
        assert row is not None
        row.expires_at = row.created_at - dt.timedelta(seconds=1)
    read_card(page, chip.citizen.can.number)
    expect_error(page, "session_expired", "Phiên đã hết hạn", "The session has expired")
    expect(page.locator("#restart")).to_be_visible()
    expect(page.locator("#retry")).to_be_hidden()
    screenshot(page, "session-expired")
    assert server_session(live_api, sid)["state"] == "expired"
    page.click("#restart")
    expect(page.locator("body")).not_to_have_attribute("data-session", sid)  # a new session
    screen(page, "chip")
    new_sid = session_id(page)
    expect(page.locator("#can")).to_have_value(chip.citizen.can.number)  # kept for the citizen
    page.click("#read-card")
    expect_outcome(page, "approved")
    assert session_id(page) == new_sid


def test_failed_face_challenge_ends_the_session_and_offers_a_new_one(
    live_api: LiveApi,
    reader_bridge: str,
    insert_card: Any,
    launch_browser: Any,
    screenshot: Any,
    camera: FakeCamera,
    planned_challenges: list[tuple[Action, ...]],
) -> None:
    chip, _, _ = insert_card(seed=CARD_SEED, portrait=portrait_jpeg())
    camera.show(still_face_scene(), FACE_FPS)  # asked to move, the citizen stands still
    page = open_kiosk(launch_browser(video=camera.path), live_api, reader_bridge)
    sid = sign_in_and_start(page, live_api, "dang-ky-thuong-tru")
    read_card(page, chip.citizen.can.number)
    screen(page, "liveness")
    page.click("#start-liveness")
    expect_error(
        page,
        "challenge_failed",
        "Không đạt thử thách khuôn mặt",
        "The face challenge was not passed",
    )
    expect(page.locator("#error .en")).to_contain_text("The face did not move")
    screenshot(page, "challenge-failed")
    assert server_session(live_api, sid)["state"] == "declined"
    page.click("#restart")
    expect(page.locator("body")).not_to_have_attribute("data-session", sid)  # a new session
    screen(page, "chip")


def test_session_in_review_says_a_clerk_will_decide(
    live_api: LiveApi, reader_bridge: str, launch_browser: Any, screenshot: Any
) -> None:
    from ekyc.synth.chip import TestPki, build_chip
    from readers.pcsc import PcscContext
    from readers.vcard.card import VirtualCard
    from readers.vcard.vpcd import VpcdLink
    from tests.conftest import READER

    # an authentic chip from a CSCA the server does not trust: the policy sends it to a clerk
    chip = build_chip(pki=TestPki.generate(seed="not-trusted"), seed=26)
    link = VpcdLink(VirtualCard(chip.profile))
    link.insert()
    try:
        page = open_kiosk(launch_browser(), live_api, reader_bridge)
        sid = sign_in_and_start(page, live_api, "xac-thuc-chip")
        read_card(page, chip.citizen.can.number)
        expect_outcome(page, "review")
        box = page.locator("#outcome")
        expect(box.locator(".vi")).to_contain_text("Cán bộ sẽ quyết định")
        expect(box.locator(".en")).to_contain_text("A clerk will decide")
        expect(page.locator("#outcome-reasons li[data-code=issuer_unknown]")).to_be_visible()
        expect(page.locator("#qr")).to_be_hidden()  # no signed result before the clerk decides
        screenshot(page, "review")
        assert server_session(live_api, sid)["state"] == "review"
    finally:
        link.remove()
        with PcscContext() as ctx:
            assert ctx.wait_for_removal(READER, 5)
