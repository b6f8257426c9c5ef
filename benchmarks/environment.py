"""The environment of a benchmark run, recorded once: machine, load, runtime, packages, models.

Everything a reader needs to judge (or reproduce) a number: the CPU model and cores, the
load average when the run started (a busy machine inflates every figure), the thread count
and execution providers asked for and those ONNX Runtime really has, the version of every
installed distribution (``importlib.metadata``), the SHA-256 of every model file the suites
load (face models of the registry, the OCR models, tesseract's Vietnamese data, the PAD
models of ../shared when present), the git commit and whether the tree had changes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.machine import describe

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PAD_DIR = SHARED / "models" / "minifasnet"
TESSDATA_VIE = Path("/usr/share/tesseract-ocr/5/tessdata/vie.traineddata")


def _sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


def packages() -> dict[str, str]:
    """Every installed distribution and its version, sorted by name."""
    found: dict[str, str] = {}
    for d in importlib.metadata.distributions():
        name = d.metadata["Name"]
        if name:
            found[name.lower()] = d.version
    return dict(sorted(found.items()))


def models() -> list[dict[str, Any]]:
    """Each model file a suite may load: id, path, expected and actual SHA-256."""
    out: list[dict[str, Any]] = []
    try:
        from models.registry import default_registry

        registry = default_registry()
        for check, entry in zip(registry.verify(), registry.entries, strict=True):
            out.append(
                {
                    "id": entry.id,
                    "kind": entry.kind,
                    "path": check.path,
                    "sha256_expected": entry.sha256,
                    "sha256": check.actual_sha256,
                    "ok": check.ok,
                }
            )
    except Exception as e:  # noqa: BLE001 - the record says what could not be read
        out.append({"id": "face-registry", "error": f"{type(e).__name__}: {e}"})
    try:
        from models.ocr.assets import manifest, package_dir

        for rec in manifest().values():
            try:
                path = package_dir(rec.package) / rec.file
            except Exception as e:  # noqa: BLE001
                out.append({"id": rec.id, "kind": "ocr", "error": str(e)})
                continue
            actual = _sha256(path)
            out.append(
                {
                    "id": rec.id,
                    "kind": "ocr",
                    "path": str(path),
                    "sha256_expected": rec.sha256,
                    "sha256": actual,
                    "ok": actual == rec.sha256,
                }
            )
    except Exception as e:  # noqa: BLE001
        out.append({"id": "ocr-manifest", "error": f"{type(e).__name__}: {e}"})
    extra = [("tesseract-vie", "ocr_peer", TESSDATA_VIE)]
    extra += [(p.stem, "face_pad (dev copy)", p) for p in sorted(PAD_DIR.glob("*.onnx"))]
    for model_id, kind, path in extra:
        if path.is_file():
            sha = _sha256(path)
            out.append({"id": model_id, "kind": kind, "path": str(path), "sha256": sha})
    return out


def git() -> dict[str, Any]:
    """The commit of the working tree and whether it had uncommitted changes."""

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _tool_version(binary: str, *args: str) -> str | None:
    path = shutil.which(binary)
    if path is None:
        return None
    try:
        done = subprocess.run([path, *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else None


def runtime(providers: tuple[str, ...], threads: int) -> dict[str, Any]:
    """Threads and providers asked for, and what ONNX Runtime and OpenCV bring."""
    info: dict[str, Any] = {"threads": threads, "providers_requested": list(providers)}
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["onnxruntime_device"] = ort.get_device()
        info["providers_available"] = ort.get_available_providers()
    except ImportError as e:
        info["onnxruntime"] = f"unavailable: {e}"
    try:
        import cv2

        info["opencv"] = cv2.__version__
        info["opencv_threads"] = cv2.getNumThreads()
    except ImportError as e:
        info["opencv"] = f"unavailable: {e}"
    info["tesseract"] = _tool_version("tesseract", "--version")
    info["env"] = {
        k: os.environ[k]
        for k in sorted(os.environ)
        if k.startswith(("OMP_", "EKYC_ONNX", "OPENBLAS_", "MKL_"))
    }
    return info


def record(providers: tuple[str, ...], threads: int) -> dict[str, Any]:
    """The whole environment section of a results document."""
    machine = describe()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            **machine,
            "cores_usable": affinity,
            "hostname": platform.node(),
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
        },
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "runtime": runtime(providers, threads),
        "git": git(),
        "packages": packages(),
        "models": models(),
    }
