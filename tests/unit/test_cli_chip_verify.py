"""`ekyc chip verify`: stored raw chip files re-verified offline, with `chip read`'s exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ekyc.cli import main
from ekyc.cli.chip import write_raw_files
from ekyc.icao import lds
from ekyc.icao.sod import build_sod
from ekyc.synth import chip as synth
from ekyc.synth.chip import SynthChip, build_chip
from ekyc.synth.pki import write_trust_folder

AT = "2025-06-01T12:00:00+00:00"
DG11 = lds.wrap(0x6B, lds.wrap(0x5C, b"\x5f\x0e") + lds.wrap(0x5F0E, b"NGUYEN<<VAN<AN"))


@pytest.fixture(scope="module")
def chip() -> SynthChip:
    return build_chip(seed=8)


@pytest.fixture(scope="module")
def trust(chip: SynthChip, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("csca")
    write_trust_folder(folder, [chip.pki.csca_cert])
    return folder


@pytest.fixture
def raw(chip: SynthChip, tmp_path: Path) -> Path:
    """A folder laid out as `chip read --raw-out` writes it (the same function writes it)."""
    folder = tmp_path / "raw"
    write_raw_files(folder, chip.files)
    return folder


def run(*args: str | Path, trust: Path | None = None) -> tuple[int, dict[str, Any]]:
    argv = ["chip", "verify", *map(str, args), "--at", AT]
    if trust is not None:
        argv += ["--trust", str(trust)]
    result = CliRunner().invoke(main, argv)
    return result.exit_code, json.loads(result.stdout)


def test_raw_out_folder_verifies_with_aa_not_performed(raw: Path, trust: Path) -> None:
    assert sorted(p.name for p in raw.iterdir()) == [
        "DG1.bin",
        "DG13.bin",
        "DG14.bin",
        "DG15.bin",
        "DG2.bin",
        "EF.COM.bin",
        "EF.CardAccess.bin",
        "EF.SOD.bin",
    ]
    code, out = run(raw, trust=trust)
    assert code == 0, out
    assert out["verdict"] == "valid" and out["reasons"] == []
    assert out["active_authentication"]["status"] == "not_performed"
    assert out["active_authentication"]["required"] is False
    assert out["mrz"]["format"] == "TD1" and out["mrz"]["issuing_state"] == "VNM"
    assert set(out["files"]) == {"EF.COM", "EF.SOD", "EF.CardAccess", "DG1", "DG2", "DG13",
                                 "DG14", "DG15"}  # fmt: skip
    assert out["files"]["EF.SOD"] == str(raw / "EF.SOD.bin")
    assert out["verified_at"] == AT


def test_require_aa_exits_3(raw: Path, trust: Path) -> None:
    code, out = run(raw, "--require-aa", trust=trust)
    assert code == 3
    assert out["verdict"] == "invalid" and [r["code"] for r in out["reasons"]] == ["aa_missing"]


def test_tampered_file_exits_3(raw: Path, trust: Path) -> None:
    dg13 = raw / "DG13.bin"
    data = bytearray(dg13.read_bytes())
    data[-3] ^= 1
    dg13.write_bytes(bytes(data))
    code, out = run(raw, trust=trust)
    assert code == 3
    assert out["passive_authentication"]["data_groups"]["DG13"]["code"] == "dg_hash_mismatch"


def test_unknown_issuer_exits_3(raw: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EKYC_TRUST_STORE", raising=False)
    code, out = run(raw)
    assert code == 3 and out["verdict"] == "issuer_unknown"


def test_at_decides_certificate_validity(raw: Path, trust: Path) -> None:
    argv = ["chip", "verify", str(raw), "--trust", str(trust), "--at", "2034-01-01T00:00:00"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 3 and json.loads(result.stdout)["verdict"] == "expired"


def test_explicit_files_named_by_stem_with_a_dg11(
    chip: SynthChip, trust: Path, tmp_path: Path
) -> None:
    dgs = {int(n[2:]): d for n, d in chip.files.items() if n.startswith("DG")} | {11: DG11}
    sod = build_sod(dgs, ds_key=chip.pki.ds_key, ds_cert=chip.pki.ds_cert)
    paths = []
    for name, data in {**chip.files, "DG11": DG11, "EF.SOD": sod}.items():
        # every spelling `chip verify` takes: SOD.der, EF.COM (no suffix), dg1.bin …
        stored = {"EF.SOD": "sod.der", "EF.COM": "EF.COM", "DG1": "dg1.bin"}.get(name, name)
        path = tmp_path / stored
        path.write_bytes(data)
        paths.append(path)
    code, out = run(*paths, trust=trust)
    assert code == 0, out
    assert out["files"]["EF.SOD"] == str(tmp_path / "sod.der")
    assert out["data_groups"]["DG11"] == {
        "hash": "ok",
        "hash_code": "dg_hash_match",
        "parsed": False,
        "note": "present, not parsed",
    }


def test_other_files_in_the_folder_are_ignored(raw: Path, trust: Path) -> None:
    (raw / "face.jpg").write_bytes(b"\xff\xd8\xff")
    (raw / "read.json").write_text("{}")
    assert run(raw, trust=trust)[0] == 0


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda raw: (raw / "DG17.bin").write_bytes(b"\x00"), "unknown_chip_file"),
        (lambda raw: (raw / "notes.bin").write_bytes(b"\x00"), "unknown_chip_file"),
        (lambda raw: (raw / "EF.SOD.bin").unlink(), "malformed_data"),
        (lambda raw: (raw / "DG11.bin").write_bytes(bytes(32 * 1024 + 1)), "chip_file_too_large"),
    ],
)
def test_bad_folders_exit_2_with_a_stable_code(
    raw: Path, trust: Path, setup: Any, code: str
) -> None:
    setup(raw)
    exit_code, out = run(raw, trust=trust)
    assert exit_code == 2
    assert out["error"]["code"] == code and out["error"]["message"]


def test_duplicate_and_unknown_explicit_files_exit_2(raw: Path, trust: Path) -> None:
    sod = raw / "EF.SOD.bin"
    exit_code, out = run(raw, sod, trust=trust)
    assert exit_code == 2 and out["error"]["code"] == "duplicate_chip_file"
    odd = raw.parent / "portrait.jpg"
    odd.write_bytes(b"\xff\xd8\xff")
    exit_code, out = run(sod, odd, trust=trust)
    assert exit_code == 2 and out["error"]["code"] == "unknown_chip_file"
    assert "portrait.jpg" in out["error"]["message"]


def test_empty_folder_exits_2(tmp_path: Path, trust: Path) -> None:
    exit_code, out = run(tmp_path, trust=trust)
    assert exit_code == 2 and out["error"]["code"] == "no_chip_files"


def test_passport_files_verify(tmp_path: Path) -> None:
    """A TD3 chip without DG13 and without AA: MRZ fields, no consistency, valid."""
    from ekyc.icao.dg1 import Dg1
    from ekyc.icao.mrz import encode_td3

    pki = synth.TestPki.generate(seed="cli-passport")
    mrz = encode_td3(
        document_number="C01X00T47",
        date_of_birth="640812",
        date_of_expiry="310101",
        surname="MUSTERMANN",
        given_names="ERIKA",
        sex="F",
        issuing_state="D",
        nationality="D",
    )
    dgs = {1: Dg1(mrz).encode(), 11: DG11, 12: lds.wrap(0x6C, b"")}
    write_raw_files(
        tmp_path / "raw",
        {
            **{f"DG{n}": d for n, d in dgs.items()},
            "EF.SOD": build_sod(dgs, ds_key=pki.ds_key, ds_cert=pki.ds_cert),
        },
    )
    write_trust_folder(tmp_path / "csca", [pki.csca_cert])
    code, out = run(tmp_path / "raw", trust=tmp_path / "csca")
    assert code == 0, out
    assert out["mrz"]["format"] == "TD3" and out["mrz"]["document_code"] == "P"
    assert out["mrz"]["issuing_state"] == "D" and out["active_authentication"] is None
    assert out["data_groups"]["DG12"]["parsed"] is False
