"""The signed certified copy: built, signed (PAdES B-B and B-LT with the local test CA) and
checked with real keys, certificates and CRLs; each reason a check can fail for."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from ekyc.settings import Settings
from ekyc.synth import pdf_pki
from ekyc.verification.certified_copy import (
    CATALOG_KEY,
    FORMAT,
    Certifier,
    CopyFacts,
    build_pdf,
    issue_certified_copy,
    vietnam_time,
)
from ekyc.verification.pdf_signing import (
    FIELD_NAME,
    PdfSigningError,
    PdfSigningIdentity,
    PdfTrust,
    TimeStampingUnit,
    sign_pdf,
)
from ekyc.verification.pdf_verify import verify_certified_copy

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
SOON = T0 + dt.timedelta(minutes=5)


def _jpeg(seed: int, shape: tuple[int, int] = (700, 500)) -> bytes:
    rng = np.random.default_rng(seed)
    image = np.full((*shape, 3), 235, np.uint8)
    for _ in range(12):
        y = int(rng.integers(20, shape[0] - 20))
        cv2.putText(image, "Giay khai sinh 0123", (20, y), 0, 0.8, (20, 20, 20), 2)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


PAGES = [_jpeg(1), _jpeg(2, (500, 800))]


def _facts(certifier: Certifier | None = None) -> CopyFacts:
    return CopyFacts(
        session_id="s0123456789abcdef",
        procedure="cap-ban-sao",
        procedure_title="Chứng thực bản sao từ bản chính (certified copy)",
        certifier=certifier or Certifier.clerk("clerk-Nguyễn Thị Hằng"),
        certified_at=T0,
        verdict="UNREADABLE (review) — approved by the clerk",
        page_sha256=tuple(hashlib.sha256(p).hexdigest() for p in PAGES),
        verify_url="http://127.0.0.1:8000/v/result/s0123456789abcdef?h=AAAAAAAAAAAAAAAAAAAAAA",
        reasons=("low_resolution",),
        test_ca=True,
    )


@pytest.fixture(scope="module")
def pki() -> pdf_pki.PdfTestPki:
    return pdf_pki.make_pdf_pki(T0)


@pytest.fixture(scope="module")
def lt_identity(pki: pdf_pki.PdfTestPki) -> PdfSigningIdentity:
    tsa = TimeStampingUnit(pki.tsa_key, pki.tsa_cert)
    return PdfSigningIdentity(pki.signer_key, pki.signer_cert, (pki.ca_cert,), (pki.crl,), tsa)


@pytest.fixture(scope="module")
def trust(pki: pdf_pki.PdfTestPki) -> PdfTrust:
    return PdfTrust((pki.ca_cert,), (pki.crl,))


@pytest.fixture(scope="module")
def signed(lt_identity: PdfSigningIdentity) -> bytes:
    return issue_certified_copy(PAGES, _facts(), lt_identity)


@pytest.fixture(scope="module")
def short_lived(pki: pdf_pki.PdfTestPki) -> PdfSigningIdentity:
    """A signer valid for one day, without a time-stamping unit (PAdES B-B)."""
    key, cert = pdf_pki.issue(
        pki.ca_key, pki.ca_cert, "short-lived signer", T0 - dt.timedelta(hours=1),
        T0 + dt.timedelta(days=1),
    )  # fmt: skip
    return PdfSigningIdentity(key, cert, (pki.ca_cert,), (pki.crl,))


def test_signed_copy_is_valid_b_lt_with_its_facts(signed: bytes, trust: PdfTrust) -> None:
    v = verify_certified_copy(signed, trust, SOON)
    assert v.valid and v.reason is None, v.message
    assert v.level == "B-LT" and v.time_stamped and v.signed_at == T0
    assert v.session_id == "s0123456789abcdef" and v.procedure == "cap-ban-sao"
    assert v.certified_by == "clerk: clerk-Nguyễn Thị Hằng"
    assert v.page_sha256 == _facts().page_sha256
    assert v.signer_subject is not None and "certified copy signer" in v.signer_subject
    out = v.to_json()
    assert out["valid"] is True and out["signer"]["subject"] == v.signer_subject
    assert out["signed_at"] == T0.isoformat()


def test_the_pdf_carries_its_metadata_pages_and_signature(signed: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed))
    assert len(reader.root["/Pages"]["/Kids"]) == len(PAGES) + 1  # + the certification page
    facts = reader.root[f"/{CATALOG_KEY}"]
    assert facts["/Format"] == FORMAT and facts["/SessionId"] == "s0123456789abcdef"
    assert list(facts["/PageSHA256"]) == list(_facts().page_sha256)
    sig = reader.embedded_signatures[0]
    assert sig.field_name == FIELD_NAME and sig.docmdp_level is not None  # certification
    assert "/DSS" in reader.root and reader.root["/DSS"]["/CRLs"]
    info = reader.trailer["/Info"]
    assert "s0123456789abcdef" in str(info["/Title"])
    assert b"/FontFile2" in signed  # an embedded TrueType font, not a core font


def test_vietnamese_text_has_every_glyph() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fpdf2 warns about glyphs the font lacks
        pdf = build_pdf(PAGES, _facts())
    assert pdf.startswith(b"%PDF-")


def test_automatic_approval_names_the_policy(lt_identity: PdfSigningIdentity) -> None:
    facts = _facts(Certifier.automatic("cap-ban-sao"))
    facts = replace(facts, page_sha256=facts.page_sha256[:1])
    pdf = issue_certified_copy(PAGES[:1], facts, lt_identity)
    v = verify_certified_copy(pdf, PdfTrust.of(lt_identity), SOON)
    assert v.valid and v.certified_by == "automatic (policy cap-ban-sao)"


def test_vietnam_time_is_utc_plus_7() -> None:
    assert vietnam_time(T0).utcoffset() == dt.timedelta(hours=7)
    assert vietnam_time(T0).hour == 19


def test_one_byte_changed_is_altered(signed: bytes, trust: PdfTrust) -> None:
    start = signed.index(b"stream", signed.index(b"/Subtype /Image")) + 500  # inside a page
    tampered = bytearray(signed)
    tampered[start] ^= 0x01
    v = verify_certified_copy(bytes(tampered), trust, SOON)
    assert not v.valid and v.reason == "altered", v.message


def test_a_disallowed_incremental_update_is_altered(signed: bytes, trust: PdfTrust) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    writer.root[generic.NameObject(f"/{CATALOG_KEY}")]["/SessionId"] = generic.TextStringObject(
        "someone-else"
    )
    writer.update_container(writer.root[generic.NameObject(f"/{CATALOG_KEY}")])
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    v = verify_certified_copy(out.getvalue(), trust, SOON)
    assert v.reason == "altered", v.message


def test_another_ca_is_an_unknown_signer(signed: bytes) -> None:
    _, other_root = pdf_pki.make_ca(T0, common_name="someone else's root")
    v = verify_certified_copy(signed, PdfTrust((other_root,)), SOON)
    assert v.reason == "unknown_signer", v.message


def test_expired_signer(short_lived: PdfSigningIdentity, trust: PdfTrust) -> None:
    pdf = issue_certified_copy(PAGES, _facts(), short_lived)
    assert verify_certified_copy(pdf, trust, SOON).valid
    later = T0 + dt.timedelta(days=30)
    v = verify_certified_copy(pdf, trust, later)
    assert v.reason == "signer_expired" and v.level == "B-B", v.message


def test_b_lt_outlives_its_signer_certificate(
    pki: pdf_pki.PdfTestPki, short_lived: PdfSigningIdentity, trust: PdfTrust
) -> None:
    lt = replace(short_lived, tsa=TimeStampingUnit(pki.tsa_key, pki.tsa_cert))
    pdf = issue_certified_copy(PAGES, _facts(), lt)
    v = verify_certified_copy(pdf, trust, T0 + dt.timedelta(days=30))
    assert v.valid and v.level == "B-LT" and v.signed_at == T0, v.message


def test_signing_refuses_an_expired_certificate(short_lived: PdfSigningIdentity) -> None:
    with pytest.raises(PdfSigningError):
        issue_certified_copy(PAGES, replace(_facts(), certified_at=T0 + dt.timedelta(days=2)),
                             short_lived)  # fmt: skip


def test_revoked_signer_via_crl(pki: pdf_pki.PdfTestPki, signed: bytes) -> None:
    later = T0 + dt.timedelta(days=3)
    revoked = [(pki.signer_cert.serial_number, T0 + dt.timedelta(days=1))]
    crl = pdf_pki.make_crl(pki.ca_key, pki.ca_cert, later, revoked)
    v = verify_certified_copy(signed, PdfTrust((pki.ca_cert,), (crl,)), later)
    assert v.reason == "signer_revoked", v.message


def test_no_crl_anywhere_is_revocation_unknown(pki: pdf_pki.PdfTestPki) -> None:
    bare = PdfSigningIdentity(pki.signer_key, pki.signer_cert, (pki.ca_cert,))
    pdf = issue_certified_copy(PAGES, _facts(), bare)
    v = verify_certified_copy(pdf, PdfTrust((pki.ca_cert,)), SOON)
    assert v.reason == "revocation_unknown", v.message


def test_plain_pdf_is_not_a_certified_copy(
    lt_identity: PdfSigningIdentity, trust: PdfTrust
) -> None:
    pdf = FPDF()
    pdf.add_page()
    plain = bytes(pdf.output())
    assert verify_certified_copy(plain, trust, SOON).reason == "not_a_certified_copy"
    # signed by us in the right field, but without the certified copy's facts
    no_facts = sign_pdf(plain, lt_identity, T0, catalog={}, reason="x", location="VN")
    v = verify_certified_copy(no_facts, trust, SOON)
    assert v.reason == "not_a_certified_copy", v.message


@pytest.mark.parametrize(
    "data", [b"", b"hello", b"%PDF-1.7\n1 0 obj garbage", b"\x89PNG\r\n\x1a\n" + bytes(64)]
)
def test_garbage_is_not_a_pdf(data: bytes, trust: PdfTrust) -> None:
    v = verify_certified_copy(data, trust, SOON)
    assert v.reason == "not_a_pdf" and not v.valid


def test_local_test_ca_folder_round_trip(tmp_path: Path) -> None:
    files = pdf_pki.write_pdf_pki(tmp_path / "ca", pdf_pki.make_pdf_pki(T0))
    assert oct(files["signer_key"].stat().st_mode & 0o777) == "0o600"
    identity = PdfSigningIdentity.from_folder(tmp_path / "ca", test_ca=True)
    assert identity.tsa is not None and identity.crls and identity.test_ca
    settings = Settings(
        pdf_signer_key=files["signer_key"],
        pdf_signer_cert=files["signer_cert"],
        pdf_signer_chain=[files["chain"]],
        pdf_crls=[files["crl"]],
        pdf_tsa_key=files["tsa_key"],
        pdf_tsa_cert=files["tsa_cert"],
        pdf_trust_roots=[files["chain"]],
    )
    configured = PdfSigningIdentity.from_settings(settings, T0)
    pdf = issue_certified_copy(PAGES, _facts(), configured)
    v = verify_certified_copy(pdf, PdfTrust.from_settings(settings, None), SOON)
    assert v.valid and v.level == "B-LT", v.message


def test_settings_without_a_signer_create_the_test_ca(tmp_path: Path) -> None:
    settings = Settings(pdf_test_ca_dir=tmp_path / "test-ca")
    identity = PdfSigningIdentity.from_settings(settings, T0)
    assert identity.test_ca and (tmp_path / "test-ca" / pdf_pki.SIGNER_KEY).is_file()
    again = PdfSigningIdentity.from_settings(settings, T0)  # loaded, not made anew
    assert again.cert == identity.cert
