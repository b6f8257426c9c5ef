"""ONNX Runtime session factory: provider resolution, CPU fallback with a log line."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from models.registry import default_registry
from models.session import (
    CPU,
    RuntimeOptions,
    create_session,
    options_from,
    parse_providers,
    resolve_providers,
)


def test_parse_providers_aliases() -> None:
    assert parse_providers("tensorrt, CUDA,cpu,") == (
        "TensorrtExecutionProvider",
        "CUDAExecutionProvider",
        CPU,
    )
    opts = options_from(["cuda", "cpu"], 2)
    assert opts.providers == ("CUDAExecutionProvider", CPU) and opts.intra_threads == 2


def test_resolve_keeps_order_and_appends_cpu(caplog: pytest.LogCaptureFixture) -> None:
    avail = ["TensorrtExecutionProvider", "CUDAExecutionProvider", CPU]
    with caplog.at_level(logging.WARNING, logger="models.session"):
        got = resolve_providers(("CUDAExecutionProvider", "TensorrtExecutionProvider"), avail)
    assert got == ["CUDAExecutionProvider", "TensorrtExecutionProvider", CPU]
    assert not caplog.records


def test_missing_provider_falls_back_to_cpu_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="models.session"):
        got = resolve_providers(("TensorrtExecutionProvider", "CUDAExecutionProvider"), [CPU])
    assert got == [CPU]
    assert "CUDAExecutionProvider" in caplog.text and "falling back" in caplog.text


def test_session_runs_on_cpu_when_cuda_requested(caplog: pytest.LogCaptureFixture) -> None:
    reg = default_registry()
    model = reg.load_bytes(reg.get("face_detector"))
    opts = RuntimeOptions(providers=("NoSuchExecutionProvider", CPU), intra_threads=1)
    with caplog.at_level(logging.WARNING, logger="models.session"):
        sess = create_session(model, opts)
    assert sess.get_providers() == [CPU]
    assert "NoSuchExecutionProvider" in caplog.text
    out = sess.run(["cls_32"], {"input": np.zeros((1, 3, 64, 96), np.float32)})[0]
    assert out.shape == (1, 2 * 3, 1)  # anchors at stride 32 for a 64x96 input


def test_gpu_libraries_preloaded_only_for_a_gpu_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    import models.session as session

    calls: list[int] = []
    monkeypatch.setattr(session.ort, "preload_dlls", lambda: calls.append(1), raising=False)
    session._preload_dlls.cache_clear()
    assert session.preload_gpu_libraries([CPU]) is False and calls == []
    assert session.preload_gpu_libraries(["CUDAExecutionProvider", CPU]) is True
    assert session.preload_gpu_libraries(["CUDAExecutionProvider", CPU]) is True
    assert calls == [1]  # once per process
    session._preload_dlls.cache_clear()  # the real libraries still load in this process
