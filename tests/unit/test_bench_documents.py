"""Tiny, untimed runs of the document benchmarks through ``ekyc bench``.

The figures themselves come from full runs (README); these keep the suites from rotting and
check that what they count is counted (a wrong MRZ never passes, an honest clean page reads).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ekyc.cli import main
from ekyc.fonts import FontNotFound, font
from models.ocr.errors import EngineUnavailable
from models.ocr.factory import load_ocr


@pytest.fixture(scope="module", autouse=True)
def _needs_ocr_and_fonts() -> None:
    try:
        font("serif", 20)
        load_ocr("default")
    except (FontNotFound, EngineUnavailable) as exc:
        pytest.skip(str(exc))


def bench(tmp_path: Path, *args: str) -> tuple[dict[str, Any], str]:
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["bench", *args, "--json-out", str(out)])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(out.read_text())
    return report, result.output


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="no tesseract binary")
def test_card_ocr_bench_side_by_side(tmp_path: Path) -> None:
    report, out = bench(
        tmp_path,
        "card-ocr",
        "--cards",
        "2",
        "--engines",
        "default,tesseract",
        "--generators",
        "own",
    )
    assert set(report["runs"]) == {"default", "default+det", "tesseract", "tesseract+det"}
    for conditions in report["runs"].values():
        assert set(conditions) == {"clean", "phone_photo", "photocopy"}
        for r in conditions.values():
            assert r["mrz"]["valid_or_rejected"] == 1.0  # never a wrong MRZ that passes
            assert r["timings_ms"]["total"]["median"] > 0
    assert report["runs"]["default"]["clean"]["field_exact"] >= 0.9
    assert "fields below 100%" in out


def test_card_ocr_bench_other_generator_reported_apart(tmp_path: Path) -> None:
    report, _ = bench(
        tmp_path, "card-ocr", "--cards", "3", "--engines", "default", "--generators", "own,other",
        "--conditions", "clean", "--detector-modes", "off",
    )  # fmt: skip
    assert set(report["runs"]) == {"default", "default@other"}
    other = report["runs"]["default@other"]["clean"]
    # three sides of cards no layout describes (2016 front and back, 2021 front): read by print
    assert other["methods"].get("printed", 0) >= 2
    assert other["field_exact"] >= 0.8


def test_page_ocr_bench_counts_words(tmp_path: Path) -> None:
    report, out = bench(tmp_path, "page-ocr", "--pages", "1")
    conditions = report["conditions"]
    assert set(conditions) == {"clean", "photocopy", "scan", "phone_photo"}
    clean = conditions["clean"]
    assert clean["words"]["printed"] > 50 and clean["words"]["recall"] >= 0.9
    assert clean["detect"]["median"] > 0 and clean["recognise"]["median"] > 0
    assert "word recall" in out


def test_compare_bench_reports_every_tamper_and_floor(tmp_path: Path) -> None:
    report, out = bench(tmp_path, "compare", "--pairs", "1")
    kinds = set(report["table"])
    assert kinds == {"char", "date", "portrait", "line_removed", "honest"}
    assert all(report["table"][k]["all"]["n"] == 1 for k in kinds)
    assert report["table"]["date"]["all"]["hits"] == 1  # a changed date on a clean-enough copy
    assert {"detection_date", "false_alarm"} <= set(report["floors"])
    assert len(report["samples"]) == 5
    assert "false alarms" in out
