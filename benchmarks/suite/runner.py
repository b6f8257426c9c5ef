"""The suite registry, what each needs, and one run of several suites into one document."""

from __future__ import annotations

import datetime as dt
import importlib
import shutil
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import environment
from benchmarks.suite.context import Context, SuiteSkipped

SCHEMA_VERSION = 1
FACES = environment.SHARED / "data" / "faces"
VPCD_DRIVERS = (
    Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so"),
    Path("/usr/lib/x86_64-linux-gnu/pcsc/drivers/serial/libifdvpcd.so"),
)


def _needs_faces(ctx: Context) -> str | None:
    if not (FACES / "obama__obama.jpg").is_file():
        return f"the development face photos are missing ({FACES})"
    return None


def _needs_chip(ctx: Context) -> str | None:
    if shutil.which("pcscd") is None and not Path("/usr/sbin/pcscd").exists():
        return "pcscd is not installed (apt-get install pcscd vsmartcard-vpcd)"
    if not any(p.exists() for p in VPCD_DRIVERS):
        return "the vpcd virtual reader is not installed (apt-get install vsmartcard-vpcd)"
    try:
        importlib.import_module("smartcard")
    except ImportError:
        return "pyscard is not installed (pip install -e '.[kiosk]')"
    return None


def _needs_ocr(ctx: Context) -> str | None:
    try:
        from ekyc.fonts import FontNotFound, font
        from models.ocr.errors import EngineUnavailable
        from models.ocr.factory import load_ocr

        font("serif", 20)
        load_ocr("default", ctx.runtime(1))
    except (FontNotFound, EngineUnavailable) as e:
        return f"OCR or fonts unavailable: {e}"
    return None


def _needs_service(ctx: Context) -> str | None:
    return _needs_faces(ctx)


@dataclass(frozen=True)
class Suite:
    """A named suite: what it measures, what it needs, where its code lives."""

    name: str
    about: str
    module: str  # benchmarks.suite.<module>.run(ctx) -> section
    needs: Callable[[Context], str | None]

    def run(self, ctx: Context) -> dict[str, Any]:
        """The suite's section of the document."""
        fn = importlib.import_module(f"benchmarks.suite.{self.module}").run
        section: dict[str, Any] = fn(ctx)
        return section


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite("chip", "full chip read through pcscd + the virtual card, and its verification",
              "chip", _needs_chip),
        Suite("face", "face stages, 1:1 verify, 10-frame liveness; raw ONNX Runtime and "
              "OpenCV's own face pipeline as peers", "face", _needs_faces),
        Suite("ocr", "one line, one card side, one A4 page; tesseract (vie) and raw ONNX "
              "Runtime as peers", "ocr", _needs_ocr),
        Suite("compare", "copy vs original: time per card side and per A4 page", "compare",
              _needs_ocr),
        Suite("service", "the HTTP service on loopback at 1..16 clients; a bare FastAPI "
              "hello as peer", "service", _needs_service),
        Suite("accuracy", "FNMR at each FMR on labelled face pairs (--pairs), OCR field "
              "accuracy and tamper detection on generated data", "accuracy", _needs_ocr),
    )
}  # fmt: skip


def _figures(name: str, section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The headline figures of a section: each stage's p50/p95, each peer ratio, its own."""
    out: dict[str, dict[str, Any]] = {}
    for stage, s in section.get("stages", {}).items():
        if s.get("n"):
            for q in ("p50", "p95"):
                out[f"{name}.{stage}.{q}_{s['unit']}"] = {
                    "value": s[q],
                    "unit": s["unit"],
                    "better": "lower",
                    "label": f"{name} {stage} {q}",
                }
    for peer in section.get("peers", []):
        if peer.get("ratio") is not None:
            out[f"{name}.peer.{peer['id']}.ratio"] = {
                "value": peer["ratio"],
                "unit": "x",
                "better": "lower",
                "label": f"{name}: {peer['project']} / {peer['peer']}",
            }
    for key, fig in section.get("figures", {}).items():
        out[f"{name}.{key}"] = fig
    return out


def run_suites(
    names: list[str],
    ctx: Context,
    argv: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the named suites (all when empty) and return the results document."""
    explicit = bool(names)
    chosen = names or list(SUITES)
    started = time.perf_counter()
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": "ekyc bench run",
        "argv": argv or [],
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "options": {
            "suites": chosen,
            "quick": ctx.quick,
            "providers": list(ctx.providers),
            "threads": ctx.threads,
            "pairs": [str(p) for p in ctx.pairs],
        },
        "environment": environment.record(ctx.providers, ctx.threads),
        "suites": {},
        "skipped": {},
        "figures": {},
    }
    for name in chosen:
        suite = SUITES[name]
        why = suite.needs(ctx)
        if why is not None:
            doc["suites"][name] = {"status": "skipped", "reason": why}
            doc["skipped"][name] = why
            log(f"{name}: skipped — {why}" + ("" if explicit else " (not installed here)"))
            continue
        log(f"{name}: {suite.about}")
        t0 = time.perf_counter()
        try:
            section = suite.run(ctx)
        except SuiteSkipped as e:
            doc["suites"][name] = {"status": "skipped", "reason": str(e)}
            doc["skipped"][name] = str(e)
            log(f"{name}: skipped — {e}")
            continue
        except Exception as e:  # noqa: BLE001 - one suite failing must not lose the others
            doc["suites"][name] = {
                "status": "error",
                "reason": f"{type(e).__name__}: {e}",
                "traceback": traceback.format_exc(limit=8),
            }
            log(f"{name}: ERROR {type(e).__name__}: {e}")
            continue
        section = {"status": "ok", "seconds": round(time.perf_counter() - t0, 2), **section}
        for part, why_part in section.get("skipped_parts", {}).items():
            doc["skipped"][f"{name}.{part}"] = why_part
        doc["suites"][name] = section
        doc["figures"].update(_figures(name, section))
        log(f"{name}: done in {section['seconds']:.1f} s")
    doc["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    doc["duration_s"] = round(time.perf_counter() - started, 2)
    import os

    doc["environment"]["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return doc
