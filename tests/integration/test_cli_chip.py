"""`ekyc chip emulate` and `ekyc chip read` as a person runs them, through pcscd."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from readers.pcsc import PcscContext
from tests.conftest import READER

pytestmark = pytest.mark.pcsc
EKYC = [sys.executable, "-m", "ekyc.cli"]


def emulate(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict]:  # type: ignore[type-arg]
    proc = subprocess.Popen(
        [*EKYC, "chip", "emulate", "--trust-out", str(tmp_path / "csca"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:  # the emulator prints one JSON object once the card is in
        lines.append(line)
        if line.startswith("}"):
            break
    return proc, json.loads("".join(lines))


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    with PcscContext() as ctx:
        assert ctx.wait_for_removal(READER, 5)


def read(tmp_path: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = subprocess.run(
        [
            *EKYC,
            "chip",
            "read",
            "--reader",
            READER,
            "--wait",
            "5",
            "--trust",
            str(tmp_path / "csca"),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, json.loads(done.stdout)


def test_emulate_then_read_writes_verified_json_and_portrait(pcscd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, card = emulate(tmp_path, "--seed", "3")
    try:
        code, out = read(
            tmp_path, "--id", card["id_number"], "--portrait", str(tmp_path / "face.jpg")
        )
    finally:
        stop(proc)
    assert code == 0, out
    assert out["verdict"] == "valid"
    assert out["dg13"]["id_number"] == card["id_number"]
    assert out["dg13"]["full_name"] == card["citizen"]
    assert out["mrz"]["checks"]["composite"] is True
    assert out["active_authentication"]["status"] == "ok"
    assert out["read"]["access_protocol"] == "PACE"
    face = (tmp_path / "face.jpg").read_bytes()
    assert face[:3] == b"\xff\xd8\xff" and len(face) == out["portrait"]["bytes"]


def test_forged_chip_exits_3_with_reasons(pcscd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, card = emulate(tmp_path, "--seed", "4", "--tamper-dg", "13", "--no-pace")
    try:
        code, out = read(tmp_path, "--mrz", card["mrz_key"])
    finally:
        stop(proc)
    assert code == 3
    assert out["verdict"] == "invalid"
    assert out["passive_authentication"]["data_groups"]["DG13"]["code"] == "dg_hash_mismatch"
    assert out["read"]["access_protocol"] == "BAC"


def test_wrong_can_exits_2_with_a_stable_code(pcscd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, _ = emulate(tmp_path, "--seed", "5")
    try:
        code, out = read(tmp_path, "--can", "999999")
    finally:
        stop(proc)
    assert code == 2
    assert out["error"]["code"] == "access_denied"


def test_raw_out_folder_is_verified_again_by_chip_verify(pcscd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, card = emulate(tmp_path, "--seed", "6")
    try:
        code, read_out = read(tmp_path, "--can", card["can"], "--raw-out", str(tmp_path / "raw"))
    finally:
        stop(proc)
    assert code == 0, read_out
    verify = [*EKYC, "chip", "verify", str(tmp_path / "raw"), "--trust", str(tmp_path / "csca")]
    done = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    assert out["verdict"] == "valid"
    assert out["active_authentication"]["status"] == "not_performed"  # stored files: no AA
    assert out["mrz"] == read_out["mrz"] and out["dg13"] == read_out["dg13"]
    assert set(out["files"]) >= {"EF.COM", "EF.SOD", "EF.CardAccess", "DG1", "DG2", "DG13"}
    strict = subprocess.run([*verify, "--require-aa"], capture_output=True, text=True, timeout=60)
    assert strict.returncode == 3
