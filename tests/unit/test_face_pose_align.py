"""Head pose from 5 landmarks (constructed and real) and alignment to the ArcFace template."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from ekyc.face import pose as pose_mod
from ekyc.face.align import TEMPLATE, align, similarity_transform
from ekyc.face.pose import head_pose
from tests.support import FACES


def _model_face() -> np.ndarray:
    """The pose module's mean head in IOD units: x right (image), y down, z toward camera."""
    ym = pose_mod.MOUTH_DROP
    yn = pose_mod.NEUTRAL_RATIO * ym
    return np.array(
        [
            [-0.5, 0.0, 0.0],  # right eye (image left)
            [0.5, 0.0, 0.0],  # left eye
            [0.0, yn, pose_mod.NOSE_DEPTH],
            [-0.4, ym, pose_mod.MOUTH_DEPTH],
            [0.4, ym, pose_mod.MOUTH_DEPTH],
        ]
    )


def _project(yaw: float, pitch: float, roll: float, scale: float = 60.0) -> np.ndarray:
    """Rotate the mean head and project it orthographically into image pixels."""
    a, b, c = (math.radians(v) for v in (yaw, pitch, roll))
    # yaw > 0: turn to the subject's left, the nose (z > 0) moves toward +x
    ry = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    # pitch > 0: look up, the nose (z > 0) moves toward -y
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    pts = _model_face() @ (rz @ ry @ rx).T
    return (pts[:, :2] * scale + np.array([320.0, 240.0])).astype(np.float32)


def test_frontal_is_zero() -> None:
    p = head_pose(_project(0, 0, 0))
    assert abs(p.yaw) < 1e-3 and abs(p.pitch) < 1e-3 and abs(p.roll) < 1e-3


@pytest.mark.parametrize("yaw", [-40.0, -20.0, 10.0, 30.0])
def test_yaw_recovered_with_sign(yaw: float) -> None:
    p = head_pose(_project(yaw, 0, 0))
    assert p.yaw == pytest.approx(yaw, abs=0.5)
    assert abs(p.pitch) < 3 and abs(p.roll) < 1e-6


@pytest.mark.parametrize("pitch", [-25.0, -10.0, 15.0, 30.0])
def test_pitch_recovered_with_sign(pitch: float) -> None:
    p = head_pose(_project(0, pitch, 0))
    assert p.pitch == pytest.approx(pitch, abs=0.5)
    assert abs(p.yaw) < 1e-6


@pytest.mark.parametrize("roll", [-30.0, 12.0, 45.0])
def test_roll_from_eye_line_and_removed_before_yaw(roll: float) -> None:
    p = head_pose(_project(20, 0, roll))
    assert p.roll == pytest.approx(roll, abs=0.5)
    assert p.yaw == pytest.approx(20, abs=0.5)
    q = head_pose(_project(0, 15, roll))
    assert q.pitch == pytest.approx(15, abs=0.5)


def test_combined_yaw_and_pitch_approximate() -> None:
    # the two angles are estimated independently: combined they are off by a few degrees
    p = head_pose(_project(20, 10, 0))
    assert p.yaw == pytest.approx(20, abs=4) and p.pitch == pytest.approx(10, abs=4)


def test_scale_invariant() -> None:
    a = head_pose(_project(15, -10, 5, scale=20))
    b = head_pose(_project(15, -10, 5, scale=300))
    assert a.yaw == pytest.approx(b.yaw, abs=1e-4) and a.pitch == pytest.approx(b.pitch, abs=1e-4)


def test_degenerate_landmarks() -> None:
    with pytest.raises(ValueError):
        head_pose(np.zeros((5, 2), np.float32))


def test_similarity_transform_exact_on_similar_points() -> None:
    ang = math.radians(25)
    rot = np.array([[math.cos(ang), -math.sin(ang)], [math.sin(ang), math.cos(ang)]])
    src = (TEMPLATE - 56) @ rot.T * 3.1 + np.array([400.0, 250.0])
    m = similarity_transform(src, TEMPLATE)
    mapped = src @ m[:, :2].T + m[:, 2]
    assert np.abs(mapped - TEMPLATE).max() < 1e-9


def test_align_output_and_channel_order() -> None:
    img = np.zeros((300, 300, 3), np.uint8)
    img[:, :, 0] = 255  # blue in BGR
    src = TEMPLATE * 2 + 40
    out = align(img, src)
    assert out.shape == (112, 112, 3) and out.dtype == np.uint8
    assert out[56, 56, 2] == 255 and out[56, 56, 0] == 0  # RGB out: blue is channel 2


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    from models.face_detector import load_detector
    from models.registry import default_registry
    from models.session import RuntimeOptions

    return load_detector(default_registry(), RuntimeOptions())


def _best(detector, image: np.ndarray):  # type: ignore[no-untyped-def]
    faces = detector.detect(image)
    assert faces
    return max(faces, key=lambda d: d.box[2])


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_real_frontal_photos_near_zero(detector) -> None:  # type: ignore[no-untyped-def]
    for name in ("obama__obama-720p.jpg", "rose_leslie__img2.jpg", "alex_lacamoire__img1.jpg"):
        p = head_pose(_best(detector, cv2.imread(str(FACES / name))).landmarks)
        assert abs(p.yaw) < 10 and abs(p.pitch) < 10 and abs(p.roll) < 10, (name, p)


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_real_mirror_flips_yaw_and_roll(detector) -> None:  # type: ignore[no-untyped-def]
    img = cv2.imread(str(FACES / "obama__obama2.jpg"))  # turned about 20 degrees
    p = head_pose(_best(detector, img).landmarks)
    q = head_pose(_best(detector, cv2.flip(img, 1)).landmarks)
    assert abs(p.yaw) > 12
    assert np.sign(p.yaw) == -np.sign(q.yaw) and q.yaw == pytest.approx(-p.yaw, abs=4)


@pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")
def test_real_align_centres_the_face(detector) -> None:  # type: ignore[no-untyped-def]
    img = cv2.imread(str(FACES / "obama__obama.jpg"))
    crop = align(img, _best(detector, img).landmarks)
    again = _best(
        detector, cv2.copyMakeBorder(crop[:, :, ::-1], 56, 56, 56, 56, cv2.BORDER_CONSTANT)
    )
    eyes = again.landmarks[:2] - 56
    assert np.abs(eyes - TEMPLATE[:2]).max() < 6
