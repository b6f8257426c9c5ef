"""Locate bundled model files inside installed packages and check them against the manifest."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from models.ocr.errors import EngineUnavailable, ModelHashMismatch

MANIFEST = Path(__file__).with_name("manifest.json")


@dataclass(frozen=True)
class ModelRecord:
    """One manifest entry: where the file lives and the hash it must have."""

    id: str
    package: str
    file: str
    sha256: str
    extra: dict[str, Any]


@cache
def manifest() -> dict[str, ModelRecord]:
    """All OCR model records of manifest.json, by id."""
    data = json.loads(MANIFEST.read_text(encoding="utf-8"))
    out: dict[str, ModelRecord] = {}
    for m in data["models"]:
        if m.get("sha256"):
            out[m["id"]] = ModelRecord(m["id"], m["package"], m["file"], m["sha256"], m)
    return out


def package_dir(package: str) -> Path:
    """The folder of an installed top-level package, found without importing (running) it."""
    # find_spec on a top-level name only consults the finders; the package's code never runs.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(package, "package is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def read_verified(path: Path, model_id: str, sha256: str) -> bytes:
    """The bytes of a model file, refused unless its sha256 is the expected one."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise EngineUnavailable(model_id, f"missing file {path}") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelHashMismatch(model_id, sha256, actual)
    return data


def load_model(model_id: str, path: Path | None = None) -> bytes:
    """The verified bytes of a manifest model, from its package or from an explicit path."""
    rec = manifest()[model_id]
    return read_verified(path or package_dir(rec.package) / rec.file, model_id, rec.sha256)


def load_aster_vocab(path: Path | None = None) -> list[str]:
    """The verified 227-symbol asternet vocabulary (index 0 is the CTC blank)."""
    rec = manifest()["asternet-vi-rec"]
    vocab_path = path or package_dir(rec.package) / rec.extra["vocabulary_file"]
    raw = read_verified(vocab_path, "asternet-vi-vocab", rec.extra["vocabulary_sha256"])
    return list(json.loads(raw.decode("utf-8"))["chars"])
