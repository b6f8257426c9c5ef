"""What every command shares: JSON out, the error exit, reports, images, the face engine."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from ekyc.settings import Settings


def emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def fail(e: Exception) -> NoReturn:
    emit({"error": {"code": getattr(e, "code", "error"), "message": str(e)}})
    sys.exit(2)


def write_report(report: dict[str, Any], path: Path | None) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))


def read_image(path: Path) -> Any:
    from ekyc.face.image import decode_image

    return decode_image(path.read_bytes())


def face_engine():  # type: ignore[no-untyped-def]
    from ekyc.face.pipeline import FaceEngine
    from models.registry import default_registry
    from models.session import options_from

    settings = Settings()
    return FaceEngine.from_registry(
        default_registry(settings.models_manifest),
        options_from(settings.onnx_providers, settings.onnx_threads),
        thresholds_path=settings.face_thresholds,
    )
