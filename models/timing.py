"""Per-call latency of detect, embed and PAD: ``python -m models.timing [--threads N]``.

Needs ../shared (a face photo and the MiniFASNet files); a quick check, not a benchmark suite.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from models.face_detector import load_detector
from models.face_embedder import load_embedder
from models.face_pad import load_pad
from models.registry import default_registry
from models.session import RuntimeOptions

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _time(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    for _ in range(5):
        fn()
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    """Print median and p95 milliseconds per call for each engine."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()
    opts = RuntimeOptions(intra_threads=args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        reg = default_registry(Path(tmp) / "models.json")
        mf = SHARED / "models" / "minifasnet"
        for name, scale in (("v2_scale2.7", 2.7), ("v1se_scale4.0", 4.0)):
            path = mf / f"minifasnet_{name}_80x80.onnx"
            reg.add(
                path, "face_pad", "Apache-2.0", "minivision", preprocessing={"crop_scale": scale}
            )
        det, emb, pad = load_detector(reg, opts), load_embedder(reg, opts), load_pad(reg, opts)
    assert pad is not None
    photo = cv2.imread(str(SHARED / "data/faces/obama__obama-480p.jpg"))
    if photo is None:
        raise SystemExit("needs ../shared/data/faces/obama__obama-480p.jpg")
    image = cv2.resize(photo, (640, 480))
    face = det.detect(image)[0]
    crop = np.ascontiguousarray(cv2.resize(image, (112, 112))[..., ::-1])[None]
    for label, fn in (
        ("detect 640x480", lambda: det.detect(image)),
        ("embed 1 crop", lambda: emb.embed(crop)),
        ("PAD 1 face (2 models)", lambda: pad.score(image, face.box)),
    ):
        med, p95 = _time(fn, args.runs)
        print(f"{label:24s} median {med:6.2f} ms  p95 {p95:6.2f} ms  ({args.threads} thread)")


if __name__ == "__main__":
    main()
