"""MiniFASNet PAD: the README crop contract, fusion, and scores on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.face_detector import load_detector
from models.face_pad import FacePad, load_pad, pad_crop
from models.registry import ModelRegistry, default_registry
from models.session import RuntimeOptions
from tests.support import FACES, SHARED, read_face

MINIFAS = SHARED / "models" / "minifasnet"
needs_shared = pytest.mark.skipif(
    not (MINIFAS.is_dir() and FACES.is_dir()), reason="../shared models or faces not present"
)


def _registry(tmp_path: Path, which: tuple[str, ...] = ("v2", "v1se")) -> ModelRegistry:
    reg = default_registry(tmp_path / "models.json")
    files = {
        "v2": ("minifasnet_v2_scale2.7_80x80.onnx", 2.7),
        "v1se": ("minifasnet_v1se_scale4.0_80x80.onnx", 4.0),
    }
    for key in which:
        name, scale = files[key]
        reg.add(
            MINIFAS / name,
            "face_pad",
            "Apache-2.0",
            "minivision-ai/Silent-Face-Anti-Spoofing",
            preprocessing={"crop_scale": scale},
        )
    return reg


def test_no_pad_model_means_none() -> None:
    assert load_pad(default_registry(), RuntimeOptions()) is None


def test_crop_window_shifts_not_shrinks() -> None:
    # Pixel value encodes the column, so the crop's first and last columns are visible.
    img = np.tile(np.arange(200, dtype=np.uint8)[None, :, None], (100, 1, 3))
    crop = pad_crop(img, (0, 40, 20, 20), 2.7, size=54)
    # s = 2.7 -> 54 px window centred at x=10 starts at -17: shifted to [0, 54] inclusive.
    assert crop.shape == (54, 54, 3)
    big = pad_crop(img, (150, 10, 60, 60), 4.0, size=80)
    # s = min(4, 99/60, 199/60) = 1.65 -> 99 px window, shifted left to end at column 199.
    assert big.shape == (80, 80, 3) and int(big[0, -1, 0]) == 199
    assert int(big[0, 0, 0]) == 199 - 99 or int(big[0, 0, 0]) == 199 - 98
    with pytest.raises(ValueError):
        pad_crop(img, (0, 0, 0, 10), 2.7)


@needs_shared
def test_live_probabilities_on_photos(tmp_path: Path) -> None:
    reg = _registry(tmp_path)
    pad = load_pad(reg, RuntimeOptions())
    assert isinstance(pad, FacePad)
    det = load_detector(reg, RuntimeOptions())
    ids = [e.id for e in reg.all("face_pad")]
    assert pad.model_id == "+".join(ids)
    for name in ["obama__obama-480p.jpg", "biden__biden.jpg", "rose_leslie__img2.jpg"]:
        image = read_face(name)
        s = pad.score(image, det.detect(image)[0].box)
        assert 0.0 <= s.live <= 1.0 and s.probabilities.shape == (3,)
        assert float(s.probabilities.sum()) == pytest.approx(1.0, abs=1e-5)
        assert s.live == pytest.approx(float(s.probabilities[1]))


@needs_shared
def test_fusion_is_the_mean_of_each_model(tmp_path: Path) -> None:
    image = read_face("obama__obama.jpg")
    box = load_detector(default_registry(), RuntimeOptions()).detect(image)[0].box
    fused = load_pad(_registry(tmp_path / "a"), RuntimeOptions())
    v2 = load_pad(_registry(tmp_path / "b", ("v2",)), RuntimeOptions())
    v1 = load_pad(_registry(tmp_path / "c", ("v1se",)), RuntimeOptions())
    assert fused is not None and v2 is not None and v1 is not None
    mean = (v2.score(image, box).probabilities + v1.score(image, box).probabilities) / 2
    assert np.allclose(fused.score(image, box).probabilities, mean, atol=1e-6)
