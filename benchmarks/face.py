"""Face suite: per-stage latency, 1:1 verify of two 640×480 images, 10-frame liveness.

Needs real face photos: ``faces_dir`` (default ../shared/data/faces, the development
set). MiniFASNet PAD is registered from ``pad_dir`` when present, else PAD is reported
as unavailable. All ONNX sessions use the CPU provider unless ``providers`` says
otherwise; ``threads`` is the intra-op thread count.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from benchmarks.machine import describe, summary
from ekyc.face.align import align
from ekyc.face.challenge import Action, Challenge, InMemoryChallengeStore
from ekyc.face.image import decode_image
from ekyc.face.liveness import Frame, check_liveness
from ekyc.face.pipeline import FaceEngine
from ekyc.synth import liveness as synth
from models.face_pad import register_minifasnet
from models.registry import default_registry
from models.session import RuntimeOptions

SHARED = Path(__file__).resolve().parents[2] / "shared"
FLOOR_VERIFY_MS = 60.0
FLOOR_LIVENESS_MS = 250.0


def _jpeg_640x480(path: Path) -> bytes:
    """The photo centre-cropped to 4:3 and scaled to 640×480, as a camera would send it."""
    img = decode_image(path.read_bytes())
    h, w = img.shape[:2]
    if w / h > 4 / 3:
        cw = int(h * 4 / 3)
        img = img[:, (w - cw) // 2 : (w - cw) // 2 + cw]
    else:
        ch = int(w * 3 / 4)
        img = img[(h - ch) // 2 : (h - ch) // 2 + ch]
    ok, buf = cv2.imencode(".jpg", cv2.resize(img, (640, 480)), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return buf.tobytes()


def _timed(fn: Callable[[], Any], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _engine(threads: int, pad_dir: Path | None, providers: tuple[str, ...]) -> FaceEngine:
    registry = default_registry(Path(tempfile.mkdtemp()) / "models.json")
    if pad_dir is not None:
        register_minifasnet(registry, pad_dir, "minivision (dev copy)")
    options = RuntimeOptions(providers=providers, intra_threads=threads)
    return FaceEngine.from_registry(registry, options)


def run(
    runs: int = 30,
    threads: tuple[int, ...] = (1, 2),
    faces_dir: Path = SHARED / "data" / "faces",
    pad_dir: Path | None = SHARED / "models" / "minifasnet",
    providers: tuple[str, ...] = ("CPUExecutionProvider",),
) -> dict[str, Any]:
    if not faces_dir.exists():
        raise FileNotFoundError(f"face photos not found in {faces_dir}")
    a_bytes = _jpeg_640x480(faces_dir / "obama__obama.jpg")
    b_bytes = _jpeg_640x480(faces_dir / "obama__obama2.jpg")
    report: dict[str, Any] = {
        "suite": "face",
        "machine": describe(),
        "runs": runs,
        "providers": list(providers),
        "by_threads": {},
    }
    for n in threads:
        engine = _engine(n, pad_dir, providers)
        report["by_threads"][str(n)] = _suite(engine, a_bytes, b_bytes, faces_dir, runs)
    one = report["by_threads"].get("1")
    if one is not None:
        report["floors"] = {
            "verify_1to1_median_ms_1_thread": {
                "limit": FLOOR_VERIFY_MS,
                "ok": one["verify_1to1"]["median"] <= FLOOR_VERIFY_MS,
            },
            "liveness_10_frames_median_ms_1_thread": {
                "limit": FLOOR_LIVENESS_MS,
                "ok": one["liveness_10_frames"]["median"] <= FLOOR_LIVENESS_MS,
            },
        }
    return report


def _suite(
    engine: FaceEngine, a_bytes: bytes, b_bytes: bytes, faces_dir: Path, runs: int
) -> dict[str, Any]:
    image = decode_image(a_bytes)
    face = engine.detector.detect(image)[0]
    aligned = align(image, face.landmarks)
    stages = {
        "decode": _timed(lambda: decode_image(a_bytes), runs),
        "detect": _timed(lambda: engine.detector.detect(image), runs),
        "align": _timed(lambda: align(image, face.landmarks), runs),
        "embed": _timed(lambda: engine.embedder.embed(aligned[None]), runs),
    }
    pad = engine.pad
    if pad is not None:
        stages["pad"] = _timed(lambda: pad.score(image, face.box), runs)

    def verify() -> None:
        engine.compare(engine.analyse_bytes(a_bytes), engine.analyse_bytes(b_bytes))

    entry: dict[str, Any] = {k: summary(v) for k, v in stages.items()}
    entry["verify_1to1"] = summary(_timed(verify, runs))
    entry["liveness_10_frames"] = summary(_liveness_times(engine, faces_dir, max(5, runs // 3)))
    entry["pad_available"] = pad is not None
    return entry


def _liveness_times(engine: FaceEngine, faces_dir: Path, runs: int) -> list[float]:
    photo = decode_image((faces_dir / "obama__obama-480p.jpg").read_bytes())
    det = engine.detector.detect(photo)[0]
    nose = (float(det.landmarks[2][0]), float(det.landmarks[2][1]))
    face = synth.frame_from_photo(photo, det.box, nose)
    actions = (Action.TURN_LEFT, Action.COME_CLOSER)
    frames = [Frame(t, im) for t, im in synth.sequence(face, actions, seed=1)[:10]]
    times = []
    for i in range(runs + 2):
        challenge = Challenge(f"bench-{i}", actions, 0, 20_000)
        store = InMemoryChallengeStore()
        store.put(challenge)
        t = time.perf_counter()
        check_liveness(challenge, frames, engine, engine.pad, 5.0, store=store)
        if i >= 2:
            times.append((time.perf_counter() - t) * 1000)
    return times


def print_report(report: dict[str, Any]) -> None:
    m = report["machine"]
    print(
        f"face benchmark — {report['runs']} runs on {m['cpu']} ({m['cores']} cores), "
        f"providers {', '.join(report['providers'])}"
    )
    print(f"{'stage (ms)':28}{'threads':>8}{'median':>10}{'p95':>10}")
    for n, entry in report["by_threads"].items():
        for name, s in entry.items():
            if isinstance(s, dict):
                print(f"{name:28}{n:>8}{s['median']:10.2f}{s['p95']:10.2f}")
        if not entry["pad_available"]:
            print("  passive PAD unavailable (no face_pad model registered)")
    for name, floor in report.get("floors", {}).items():
        print(f"floor {name} ≤ {floor['limit']}: {'ok' if floor['ok'] else 'MISSED'}")
