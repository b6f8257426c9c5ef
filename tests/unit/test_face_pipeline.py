"""FaceEngine end to end on the models/ engines: selfies, JPEG2000 chip portraits, 1:1 match."""

from __future__ import annotations

import io
import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from ekyc.face.calibrate import development_pairs
from ekyc.face.compare import Embedding
from ekyc.face.errors import FaceRejected, ImageRejected, ModelMismatch
from ekyc.face.pipeline import FaceEngine
from tests.support import FACES

pytestmark = pytest.mark.skipif(not FACES.is_dir(), reason="../shared/data/faces missing")


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine.from_registry()


def _read(name: str) -> bytes:
    return (FACES / name).read_bytes()


def _chip_portrait(engine: FaceEngine, name: str, size: tuple[int, int] = (240, 320)) -> bytes:
    """A chip-like portrait: head and shoulders at 3:4, small, JPEG2000 at ~6 kB."""
    img = cv2.imread(str(FACES / name))
    x, y, w, h = engine.analyse(img).subject.box  # type: ignore[union-attr]
    cx, cy, side = x + w / 2, y + h / 2, max(w, h) * 1.6
    x0, y0 = int(max(cx - side * 0.375, 0)), int(max(cy - side / 2, 0))
    crop = img[y0 : int(cy + side / 2), x0 : int(cx + side * 0.375)]
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    buf = io.BytesIO()
    Image.fromarray(small[:, :, ::-1]).save(
        buf, "JPEG2000", quality_mode="rates", quality_layers=[40]
    )
    return buf.getvalue()


def test_analysis_fields(engine: FaceEngine) -> None:
    a = engine.analyse_bytes(_read("obama__obama.jpg"))
    assert a.usable and a.subject is not None and a.embedding is not None
    assert a.aligned_rgb is not None and a.aligned_rgb.shape == (112, 112, 3)
    assert a.embedding.model_id == engine.embedder.model_id == a.embedder_id
    assert a.detector_id == engine.detector.model_id
    assert np.linalg.norm(a.embedding.vector) == pytest.approx(1.0, abs=1e-4)
    assert {"decode", "detect", "quality", "align", "embed"} <= set(a.timings_ms)


def test_subject_of_group_photo_is_largest(engine: FaceEngine) -> None:
    a = engine.analyse_bytes(_read("multi__obama_and_biden.jpg"))
    assert a.subject is not None
    assert a.subject.box[2] == max(f.box[2] for f in a.faces)
    assert "several_faces" in a.quality.codes and not a.usable


def test_bad_bytes_raise_image_rejected(engine: FaceEngine) -> None:
    with pytest.raises(ImageRejected) as e:
        engine.analyse_bytes(_read("obama__obama.jpg")[:60_000])
    assert e.value.code == "truncated_image"


def test_no_face_cannot_be_compared(engine: FaceEngine) -> None:
    blank = engine.analyse(np.full((480, 640, 3), 127, np.uint8))
    assert blank.embedding is None and blank.quality.codes == ("no_face",)
    ok = engine.analyse_bytes(_read("obama__obama.jpg"))
    with pytest.raises(FaceRejected) as e:
        engine.compare(ok, blank)
    assert e.value.code == "no_face"


def test_quality_failure_blocks_compare_unless_waived(engine: FaceEngine) -> None:
    a = engine.analyse_bytes(_read("obama__obama.jpg"))
    group = engine.analyse_bytes(_read("multi__two_people.jpg"))
    with pytest.raises(FaceRejected) as e:
        engine.compare(a, group)
    assert e.value.code == "several_faces"
    assert engine.compare(a, group, require_quality=False).score < 1.0


def test_embeddings_of_another_model_refused(engine: FaceEngine) -> None:
    a = engine.analyse_bytes(_read("obama__obama.jpg"))
    assert a.embedding is not None
    foreign = Embedding(a.embedding.vector.copy(), "w600k-r50")
    with pytest.raises(ModelMismatch):
        engine.compare(a, foreign)


def test_dev_pairs_at_calibrated_threshold(engine: FaceEngine) -> None:
    cache = {}
    for p in {x.a for x in development_pairs(FACES)} | {x.b for x in development_pairs(FACES)}:
        cache[p] = engine.analyse_bytes(p.read_bytes())
    for pair in development_pairs(FACES):
        r = engine.compare(cache[pair.a], cache[pair.b], "fmr_1e-3", require_quality=False)
        assert r.matched == pair.same, (pair.a.name, pair.b.name, r.score, r.threshold)


def test_resolution_copies_match_each_other(engine: FaceEngine) -> None:
    copies = sorted(FACES.glob("obama__obama-*p.jpg"))
    analyses = [engine.analyse_bytes(p.read_bytes()) for p in copies]
    for a, b in itertools.combinations(analyses, 2):
        assert engine.compare(a, b, "fmr_1e-4", require_quality=False).matched


@pytest.mark.parametrize("size", [(240, 320), (300, 400), (180, 240)])
def test_jpeg2000_chip_portrait_passes_and_matches(
    engine: FaceEngine, size: tuple[int, int]
) -> None:
    data = _chip_portrait(engine, "obama__obama.jpg", size)
    assert data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" and len(data) < 12_000
    portrait = engine.analyse_bytes(data, role="portrait")
    assert portrait.quality.passed, portrait.quality.reasons
    selfie = engine.analyse_bytes(_read("obama__obama2.jpg"))
    assert engine.compare(selfie, portrait).matched
    other = engine.analyse_bytes(_read("biden__biden2.jpg"))
    assert not engine.compare(other, portrait).matched
