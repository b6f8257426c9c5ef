"""What the shipped face thresholds do on labelled pairs: FMR and FNMR with 95 % intervals.

``python -m benchmarks.face_thresholds [PAIRS.csv ...] [--json-out F]``

Scores every pair (``path_a,path_b,same``; the development pairs of ``../shared/data/faces``
when none is given) with the default face engine, then reports at each operating point of the
shipped threshold file: false matches out of impostor pairs and false non-matches out of
genuine pairs, each with its Clopper–Pearson interval, and the smallest FMR the impostor
count can bound at all (no false match among N pairs bounds FMR below about 3/N). A pair set
built with ``benchmarks.face_pairs`` (public sample photos from packages) is the outside set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import describe
from ekyc.face.calibrate import calibrate, development_pairs, read_pairs_csv
from ekyc.face.compare import Thresholds
from ekyc.face.pipeline import FaceEngine
from ekyc.face.stats import eer, fmr_at, fnmr_at, zero_error_upper


def evaluate(genuine: np.ndarray, impostor: np.ndarray, thresholds: Thresholds) -> dict[str, Any]:
    """Per shipped operating point: threshold, kind, FMR and FNMR with intervals."""
    out: dict[str, Any] = {}
    for model in thresholds.models.values():
        for name, op in model.operating_points.items():
            out[name] = {
                "threshold": round(op.threshold, 4),
                "kind": op.kind,
                "default": name == model.default,
                "fmr": fmr_at(impostor, op.threshold).to_json(),
                "fnmr": fnmr_at(genuine, op.threshold).to_json(),
            }
    return out


def run(pair_files: list[Path]) -> dict[str, Any]:
    """Score the pairs and evaluate every shipped operating point on them."""
    engine = FaceEngine.from_registry(thresholds=Thresholds({}))
    if pair_files:
        pairs = [p for f in pair_files for p in read_pairs_csv(f)]
        source = ", ".join(str(f) for f in pair_files)
    else:
        pairs, source = development_pairs(), "development pairs (../shared/data/faces)"
    cal = calibrate(pairs, engine, source=source)
    g, i = cal.genuine, cal.impostor
    rate, at = eer(g, i)
    return {
        "machine": describe(),
        "source": source,
        "genuine_pairs": len(g),
        "impostor_pairs": len(i),
        "skipped": [f"{p}: {why}" for p, why in cal.skipped],
        "smallest_fmr_bounded": round(zero_error_upper(len(i)), 6),
        "eer": {"rate": round(rate, 4), "threshold": round(at, 4)},
        "impostor_top": [round(float(s), 4) for s in sorted(i)[-5:]],
        "genuine_bottom": [round(float(s), 4) for s in sorted(g)[:5]],
        "points": evaluate(g, i, Thresholds.load()),
    }


def print_report(r: dict[str, Any]) -> None:
    """One line per operating point."""
    print(
        f"face thresholds on {r['genuine_pairs']} genuine / {r['impostor_pairs']} impostor pairs"
        f" ({r['source']}); FMR resolvable to about {r['smallest_fmr_bounded']:.2%}"
    )
    print(f"highest impostor scores {r['impostor_top']}, lowest genuine {r['genuine_bottom']}")
    for name, p in r["points"].items():
        default = " (default)" if p["default"] else ""
        print(
            f"{name:<16}{p['kind']:<13}t={p['threshold']:.4f}{default}"
            f"  FMR {_rate(p['fmr'])}  FNMR {_rate(p['fnmr'])}"
        )


def _rate(r: dict[str, Any]) -> str:
    return f"{r['errors']}/{r['trials']} [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.face_thresholds")
    parser.add_argument("pairs", nargs="*", type=Path, help="CSV files of path_a,path_b,same")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    report = run(args.pairs)
    print_report(report)
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
