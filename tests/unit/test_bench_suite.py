"""``ekyc bench run``: the results document, the report, the baseline comparison.

One quick end-to-end run of the face suite (the suite works; no speed is asserted), then the
same against a doctored baseline (it must exit 1); the rest on hand-made documents.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from benchmarks import baseline, measure, report
from benchmarks.suite import runner
from benchmarks.suite.context import Context
from ekyc.cli import main

FACES = runner.FACES


def _stage(values: list[float]) -> dict[str, Any]:
    return measure.stage(values)


def _doc(**suites: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": runner.SCHEMA_VERSION,
        "argv": ["bench", "run"],
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 1.0,
        "options": {"suites": list(suites), "quick": True, "providers": ["cpu"], "threads": 1},
        "environment": {
            "machine": {"cpu": "test", "cores": 2, "load_average_start": [0, 0, 0]},
            "python": {"version": "3.11"},
            "runtime": {"threads": 1},
            "git": {"commit": "abc", "dirty": False},
            "packages": {"numpy": "2"},
            "models": [{"id": "m", "kind": "k", "sha256": "0" * 64, "path": "/m"}],
        },
        "suites": {k: {"status": "ok", **v} for k, v in suites.items()},
        "skipped": {"chip": "pcscd is not installed"},
        "figures": {
            f"{k}.{st}.p50_ms": {"value": s["p50"], "unit": "ms", "better": "lower", "label": st}
            for k, v in suites.items()
            for st, s in v.get("stages", {}).items()
        },
    }


def _images(html: str) -> int:
    return len(re.findall(r'<img alt="plot" src="data:image/png;base64,[A-Za-z0-9+/=]+">', html))


# --- measurement --------------------------------------------------------------------------


def test_summary_fields_and_percentiles() -> None:
    s = measure.summarise([float(x) for x in range(1, 101)])
    assert {"n", "p50", "p95", "p99", "min", "max", "mean", "p50_ci95", "stable"} <= set(s)
    assert (s["n"], s["min"], s["max"], s["p95"], s["p99"]) == (100, 1.0, 100.0, 95.0, 99.0)
    lo, hi = s["p50_ci95"]
    assert lo < s["p50"] < hi
    assert measure.summarise([5.0] * 10)["stable"] is True


def test_repeat_warms_up_and_respects_the_budget() -> None:
    calls: list[int] = []
    budget = measure.Budget(warmup=2, min_runs=5, max_runs=7, max_seconds=10, rel_ci=0.0)
    samples = measure.repeat(lambda: calls.append(1), budget)
    assert len(calls) == 2 + len(samples) and 5 <= len(samples) <= 7
    slow = measure.QUICK.scaled(0.1)
    assert slow.min_runs == measure.QUICK.floor_runs and slow.max_seconds == 0.6


# --- baseline -------------------------------------------------------------------------------


def test_baseline_flags_only_what_moved_the_wrong_way() -> None:
    def figs(**values: tuple[float, str]) -> dict[str, Any]:
        return {
            "schema_version": runner.SCHEMA_VERSION,
            "figures": {k: {"value": v, "better": b, "unit": ""} for k, (v, b) in values.items()},
        }

    base = figs(t=(100.0, "lower"), rps=(100.0, "higher"), acc=(0.99, "higher"), fa=(0.0, "lower"))
    now = figs(t=(109.0, "lower"), rps=(80.0, "higher"), acc=(0.995, "higher"), fa=(0.01, "lower"))
    cmp = baseline.compare(now, base, 0.10)
    assert sorted(cmp["regressions"]) == ["fa", "rps"]  # 9 % slower is within 10 %
    rows = {r["id"]: r for r in cmp["rows"]}
    assert rows["t"]["ratio"] == 1.09 and rows["fa"]["ratio"] is None
    assert baseline.compare(now, base, 0.05)["regressions"] == ["t", "rps", "fa"]


@pytest.mark.parametrize(
    ("text", "value"), [("10%", 0.1), ("2.5 %", 0.025), ("0.2", 0.2), ("15", 0.15)]
)
def test_tolerance_option(text: str, value: float) -> None:
    from ekyc.cli.bench import _tolerance

    assert _tolerance(None, None, text) == pytest.approx(value)


# --- runner and report -----------------------------------------------------------------------


def test_a_suite_that_cannot_run_is_skipped_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake = runner.Suite("chip", "x", "chip", lambda ctx: "pcscd is not installed")
    monkeypatch.setattr(runner, "SUITES", {"chip": fake})
    lines: list[str] = []
    doc = runner.run_suites([], Context(quick=True, workdir=tmp_path), log=lines.append)
    assert doc["suites"]["chip"] == {"status": "skipped", "reason": "pcscd is not installed"}
    assert doc["skipped"] == {"chip": "pcscd is not installed"}
    assert any("chip: skipped" in line for line in lines)
    env = doc["environment"]
    assert env["machine"]["cores"] and len(env["machine"]["load_average_start"]) == 3
    assert env["packages"]["numpy"] and env["git"]["commit"]
    assert any(m.get("sha256") and len(m["sha256"]) == 64 for m in env["models"])


def test_report_has_every_section_without_fetching_anything() -> None:
    stages = {"detect": _stage([4.0, 5.0, 6.0]), "embed": _stage([9.0, 10.0, 12.0])}
    doc = _doc(
        face={
            "stages": stages,
            "peers": [
                {"id": "ort.detect", "project": "detect", "peer": "raw ONNX Runtime",
                 "project_ms": {"p50": 5.0}, "peer_ms": {"p50": 4.0}, "ratio": 1.25},
                {"id": "opencv.embed", "project": "embed", "peer": "OpenCV", "ratio": None,
                 "available": False, "why": "cannot load"},
            ],
        },
        service={
            "stages": {"GET (client)": _stage([3.0, 4.0])},
            "breakdown": {"about": "one session", "steps": [{"name": "chip", "ms": 20.0},
                                                            {"name": "frames", "ms": 180.0}]},
            "throughput": {"about": "sqlite", "levels": [
                {"clients": 1, "rps": 170.0, "hello rps": 500.0},
                {"clients": 4, "rps": 150.0, "hello rps": 200.0}]},
        },
        accuracy={
            "accuracy": {
                "faces": {
                    "source": "pairs.csv", "genuine_pairs": 2, "impostor_pairs": 3,
                    "smallest_fmr_bounded": 0.6, "eer": {"rate": 0.0, "threshold": 0.5},
                    "points": {"conservative": {
                        "threshold": 0.5, "kind": "measured", "default": True,
                        "fmr": {"errors": 0, "trials": 3, "ci95": [0.0, 0.7]},
                        "fnmr": {"errors": 0, "trials": 2, "ci95": [0.0, 0.8]}}},
                    "fnmr_at_fmr": [{"target_fmr": 0.1, "threshold": 0.4, "resolved": False,
                                     "fmr": 0.0, "fnmr": 0.0}],
                    "det": {"threshold": [0.1, 0.5, 0.9], "fmr": [1.0, 0.0, 0.0],
                            "fnmr": [0.0, 0.0, 0.5]},
                },
                "ocr_fields": {"cards_per_condition": 2, "seed": 1000, "engines": {
                    "default": {"clean": {"field_exact": 1.0, "mrz_valid_or_rejected": 1.0,
                                          "qr_decode_rate": 1.0, "errors": {}}}}},
                "tamper": {"about": "6 pairs", "kinds": {
                    "char": {"verdict": "MISMATCH", "hits": 1, "n": 1, "rate": 1.0}}},
            },
            "skipped_parts": {},
        },
    )  # fmt: skip
    page = report.render(doc)
    for heading in ("Peers in the same run", "Latency distributions", "Stage breakdown",
                    "Throughput against concurrency", "Accuracy", "DET", "Environment",
                    "cannot load", "pcscd is not installed"):  # fmt: skip
        assert heading in page, heading
    # peers, 2 latency plots, breakdown, throughput, DET
    assert _images(page) == 6
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from the network

    base = copy.deepcopy(doc)
    base["figures"]["face.detect.p50_ms"]["value"] = 2.5  # now twice as slow
    doc["comparison"] = baseline.compare(doc, base, 0.1)
    page = report.render(doc)
    assert "Against the baseline" in page and 'class="regression"' in page
    assert _images(page) == 7


def test_a_figure_that_fell_to_zero_is_a_regression_the_report_can_draw() -> None:
    doc = _doc(face={"stages": {"detect": _stage([4.0, 5.0, 6.0])}})
    doc["figures"]["service.sessions_per_s@1"] = {
        "value": 0.0, "unit": "1/s", "better": "higher", "label": "sessions/s",
    }  # fmt: skip
    base = copy.deepcopy(doc)
    base["figures"]["service.sessions_per_s@1"]["value"] = 3.0
    doc["comparison"] = baseline.compare(doc, base, 0.1)
    assert doc["comparison"]["regressions"] == ["service.sessions_per_s@1"]
    page = report.render(doc)  # a higher-is-better ratio of 0 is drawn at the clamp
    assert 'class="regression"' in page and _images(page) >= 2


# --- end to end -----------------------------------------------------------------------------


@pytest.mark.skipif(not (FACES / "obama__obama.jpg").is_file(), reason="no development faces")
def test_quick_run_then_compare_with_a_doctored_baseline(tmp_path: Path) -> None:
    out = tmp_path / "run1"
    cli = CliRunner()
    result = cli.invoke(main, ["bench", "run", "face", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["schema_version"] == runner.SCHEMA_VERSION
    assert doc["options"]["quick"] is True and doc["options"]["suites"] == ["face"]
    env = doc["environment"]
    assert {"machine", "python", "runtime", "git", "packages", "models"} <= set(env)
    assert env["runtime"]["threads"] == 1 and env["runtime"]["providers_requested"]
    face = doc["suites"]["face"]
    assert face["status"] == "ok"
    for name in ("decode", "detect", "embed", "verify_1to1", "liveness_10_frames"):
        s = face["stages"][name]
        assert {"n", "p50", "p95", "p99", "min", "max", "samples"} <= set(s) and s["n"] >= 2
    ids = {p["id"] for p in face["peers"]}
    assert {"ort.detect", "ort.embed"} <= ids and any(i.startswith("opencv.") for i in ids)
    raw = next(p for p in face["peers"] if p["id"] == "ort.detect")
    assert raw["ratio"] > 0 and raw["peer_ms"]["n"] >= 2
    assert doc["figures"]["face.detect.p50_ms"]["better"] == "lower"
    html = (out / "report.html").read_text()
    assert _images(html) >= 2 and "Environment" in html

    doctored = copy.deepcopy(doc)
    for key, fig in doctored["figures"].items():
        if key.endswith("_ms"):
            fig["value"] = fig["value"] / 10  # the baseline was ten times faster
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(doctored))
    out2 = tmp_path / "run2"
    result = cli.invoke(
        main,
        ["bench", "run", "face", "--quick", "--out", str(out2), "--compare", str(base),
         "--tolerance", "10%"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "REGRESSION" in result.output
    doc2 = json.loads((out2 / "results.json").read_text())
    assert "face.detect.p50_ms" in doc2["comparison"]["regressions"]
    assert "Against the baseline" in (out2 / "report.html").read_text()


def test_suite_options_do_not_go_before_an_old_subcommand() -> None:
    result = CliRunner().invoke(main, ["bench", "--quick", "face"])
    assert result.exit_code == 2 and "ekyc bench run" in result.output
