"""The electronic certified copy (bản sao điện tử được chứng thực): the copy's pages, one per
A4 page, then a certification page, signed with a PAdES certification signature.

The certification page says, in Vietnamese and English, that the copy is a true copy of the
original, who certified it (the clerk's key name, or the policy when it approved on its own),
when (UTC and Vietnam time), the session and procedure, the verdict of the comparison, the
SHA-256 of each page image (the same hashes the signed result carries as the documents
step's evidence) and a QR code of the verify link of the session's signed result.

What the verifier relies on is machine-readable and inside the signed revision: a catalog
dictionary ``/EkycCertifiedCopy`` (format, session id, procedure, certifier, time, page
hashes) and the signature field ``EkycCertifiedCopy``; the document information dictionary
and XMP carry the same session and procedure for other PDF readers.
"""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from fpdf import FPDF
from PIL import Image, ImageOps, UnidentifiedImageError

from ekyc.errors import EkycError
from ekyc.fonts import font_path
from ekyc.verification.pdf_signing import PdfSigningIdentity, sign_pdf
from ekyc.verification.result import sha256_hex

#: the value of ``/Format`` in the catalog dictionary (what the verifier accepts)
FORMAT = "ekyc.certified_copy/1"
#: the catalog dictionary holding the certified copy's facts
CATALOG_KEY = "EkycCertifiedCopy"
MEDIA_TYPE = "application/pdf"

_A4 = (210.0, 297.0)  # mm
_MARGIN = 15.0
_HEADER = 12.0  # mm above each copy page's image
_FOOTER = 12.0


class CertifiedCopyError(EkycError):
    """The certified copy cannot be built (no copy pages, an image that does not decode)."""

    code = "certified_copy_error"


def vietnam_time(when: dt.datetime) -> dt.datetime:
    """``when`` in Asia/Ho_Chi_Minh (UTC+07:00, without DST since 1975)."""
    try:
        zone: dt.tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:  # no tz database on the host: the offset is fixed
        zone = dt.timezone(dt.timedelta(hours=7), "ICT")
    return when.astimezone(zone)


@dataclass(frozen=True)
class Certifier:
    """Who certified the copy: a clerk (by their API key's name) or the policy itself."""

    kind: str  # "clerk" | "automatic"
    name: str  # the clerk key's name, or the procedure whose policy approved

    @classmethod
    def clerk(cls, name: str) -> Certifier:
        """A clerk who approved the session in review."""
        return cls("clerk", name)

    @classmethod
    def automatic(cls, procedure: str) -> Certifier:
        """The procedure's policy approved the session without a review."""
        return cls("automatic", procedure)

    def text(self) -> tuple[str, str]:
        """Vietnamese and English lines naming the certifier."""
        if self.kind == "clerk":
            return f"cán bộ chứng thực {self.name}", f"clerk {self.name}"
        return f"tự động (chính sách thủ tục {self.name})", f"automatic (policy {self.name})"

    def label(self) -> str:
        """One line for the metadata: ``clerk: NAME`` or ``automatic (policy CODE)``."""
        return f"clerk: {self.name}" if self.kind == "clerk" else self.text()[1]


@dataclass(frozen=True)
class CopyFacts:
    """Everything the certification page and the metadata state."""

    session_id: str
    procedure: str
    procedure_title: str
    certifier: Certifier
    certified_at: dt.datetime
    verdict: str  # the comparison's verdict (MATCH, UNREADABLE …) and the step outcome
    page_sha256: tuple[str, ...]
    verify_url: str
    reasons: tuple[str, ...] = ()  # reason codes of the documents step (why it was reviewed)
    signer_subject: str = ""
    test_ca: bool = False

    def catalog(self) -> dict[str, Any]:
        """The ``/EkycCertifiedCopy`` catalog dictionary (text values; hashes as an array)."""
        return {
            "Format": FORMAT,
            "SessionId": self.session_id,
            "Procedure": self.procedure,
            "CertifiedBy": self.certifier.label(),
            "CertifiedAt": self.certified_at.astimezone(dt.UTC).isoformat(),
            "Verdict": self.verdict,
            "VerifyUrl": self.verify_url,
            "PageSHA256": list(self.page_sha256),
        }


@dataclass
class _Doc:
    pdf: FPDF = field(default_factory=lambda: FPDF(unit="mm", format="A4"))

    def __post_init__(self) -> None:
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.pdf.add_font("text", "", str(font_path("regular")))
        self.pdf.add_font("text", "B", str(font_path("bold")))
        self.pdf.add_font("mono", "", str(font_path("mono")))

    def line(self, text: str, size: float = 9.5, style: str = "", h: float = 5.0) -> None:
        self.pdf.set_font("text", style, size)
        self.pdf.multi_cell(0, h, _nfc(text), new_x="LMARGIN", new_y="NEXT")


def _nfc(text: str) -> str:
    # one code point per Vietnamese letter: the font's precomposed glyphs, no shaping needed
    return unicodedata.normalize("NFC", text)


def _page_image(data: bytes, index: int) -> tuple[Any, tuple[int, int]]:
    """What fpdf2 embeds for a page image (a JPEG or PNG file as it is, else the decoded
    picture), upright as EXIF says, and its size in pixels."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            upright = ImageOps.exif_transpose(im)
            if im.format in ("JPEG", "PNG") and upright is im:
                return io.BytesIO(data), im.size
            return upright.convert("RGB"), upright.size
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise CertifiedCopyError(f"copy page {index + 1} does not decode: {e}") from e


def _copy_page(doc: _Doc, data: bytes, index: int, count: int, facts: CopyFacts) -> None:
    pdf = doc.pdf
    pdf.add_page()
    pdf.set_font("text", "B", 9)
    pdf.set_xy(_MARGIN, _MARGIN - 5)
    pdf.cell(0, 5, _nfc("BẢN SAO ĐIỆN TỬ ĐƯỢC CHỨNG THỰC / CERTIFIED ELECTRONIC COPY"))
    image, (w_px, h_px) = _page_image(data, index)
    box_w = _A4[0] - 2 * _MARGIN
    box_h = _A4[1] - 2 * _MARGIN - _HEADER - _FOOTER
    scale = min(box_w / w_px, box_h / h_px)
    w, h = w_px * scale, h_px * scale
    x = _MARGIN + (box_w - w) / 2
    y = _MARGIN + _HEADER / 2 + (box_h - h) / 2
    pdf.image(image, x=x, y=y, w=w, h=h, alt_text=f"copy page {index + 1}")
    pdf.set_draw_color(160, 160, 160)
    pdf.rect(x, y, w, h)
    pdf.set_font("text", "", 7.5)
    pdf.set_xy(_MARGIN, _A4[1] - _MARGIN - 4)
    footer = (
        f"Trang / Page {index + 1}/{count} · phiên / session {facts.session_id} · "
        f"SHA-256 {facts.page_sha256[index]}"
    )
    pdf.cell(0, 4, _nfc(footer))


def _qr_png(url: str) -> io.BytesIO:
    out = io.BytesIO()
    segno.make_qr(url, error="m").save(out, kind="png", scale=6, border=4)
    out.seek(0)
    return out


def _certification_page(doc: _Doc, facts: CopyFacts) -> None:
    pdf = doc.pdf
    pdf.add_page()
    pdf.set_xy(_MARGIN, _MARGIN)
    doc.line("CHỨNG THỰC BẢN SAO ĐÚNG VỚI BẢN CHÍNH", 15, "B", 8)
    doc.line("Certified true copy of the original", 12, "B", 7)
    pdf.ln(3)
    local = vietnam_time(facts.certified_at)
    utc = facts.certified_at.astimezone(dt.UTC)
    who_vi, who_en = facts.certifier.text()
    rows = [
        ("Người chứng thực / Certified by", f"{who_vi} / {who_en}"),
        (
            "Thời điểm chứng thực / Certified at",
            f"{local:%d/%m/%Y %H:%M:%S} giờ Việt Nam (Asia/Ho_Chi_Minh, UTC+07:00) / "
            f"{utc:%Y-%m-%d %H:%M:%S} UTC",
        ),
        ("Phiên xác thực / Session", facts.session_id),
        ("Thủ tục / Procedure", f"{facts.procedure_title} ({facts.procedure})"),
        ("Kết quả so sánh với bản chính / Comparison with the original", facts.verdict),
    ]
    if facts.reasons:
        rows.append(("Lý do xem xét / Review reasons", ", ".join(facts.reasons)))
    rows.append(("Số trang / Pages", str(len(facts.page_sha256))))
    for label, value in rows:
        doc.line(label, 8.5, "B", 4.5)
        doc.line(value, 10, "", 5.5)
        pdf.ln(1)
    doc.line("SHA-256 của ảnh từng trang / SHA-256 of each page image", 8.5, "B", 4.5)
    pdf.set_font("mono", "", 7.5)
    for i, digest in enumerate(facts.page_sha256):
        pdf.cell(0, 4, f"{i + 1:>2}  {digest}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    signer = facts.signer_subject or "(the service's PDF signing certificate)"
    doc.line(
        "Văn bản này được ký số (PAdES) bởi / This document is digitally signed (PAdES) by: "
        + signer,
        8.5,
    )
    if facts.test_ca:
        doc.line(
            "CHỨNG THƯ THỬ NGHIỆM, KHÔNG CÓ GIÁ TRỊ PHÁP LÝ / TEST CERTIFICATE, NOT VALID FOR "
            "LEGAL USE",
            9,
            "B",
        )
    pdf.ln(2)
    y = pdf.get_y()
    size = 45.0
    pdf.image(_qr_png(facts.verify_url), x=_MARGIN, y=y, w=size, h=size, alt_text="verify link")
    pdf.set_xy(_MARGIN + size + 5, y + 3)
    pdf.set_left_margin(_MARGIN + size + 5)
    doc.line("Kiểm tra kết quả xác thực đã ký / Check the signed verification result:", 8.5, "B")
    pdf.set_font("mono", "", 7)
    pdf.multi_cell(0, 3.5, facts.verify_url, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    doc.line(
        "Kiểm tra chữ ký của tệp PDF này / Check this PDF's signature: "
        "POST /v1/verify/pdf, or: ekyc verify-pdf FILE",
        8,
    )
    pdf.set_left_margin(_MARGIN)


def build_pdf(copy_pages: Sequence[bytes], facts: CopyFacts) -> bytes:
    """The unsigned PDF: each copy page image on an A4 page, then the certification page."""
    if not copy_pages:
        raise CertifiedCopyError("a certified copy needs at least one copy page")
    if len(copy_pages) != len(facts.page_sha256):
        raise CertifiedCopyError("one SHA-256 per copy page is needed")
    for i, (data, digest) in enumerate(zip(copy_pages, facts.page_sha256, strict=True)):
        if sha256_hex(data) != digest:
            raise CertifiedCopyError(f"copy page {i + 1} does not match its SHA-256")
    doc = _Doc()
    pdf = doc.pdf
    title = f"Bản sao điện tử được chứng thực / Certified copy — {facts.session_id}"
    pdf.set_title(_nfc(title))
    pdf.set_subject(_nfc("Chứng thực bản sao đúng với bản chính / Certified true copy"))
    pdf.set_keywords(f"{FORMAT} session:{facts.session_id} procedure:{facts.procedure}")
    pdf.set_author(_nfc(facts.certifier.label()))
    pdf.set_creator("ekyc")
    pdf.set_creation_date(facts.certified_at.astimezone(dt.UTC))
    pdf.set_lang("vi")
    for i, data in enumerate(copy_pages):
        _copy_page(doc, data, i, len(copy_pages), facts)
    _certification_page(doc, facts)
    return bytes(pdf.output())


def issue_certified_copy(
    copy_pages: Sequence[bytes], facts: CopyFacts, identity: PdfSigningIdentity
) -> bytes:
    """Build the PDF and sign it (PAdES certification signature, DSS, time-stamp if any)."""
    unsigned = build_pdf(copy_pages, facts)
    _, who_en = facts.certifier.text()
    return sign_pdf(
        unsigned,
        identity,
        facts.certified_at,
        catalog={CATALOG_KEY: facts.catalog()},
        reason=_nfc(f"Chứng thực bản sao đúng với bản chính / Certified true copy ({who_en})"),
        location="Việt Nam",
    )


__all__ = [
    "CATALOG_KEY",
    "FORMAT",
    "CertifiedCopyError",
    "Certifier",
    "CopyFacts",
    "build_pdf",
    "issue_certified_copy",
    "vietnam_time",
]
