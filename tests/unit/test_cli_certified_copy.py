"""`ekyc certs init-pdf / revoke-pdf` and `ekyc verify-pdf`: the local test CA signs a
certified copy, which is checked offline with `chip verify`'s exit codes (0 / 3 / 2)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ekyc.cli import main
from ekyc.synth import pdf_pki
from ekyc.verification.certified_copy import Certifier, CopyFacts, issue_certified_copy
from ekyc.verification.pdf_signing import PdfSigningIdentity

PAGE = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
    b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe"
    b"\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.output)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdf") / "ca"
    code, out = _run("certs", "init-pdf", str(folder))
    assert code == 0 and out["environment"]["EKYC_PDF_SIGNER_KEY"].endswith("signer-key.pem")
    return folder


@pytest.fixture(scope="module")
def pdf(ca: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    identity = PdfSigningIdentity.from_folder(ca, test_ca=True)
    now = dt.datetime.now(dt.UTC)
    facts = CopyFacts(
        "sid-cli", "cap-ban-sao", "Chứng thực bản sao", Certifier.clerk("clerk-1"), now,
        "MATCH (pass)", (hashlib.sha256(PAGE).hexdigest(),), "http://127.0.0.1:8000/v/result/x",
    )  # fmt: skip
    path = tmp_path_factory.mktemp("out") / "copy.pdf"
    path.write_bytes(issue_certified_copy([PAGE], facts, identity))
    return path


def test_init_refuses_to_overwrite(ca: Path) -> None:
    code, out = _run("certs", "init-pdf", str(ca))
    assert code == 2 and "already holds" in out["error"]["message"]


def test_verify_pdf_valid(ca: Path, pdf: Path) -> None:
    code, out = _run("verify-pdf", str(pdf), "--trust", str(ca / pdf_pki.CHAIN))
    assert code == 0 and out["valid"] is True, out
    assert out["session_id"] == "sid-cli" and out["level"] == "B-LT"
    assert out["file"] == str(pdf)


def test_verify_pdf_altered_and_not_a_pdf(ca: Path, pdf: Path, tmp_path: Path) -> None:
    data = bytearray(pdf.read_bytes())
    data[data.index(b"/Creator") + 12] ^= 0x01  # inside the signed revision
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(bytes(data))
    code, out = _run("verify-pdf", str(bad), "--trust", str(ca / pdf_pki.CHAIN))
    assert code == 3 and out["reason"] == "altered", out
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"nothing here")
    code, out = _run("verify-pdf", str(junk), "--trust", str(ca / pdf_pki.CHAIN))
    assert code == 3 and out["reason"] == "not_a_pdf"


def test_revoked_after_revoke_pdf(ca: Path, pdf: Path, tmp_path: Path) -> None:
    copy = tmp_path / "ca"
    copy.mkdir()
    for f in ca.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    serial = _run("verify-pdf", str(pdf), "--trust", str(ca / pdf_pki.CHAIN))[1]["signer"]["serial"]
    code, out = _run("certs", "revoke-pdf", str(copy), "--serial", serial)
    assert code == 0 and out["revoked"] == [serial]
    code, out = _run(
        "verify-pdf", str(pdf), "--trust", str(ca / pdf_pki.CHAIN), "--crl", str(copy / "crl.pem")
    )
    assert code == 3 and out["reason"] == "signer_revoked", out


def test_other_root_and_no_root(pdf: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _run("certs", "init-pdf", str(other))
    code, out = _run("verify-pdf", str(pdf), "--trust", str(other / pdf_pki.CHAIN))
    assert code == 3 and out["reason"] == "unknown_signer"
    env = {"EKYC_PDF_TEST_CA_DIR": str(tmp_path / "none"), "EKYC_PDF_TRUST_ROOTS": ""}
    code, out = _run("verify-pdf", str(pdf), env=env)
    assert code == 2 and out["error"]["code"] == "no_trust_roots"
