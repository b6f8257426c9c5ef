"""SFace embedder: parity with cv2.FaceRecognizerSF, batching, normalisation, ArcFace inputs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.face_detector import load_detector
from models.face_embedder import FaceEmbedder, load_embedder
from models.graph_fixes import apply_fixes
from models.registry import ARCFACE_PREPROCESSING, default_registry
from models.session import RuntimeOptions, create_session
from tests.support import FACES, read_face

needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces not present")


@pytest.fixture(scope="module")
def embedder() -> FaceEmbedder:
    return load_embedder(default_registry(), RuntimeOptions())


def _crops(n: int) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (n, 112, 112, 3), dtype=np.uint8)


@needs_faces
def test_matches_opencv_face_recognizer(embedder: FaceEmbedder, tmp_path: Path) -> None:
    reg = default_registry()
    entry = reg.get("face_embedder")
    # OpenCV cannot open the shipped file either (unused graph inputs): give it the pruned one.
    ref_file = tmp_path / "sface.onnx"
    ref_file.write_bytes(apply_fixes(reg.read_verified(entry), ["prune_unused"]))
    ref = cv2.FaceRecognizerSF.create(str(ref_file), "")
    det = load_detector(reg, RuntimeOptions())
    names = [
        "obama__obama.jpg",
        "biden__biden.jpg",
        "rose_leslie__img1.jpg",
        "multi__two_people.jpg",
    ]
    for name in names:
        image = read_face(name)
        f = det.detect(image)[0]
        row = np.array([*f.box, *f.landmarks.reshape(-1), f.score], np.float32)
        aligned_bgr = ref.alignCrop(image, row)
        expected = ref.feature(aligned_bgr).reshape(-1)
        ours = embedder.embed(np.ascontiguousarray(aligned_bgr[..., ::-1])[None])[0]
        assert float(ours @ expected / np.linalg.norm(expected)) >= 0.9999


def test_batch_equals_one_by_one_and_is_unit_norm(embedder: FaceEmbedder) -> None:
    crops = _crops(3)
    batch = embedder.embed(crops)
    assert batch.shape == (3, embedder.dim) == (3, 128) and batch.dtype == np.float32
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for i in range(3):
        assert np.allclose(embedder.embed(crops[i : i + 1])[0], batch[i], atol=1e-6)
    assert embedder.embed(crops[:0]).shape == (0, 128)
    assert embedder.model_id == "sface-2021dec-int8bq"


def test_rejects_wrong_shapes(embedder: FaceEmbedder) -> None:
    with pytest.raises(ValueError):
        embedder.embed(_crops(1)[0])
    with pytest.raises(ValueError):
        embedder.embed(np.zeros((1, 96, 96, 3), np.uint8))


def test_arcface_normalisation_is_applied(tmp_path: Path) -> None:
    reg = default_registry(tmp_path / "models.json")
    src = reg.path(reg.get("face_embedder"))
    entry = reg.add(
        src,
        "face_embedder",
        "Apache-2.0",
        "test",
        preprocessing=ARCFACE_PREPROCESSING,
        fixes=("prune_unused",),
    )
    emb = load_embedder(reg, RuntimeOptions())
    assert emb.model_id == entry.id != "sface-2021dec-int8bq"
    crops = _crops(1)
    sess = create_session(reg.load_bytes(entry), RuntimeOptions())
    blob = (crops.transpose(0, 3, 1, 2).astype(np.float32) - 127.5) / 127.5
    raw = sess.run(None, {"data": blob})[0][0]
    assert np.allclose(emb.embed(crops)[0], raw / np.linalg.norm(raw), atol=1e-6)
