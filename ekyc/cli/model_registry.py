"""`ekyc models`: the ONNX model registry."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ekyc.cli._common import emit, fail
from ekyc.settings import Settings


@click.group()
def models() -> None:
    """The ONNX model registry: built-in defaults and models registered by file."""


def _registry():  # type: ignore[no-untyped-def]
    from models.registry import default_registry

    return default_registry(Settings().models_manifest)


@models.command("list")
def models_list() -> None:
    """Print every registered model with its licence, source and hash."""
    emit(
        [
            {
                "id": e.id,
                "kind": e.kind,
                "name": e.name,
                "license": e.license,
                "source": e.source,
                "sha256": e.sha256,
                "file": e.file,
                "builtin": e.builtin,
            }
            for e in _registry().entries
        ]
    )


@models.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--kind", required=True, type=click.Choice(["face_detector", "face_embedder", "face_pad"])
)
@click.option("--license", "license_", required=True, help="the model's licence (SPDX id)")
@click.option("--source", required=True, help="where the file comes from")
@click.option("--name", help="human name")
@click.option("--crop-scale", type=float, help="face_pad: crop scale (MiniFASNet 2.7 or 4.0)")
def models_add(
    path: Path, kind: str, license_: str, source: str, name: str | None, crop_scale: float | None
) -> None:
    """Register a local model file by hash (EKYC_MODELS_MANIFEST must be set)."""
    from models.errors import ModelError

    if Settings().models_manifest is None:
        raise click.UsageError("set EKYC_MODELS_MANIFEST to the user manifest file to write")
    preprocessing = {"crop_scale": crop_scale} if crop_scale is not None else None
    try:
        entry = _registry().add(
            path.resolve(),
            kind,
            license_,
            source,
            name=name,
            preprocessing=preprocessing,
        )
    except ModelError as e:
        fail(e)
    emit({"added": entry.id, "sha256": entry.sha256, "kind": entry.kind})


@models.command("verify")
def models_verify() -> None:
    """Re-hash every registered model file; exit 1 when any is missing or altered."""
    checks = _registry().verify()
    emit([{"id": c.id, "path": str(c.path), "ok": c.ok, "problem": c.problem} for c in checks])
    sys.exit(0 if all(c.ok for c in checks) else 1)
