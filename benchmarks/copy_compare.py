"""Copy vs original: tamper detection and false alarms on synthetic cards and A4 pages.

For each tamper kind (one character, a date, the portrait, a line removed) and for honest
copies, ``n`` pairs: the original is the clean rendering (a card side of either model, or a
birth certificate or diploma page), the copy is the (tampered) document degraded by a
photocopy, a flatbed scan or a phone photo (the document at about its rendered
resolution: a card in 1280×960, an A4 page in about 2220×1660; coarser captures are
refused as ``low_resolution``), cycled with the document type so every condition sees
every type. ``--conditions shaken_photo`` (or a list) runs phone photos taken with a
shaking hand (a 3–8 px smear in one direction) instead or as well. Pair ``i`` uses seed
``seed + i``; the thresholds in ``CompareSettings`` were tuned on seeds from
``TUNING_SEED`` on and are reported on a disjoint range (the default ``seed=0``). Timings
are per compare, 1 thread (ONNX Runtime and OpenCV).

With ``--real-portraits`` the card portraits are real photos (``/work/shared/data/faces``, a
development set of a few identities, face-centred crops; benchmark only) and the portrait is
judged by the face capability (``FaceEngine.from_registry()``): a swap puts another
identity's photo on the copy. Without it the portraits are the synthetic cartoon faces and
the portrait is judged by structure and levels alone.

Run: ``ekyc bench compare --pairs 200 --seed 0 --workers 2`` (or
``python -m benchmarks.copy_compare --n 200 --seed 0 --workers 2``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from benchmarks.machine import describe, summary
from ekyc.document.compare import (
    CompareSettings,
    PageResult,
    card_regions,
    compare_page,
)
from ekyc.document.portrait import face_comparer
from ekyc.synth import degrade
from ekyc.synth.card import render_card
from ekyc.synth.chip import sample_citizen
from ekyc.synth.document import RenderedPage, render_a4
from ekyc.synth.tamper import TamperNotApplicable, tamper

TUNING_SEED = 10_000
KINDS = ("char", "date", "portrait", "line_removed", "honest")
CONDITIONS = ("photocopy", "scan", "phone_photo")  # the default run, and the floors' mix
#: (family, model or page kind, side)
DOCS: tuple[tuple[str, str, str], ...] = (
    ("card", "cccd2021", "front"),
    ("card", "cccd2021", "back"),
    ("card", "cancuoc2024", "front"),
    ("card", "cancuoc2024", "back"),
    ("a4", "birth_certificate", ""),
    ("a4", "diploma", ""),
)
FLOOR_DETECTION = 0.95
FLOOR_FALSE_ALARM = 0.02
_DEGRADE: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "photocopy": degrade.photocopy,
    "scan": degrade.scan,
    "phone_photo": degrade.phone_photo,
    "shaken_photo": degrade.shaken_photo,
}

FACES_DIR = Path("/work/shared/data/faces")

_OCR: Any = None
_FACE: Any = None
_PHOTOS: list[tuple[str, np.ndarray]] | None = None  # (identity, face-centred BGR crop)


def _ocr() -> Any:
    global _OCR
    if _OCR is None:
        from models.ocr import load_ocr

        _OCR = load_ocr("default")
    return _OCR


def _face_engine() -> Any:
    global _FACE
    if _FACE is None:
        from ekyc.face.pipeline import FaceEngine

        _FACE = FaceEngine.from_registry()
    return _FACE


def _face_crop(photo: np.ndarray) -> np.ndarray | None:
    """An ID-style crop of the photo's best face (face centred, shoulders below), or None."""
    faces = _face_engine().detector.detect(photo)
    if not faces:
        return None
    x, y, w, h = faces[0].box
    cw = 2.0 * max(w, h)
    ch = cw * 4 / 3
    cx, cy = x + w / 2, y + h / 2 + 0.12 * ch
    pad = int(ch)
    big = cv2.copyMakeBorder(photo, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    x0, y0 = int(cx - cw / 2) + pad, int(cy - ch / 2) + pad
    return np.ascontiguousarray(big[y0 : y0 + int(ch), x0 : x0 + int(cw)])


def _photos() -> list[tuple[str, np.ndarray]]:
    """Face-centred crops of the single-person development photos, with their identity."""
    global _PHOTOS
    if _PHOTOS is None:
        _PHOTOS = []
        for path in sorted(FACES_DIR.glob("*.jpg")):
            identity = path.name.split("__")[0]
            image = cv2.imread(str(path))
            if identity == "multi" or image is None:
                continue
            crop = _face_crop(image)
            if crop is not None:
                _PHOTOS.append((identity, crop))
    return _PHOTOS


def _portrait_pair(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A real photo for the original and one of another identity (for a swap)."""
    photos = _photos()
    identity, a = photos[seed % len(photos)]
    others = [p for who, p in photos if who != identity]
    return a, others[(seed // len(photos)) % len(others)]


def _render(doc: tuple[str, str, str], seed: int, portrait: np.ndarray | None = None) -> Any:
    family, model, side = doc
    if family == "a4":
        return render_a4(seed, model)  # type: ignore[arg-type]
    return render_card(sample_citizen(seed), side, model, seed, portrait=portrait)  # type: ignore[arg-type]


def _pair(
    kind: str, i: int, seed: int, real: bool = False, conditions: tuple[str, ...] = CONDITIONS
) -> dict[str, Any]:
    """Build and compare pair ``i`` of ``kind``; the sample records verdict, evidence, times."""
    s = seed + i
    condition = conditions[i % len(conditions)]
    start = (i // len(conditions)) % len(DOCS)
    photo, other = _portrait_pair(s) if real else (None, None)
    for k in range(len(DOCS)):  # the first document type (in the cycle) the tamper applies to
        doc = DOCS[(start + k) % len(DOCS)]
        rendered = _render(doc, s, photo)
        if kind == "honest":
            copy_img, truth = rendered.image_bgr, {}
            break
        if real and kind == "portrait":  # another identity's photo on the same card
            box = card_regions(doc[1], doc[2]).get("portrait") if doc[0] == "card" else None  # type: ignore[arg-type]
            if box is None:
                continue
            copy_img, truth = _render(doc, s, other).image_bgr, {"portrait": box}
            break
        try:
            t = tamper(rendered, kind, s)  # type: ignore[arg-type]
        except TamperNotApplicable:
            continue
        copy_img, truth = t.image_bgr, t.boxes
        break
    else:
        raise RuntimeError(f"no document takes a {kind} tamper")
    copy_img = _DEGRADE[condition](copy_img, s + 7919)
    regions = {} if isinstance(rendered, RenderedPage) else card_regions(doc[1], doc[2])  # type: ignore[arg-type]
    face = face_comparer(_face_engine()) if real else None
    t0 = time.perf_counter()
    result = compare_page(rendered.image_bgr, copy_img, ocr=_ocr(), face=face, regions=regions)
    total_ms = (time.perf_counter() - t0) * 1000
    return _sample(kind, condition, doc, s, result, truth, total_ms)


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return min(a[0] + a[2], b[0] + b[2]) > max(a[0], b[0]) and min(a[1] + a[3], b[1] + b[3]) > max(
        a[1], b[1]
    )


def _sample(
    kind: str,
    condition: str,
    doc: tuple[str, str, str],
    seed: int,
    result: PageResult,
    truth: dict[str, tuple[int, int, int, int]],
    total_ms: float,
) -> dict[str, Any]:
    located = any(_overlaps(d.box, b) for d in result.differences for b in truth.values())
    return {
        "kind": kind,
        "condition": condition,
        "family": doc[0],
        "doc": "/".join(p for p in doc[1:] if p),
        "seed": seed,
        "verdict": result.verdict,
        "why": result.why,
        "located": located,
        "differences": [
            {
                "region": d.region,
                "reason": d.reason,
                "box": d.box,
                "o": d.original_text,
                "c": d.copy_text,
                "score": round(d.score, 3),
            }
            for d in result.differences
        ],
        "lines": [
            {
                "region": ln.region,
                "o": ln.original_text,
                "c": ln.copy_text,
                "chars": round(ln.ink_chars, 3),
                "stable": ln.stable,
                "glare": round(ln.glare, 3),
                "oc": None if ln.original_confidence is None else round(ln.original_confidence, 3),
                "cc": None if ln.copy_confidence is None else round(ln.copy_confidence, 3),
                "sharp": round(ln.sharpness, 3),
                "unreadable": ln.unreadable,
                "clear_loss": round(ln.clear_loss, 3),
                "explained": ln.explained,
                "truth": any(_overlaps(ln.box, b) for b in truth.values()),
            }
            for ln in result.lines
        ],
        "scores": {k: round(v, 3) for k, v in result.scores.items()},
        "ms": {**result.timings_ms, "total": total_ms},
    }


def _worker(args: tuple[str, int, int, bool, tuple[str, ...]]) -> dict[str, Any]:
    cv2.setNumThreads(1)
    return _pair(*args)


def run(
    n: int = 200,
    seed: int = 0,
    workers: int = 1,
    real_portraits: bool = False,
    conditions: tuple[str, ...] = CONDITIONS,
) -> dict[str, Any]:
    """Run ``n`` pairs per tamper kind plus ``n`` honest pairs; return the report."""
    unknown = set(conditions) - set(_DEGRADE)
    if unknown:
        raise ValueError(f"unknown conditions {sorted(unknown)}; known: {sorted(_DEGRADE)}")
    cv2.setNumThreads(1)
    jobs = [(kind, i, seed, real_portraits, conditions) for kind in KINDS for i in range(n)]
    if workers > 1:
        with mp.get_context("spawn").Pool(workers) as pool:
            samples = pool.map(_worker, jobs, chunksize=4)
    else:
        samples = [_worker(j) for j in jobs]
    return {
        "suite": "copy_compare",
        "machine": describe(),
        "n": n,
        "seed": seed,
        "conditions": list(conditions),
        "portraits": "real photos, face comparer" if real_portraits else "synthetic, no face",
        "settings": CompareSettings().__dict__,
        "table": _table(samples, conditions),
        "timings_ms": _timings(samples),
        "floors": _floors(samples),
        "samples": samples,
    }


def _rate(samples: list[dict[str, Any]], verdict: str) -> dict[str, Any]:
    hits = sum(s["verdict"] == verdict for s in samples)
    return {"n": len(samples), "hits": hits, "rate": hits / len(samples) if samples else 0.0}


def _table(samples: list[dict[str, Any]], conditions: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in KINDS:
        mine = [s for s in samples if s["kind"] == kind]
        verdict = "MATCH" if kind == "honest" else "MISMATCH"
        row: dict[str, Any] = {"all": _rate(mine, verdict)}
        for key in conditions + ("card", "a4"):
            part = [s for s in mine if key in (s["condition"], s["family"])]
            if part:
                row[key] = _rate(part, verdict)
        row["mismatch"] = _rate(mine, "MISMATCH")
        row["unreadable"] = _rate(mine, "UNREADABLE")
        if kind != "honest":
            row["located"] = sum(s["located"] for s in mine) / len(mine)
        out[kind] = row
    return out


def _timings(samples: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for family in ("card", "a4"):
        mine = [s["ms"] for s in samples if s["family"] == family]
        out[family] = {
            stage: summary([m[stage] for m in mine if stage in m])
            for stage in ("align", "ocr", "compare", "total")
            if any(stage in m for m in mine)
        }
    return out


def _floors(samples: list[dict[str, Any]]) -> dict[str, Any]:
    floors: dict[str, Any] = {}
    for kind in KINDS[:-1]:
        mine = [s for s in samples if s["kind"] == kind]
        rate = _rate(mine, "MISMATCH")["rate"]
        floors[f"detection_{kind}"] = {
            "limit": FLOOR_DETECTION,
            "value": rate,
            "ok": rate >= FLOOR_DETECTION,
        }
    honest = [s for s in samples if s["kind"] == "honest"]
    fa = _rate(honest, "MISMATCH")["rate"]
    floors["false_alarm"] = {"limit": FLOOR_FALSE_ALARM, "value": fa, "ok": fa <= FLOOR_FALSE_ALARM}
    return floors


def print_report(report: dict[str, Any]) -> None:
    """Print the detection table, the time per stage and the floors."""
    m = report["machine"]
    print(
        f"copy compare benchmark — {report['n']} pairs per kind, seeds {report['seed']}.."
        f"{report['seed'] + report['n'] - 1}, on {m['cpu']} ({m['cores']} cores), 1 thread;"
        f" portraits: {report['portraits']}"
    )
    cols = ("all", *report["conditions"], "card", "a4")
    print(f"{'kind':14}" + "".join(f"{c:>16}" for c in cols) + f"{'unreadable':>12}")
    for kind, row in report["table"].items():
        label = "honest MATCH" if kind == "honest" else f"{kind} MISMATCH"
        cells = "".join(
            f"{row[c]['hits']:>6}/{row[c]['n']:<3} {row[c]['rate']:5.1%}"
            if c in row
            else f"{'-':>16}"
            for c in cols
        )
        print(f"{label:14}{cells}{row['unreadable']['rate']:>12.1%}")
    honest = report["table"]["honest"]
    print(
        f"false alarms (honest → MISMATCH): {honest['mismatch']['hits']}/{honest['mismatch']['n']}"
        f" = {honest['mismatch']['rate']:.1%}"
    )
    print(f"{'time per compare (ms)':28}{'median':>10}{'p95':>10}")
    for family, stages in report["timings_ms"].items():
        for stage, s in stages.items():
            print(f"{family + ' ' + stage:28}{s['median']:10.1f}{s['p95']:10.1f}")
    for name, floor in report["floors"].items():
        print(
            f"floor {name} {'≥' if 'detection' in name else '≤'} {floor['limit']:.0%}: "
            f"{floor['value']:.1%} {'ok' if floor['ok'] else 'MISSED'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", help="write the whole report (samples included) here")
    parser.add_argument(
        "--real-portraits",
        action="store_true",
        help="real photos as card portraits, judged by the face capability",
    )
    parser.add_argument(
        "--conditions", default=",".join(CONDITIONS), help=f"of {', '.join(_DEGRADE)}"
    )
    args = parser.parse_args()
    conditions = tuple(args.conditions.split(","))
    report = run(args.n, args.seed, args.workers, args.real_portraits, conditions)
    print_report(report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, ensure_ascii=False, indent=1, default=str)


if __name__ == "__main__":
    main()
