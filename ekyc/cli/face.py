"""`ekyc face`: quality gate, 1:1 comparison and threshold calibration."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ekyc.cli._common import emit, face_engine, fail
from ekyc.errors import EkycError


def _analysis_json(a: Any) -> dict[str, Any]:
    subject = a.subject
    return {
        "faces": len(a.faces),
        "subject": None
        if subject is None
        else {"box": [round(float(v), 1) for v in subject.box], "score": round(subject.score, 3)},
        "quality": {
            "passed": a.quality.passed,
            "reasons": [
                {
                    "code": r.code,
                    "measured": round(r.measured, 3),
                    "limit": r.limit,
                    "message": r.message,
                }
                for r in a.quality.reasons
            ],
            "measures": {k: round(v, 3) for k, v in a.quality.measures.items()},
        },
        "model_ids": {"detector": a.detector_id, "embedder": a.embedder_id},
        "timings_ms": {k: round(v, 2) for k, v in a.timings_ms.items()},
    }


@click.group()
def face() -> None:
    """Face quality and 1:1 matching (ONNX models from the registry)."""


@face.command("quality")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--role", type=click.Choice(["selfie", "portrait"]), default="selfie", show_default=True
)
def face_quality(image: Path, role: str) -> None:
    """Run the quality gate on IMAGE; exit 0 when it passes, 3 when it does not."""
    try:
        analysis = face_engine().analyse_bytes(image.read_bytes(), role)
    except EkycError as e:
        fail(e)
    emit(_analysis_json(analysis))
    sys.exit(0 if analysis.quality.passed else 3)


@face.command("compare")
@click.argument("a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--operating-point", help="e.g. fmr_1e-3, fmr_1e-4 (default: the model's)")
@click.option(
    "--b-role",
    type=click.Choice(["selfie", "portrait"]),
    default="selfie",
    show_default=True,
    help="use 'portrait' when B is a chip photo",
)
def face_compare(a: Path, b: Path, operating_point: str | None, b_role: str) -> None:
    """1:1 comparison of the faces in A and B; exit 0 match, 3 no match, 2 error."""
    import dataclasses

    try:
        engine = face_engine()
        fa = engine.analyse_bytes(a.read_bytes(), "selfie")
        fb = engine.analyse_bytes(b.read_bytes(), b_role)
        result = engine.compare(fa, fb, operating_point)
    except EkycError as e:
        fail(e)
    emit({**dataclasses.asdict(result), "a": _analysis_json(fa), "b": _analysis_json(fb)})
    sys.exit(0 if result.matched else 3)


@face.command("calibrate")
@click.argument("pairs", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="threshold file to write (point EKYC_FACE_THRESHOLDS at it)",
)
def face_calibrate(pairs: Path | None, out: Path) -> None:
    """Thresholds at FMR 1e-3 and 1e-4 from PAIRS.csv (path_a,path_b,same)."""
    from ekyc.face.calibrate import main as calibrate_main

    args = [str(pairs)] if pairs is not None else []
    sys.exit(calibrate_main([*args, "--out", str(out)]))
