"""A tiny, untimed run of benchmarks.service_load: one client, a few requests, one session."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import service_load as sl


def test_renderable_orders() -> None:
    assert sl.renderable(["turn_left", "look_up"])
    assert not sl.renderable(["look_up", "turn_left"])
    assert not sl.renderable(["turn_right", "look_down"])


def test_floors_flag_misses() -> None:
    ep = {"server_ms": {"p95": 7.0}, "client_ms": {}, "errors": 0}
    report = {
        "databases": {
            "sqlite": {
                "1": {"overhead": {"endpoints": {"GET x": ep}}},
                "4": {"sessions": {"session_server_ms": {"p95": 900.0}}},
            }
        }
    }
    got = {f["what"]: f["ok"] for f in sl.floors(report)}
    assert got == {"GET x server p95 @1 client": False, "full session server p95 @4 clients": True}


def test_tiny_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not (sl.FACES / sl.LIVE_PHOTO).is_file():
        pytest.skip("../shared/data/faces missing")
    report = sl.run(levels=(1,), overhead_requests=4, sessions=1, time_limit_s=60, workdir=tmp_path)
    level = report["databases"]["sqlite"]["1"]
    overhead = level["overhead"]["endpoints"]
    assert overhead["GET /v1/sessions/{id}"]["server_ms"]["n"] == 2
    assert overhead["POST /v1/sessions"]["errors"] == 0
    sessions = level["sessions"]
    assert sessions["completed"] == 1
    assert sessions["session_server_ms"]["n"] == 1  # every request matched in the server log
    # the server's own time never exceeds what the client saw
    assert sessions["session_server_ms"]["p50"] <= sessions["session_client_ms"]["p50"]
    assert set(sessions["endpoints"]) >= {"POST .../chip", "POST .../liveness/frames"}
    assert report["machine"]["cores"] and len(report["load_average_start"]) == 3
    sl.print_report(report)
    out = capsys.readouterr().out
    assert "full session" in out and "floor" in out


def test_cli_passes_options_through() -> None:
    from click.testing import CliRunner

    from ekyc.cli import main

    result = CliRunner().invoke(main, ["bench", "service", "--help"])
    assert result.exit_code == 0 and "--postgres-url" in result.output
    assert CliRunner().invoke(main, ["bench", "service", "--levels"]).exit_code == 2
