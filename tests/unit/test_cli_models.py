"""`ekyc models list|add|verify` as a deployer runs them."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from ekyc.cli import main
from tests.conftest import SHARED

PAD = SHARED / "models" / "minifasnet" / "minifasnet_v2_scale2.7_80x80.onnx"


@pytest.mark.skipif(not PAD.exists(), reason="../shared/models not available")
def test_add_then_verify_detects_a_tampered_file(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("EKYC_MODELS_MANIFEST", str(tmp_path / "models.json"))
    copy = tmp_path / "pad.onnx"
    shutil.copy(PAD, copy)
    runner = CliRunner()
    added = runner.invoke(
        main,
        [
            "models",
            "add",
            str(copy),
            "--kind",
            "face_pad",
            "--license",
            "Apache-2.0",
            "--source",
            "test",
            "--crop-scale",
            "2.7",
        ],
    )
    assert added.exit_code == 0, added.output
    listed = json.loads(runner.invoke(main, ["models", "list"]).output)
    assert {m["kind"] for m in listed} >= {"face_detector", "face_embedder", "face_pad"}
    assert runner.invoke(main, ["models", "verify"]).exit_code == 0

    copy.write_bytes(copy.read_bytes()[:-1] + b"\x00")
    verify = runner.invoke(main, ["models", "verify"])
    assert verify.exit_code == 1
    bad = [m for m in json.loads(verify.output) if not m["ok"]]
    assert len(bad) == 1 and bad[0]["problem"] == "sha256_mismatch"


def test_add_needs_a_user_manifest(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("EKYC_MODELS_MANIFEST", raising=False)
    f = tmp_path / "x.onnx"
    f.write_bytes(b"x")
    result = CliRunner().invoke(
        main, ["models", "add", str(f), "--kind", "face_pad", "--license", "MIT", "--source", "x"]
    )
    assert result.exit_code == 2 and "EKYC_MODELS_MANIFEST" in result.output
