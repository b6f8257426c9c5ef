"""CPU against another ONNX Runtime execution provider: same inputs through both, outputs compared.

For a deployer turning on ``EKYC_ONNX_PROVIDERS=cuda`` (or tensorrt): every model must give
the CPU's answers, and must really run on the provider asked for (a silent fallback to the
CPU passes every parity check and loses the speed-up, so it fails here).

- face: YuNet boxes (IoU), SFace embeddings of the same aligned crops (cosine, floor 0.9999 as
  for the OpenCV reference), MiniFASNet live scores when ``pad_dir`` holds it;
- OCR: the PP-OCR detector's probability map and boxes, asternet's readings of synthetic card
  lines (same text, confidence difference).

Run: ``python -m benchmarks.provider_parity --providers cuda --json out.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import describe
from ekyc.face.align import align
from ekyc.face.image import decode_image
from ekyc.face.pipeline import FaceEngine
from models.face_pad import register_minifasnet
from models.ocr.aster_rec import AsterRecognizer
from models.ocr.base import OcrEngine
from models.ocr.rapid_det import RapidTextDetector
from models.registry import default_registry
from models.session import RuntimeOptions, parse_providers

SHARED = Path(__file__).resolve().parents[2] / "shared"
FLOOR_COSINE = 0.9999
FLOOR_BOX_IOU = 0.99


def _face_engine(options: RuntimeOptions, pad_dir: Path | None) -> FaceEngine:
    registry = default_registry(Path(tempfile.mkdtemp()) / "models.json")
    if pad_dir is not None:
        register_minifasnet(registry, pad_dir, "minivision (dev copy)")
    return FaceEngine.from_registry(registry, options)


def _sessions(obj: Any) -> list[Any]:
    """The ONNX Runtime sessions an engine object holds (attributes named *session*)."""
    found = [v for k, v in vars(obj).items() if "session" in k and hasattr(v, "get_providers")]
    for nets in (v for k, v in vars(obj).items() if k == "_nets"):
        found += [n[0] for n in nets]
    return found


def _on(engine_parts: list[Any]) -> list[str]:
    """The first (effective) provider of every session."""
    return [s.get_providers()[0] for part in engine_parts for s in _sessions(part)]


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def face_parity(
    providers: tuple[str, ...], faces_dir: Path, pad_dir: Path | None
) -> dict[str, Any]:
    """Detections, embeddings and PAD scores of every photo on the CPU and on ``providers``."""
    cpu = _face_engine(RuntimeOptions(), pad_dir)
    dev = _face_engine(RuntimeOptions(providers=providers), pad_dir)
    ious: list[float] = []
    cosines: list[float] = []
    pad_diffs: list[float] = []
    count_mismatch: list[str] = []
    for path in sorted(faces_dir.glob("*.jpg")):
        image = decode_image(path.read_bytes())
        a, b = cpu.detector.detect(image), dev.detector.detect(image)
        if len(a) != len(b):
            count_mismatch.append(path.name)
            continue
        for fa, fb in zip(a, b, strict=True):
            ious.append(_iou(fa.box, fb.box))
            crop = align(image, fa.landmarks)[None]  # the same crop through both embedders
            ea, eb = cpu.embedder.embed(crop)[0], dev.embedder.embed(crop)[0]
            cosines.append(float(ea @ eb / (np.linalg.norm(ea) * np.linalg.norm(eb))))
            if cpu.pad is not None and dev.pad is not None:
                pa, pb = cpu.pad.score(image, fa.box), dev.pad.score(image, fa.box)
                pad_diffs.append(abs(pa.live - pb.live))
    parts = [dev.detector, dev.embedder] + ([dev.pad] if dev.pad is not None else [])
    return {
        "photos": len(list(faces_dir.glob("*.jpg"))),
        "faces": len(cosines),
        "detection_count_mismatch": count_mismatch,
        "box_iou_min": min(ious, default=0.0),
        "embedding_cosine_min": min(cosines, default=0.0),
        "pad_live_max_abs_diff": max(pad_diffs) if pad_diffs else None,
        "sessions_on": _on(parts),
        "ok": not count_mismatch
        and min(cosines, default=0.0) >= FLOOR_COSINE
        and min(ious, default=0.0) >= FLOOR_BOX_IOU,
    }


def ocr_parity(providers: tuple[str, ...], cards: int = 4) -> dict[str, Any]:
    """Detector maps and boxes, and recogniser readings of synthetic card sides, CPU vs device."""
    from ekyc.synth.card import render_card
    from ekyc.synth.chip import sample_citizen

    cpu_det, cpu_rec = RapidTextDetector(RuntimeOptions()), AsterRecognizer(RuntimeOptions())
    dev_det = RapidTextDetector(RuntimeOptions(providers=providers))
    dev_rec = AsterRecognizer(RuntimeOptions(providers=providers))
    cpu = OcrEngine(cpu_det, cpu_rec)
    dev = OcrEngine(dev_det, dev_rec)
    map_diff = 0.0
    box_mismatch = 0
    lines = same_text = 0
    conf_diff = 0.0
    for seed in range(cards):
        for side in ("front", "back"):
            image = render_card(sample_citizen(seed), side, "cccd2021", seed).image_bgr
            pa, pb = cpu_det.probability_map(image), dev_det.probability_map(image)
            map_diff = max(map_diff, float(np.abs(pa - pb).max()))
            qa, qb = cpu_det.detect(image), dev_det.detect(image)
            box_mismatch += len(qa) != len(qb)
            ra = cpu.read_lines(image, qa)
            rb = dev.read_lines(image, qa)  # the same quads: the recogniser alone is compared
            for x, y in zip(ra, rb, strict=True):
                lines += 1
                same_text += x.text == y.text
                conf_diff = max(conf_diff, abs(float(x.confidence) - float(y.confidence)))
    return {
        "card_sides": cards * 2,
        "det_map_max_abs_diff": map_diff,
        "det_box_count_mismatch": box_mismatch,
        "rec_lines": lines,
        "rec_same_text": same_text,
        "rec_confidence_max_abs_diff": conf_diff,
        "sessions_on": _on([dev_det, dev_rec]),
        "ok": box_mismatch == 0 and same_text == lines,
    }


def run(
    providers: tuple[str, ...],
    faces_dir: Path = SHARED / "data" / "faces",
    pad_dir: Path | None = SHARED / "models" / "minifasnet",
) -> dict[str, Any]:
    """Both parity checks; ``ok`` also needs every session on the first provider asked for."""
    report: dict[str, Any] = {"suite": "provider_parity", "machine": describe()}
    report["providers"] = list(providers)
    report["face"] = face_parity(providers, faces_dir, pad_dir)
    report["ocr"] = ocr_parity(providers)
    on = report["face"]["sessions_on"] + report["ocr"]["sessions_on"]
    report["all_on_requested"] = all(p == providers[0] for p in on)
    report["ok"] = report["face"]["ok"] and report["ocr"]["ok"] and report["all_on_requested"]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", default="cuda,cpu")
    parser.add_argument("--faces-dir", type=Path, default=SHARED / "data" / "faces")
    parser.add_argument("--pad-dir", type=Path, default=SHARED / "models" / "minifasnet")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    report = run(parse_providers(args.providers), args.faces_dir, args.pad_dir)
    text = json.dumps(report, indent=1, default=str)
    print(text)
    if args.json:
        args.json.write_text(text)
    raise SystemExit(0 if report["ok"] else 1)


if __name__ == "__main__":
    main()
