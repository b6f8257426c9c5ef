"""The one ONNX Runtime session factory: providers in order with CPU fallback, fixed threads."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"
# Short names accepted in EKYC_ONNX_PROVIDERS.
PROVIDER_ALIASES = {
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "cpu": CPU,
}


@dataclass(frozen=True)
class RuntimeOptions:
    """Execution providers in preference order and thread counts for every session."""

    providers: tuple[str, ...] = (CPU,)
    intra_threads: int = 1
    inter_threads: int = 1


def parse_providers(text: str) -> tuple[str, ...]:
    """Turn a comma list such as ``"tensorrt,cuda,cpu"`` into provider names."""
    names = (p.strip() for p in text.split(","))
    return tuple(PROVIDER_ALIASES.get(n.lower(), n) for n in names if n)


def options_from(providers: list[str] | tuple[str, ...], threads: int) -> RuntimeOptions:
    """RuntimeOptions from settings values (provider names or aliases, intra-op threads)."""
    return RuntimeOptions(parse_providers(",".join(providers)), intra_threads=threads)


def resolve_providers(requested: tuple[str, ...], available: list[str] | None = None) -> list[str]:
    """Keep the requested providers this onnxruntime build has, in order, and always end on CPU."""
    have = ort.get_available_providers() if available is None else available
    chosen = [p for p in requested if p in have]
    missing = [p for p in requested if p not in have]
    if missing:
        log.warning(
            "onnxruntime lacks execution provider(s) %s (available: %s); falling back to %s",
            ", ".join(missing),
            ", ".join(have),
            ", ".join(chosen + ([CPU] if CPU not in chosen else [])),
        )
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


_GPU = frozenset({"CUDAExecutionProvider", "TensorrtExecutionProvider"})
# cuDNN's default EXHAUSTIVE search times every convolution algorithm for each new input
# shape; OCR inputs change shape with every page and line batch, and on an H100 that search
# made card OCR slower than the CPU. The heuristic picks an algorithm without timing.
PROVIDER_OPTIONS: dict[str, dict[str, str]] = {
    "CUDAExecutionProvider": {"cudnn_conv_algo_search": "HEURISTIC"},
}


@functools.cache
def _preload_dlls() -> None:
    ort.preload_dlls()


def preload_gpu_libraries(providers: list[str]) -> bool:
    """Load the CUDA and cuDNN libraries of pip's nvidia-* wheels once, when a GPU provider runs.

    onnxruntime-gpu does not find those wheels' libraries by itself (they are not on the
    loader's path); ``onnxruntime.preload_dlls`` loads them, and is a no-op where the system
    libraries are already found.
    """
    if not _GPU.intersection(providers) or not hasattr(ort, "preload_dlls"):
        return False
    _preload_dlls()
    return True


def create_session(model: bytes | Path, options: RuntimeOptions) -> ort.InferenceSession:
    """Open an inference session with spinning off and the configured providers and threads."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = options.intra_threads
    so.inter_op_num_threads = options.inter_threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Spinning threads steal the CPU from the other requests on a small machine (2x slower).
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    source = str(model) if isinstance(model, Path) else model
    providers = resolve_providers(options.providers)
    preload_gpu_libraries(providers)
    session = ort.InferenceSession(
        source,
        sess_options=so,
        providers=providers,
        provider_options=[PROVIDER_OPTIONS.get(p, {}) for p in providers],
    )
    if session.get_providers()[0] != providers[0]:
        # onnxruntime retries on the CPU when a GPU provider fails to start: say so once per
        # session, as a deployer asking for CUDA must know the models run on the CPU.
        log.warning("%s failed to start; running on %s", providers[0], session.get_providers())
    return session
