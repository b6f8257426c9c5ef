"""Compare suite: copy vs original, time per card side and per A4 page, 1 thread.

The pairs are benchmarks.copy_compare's (held-out seeds from 0, synthetic portraits): each
tamper kind and honest copies, degraded by photocopy, scan or phone photo in turn, on card
sides (both models and sides) and A4 pages (birth certificates and diplomas). The OCR is
loaded and run once first. The same pairs give the accuracy suite its tamper detection
rates (run once when both suites run).
"""

from __future__ import annotations

import time
from typing import Any

import cv2

from benchmarks import copy_compare
from benchmarks.measure import stage
from benchmarks.suite.context import Context

#: pair indices: the condition is index % 3, the document (index // 3) % 6 (copy_compare.DOCS)
CARD_PAIRS = (0, 1, 4, 5, 8, 9)  # both models, both sides, every condition
PAGE_PAIRS = (12, 14, 16)  # birth certificate and diploma, every condition


def plan(quick: bool) -> list[tuple[str, int]]:
    """(kind, pair index) of every pair the run compares."""
    if quick:  # every kind on a card side, honest pages for the page time
        return [(k, 0) for k in copy_compare.KINDS] + [("honest", 12)]
    return [(k, i) for k in copy_compare.KINDS for i in (*CARD_PAIRS, *PAGE_PAIRS)]


def tamper_samples(ctx: Context) -> dict[str, Any]:
    """The compared pairs (copy_compare samples), once per run."""

    def make() -> dict[str, Any]:
        cv2.setNumThreads(1)
        jobs = plan(ctx.quick)
        t0 = time.perf_counter()
        with ctx.track("compare: warm-up (OCR loaded, one card read)", None):
            card = copy_compare._render(copy_compare.DOCS[0], copy_compare.TUNING_SEED)
            copy_compare._ocr().read(card.image_bgr)
        out = []
        with ctx.track("compare: copy vs original pairs", len(jobs)) as advance:
            for kind, i in jobs:
                out.append(copy_compare._pair(kind, i, 0))
                advance(1)
        return {"samples": out, "seconds": round(time.perf_counter() - t0, 1), "seed": 0}

    result: dict[str, Any] = ctx.shared("copy_compare", make)
    return result


def run(ctx: Context) -> dict[str, Any]:
    pairs = tamper_samples(ctx)["samples"]
    stages: dict[str, Any] = {}
    for family, label in (("card", "card_side"), ("a4", "a4_page")):
        mine = [s["ms"] for s in pairs if s["family"] == family]
        if not mine:
            continue
        stages[label] = stage([m["total"] for m in mine])
        for part in ("align", "ocr", "compare"):
            values = [m[part] for m in mine if part in m]
            if values:
                stages[f"{label}.{part}"] = stage(values)
    return {
        "input": f"{len(pairs)} pairs (kinds × pair index: {plan(ctx.quick)[:3]}…), seeds from 0,"
        " synthetic portraits, 1 thread",
        "stages": stages,
        "conditions": list(copy_compare.CONDITIONS),
    }
