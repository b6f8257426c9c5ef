"""Accuracy suite: faces on labelled pairs, card OCR fields, tamper detection.

- Faces (``--pairs CSV``, rows ``path_a,path_b,same``; e.g. built by benchmarks.face_pairs):
  every shipped operating point's FMR and FNMR with 95 % Clopper–Pearson intervals (as
  benchmarks.face_thresholds), FNMR at each target FMR the impostor count resolves (and the
  extrapolated ones flagged), the EER and the DET curve. Without pairs this part is skipped.
- Card OCR: fields exact, MRZ valid-or-rejected and QR decoded on generated cards, clean,
  phone photo and photocopy (benchmarks.card_ocr, held-out seeds), the project's OCR and
  tesseract (vie) on the same images.
- Tamper detection: the compare suite's pairs (one run for both suites): each tamper kind
  detected (MISMATCH), honest copies accepted (MATCH), false alarms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import card_ocr, copy_compare
from benchmarks.face_thresholds import evaluate
from benchmarks.suite.compare import tamper_samples
from benchmarks.suite.context import Context
from ekyc.face.calibrate import calibrate, read_pairs_csv, threshold_at_fmr
from ekyc.face.compare import Thresholds
from ekyc.face.stats import eer, fmr_at, fnmr_at, zero_error_upper
from models.ocr.errors import EngineUnavailable
from models.ocr.factory import load_ocr

TARGET_FMRS = (1e-1, 1e-2, 1e-3, 1e-4)
DET_POINTS = 400


def det_curve(genuine: np.ndarray, impostor: np.ndarray) -> dict[str, list[float]]:
    """FMR and FNMR at every score cut (thinned to about DET_POINTS), by rising threshold."""
    cuts = np.unique(np.concatenate([genuine, impostor]))
    if len(cuts) > DET_POINTS:
        cuts = cuts[np.linspace(0, len(cuts) - 1, DET_POINTS).astype(int)]
    imp, gen = np.sort(impostor), np.sort(genuine)
    fmr = 1.0 - np.searchsorted(imp, cuts, side="left") / len(imp)
    fnmr = np.searchsorted(gen, cuts, side="left") / len(gen)
    return {
        "threshold": [round(float(x), 5) for x in cuts],
        "fmr": [round(float(x), 6) for x in fmr],
        "fnmr": [round(float(x), 6) for x in fnmr],
    }


def faces(ctx: Context) -> dict[str, Any]:
    """The face part: scores of the pairs, operating points, FNMR at FMR, EER, DET."""
    from ekyc.face.pipeline import FaceEngine

    engine = FaceEngine.from_registry(options=ctx.runtime(), thresholds=Thresholds({}))
    pairs = [p for f in ctx.pairs for p in read_pairs_csv(f)]
    with ctx.track("accuracy: scoring face pairs", None):
        cal = calibrate(pairs, engine, source=", ".join(str(f) for f in ctx.pairs))
    g, i = cal.genuine, cal.impostor
    rate, at = eer(g, i)
    at_fmr = []
    for target in TARGET_FMRS:
        t, extrapolated = threshold_at_fmr(i, target)
        fmr, fnmr = fmr_at(i, t).to_json(), fnmr_at(g, t).to_json()
        at_fmr.append(
            {
                "target_fmr": target,
                "threshold": round(t, 4),
                "resolved": not extrapolated,
                "fmr": fmr["rate"],
                "fmr_ci95": fmr["ci95"],
                "fnmr": fnmr["rate"],
                "fnmr_ci95": fnmr["ci95"],
            }
        )
    return {
        "source": cal.source,
        "model": cal.model_id,
        "genuine_pairs": len(g),
        "impostor_pairs": len(i),
        "skipped_images": [f"{p}: {why}" for p, why in cal.skipped],
        "smallest_fmr_bounded": round(zero_error_upper(len(i)), 6),
        "eer": {"rate": round(rate, 4), "threshold": round(at, 4)},
        "points": evaluate(g, i, Thresholds.load()),
        "fnmr_at_fmr": at_fmr,
        "det": det_curve(g, i),
    }


def ocr_fields(ctx: Context, section: dict[str, Any]) -> dict[str, Any]:
    """Card OCR accuracy per engine and condition on the same generated cards."""
    n = ctx.pick(2, 20)
    seed = 1000
    out: dict[str, Any] = {"cards_per_condition": n, "seed": seed, "engines": {}}
    for name in ("default", "tesseract"):
        try:
            engine = load_ocr(name, ctx.runtime(1))
        except EngineUnavailable as e:
            section["skipped_parts"][f"ocr_fields.{name}"] = str(e)
            continue
        by: dict[str, Any] = {}
        with ctx.track(f"accuracy: card OCR ({name})", len(card_ocr.CONDITIONS)) as advance:
            for cond in card_ocr.CONDITIONS:
                r = card_ocr._condition(engine, cond, n, seed, False, "own")
                by[cond] = {
                    "cards": r["cards"],
                    "field_exact": r["field_exact"],
                    "mrz_valid_or_rejected": r["mrz"]["valid_or_rejected"],
                    "mrz_exact": r["mrz"]["exact_rate"],
                    "qr_decode_rate": r["qr"]["decode_rate"],
                    "errors": r["errors"],
                    "per_field": r["per_field"],
                }
                advance(1)
        out["engines"][name] = by
    return out


def tamper(ctx: Context) -> dict[str, Any]:
    """Detection per tamper kind and false alarms, from the compare pairs."""
    samples = tamper_samples(ctx)["samples"]
    kinds: dict[str, Any] = {}
    for kind in copy_compare.KINDS:
        mine = [s for s in samples if s["kind"] == kind]
        verdict = "MATCH" if kind == "honest" else "MISMATCH"
        hits = sum(s["verdict"] == verdict for s in mine)
        verdicts: dict[str, int] = {}
        for s in mine:
            verdicts[s["verdict"]] = verdicts.get(s["verdict"], 0) + 1
        kinds[kind] = {"verdict": verdict, "hits": hits, "n": len(mine),
                       "rate": round(hits / len(mine), 4) if mine else None,
                       "verdicts": verdicts}  # fmt: skip
    honest = [s for s in samples if s["kind"] == "honest"]
    alarms = sum(s["verdict"] == "MISMATCH" for s in honest)
    return {
        "about": f"{len(samples)} pairs of benchmarks.copy_compare, seeds from 0, conditions "
        f"{', '.join(copy_compare.CONDITIONS)} in turn",
        "kinds": kinds,
        "false_alarms": {"hits": alarms, "n": len(honest),
                         "rate": round(alarms / len(honest), 4) if honest else None},
    }  # fmt: skip


def run(ctx: Context) -> dict[str, Any]:
    section: dict[str, Any] = {"accuracy": {}, "skipped_parts": {}, "figures": {}}
    acc, figs = section["accuracy"], section["figures"]
    if ctx.pairs:
        acc["faces"] = faces(ctx)
        for name, p in acc["faces"]["points"].items():
            if p["fnmr"]["rate"] is not None:
                figs[f"face.fnmr@{name}"] = {
                    "value": p["fnmr"]["rate"], "unit": "rate", "better": "lower",
                    "label": f"face FNMR at {name} (t={p['threshold']})",
                }  # fmt: skip
    else:
        section["skipped_parts"]["faces"] = (
            "needs labelled pairs: --pairs CSV (path_a,path_b,same; e.g. python -m "
            "benchmarks.face_pairs)"
        )
    acc["ocr_fields"] = ocr_fields(ctx, section)
    for engine, by in acc["ocr_fields"]["engines"].items():
        for cond, r in by.items():
            figs[f"ocr.{engine}.{cond}.field_exact"] = {
                "value": r["field_exact"], "unit": "rate", "better": "higher",
                "label": f"card fields exact, {engine}, {cond}",
            }  # fmt: skip
    acc["tamper"] = tamper(ctx)
    for kind, row in acc["tamper"]["kinds"].items():
        if row["rate"] is not None:
            figs[f"tamper.{kind}.rate"] = {
                "value": row["rate"], "unit": "rate", "better": "higher",
                "label": f"{kind}: {row['verdict']} rate",
            }  # fmt: skip
    fa = acc["tamper"]["false_alarms"]
    if fa["rate"] is not None:
        figs["tamper.false_alarm_rate"] = {
            "value": fa["rate"], "unit": "rate", "better": "lower", "label": "false alarm rate",
        }  # fmt: skip
    return section
