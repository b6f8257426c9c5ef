"""Liveness on real frames: sequences synthesised from the development face photos."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from ekyc.face.challenge import Action, Challenge, InMemoryChallengeStore
from ekyc.face.liveness import Frame, LivenessConfig, LivenessVerdict, check_liveness
from ekyc.face.pose import head_pose
from ekyc.synth import liveness as sl
from tests.support import FACES, PAD_DIR

SUBJECT = "obama__obama-480p.jpg"
OTHER = "alex_lacamoire__img1.jpg"
L, R, U, D, C = (
    Action.TURN_LEFT,
    Action.TURN_RIGHT,
    Action.LOOK_UP,
    Action.LOOK_DOWN,
    Action.COME_CLOSER,
)
ACTIONS = (U, C, L)
NOW = 5.0  # seconds since the epoch; challenges below are issued at 0 with a 20 s window

pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")


@pytest.fixture(scope="module")
def engine() -> object:
    from ekyc.face.pipeline import FaceEngine

    return FaceEngine.from_registry()


@pytest.fixture(scope="module")
def pad(tmp_path_factory: pytest.TempPathFactory) -> object:
    from models.face_pad import load_pad, register_minifasnet
    from models.registry import default_registry
    from models.session import RuntimeOptions

    reg = default_registry(tmp_path_factory.mktemp("models") / "manifest.json")
    if not register_minifasnet(reg, PAD_DIR):
        pytest.skip("../shared/models/minifasnet missing")
    scorer = load_pad(reg, RuntimeOptions())
    assert scorer is not None
    return scorer


def photo(engine: object, name: str) -> sl.FacePhoto:
    img = cv2.imread(str(FACES / name))
    det = engine.detector.detect(img)[0]  # type: ignore[attr-defined]
    return sl.frame_from_photo(
        img, det.box, (float(det.landmarks[2][0]), float(det.landmarks[2][1]))
    )


@pytest.fixture(scope="module")
def subject(engine: object) -> sl.FacePhoto:
    return photo(engine, SUBJECT)


@pytest.fixture(scope="module")
def good_frames(subject: sl.FacePhoto) -> list[Frame]:
    return [Frame(t, im) for t, im in sl.sequence(subject, ACTIONS, seed=1)]


def run(
    frames: list[Frame],
    engine: object,
    pad: object = None,
    actions: tuple[Action, ...] = ACTIONS,
    now: float = NOW,
    config: LivenessConfig | None = None,
) -> LivenessVerdict:
    challenge = Challenge(f"nonce-{id(frames)}-{now}", actions, 0, 20_000, "session-1")
    store = InMemoryChallengeStore()
    store.put(challenge)
    return check_liveness(
        challenge, frames, engine, pad, now, store=store, config=config or LivenessConfig()
    )  # type: ignore[arg-type]


def test_synthetic_moves_read_as_the_intended_pose(engine: object, subject: sl.FacePhoto) -> None:
    def pose(img: np.ndarray) -> tuple[float, float, float]:
        d = engine.detector.detect(img)[0]  # type: ignore[attr-defined]
        p = head_pose(d.landmarks)
        return p.yaw, p.pitch, float(np.sqrt(d.box[2] * d.box[3]))

    y0, p0, s0 = pose(subject.image)
    assert pose(sl.turn(subject, 30))[0] - y0 >= 18  # subject's left = image right = yaw > 0
    assert pose(sl.turn(subject, -30))[0] - y0 <= -10
    assert pose(sl.tilt(subject, 28))[1] - p0 >= 12
    assert pose(sl.tilt(subject, -28))[1] - p0 <= -8
    assert pose(sl.zoom(subject, 1.45))[2] / s0 >= 1.3


def test_correct_sequence_without_pad_is_review(engine: object, good_frames: list[Frame]) -> None:
    v = run(good_frames, engine)
    assert v.decision == "review"
    assert v.reasons == ("pad_unavailable",)
    assert v.signals["passive_pad"].status == "unavailable"
    assert v.signals["trajectory"].status == "pass"
    assert v.signals["identity"].status == "pass"
    assert v.best_frame is not None
    assert "pad" not in v.model_ids
    relaxed = run(good_frames, engine, config=LivenessConfig(pad_required=False))
    assert relaxed.decision == "live"
    assert relaxed.signals["passive_pad"].status == "unavailable"


def test_correct_sequence_with_minifasnet_is_live(
    engine: object, pad: object, good_frames: list[Frame]
) -> None:
    v = run(good_frames, engine, pad)
    assert v.decision == "live", v.to_json()
    assert v.reasons == ()
    assert v.signals["passive_pad"].status == "pass"
    assert v.model_ids["pad"].startswith("minifasnet")


def test_wrong_order(engine: object, subject: sl.FacePhoto) -> None:
    frames = [Frame(t, im) for t, im in sl.sequence(subject, (C, U, L), seed=2)]
    v = run(frames, engine)
    assert v.decision == "not_live"
    assert "challenge_order" in v.reasons
    assert v.signals["trajectory"].value["completed"] == []  # type: ignore[index]


def test_late_frames_past_the_deadline(engine: object, good_frames: list[Frame]) -> None:
    late = [Frame(f.timestamp_ms + 19_500, f.image_bgr) for f in good_frames]
    v = run(late, engine)
    assert v.decision == "not_live"
    assert v.reasons == ("deadline",)
    v = run(good_frames, engine, now=20.0 + 3.5)  # submitted after deadline + grace
    assert v.reasons == ("deadline",)


def test_identity_swapped_mid_sequence(engine: object, subject: sl.FacePhoto) -> None:
    other = photo(engine, OTHER)
    frames = [Frame(t, im) for t, im in sl.sequence(subject, ACTIONS, seed=3)]
    swapped = [Frame(t, im) for t, im in sl.sequence(other, ACTIONS, seed=3)]
    half = len(frames) // 2
    v = run(frames[:half] + swapped[half:], engine)
    assert v.decision == "not_live"
    assert "identity_changed" in v.reasons
    assert v.signals["identity"].detail["frames_below"][0] >= half  # type: ignore[index]


def test_replayed_nonce(engine: object, good_frames: list[Frame]) -> None:
    challenge = Challenge("replayed", ACTIONS, 0, 20_000, "s")
    store = InMemoryChallengeStore()
    store.put(challenge)
    first = check_liveness(challenge, good_frames, engine, None, NOW, store=store)  # type: ignore[arg-type]
    assert first.decision == "review"
    again = check_liveness(challenge, good_frames, engine, None, NOW, store=store)  # type: ignore[arg-type]
    assert again.decision == "not_live"
    assert again.reasons == ("nonce_replayed",)
    assert again.signals["faces"].status == "skipped"
    forged = dataclasses.replace(challenge, nonce="never-issued")
    assert check_liveness(forged, good_frames, engine, None, NOW, store=store).reasons == (  # type: ignore[arg-type]
        "nonce_unknown",
    )


def test_tampered_challenge_is_rejected(engine: object, good_frames: list[Frame]) -> None:
    challenge = Challenge("tamper", ACTIONS, 0, 20_000, "s")
    store = InMemoryChallengeStore()
    store.put(challenge)
    longer = dataclasses.replace(challenge, deadline_ms=60_000)
    v = check_liveness(longer, good_frames, engine, None, NOW, store=store)  # type: ignore[arg-type]
    assert v.reasons == ("challenge_mismatch",)


def test_static_photo(engine: object, subject: sl.FacePhoto) -> None:
    rng = np.random.default_rng(4)
    frames = [Frame(200 + 100 * i, sl.add_noise(subject.image, 2.0, rng)) for i in range(12)]
    v = run(frames, engine)
    assert v.decision == "not_live"
    assert v.signals["trajectory"].reasons == ("static_sequence",)
    assert v.reasons == ("static_sequence", "pad_unavailable")


def test_duplicated_frames(engine: object, good_frames: list[Frame]) -> None:
    frames = list(good_frames)
    frames[5] = Frame(frames[5].timestamp_ms, frames[2].image_bgr)  # a loop back to frame 2
    v = run(frames, engine)
    assert v.decision == "not_live"
    assert v.reasons == ("duplicate_frames",)
    assert v.signals["timing"].detail["duplicate_pairs"] == [5]


def test_burst_and_gap(engine: object, good_frames: list[Frame]) -> None:
    burst = [Frame(200 + 10 * i, f.image_bgr) for i, f in enumerate(good_frames)]
    assert run(burst, engine).reasons == ("frame_burst",)
    gap = [
        Frame(f.timestamp_ms + (2_000 if i > 4 else 0), f.image_bgr)
        for i, f in enumerate(good_frames)
    ]
    assert run(gap, engine).reasons == ("frame_gap",)
    back = list(good_frames)
    back[3] = Frame(back[1].timestamp_ms, back[3].image_bgr)
    assert run(back, engine).reasons == ("timestamps_not_increasing",)
    assert run(good_frames[:3], engine).reasons == ("frame_count",)


def test_two_faces(engine: object, good_frames: list[Frame]) -> None:
    other = photo(engine, OTHER).image
    frames = list(good_frames)
    img = frames[0].image_bgr.copy()
    small = cv2.resize(other, (img.shape[1] // 2, img.shape[0] // 2))
    img[img.shape[0] // 2 :, img.shape[1] // 2 :] = small
    frames[0] = Frame(frames[0].timestamp_ms, img)
    v = run(frames, engine)
    assert v.reasons == ("several_faces",)
    assert v.signals["faces"].detail["frames"] == {"several_faces": [0]}


# The print simulation is not flagged: MiniFASNet gives it a mean live score of ~0.60 (the
# screen one ~0.3); kept strict so an improvement in either the model or the simulation shows.
@pytest.mark.parametrize(
    "kind",
    [
        "screen",
        pytest.param(
            "print", marks=pytest.mark.xfail(strict=True, reason="MiniFASNet live ~0.60 on it")
        ),
    ],
)
def test_recaptured_photo_is_flagged_by_pad(engine: object, pad: object, kind: str) -> None:
    face = photo(engine, OTHER)
    frames = [
        Frame(t, sl.recapture(im, kind, seed=t)) for t, im in sl.sequence(face, ACTIONS, seed=5)
    ]
    v = run(frames, engine, pad)
    pad_signal = v.signals["passive_pad"]
    assert pad_signal.status == "fail", pad_signal.to_json()
    assert "pad_spoof" in v.reasons
    assert v.decision == "not_live"
