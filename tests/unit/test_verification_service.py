"""The verification service end to end on SQLite: a synthetic chip with a real portrait,
liveness frames synthesised from a real photo, signed results, webhooks, expiry, purge."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from ekyc.document.compare import CopyVerdict
from ekyc.face.challenge import ChallengeRejected
from ekyc.icao.trust_store import TrustStore
from ekyc.store.crypto import Encryptor
from ekyc.store.db import Database
from ekyc.store.keys import ApiKeys
from ekyc.store.models import EvidenceRow, ResultRow, WebhookDelivery
from ekyc.synth.chip import SynthChip, build_chip
from ekyc.synth.pki import PrivateKey
from ekyc.verification.policy import Policy
from ekyc.verification.service import (
    CapabilityNotInstalled,
    ResultNotReady,
    SessionClosed,
    SessionExpired,
    StepAlreadyDone,
    StepNotRequired,
    StepOutOfOrder,
    VerificationService,
)
from ekyc.verification.signing import Signer, generate_key
from ekyc.verification.states import IllegalTransition, State
from ekyc.verification.steps import Outcome
from ekyc.verification.webhooks import WebhookSender, deliver_due, verify_webhook
from readers.vcard.aa_card import aa_sign
from tests.support import FACES, face_engine

LIVE_PHOTO = "obama__obama-480p.jpg"
PORTRAIT_PHOTO = "obama__obama2.jpg"
T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
HOOK = "https://portal.example/hooks/ekyc"
SECRET = "whsec-test"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Env:
    service: VerificationService
    db: Database
    clock: Clock
    key_id: str
    chip: SynthChip


def _jpeg(bgr: np.ndarray, quality: int = 95) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buf.tobytes()


def _chip_with_portrait(portrait: bytes | None) -> SynthChip:
    """A synthetic CCCD chip (EC AA), with ``portrait`` in DG2 when given."""
    return build_chip(seed=11, aa="ec", portrait=portrait)


@pytest.fixture(scope="module")
def face() -> object:
    if not FACES.is_dir():
        pytest.skip("../shared/data/faces missing")
    return face_engine()


@pytest.fixture(scope="module")
def portrait() -> bytes | None:
    if not FACES.is_dir():
        return None
    img = cv2.imread(str(FACES / PORTRAIT_PHOTO))
    return _jpeg(img, 90)


def _env(tmp_path: Path, chip: SynthChip, face: object = None, documents: object = None) -> Env:
    db = Database(f"sqlite:///{tmp_path / 'ekyc.db'}")
    db.migrate()
    clock = Clock()
    with db.session() as s:
        key_id = ApiKeys(s, random.Random(1).randbytes).create("kiosk-1", "kiosk", T0).key.id
    trust = TrustStore()
    trust.add_certificate(chip.pki.csca_cert)
    service = VerificationService(
        db,
        Encryptor({"k1": bytes(range(32))}, "k1"),
        Signer.from_keys([generate_key()], issuer="ekyc-test"),
        Policy.load(),
        trust_store=trust,
        face=face,  # type: ignore[arg-type]
        documents=documents,  # type: ignore[arg-type]
        clock=clock,
        rng=random.Random(2).randbytes,
    )
    return Env(service, db, clock, key_id, chip)


@pytest.fixture
def env(tmp_path: Path, portrait: bytes | None) -> Iterator[Env]:
    e = _env(tmp_path, _chip_with_portrait(portrait))
    yield e
    e.db.dispose()


def _aa(chip: SynthChip, nonce: bytes, key: PrivateKey | None = None) -> bytes:
    k = key or chip.aa_key
    assert k is not None
    return aa_sign(k, nonce)


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _count(db: Database, model: type, session_id: str) -> int:
    with db.session(readonly=True) as s:
        return int(
            s.scalar(select(func.count()).select_from(model).where(model.session_id == session_id))
            or 0
        )  # type: ignore[attr-defined]


def test_full_session(tmp_path: Path, face: object, portrait: bytes) -> None:
    chip = _chip_with_portrait(portrait)
    e = _env(tmp_path, chip, face)
    svc = e.service
    sess = svc.create_session(e.key_id, "dang-ky-thuong-tru", callback_url=HOOK)
    assert sess.state is State.CREATED and len(sess.aa_nonce) == 8
    assert sess.expires_at - sess.created_at == dt.timedelta(minutes=30)
    with pytest.raises(StepOutOfOrder):
        svc.face_match(sess.id, "m0")
    with pytest.raises(StepNotRequired):
        svc.submit_documents(sess.id, "d0", [b"x"], [b"y"])

    chip_res = svc.submit_chip(sess.id, "c1", chip.files, _aa(chip, sess.aa_nonce))
    assert chip_res.outcome.outcome is Outcome.PASS, chip_res.outcome.reasons
    assert chip_res.session.state is State.IN_PROGRESS
    again = svc.submit_chip(sess.id, "c1", {}, None)  # same id: stored outcome, nothing rerun
    assert again.replayed and again.outcome == chip_res.outcome
    with pytest.raises(StepAlreadyDone):
        svc.submit_chip(sess.id, "c2", chip.files, _aa(chip, sess.aa_nonce))

    e.clock.now += dt.timedelta(seconds=20)
    # ekyc.synth.liveness renders some orders the checker reads as out of order (seen with
    # turn_right); the actions follow the rng, so take a challenge the frames can do
    for _ in range(20):
        challenge = svc.liveness_challenge(sess.id)
        if "turn_right" not in [a.value for a in challenge.actions]:
            break
    assert challenge.session_id == sess.id
    from ekyc.synth import liveness as sl

    photo = cv2.imread(str(FACES / LIVE_PHOTO))
    det = face.detector.detect(photo)[0]  # type: ignore[attr-defined]
    subject = sl.frame_from_photo(
        photo, det.box, (float(det.landmarks[2][0]), float(det.landmarks[2][1]))
    )
    frames = [(t, _jpeg(im)) for t, im in sl.sequence(subject, challenge.actions, seed=3)]
    e.clock.now += dt.timedelta(milliseconds=frames[-1][0] + 500)
    with pytest.raises(ChallengeRejected) as rej:  # a nonce the server never issued
        svc.submit_liveness_frames(sess.id, "l0", "00" * 16, frames)
    assert rej.value.code == "nonce_unknown"
    assert svc.get_session(sess.id).state is State.IN_PROGRESS
    live = svc.submit_liveness_frames(sess.id, "l1", challenge.nonce, frames)
    assert live.outcome.outcome in (Outcome.PASS, Outcome.REVIEW), live.outcome.reasons
    if face.pad is None:  # type: ignore[attr-defined]
        assert [r.code for r in live.outcome.reasons] == ["pad_unavailable"]
    with pytest.raises(StepAlreadyDone):  # the nonce was spent, and the step is done
        svc.submit_liveness_frames(sess.id, "l2", challenge.nonce, frames)

    match = svc.face_match(sess.id, "m1")
    assert match.outcome.outcome is Outcome.PASS, match.outcome
    assert match.outcome.score is not None and match.outcome.threshold is not None
    assert match.outcome.score >= match.outcome.threshold
    assert match.outcome.model_ids["embedder"] == face.embedder.model_id  # type: ignore[attr-defined]
    final = match.session.state
    expected = State.APPROVED if live.outcome.outcome is Outcome.PASS else State.REVIEW
    assert final is expected
    if final is State.REVIEW:
        with pytest.raises(ResultNotReady):
            svc.result(sess.id)
        done = svc.resolve_review(sess.id, e.key_id, approve=True, note="faces checked")
        assert done.state is State.APPROVED

    signed = svc.result(sess.id)
    assert signed.decision == "approved"
    verdict = svc.verify(signed.token)
    assert verdict.valid and verdict.claims is not None
    claims = verdict.claims
    assert claims["sid"] == sess.id and claims["procedure"] == "dang-ky-thuong-tru"
    steps = claims["steps"]
    assert steps["face_match"]["score"] == round(match.outcome.score, 4)
    assert steps["face_match"]["operating_point"] == "conservative"
    ev = steps["face_match"]["evidence_sha256"]
    import hashlib

    assert ev["chip_portrait"] == hashlib.sha256(portrait).hexdigest()
    frame_hashes = {hashlib.sha256(b).hexdigest() for _, b in frames}
    assert ev["live_frame"] in frame_hashes
    assert (
        steps["chip"]["evidence_sha256"]["ef_sod"]
        == hashlib.sha256(chip.files["EF.SOD"]).hexdigest()
    )
    # hashes, never the data or who the person is
    text = json.dumps(claims, ensure_ascii=False)
    assert chip.citizen.id_number not in text and chip.citizen.full_name not in text
    assert base64.b64encode(portrait[:30]).decode() not in text

    qr = svc.result_qr(sess.id)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.png)))
    assert [d.text for d in decoded] == [qr.content]
    assert qr.kind == "link" and sess.id in qr.content  # a full session's token is long

    # webhooks: one per state change, signed, delivered once
    seen: list[httpx.Request] = []
    sender = WebhookSender(SECRET, transport=httpx.MockTransport(
        lambda r: seen.append(r) or httpx.Response(200)))  # fmt: skip
    reports = deliver_due(e.db, sender, e.clock.now)
    assert all(r.status == "delivered" for r in reports) and len(seen) == len(reports)
    states = [json.loads(r.content)["data"]["to"] for r in seen]
    assert states[0] == "created" and states[1] == "in_progress" and states[-1] == "approved"
    statuses = [json.loads(r.content)["data"]["citizen_status"] for r in seen]
    assert statuses[0] == "submitted" and statuses[1] == "received" and statuses[-1] == "done"
    for r in seen:
        verify_webhook(SECRET, dict(r.headers), r.content, e.clock.now)
    assert deliver_due(e.db, sender, e.clock.now) == []  # nothing left

    # retention: raw evidence goes once the session ends, the signed result stays
    assert _count(e.db, EvidenceRow, sess.id) > 0
    assert svc.purge().evidence_deleted > 0
    assert _count(e.db, EvidenceRow, sess.id) == 0 and _count(e.db, ResultRow, sess.id) == 1
    assert svc.verify(svc.result(sess.id).token).valid
    e.db.dispose()


def test_forged_chip_is_declined_at_once(tmp_path: Path) -> None:
    e = _env(tmp_path, build_chip(seed=11, aa="ec"))
    forged = build_chip(seed=11, aa="ec", tamper_dg=13)
    sess = e.service.create_session(e.key_id, "dang-ky-thuong-tru")
    res = e.service.submit_chip(sess.id, "c1", forged.files, _aa(forged, sess.aa_nonce))
    assert res.outcome.outcome is Outcome.FAIL
    assert res.session.state is State.DECLINED
    assert res.session.decision is not None
    codes = [r.code for r in res.session.decision.reasons]
    assert codes and all(r.message for r in res.session.decision.reasons)
    claims = _claims(e.service.result(sess.id).token)
    assert claims["decision"] == "declined" and claims["reasons"]
    with pytest.raises(SessionClosed):  # a declined session takes no further step
        e.service.submit_chip(sess.id, "c2", forged.files, _aa(forged, sess.aa_nonce))
    e.db.dispose()


def test_aa_must_sign_the_session_nonce(tmp_path: Path) -> None:
    chip = build_chip(seed=11, aa="ec")
    e = _env(tmp_path, chip)
    sess = e.service.create_session(e.key_id, "xac-thuc-chip")
    other = e.service.create_session(e.key_id, "xac-thuc-chip")
    # a genuine AA answer, but over another session's nonce: a replayed chip transcript
    res = e.service.submit_chip(sess.id, "c1", chip.files, _aa(chip, other.aa_nonce))
    assert res.session.state is State.DECLINED
    assert res.outcome.detail["active_authentication"] == "failed"
    ok = e.service.submit_chip(other.id, "c1", chip.files, _aa(chip, other.aa_nonce))
    assert ok.session.state is State.APPROVED
    e.db.dispose()


def test_session_chip_without_aa_signature_is_declined(tmp_path: Path) -> None:
    chip = build_chip(seed=11, aa="ec")
    e = _env(tmp_path, chip)
    sess = e.service.create_session(e.key_id, "xac-thuc-chip")
    res = e.service.submit_chip(sess.id, "c1", chip.files, None)  # the nonce went unsigned
    assert res.outcome.outcome is Outcome.FAIL
    assert res.outcome.detail["active_authentication"] == "not_performed"
    assert res.session.state is State.DECLINED
    assert "aa_missing" in [r.code for r in res.outcome.reasons]
    withheld = {n: d for n, d in chip.files.items() if n != "DG15"}  # AA key left out
    other = e.service.create_session(e.key_id, "xac-thuc-chip")
    res = e.service.submit_chip(other.id, "c1", withheld, _aa(chip, other.aa_nonce))
    assert res.session.state is State.DECLINED
    assert res.outcome.detail["active_authentication"] == "not_performed"
    e.db.dispose()


def test_unknown_issuer_goes_to_review(tmp_path: Path) -> None:
    chip = build_chip(seed=11, aa="ec")
    e = _env(tmp_path, chip)
    e.service.trust_store = TrustStore()  # authentic chip, but its CSCA is not trusted here
    sess = e.service.create_session(e.key_id, "xac-thuc-chip")
    res = e.service.submit_chip(sess.id, "c1", chip.files, _aa(chip, sess.aa_nonce))
    assert res.session.state is State.REVIEW
    assert res.session.decision is not None
    assert res.session.decision.reasons[0].code == "issuer_unknown"
    done = e.service.resolve_review(sess.id, "clerk-1", approve=False, note="unknown CSCA")
    assert done.state is State.DECLINED
    assert _claims(e.service.result(sess.id).token)["reasons"][0]["code"] == "manual_review"
    with pytest.raises(IllegalTransition):
        e.service.resolve_review(sess.id, "clerk-1", approve=True, note="again")
    e.db.dispose()


def test_expiry(tmp_path: Path) -> None:
    chip = build_chip(seed=11, aa="ec")
    e = _env(tmp_path, chip)
    sess = e.service.create_session(e.key_id, "xac-thuc-chip", callback_url=HOOK)
    e.clock.now = sess.expires_at + dt.timedelta(seconds=1)
    with pytest.raises(SessionExpired) as exc:
        e.service.submit_chip(sess.id, "c1", chip.files, _aa(chip, sess.aa_nonce))
    assert exc.value.code == "session_expired"
    assert e.service.get_session(sess.id).state is State.EXPIRED
    with pytest.raises(SessionExpired):  # and it stays expired
        e.service.submit_chip(sess.id, "c1", chip.files, _aa(chip, sess.aa_nonce))
    assert _claims(e.service.result(sess.id).token)["decision"] == "expired"
    assert _count(e.db, WebhookDelivery, sess.id) == 2  # created, expired
    # the sweeper expires unattended sessions without anyone calling them
    other = e.service.create_session(e.key_id, "xac-thuc-chip")
    e.clock.now = other.expires_at
    assert e.service.expire_due() == 1
    assert e.service.get_session(other.id).state is State.EXPIRED
    e.db.dispose()


def test_documents_step(tmp_path: Path) -> None:
    chip = build_chip(seed=11, aa="ec")
    calls: list[int] = []

    def comparer(originals: list[np.ndarray], copies: list[np.ndarray]) -> CopyVerdict:
        calls.append(len(originals))
        assert originals[0].shape == (240, 320, 3)  # decoded server-side from the raw bytes
        return CopyVerdict("MATCH", [])

    e = _env(tmp_path, chip, documents=comparer)
    page = _jpeg(np.full((240, 320, 3), 200, np.uint8))
    sess = e.service.create_session(e.key_id, "xac-thuc-chip", steps=["documents"])
    res = e.service.submit_documents(sess.id, "d1", [page], [page])
    assert res.outcome.outcome is Outcome.PASS and calls == [1]
    # the pages and the comparison sealed for a clerk (no heatmap: this comparer has no pages)
    assert set(res.outcome.evidence) == {"original_0", "copy_0", "document_compare"}
    assert res.session.state is State.IN_PROGRESS  # the chip is still pending
    done = e.service.submit_chip(sess.id, "c1", chip.files, _aa(chip, sess.aa_nonce))
    assert done.session.state is State.APPROVED
    e.db.dispose()


def test_capabilities_not_installed(tmp_path: Path) -> None:
    e = _env(tmp_path, build_chip(seed=11, aa="ec"))
    e.service.documents = None
    sess = e.service.create_session(e.key_id, "cap-ban-sao")
    with pytest.raises(CapabilityNotInstalled) as exc:
        e.service.liveness_challenge(sess.id)
    assert exc.value.code == "capability_not_installed"
    with pytest.raises(CapabilityNotInstalled):
        e.service.submit_documents(sess.id, "d1", [b"x"], [b"y"])
    e.db.dispose()
