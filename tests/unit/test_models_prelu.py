"""The branchless PRelu rewrite: no PRelu left, outputs equal to the bit."""

from __future__ import annotations

import numpy as np
import pytest

from models import onnx_wire as w
from models.graph_fixes import G_NODE, M_GRAPH, N_OP, branchless_prelu
from models.registry import default_registry
from models.session import RuntimeOptions, create_session
from tests.conftest import SHARED


def _ops(model: bytes) -> list[str]:
    graph = w.parse(next(f.data for f in w.parse(model) if f.num == M_GRAPH))
    return [w.text(w.parse(f.data), N_OP) for f in graph if f.num == G_NODE]


def _same_outputs(before: bytes, after: bytes, shape: tuple[int, ...]) -> None:
    a = create_session(before, RuntimeOptions())
    b = create_session(after, RuntimeOptions())
    name = a.get_inputs()[0].name
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.uniform(0, 255, shape).astype(np.float32)
        for ya, yb in zip(a.run(None, {name: x}), b.run(None, {name: x}), strict=True):
            assert np.array_equal(ya, yb)


def test_sface_rewrite_is_exact() -> None:
    reg = default_registry()
    entry = reg.get("face_embedder")
    fixes = tuple(f for f in entry.fixes if f != "branchless_prelu")
    from models.graph_fixes import apply_fixes

    before = apply_fixes(reg.read_verified(entry), fixes)
    after = branchless_prelu(before)
    assert "PRelu" in _ops(before) and "PRelu" not in _ops(after)
    _same_outputs(before, after, (1, 3, 112, 112))


@pytest.mark.skipif(not (SHARED / "models" / "minifasnet").exists(), reason="no ../shared")
def test_minifasnet_rewrite_is_exact() -> None:
    model = (SHARED / "models" / "minifasnet" / "minifasnet_v2_scale2.7_80x80.onnx").read_bytes()
    after = branchless_prelu(model)
    assert "PRelu" in _ops(model) and "PRelu" not in _ops(after)
    _same_outputs(model, after, (2, 3, 80, 80))


def test_models_without_prelu_are_unchanged() -> None:
    reg = default_registry()
    detector = reg.load_bytes(reg.get("face_detector"))
    assert "PRelu" not in _ops(detector)
    assert _ops(branchless_prelu(detector)) == _ops(detector)
