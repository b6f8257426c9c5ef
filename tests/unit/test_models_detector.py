"""YuNet detector: parity with cv2.FaceDetectorYN, the fixed resize rule, NMS."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.face_detector import FaceDetector, load_detector, nms
from models.registry import default_registry
from models.session import RuntimeOptions
from tests.support import FACES, read_face

needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces not present")


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return load_detector(default_registry(), RuntimeOptions())


def _opencv(image: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """OpenCV's detections on the same resized image, mapped back like ours."""
    reg = default_registry()
    h, w = image.shape[:2]
    rw, rh = round(w / sx), round(h / sy)
    ref = cv2.FaceDetectorYN.create(str(reg.path(reg.get("face_detector"))), "", (rw, rh), 0.6)
    _, faces = ref.detect(cv2.resize(image, (rw, rh)))
    if faces is None:
        return np.zeros((0, 15), np.float32)
    return faces * np.array([sx, sy] * 7 + [1], np.float32)


@needs_faces
@pytest.mark.parametrize(
    "name",
    [
        "obama__obama-480p.jpg",
        "multi__obama_and_biden.jpg",
        "biden__biden2.jpg",
        "obama__obama_small.jpg",
    ],
)
def test_matches_opencv_face_detector(detector: FaceDetector, name: str) -> None:
    image = read_face(name)
    _, (sx, sy) = detector.prepare(image)
    ours, ref = detector.detect(image), _opencv(image, sx, sy)
    assert len(ours) == len(ref) >= 1
    for d, f in zip(ours, ref, strict=True):
        assert np.allclose(d.box, f[:4], atol=1.0)
        assert np.allclose(d.landmarks, f[4:14].reshape(5, 2), atol=1.0)
        assert d.score == pytest.approx(float(f[14]), abs=1e-3)


@needs_faces
def test_detection_contract(detector: FaceDetector) -> None:
    image = read_face("multi__obama_and_biden.jpg")
    faces = detector.detect(image)
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)
    for f in faces:
        assert f.landmarks.shape == (5, 2) and f.landmarks.dtype == np.float32
        x, _, w, h = f.box
        assert x >= 0 and x + w <= image.shape[1] + 2 and w > 0 and h > 0
        # Subject's right eye and mouth corner appear on the image left.
        assert f.landmarks[0, 0] < f.landmarks[1, 0] and f.landmarks[3, 0] < f.landmarks[4, 0]


@needs_faces
def test_one_resize_rule_for_every_input_size(detector: FaceDetector) -> None:
    image = read_face("obama__obama-480p.jpg")
    big = cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    a, b = detector.detect(image)[0], detector.detect(big)[0]
    # Both become the same 640-wide network input, so coordinates scale by exactly 2 (+-2 px).
    assert np.allclose(np.array(b.box), 2 * np.array(a.box), atol=2.0)
    assert np.allclose(b.landmarks, 2 * a.landmarks, atol=2.0)


def test_prepare_pads_to_multiple_of_32(detector: FaceDetector) -> None:
    padded, (sx, sy) = detector.prepare(np.zeros((480, 700, 3), np.uint8))
    assert padded.shape == (448, 640, 3) and sx == pytest.approx(700 / 640)
    assert sy == pytest.approx(480 / 439)


def test_blank_image_has_no_face(detector: FaceDetector) -> None:
    assert detector.detect(np.full((480, 640, 3), 127, np.uint8)) == []
    with pytest.raises(ValueError):
        detector.detect(np.zeros((480, 640), np.uint8))


def test_nms_keeps_best_of_overlapping() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], np.float64)
    assert nms(boxes, np.array([0.8, 0.9, 0.7]), 0.3, 100) == [1, 2]
    assert nms(boxes, np.array([0.8, 0.9, 0.7]), 0.3, 1) == [1]
