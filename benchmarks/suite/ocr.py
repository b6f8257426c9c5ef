"""OCR suite: one text line, one card side, one A4 page; tesseract (vie) and raw ONNX Runtime.

Inputs are generated (``ekyc.synth``), clean: card sides of both models and sides in turn
(seeds from 1000, held out from the reader's tuning) and A4 birth certificates and diplomas
(seeds from 0), as benchmarks.card_ocr and benchmarks.page_ocr draw them. The line is a
medium-length line the detector finds on the first card. Every timed call takes the next
input of its list, so the median is over inputs, not one image repeated.

Peers on the very same images: Debian's tesseract (``-l vie``, the project's detector finding
the lines, as ``load_ocr("tesseract")``), and each model's raw ONNX Runtime time on the
tensors the stage fed it (the PP-OCR detector, the asternet recogniser).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from benchmarks.card_ocr import KINDS, draw_card
from benchmarks.measure import stage
from benchmarks.suite import peers
from benchmarks.suite.context import Context
from ekyc.document.fields import read_card
from ekyc.synth.document import render_a4
from models.ocr.assets import load_model
from models.ocr.base import crop_quad, reading_order
from models.ocr.errors import EngineUnavailable
from models.ocr.factory import load_ocr

CARD_SEED, PAGE_SEED = 1000, 0
PAGE_KINDS = ("birth_certificate", "diploma")
TESSERACT = "tesseract (vie, Debian) on the project's detected lines"


def _cycle(items: list[Any], fn: Callable[[Any], object]) -> Callable[[], object]:
    it = itertools.cycle(items)
    return lambda: fn(next(it))


def cards(n: int) -> list[np.ndarray]:
    """``n`` clean generated card sides (models and sides in turn)."""
    kinds = KINDS["own"]
    return [draw_card("own", *kinds[i % len(kinds)], CARD_SEED + i).image_bgr for i in range(n)]


def pages(n: int) -> list[np.ndarray]:
    """``n`` clean generated A4 pages (birth certificate and diploma in turn)."""
    return [
        render_a4(PAGE_SEED + i, PAGE_KINDS[i % 2]).image_bgr  # type: ignore[arg-type]
        for i in range(n)
    ]


def _line(ocr: Any, card: np.ndarray) -> np.ndarray:
    quads = ocr.detector.detect(card)
    widths = [float(np.linalg.norm(q[1] - q[0])) for q in quads]
    order = np.argsort(widths)
    return crop_quad(card, quads[int(order[len(order) // 2])])


def run(ctx: Context) -> dict[str, Any]:
    cv2.setNumThreads(ctx.threads)
    ocr = load_ocr("default", ctx.runtime())
    assert ocr.detector is not None
    detector, recognizer = ocr.detector, ocr.recognizer
    with ctx.track("ocr: rendering cards and pages", None):
        card_images = cards(ctx.pick(4, 24))
        page_images = pages(ctx.pick(1, 6))
    line = _line(ocr, card_images[0])
    page_quads = [detector.detect(p) for p in page_images]
    page_quads = [[q[k] for k in reading_order(q)] for q in page_quads]

    samples: dict[str, list[float]] = {}
    sub: dict[str, list[float]] = {}

    def card_side(image: np.ndarray) -> None:
        r = read_card(image, ocr)
        for name, ms in r.timings_ms.items():
            sub.setdefault(name, []).append(ms)

    samples["line"] = ctx.time("ocr: one line", lambda: recognizer.recognize([line]))
    samples["card_side"] = ctx.time("ocr: card side", _cycle(card_images, card_side), scale=0.4)
    for name, values in sub.items():
        if name != "total":
            samples[f"card_side.{name}"] = values[-len(samples["card_side"]) :]
    pairs = list(zip(page_images, page_quads, strict=True))
    samples["page.detect"] = ctx.time(
        "ocr: A4 page detect", _cycle(page_images, detector.detect), scale=0.3
    )
    samples["page.recognise"] = ctx.time(
        "ocr: A4 page recognise", _cycle(pairs, lambda pq: ocr.read_lines(*pq)), scale=0.2
    )
    stages = {k: stage(v) for k, v in samples.items()}
    section: dict[str, Any] = {
        "input": f"{len(card_images)} clean card sides (seeds {CARD_SEED}+), {len(page_images)}"
        f" A4 pages (seeds {PAGE_SEED}+), one {line.shape[1]}×{line.shape[0]} line crop",
        "threads": ctx.threads,
        "providers_effective": peers.effective_providers([detector, recognizer]),
        "stages": stages,
        "peers": [],
        "skipped_parts": {},
    }
    section["peers"] += _raw(ctx, ocr, line, card_images, pairs, stages)
    section["peers"] += _tesseract(ctx, line, card_images, page_images, pairs, stages, section)
    return section


def _raw(
    ctx: Context,
    ocr: Any,
    line: np.ndarray,
    card_images: list[np.ndarray],
    pairs: list[tuple[np.ndarray, list[np.ndarray]]],
    stages: dict[str, Any],
) -> list[dict[str, Any]]:
    det_bytes, rec_bytes = load_model("ppocrv6-det-small"), load_model("asternet-vi-rec")
    det = peers.RawModel([det_bytes], ctx.providers, ctx.threads)
    rec = peers.RawModel([rec_bytes], ctx.providers, ctx.threads)
    page, quads = pairs[0]
    one_page = len(pairs) == 1  # then the cycled stage timings are of this very page
    jobs = [
        ("ort.line", "line", rec, ocr.recognizer, lambda: ocr.recognizer.recognize([line]),
         stages["line"]),
        ("ort.page_detect", "page.detect", det, ocr.detector, lambda: ocr.detector.detect(page),
         stages["page.detect"] if one_page else None),
        ("ort.page_recognise", "page.recognise", rec, ocr.recognizer,
         lambda: ocr.read_lines(page, quads), stages["page.recognise"] if one_page else None),
    ]  # fmt: skip
    out = []
    for peer_id, name, raw, owner, call, project in jobs:
        feeds = peers.capture(owner, "session", call)
        # the raw side replays one input; so does the project side (not the cycled inputs)
        mine = project or stage(ctx.time(f"ocr: {name} (first input)", call, scale=0.3))
        got = stage(ctx.time(f"ocr peer: raw ONNX Runtime {name}", raw.replay(feeds), scale=0.3))
        note = f"{len(feeds)} session.run call(s) on the first input, the same tensors"
        out.append(peers.entry(peer_id, name, mine, "raw ONNX Runtime", got, note))
    return out


def _tesseract(
    ctx: Context,
    line: np.ndarray,
    card_images: list[np.ndarray],
    page_images: list[np.ndarray],
    pairs: list[tuple[np.ndarray, list[np.ndarray]]],
    stages: dict[str, Any],
    section: dict[str, Any],
) -> list[dict[str, Any]]:
    try:
        tess = load_ocr("tesseract", ctx.runtime())
    except EngineUnavailable as e:
        section["skipped_parts"]["tesseract"] = str(e)
        return [
            peers.unavailable(f"tesseract.{s}", s, TESSERACT, str(e))
            for s in ("line", "card_side", "page.recognise")
        ]
    line_t = stage(ctx.time("ocr peer: tesseract line", lambda: tess.recognizer.recognize([line])))
    card_t = stage(
        ctx.time(
            "ocr peer: tesseract card side",
            _cycle(card_images, lambda im: read_card(im, tess)),
            scale=0.3,
        )
    )
    page_t = stage(
        ctx.time(
            "ocr peer: tesseract A4 page recognise",
            _cycle(pairs, lambda pq: tess.read_lines(*pq)),
            scale=0.15,
        )
    )
    note = "same images, same detector boxes; tesseract runs as a subprocess (all crops in one)"
    return [
        peers.entry("tesseract.line", "line", stages["line"], TESSERACT, line_t, note),
        peers.entry("tesseract.card_side", "card_side", stages["card_side"], TESSERACT, card_t,
                    note + "; read_card end to end"),
        peers.entry("tesseract.page_recognise", "page.recognise", stages["page.recognise"],
                    TESSERACT, page_t, note),
    ]  # fmt: skip
