"""`ekyc ocr card` and `ekyc compare`: card OCR and copy-vs-original."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ekyc.cli._common import emit, face_engine, fail, read_image
from ekyc.errors import EkycError
from ekyc.settings import Settings


@click.group()
def ocr() -> None:
    """Read ID cards: printed fields, MRZ, QR, cross-checked."""


@ocr.command("card")
@click.argument("image", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(["default", "tesseract", "paddle"]),
    default="default",
    show_default=True,
    help="paddle: the PaddleOCR models in EKYC_OCR_MODEL_DIR",
)
@click.option("--detector", is_flag=True, help="locate value lines with the text detector")
@click.option(
    "--dg13-from",
    "dg13_from",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="raw DG13 file read from the chip, to cross-check against",
)
def ocr_card(image: Path, engine: str, detector: bool, dg13_from: Path | None) -> None:
    """Read one card side; exit 0 when readable and consistent, 3 when not, 2 on error."""
    import dataclasses

    from ekyc.cccd.dg13 import parse_dg13
    from ekyc.document.crosscheck import cross_check
    from ekyc.document.fields import read_card
    from models.ocr.errors import OcrError
    from models.ocr.factory import load_ocr

    try:
        dg13 = parse_dg13(dg13_from.read_bytes()) if dg13_from is not None else None
        ocr = load_ocr(engine, model_dir=Settings().ocr_model_dir)
        r = read_card(read_image(image), ocr, use_detector=detector)
    except (EkycError, OcrError) as e:
        fail(e)
    report = cross_check(dg13=dg13, qr=r.qr, mrz=r.mrz, printed=r.fields)
    mrz = None
    if r.mrz_text is not None:
        mrz = {
            "text": r.mrz_text,
            "valid": r.mrz.valid if r.mrz is not None else False,
            "checks": r.mrz.checks if r.mrz is not None else {},
            "error": r.mrz_error,
        }
    emit(
        {
            "model": r.model,
            "side": r.side,
            "upside_down": r.upside_down,
            "fields": r.fields,
            "confidence": {k: round(v, 3) for k, v in r.confidence.items()},
            "mrz": mrz,
            "qr": None
            if r.qr_text is None and r.qr_error is None
            else {
                "text": r.qr_text,
                "parsed": dataclasses.asdict(r.qr) if r.qr is not None else None,
                "error": r.qr_error,
            },
            "cross_source": {
                "consistent": report.consistent,
                "fields": {
                    k: {
                        "status": f.status,
                        "values": f.values,
                        "disagreements": [dataclasses.asdict(d) for d in f.disagreements],
                    }
                    for k, f in report.fields.items()
                    if f.status != "absent"
                },
            },
            "timings_ms": r.timings_ms,
            "engine": engine,
        }
    )
    readable = bool(r.fields) and (r.mrz_text is None or (r.mrz is not None and r.mrz.valid))
    sys.exit(0 if readable and report.consistent else 3)


def _face_comparer() -> Any:
    """A (portrait, portrait) → same-person callable, or None when face models do not load."""
    from ekyc.document.portrait import face_comparer

    try:
        return face_comparer(face_engine())
    except (EkycError, OSError):
        return None


@click.command("compare")
@click.argument("original", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("copy", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--heatmap", type=click.Path(path_type=Path), help="write the heatmap PNG here")
@click.option(
    "--pages",
    help="further page pairs: ORIG2,COPY2;ORIG3,COPY3 (paths; the first pair is the arguments)",
)
@click.option(
    "--engine",
    type=click.Choice(["default", "tesseract", "paddle", "none"]),
    default="default",
    help="paddle: the PaddleOCR models in EKYC_OCR_MODEL_DIR; none: ink only",
)
def compare_cmd(
    original: Path, copy: Path, heatmap: Path | None, pages: str | None, engine: str
) -> None:
    """Is COPY a faithful copy of ORIGINAL? Exit 0 match, 3 mismatch/unreadable, 2 error."""
    import dataclasses

    import cv2

    from ekyc.document.compare import compare_documents
    from models.ocr.errors import OcrError
    from models.ocr.factory import load_ocr

    pairs = [(original, copy)]
    for item in filter(None, (pages or "").split(";")):
        o, _, c = item.partition(",")
        if not c:
            raise click.BadParameter("--pages wants ORIG,COPY pairs separated by ';'")
        pairs.append((Path(o.strip()), Path(c.strip())))
    try:
        originals = [read_image(o) for o, _ in pairs]
        copies = [read_image(c) for _, c in pairs]
        model_dir = Settings().ocr_model_dir
        engine_obj = None if engine == "none" else load_ocr(engine, model_dir=model_dir)
        verdict = compare_documents(originals, copies, engine_obj, _face_comparer())
    except (EkycError, OcrError, OSError) as e:
        fail(e)
    if heatmap is not None:
        cv2.imwrite(str(heatmap), verdict.heatmap)
    emit(
        {
            "verdict": str(getattr(verdict.verdict, "value", verdict.verdict)),
            "differences": [dataclasses.asdict(d) for d in verdict.differences],
            "why": verdict.why,
            "heatmap": str(heatmap) if heatmap is not None else None,
        }
    )
    sys.exit(0 if str(getattr(verdict.verdict, "value", verdict.verdict)).upper() == "MATCH" else 3)
