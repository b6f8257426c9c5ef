"""A4 pages: OCR stage timings (detect, recognise), line count and words read, 1 thread.

Synthetic birth certificates and diplomas (ekyc.synth.document), clean and degraded as a
photocopy, a scan or a phone photo; page ``i`` uses seed ``seed + i``. The page is read as
the copy comparison reads an original page without a layout: the PP-OCR detector over the
whole page, then every line recognised in one batch. Alignment and comparison times of a
page pair are in benchmarks/copy_compare.py.

Accuracy is counted in words (Vietnamese words are syllables, so one wrong diacritic is
one wrong word), order-free: the multiset of words printed on the page against the multiset
read from it. Recall is the share of printed words read exactly; precision the share of
words read that were printed. Order-free because the degraded copies are warped and the
generator's line boxes do not map onto them, and because two fields side by side may be
read as one line or two.

Run: ``ekyc bench page-ocr --pages 40`` (or ``python -m benchmarks.page_ocr --n 40``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import unicodedata
from collections import Counter
from typing import Any

import cv2

from benchmarks.machine import describe, summary
from ekyc.synth import degrade
from ekyc.synth.document import render_a4
from models.ocr.base import reading_order
from models.ocr.factory import load_ocr
from models.session import RuntimeOptions

KINDS = ("birth_certificate", "diploma")
CONDITIONS = {
    "clean": lambda img, s: img,
    "photocopy": degrade.photocopy,
    "scan": degrade.scan,
    "phone_photo": degrade.phone_photo,
}


def words(texts: list[str]) -> Counter[str]:
    """The words of some lines, NFC-normalised."""
    return Counter(w for t in texts for w in unicodedata.normalize("NFC", t).split())


def run(n: int = 40, seed: int = 0, engine: str = "default") -> dict[str, Any]:
    """Per condition: median/p95 of detect, recognise and total ms, lines and words read."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cv2.setNumThreads(1)
    ocr = load_ocr(engine, RuntimeOptions(intra_threads=1, inter_threads=1))
    assert ocr.detector is not None
    report: dict[str, Any] = {"suite": "page_ocr", "machine": describe(), "n": n, "seed": seed}
    report["engine"] = engine
    report["conditions"] = {}
    for name, make in CONDITIONS.items():
        times: dict[str, list[float]] = {"detect": [], "recognise": [], "total": []}
        lines: list[float] = []
        printed = read = correct = 0
        for i in range(n):
            page = render_a4(seed + i, KINDS[i % len(KINDS)])  # type: ignore[arg-type]
            image = make(page.image_bgr, seed + i)
            t0 = time.perf_counter()
            quads = ocr.detector.detect(image)
            t1 = time.perf_counter()
            boxes = ocr.read_lines(image, [quads[k] for k in reading_order(quads)])
            t2 = time.perf_counter()
            truth, got = words([t for t, _ in page.lines]), words([b.text for b in boxes])
            printed += truth.total()
            read += got.total()
            correct += (truth & got).total()
            times["detect"].append((t1 - t0) * 1000)
            times["recognise"].append((t2 - t1) * 1000)
            times["total"].append((t2 - t0) * 1000)
            lines.append(float(len(quads)))
        report["conditions"][name] = {k: summary(v) for k, v in times.items()}
        report["conditions"][name]["lines"] = summary(lines)
        report["conditions"][name]["words"] = {
            "printed": printed,
            "recall": round(correct / max(printed, 1), 4),
            "precision": round(correct / max(read, 1), 4),
        }
    return report


def print_report(report: dict[str, Any]) -> None:
    """One row per condition: median/p95 of each stage."""
    m = report["machine"]
    print(
        f"A4 page OCR ({report['engine']}), {report['n']} pages per condition, seed "
        f"{report['seed']}, on {m['cpu']} ({m['cores']} cores), 1 thread"
    )
    print(
        f"{'condition':<13}{'detect ms':>16}{'recognise ms':>16}{'total ms':>16}{'lines':>8}"
        f"{'word recall':>13}{'precision':>11}"
    )
    for name, r in report["conditions"].items():
        cells = "".join(
            f"{r[k]['median']:>9.0f}/{r[k]['p95']:<6.0f}" for k in ("detect", "recognise", "total")
        )
        w = r["words"]
        print(
            f"{name:<13}{cells}{r['lines']['median']:>8.0f}"
            f"{w['recall']:>13.2%}{w['precision']:>11.2%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", default="default")
    parser.add_argument("--json", help="write the report here")
    args = parser.parse_args()
    report = run(args.n, args.seed, args.engine)
    print_report(report)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
