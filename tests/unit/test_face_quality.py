"""The quality gate: reason codes with measured values on real photos and constructed faces."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest

from ekyc.face.errors import FaceRejected
from ekyc.face.quality import QUALITY_TABLE, assess, choose_subject
from tests.support import FACES

needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")


@dataclass(frozen=True)
class Box:
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float = 0.95


def _frontal(x: float, y: float, w: float) -> Box:
    """A frontal face of box width w at (x, y) with landmarks in the usual proportions."""
    iod = 0.45 * w
    ex, ey = x + w / 2, y + 0.4 * w
    marks = np.array(
        [
            [ex - iod / 2, ey],
            [ex + iod / 2, ey],
            [ex, ey + 0.56 * 1.03 * iod],
            [ex - 0.4 * iod, ey + 1.03 * iod],
            [ex + 0.4 * iod, ey + 1.03 * iod],
        ],
        np.float32,
    )
    return Box((x, y, w, 1.3 * w), marks)


def _textured(h: int = 480, w: int = 640, level: int = 128) -> np.ndarray:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 40, (h, w, 1))
    return np.clip(level + noise, 0, 255).astype(np.uint8).repeat(3, axis=2)


def test_no_face() -> None:
    r = assess(_textured(), [], "selfie")
    assert r.codes == ("no_face",) and not r.passed
    with pytest.raises(FaceRejected) as e:
        r.raise_if_failed()
    assert e.value.code == "no_face"


def test_constructed_face_passes_and_reports_measures() -> None:
    r = assess(_textured(), [_frontal(220, 100, 200)], "selfie")
    assert r.passed, r.reasons
    assert r.measures["iod_px"] == pytest.approx(90, abs=0.1)
    assert abs(r.measures["yaw"]) < 1 and abs(r.measures["pitch"]) < 1


def test_every_failing_reason_is_listed_with_value_and_limit() -> None:
    f = _frontal(300, 200, 50)  # 22.5 px between the eyes
    marks = f.landmarks.copy()
    marks[2, 0] += 0.9 * 22.5 * 0.5  # nose far to one side: strong yaw
    dark = _textured(level=20)
    r = assess(dark, [Box(f.box, marks)], "selfie")
    assert {"face_too_small", "pose_out_of_range", "underexposed"} <= set(r.codes)
    small = next(x for x in r.reasons if x.code == "face_too_small")
    assert small.measured == pytest.approx(22.5, abs=0.1)
    assert small.limit == QUALITY_TABLE["selfie"].min_iod_px


def test_eyes_too_close() -> None:
    f = _frontal(200, 100, 200)
    marks = f.landmarks.copy()
    marks[0, 0] += 35
    marks[1, 0] -= 35  # 20 px apart in a 200 px wide box
    marks[2, 0] = marks[:2, 0].mean()
    r = assess(_textured(), [Box(f.box, marks)], "selfie")
    assert "eyes_too_close" in r.codes


def test_small_background_face_is_not_several_faces() -> None:
    faces = [_frontal(220, 100, 200), _frontal(20, 20, 60)]
    r = assess(_textured(), faces, "selfie")
    assert "several_faces" not in r.codes
    assert r.measures["other_face_ratio"] == pytest.approx(0.3)
    r2 = assess(_textured(), [_frontal(60, 100, 200), _frontal(360, 100, 180)], "selfie")
    assert "several_faces" in r2.codes


def test_low_score_detection_does_not_count_as_a_face() -> None:
    ghost = _frontal(360, 100, 200)
    faces = [_frontal(60, 100, 200), Box(ghost.box, ghost.landmarks, 0.65)]
    assert "several_faces" not in assess(_textured(), faces, "selfie").codes


def test_subject_is_largest_then_most_central() -> None:
    shape = (480, 640, 3)
    assert choose_subject([_frontal(0, 0, 100), _frontal(300, 100, 150)], shape) == 1
    # same size: the central one wins
    assert choose_subject([_frontal(0, 0, 120), _frontal(260, 160, 120)], shape) == 1
    assert choose_subject([], shape) is None


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    from models.face_detector import load_detector
    from models.registry import default_registry
    from models.session import RuntimeOptions

    return load_detector(default_registry(), RuntimeOptions())


def _assess(detector, img: np.ndarray, role: str = "selfie"):  # type: ignore[no-untyped-def]
    return assess(img, detector.detect(img), role)  # type: ignore[arg-type]


@needs_faces
def test_real_photo_passes(detector) -> None:  # type: ignore[no-untyped-def]
    for name in ("obama__obama.jpg", "rose_leslie__img2.jpg", "biden__biden2.jpg"):
        r = _assess(detector, cv2.imread(str(FACES / name)))
        assert r.passed, (name, r.reasons)


@needs_faces
def test_two_people_is_several_faces(detector) -> None:  # type: ignore[no-untyped-def]
    r = _assess(detector, cv2.imread(str(FACES / "multi__two_people.jpg")))
    assert "several_faces" in r.codes


@needs_faces
def test_blurred_copy_is_blurry(detector) -> None:  # type: ignore[no-untyped-def]
    img = cv2.GaussianBlur(cv2.imread(str(FACES / "obama__obama.jpg")), (0, 0), 8)
    r = _assess(detector, img)
    assert "blurry" in r.codes
    assert "blurry" in _assess(detector, img, "portrait").codes


@needs_faces
def test_darkened_is_underexposed_and_brightened_overexposed(detector) -> None:  # type: ignore[no-untyped-def]
    img = cv2.imread(str(FACES / "obama__obama.jpg"))
    dark = (img * 0.2).astype(np.uint8)
    assert "underexposed" in _assess(detector, dark).codes
    bright = np.clip(img.astype(np.float32) * 0.4 + 170, 0, 255).astype(np.uint8)
    assert "overexposed" in _assess(detector, bright).codes


@needs_faces
def test_40px_face_is_too_small(detector) -> None:  # type: ignore[no-untyped-def]
    img = cv2.imread(str(FACES / "obama__obama.jpg"))
    box = max(detector.detect(img), key=lambda d: d.box[2]).box
    s = 40 / box[2]
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100 : 100 + small.shape[0], 200 : 200 + small.shape[1]] = small
    r = _assess(detector, canvas)
    assert "face_too_small" in r.codes, r.reasons


@needs_faces
def test_small_real_background_face_is_tolerated(detector) -> None:  # type: ignore[no-untyped-def]
    img = cv2.imread(str(FACES / "obama__obama.jpg"))
    other = cv2.imread(str(FACES / "rose_leslie__img2.jpg"))
    thumb = cv2.resize(other, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    img[-thumb.shape[0] :, -thumb.shape[1] :] = thumb
    r = _assess(detector, img)
    assert r.measures["faces"] >= 2
    assert "several_faces" not in r.codes
