"""Model registry: built-in manifest, hash checks, add/verify round trip, graph fixes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from models import onnx_wire
from models.errors import ManifestError, ModelFileMissing, ModelIntegrityError, ModelNotRegistered
from models.graph_fixes import apply_fixes
from models.registry import ARCFACE_PREPROCESSING, KINDS, default_registry, sha256_hex
from models.session import RuntimeOptions, create_session

YUNET_SHA = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
SFACE_SHA = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"


def test_builtin_manifest_is_complete_and_resolves_offline() -> None:
    reg = default_registry()
    det, emb = reg.get("face_detector"), reg.get("face_embedder")
    assert (det.sha256, emb.sha256) == (YUNET_SHA, SFACE_SHA)
    for e in reg.entries:
        assert e.kind in KINDS and e.builtin
        assert all([e.id, e.name, e.file, e.license, e.source, e.version])
        assert e.preprocessing and e.output
        assert reg.path(e).is_file()
    assert all(c.ok for c in reg.verify())
    with pytest.raises(ModelNotRegistered) as err:
        reg.get("face_pad")
    assert err.value.code == "model_not_registered"


def test_wire_format_round_trips_shipped_models() -> None:
    reg = default_registry()
    for e in reg.entries:
        data = reg.read_verified(e)
        assert onnx_wire.serialize(onnx_wire.parse(data)) == data


def test_shipped_files_need_the_fixes_and_load_after_them() -> None:
    reg = default_registry()
    cpu = RuntimeOptions()
    for e in reg.entries:
        raw = reg.read_verified(e)
        # research/models.md: neither file runs in plain onnxruntime as shipped.
        sess = create_session(raw, cpu)
        inp = sess.get_inputs()[0]
        with pytest.raises((ort.capi.onnxruntime_pybind11_state.Fail, ValueError)):
            sess.run(None, {inp.name: np.zeros(inp.shape, np.float32)})
        fixed = create_session(reg.load_bytes(e), cpu)
        assert fixed.run(None, {inp.name: np.zeros(inp.shape, np.float32)})


def test_dequantised_weights_match_int8_graph() -> None:
    reg = default_registry()
    e = reg.get("face_embedder")
    raw = reg.read_verified(e)
    int8 = create_session(apply_fixes(raw, ["prune_unused"]), RuntimeOptions())
    fp32 = create_session(apply_fixes(raw, e.fixes), RuntimeOptions())
    x = np.random.default_rng(1).uniform(0, 255, (1, 3, 112, 112)).astype(np.float32)
    a, b = int8.run(None, {"data": x})[0][0], fp32.run(None, {"data": x})[0][0]
    assert float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)) > 0.99999


def _copy_model(tmp_path: Path) -> Path:
    reg = default_registry()
    dst = tmp_path / "det.onnx"
    shutil.copyfile(reg.path(reg.get("face_detector")), dst)
    return dst


def test_add_verify_round_trip(tmp_path: Path) -> None:
    manifest = tmp_path / "conf" / "models.json"
    reg = default_registry(manifest)
    src = _copy_model(tmp_path)
    entry = reg.add(src, "face_detector", "MIT", "test copy", version="1")
    assert entry.sha256 == sha256_hex(src.read_bytes())
    assert entry.id == f"det-{entry.sha256[:8]}" and not entry.builtin
    assert reg.get("face_detector") == entry  # the registered model is preferred

    again = default_registry(manifest)
    assert again.get("face_detector") == entry
    assert json.loads(manifest.read_text())["models"][0]["license"] == "MIT"
    assert [c.ok for c in again.verify()] == [True, True, True]
    with pytest.raises(ManifestError):
        again.add(src, "face_detector", "MIT", "dup", model_id=entry.id)


def test_tampered_file_is_reported_and_never_loaded(tmp_path: Path) -> None:
    reg = default_registry(tmp_path / "models.json")
    src = _copy_model(tmp_path)
    entry = reg.add(src, "face_detector", "MIT", "test copy")
    data = bytearray(src.read_bytes())
    data[-1] ^= 1
    src.write_bytes(bytes(data))

    check = {c.id: c for c in reg.verify()}[entry.id]
    assert not check.ok and check.problem == "sha256_mismatch"
    assert check.actual_sha256 == sha256_hex(bytes(data))
    with pytest.raises(ModelIntegrityError) as err:
        reg.load_bytes(entry)
    assert err.value.code == "model_integrity" and err.value.expected == entry.sha256

    src.unlink()
    assert {c.id: c for c in reg.verify()}[entry.id].problem == "missing"
    with pytest.raises(ModelFileMissing):
        reg.load_bytes(entry)


def test_add_validates_input(tmp_path: Path) -> None:
    reg = default_registry(tmp_path / "models.json")
    src = _copy_model(tmp_path)
    with pytest.raises(ManifestError):
        reg.add(src, "face_pad", "MIT", "x")  # no crop_scale
    with pytest.raises(ManifestError):
        reg.add(src, "selfie", "MIT", "x")  # type: ignore[arg-type]
    with pytest.raises(ModelFileMissing):
        reg.add(tmp_path / "none.onnx", "face_detector", "MIT", "x")
    with pytest.raises(ManifestError):
        default_registry().add(src, "face_detector", "MIT", "x")  # no user manifest
    e = reg.add(src, "face_embedder", "MIT", "x", preprocessing=ARCFACE_PREPROCESSING)
    assert e.preprocessing["mean"] == 127.5


def test_malformed_manifest_is_a_typed_error(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text('{"models": [{"id": "x", "kind": "face_pad"}]}')
    with pytest.raises(ManifestError) as err:
        default_registry(bad)
    assert err.value.code == "manifest_invalid"
    bad.write_text("not json")
    with pytest.raises(ManifestError):
        default_registry(bad)
