"""Read every printed field, the MRZ and the QR code of a card photo.

The card is found, rectified and classified (``card``); each field of its layout is read
by recognising the layout's line boxes only (``OcrEngine.read_lines``). MRZ OCR output is
repaired only by position: in a field that can hold only digits, letters that look like
digits become digits (O→0, I→1 …) and the reverse in letter-only fields. Nothing is ever
chosen to make a check digit pass, so a misread MRZ stays invalid instead of passing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import zxingcpp

from ekyc.cccd.layouts import LAYOUTS, Box
from ekyc.cccd.qr import MalformedQr, QrPayload, parse_qr_payload
from ekyc.document.card import CardClass, classify, find_card, rectify
from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao.mrz import Mrz, parse_mrz

_TO_DIGIT = str.maketrans(
    {
        "O": "0",
        "Q": "0",
        "D": "0",
        "U": "0",
        "I": "1",
        "L": "1",
        "Z": "2",
        "S": "5",
        "B": "8",
        "G": "6",
        "T": "7",
    }
)
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"})
# TD1 character classes per position: d digit, a letter, s sex, x any (filler allowed)
_TD1_CLASSES = (
    "aa" + "aaa" + "ddddddddd" + "d" + "dddddddddddd" + "xx" + "d",  # line 1 (Vietnam)
    "dddddd" + "d" + "s" + "dddddd" + "d" + "aaa" + "xxxxxxxxxxx" + "d",
    "a" * 30,
)


class _TextBox(Protocol):
    text: str
    confidence: float


class OcrLike(Protocol):
    """The part of ``models.ocr.base.OcrEngine`` field reading needs."""

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> Sequence[_TextBox]: ...


@dataclass(frozen=True)
class CardReading:
    """What a card side says: printed fields, the MRZ (parsed, checked) and the QR payload."""

    model: str
    side: str
    fields: dict[str, str]
    confidence: dict[str, float]
    quad: np.ndarray  # the card's corners in the photo
    image: np.ndarray  # the rectified upright card
    upside_down: bool
    mrz_text: str | None = None
    mrz: Mrz | None = None
    mrz_error: str | None = None
    qr_text: str | None = None
    qr: QrPayload | None = None
    qr_error: str | None = None
    notes: list[str] = field(default_factory=list)


def repair_mrz_line(text: str, line: int) -> str:
    """One OCR'd TD1 line in MRZ characters, with look-alikes fixed by position only."""
    raw = "".join(text.upper().split()).replace("«", "<").replace("‹", "<")
    raw = "".join(c if c.isascii() and (c.isalnum() or c == "<") else "<" for c in raw)
    raw = raw[:30].ljust(30, "<")
    classes = _TD1_CLASSES[line]
    out = []
    for c, kind in zip(raw, classes, strict=True):
        if kind == "d" and c != "<":
            c = c.translate(_TO_DIGIT)
        elif kind in ("a", "s") and c != "<":
            c = c.translate(_TO_LETTER)
        out.append(c)
    return "".join(out)


def _box_quad(box: Box) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)


def decode_qr(image_bgr: np.ndarray) -> str | None:
    """The text of the first QR code zxing-cpp finds, or None."""
    for r in zxingcpp.read_barcodes(image_bgr, formats=zxingcpp.BarcodeFormat.QRCode):
        if r.valid and r.text:
            return str(r.text)
    return None


def read_card(image_bgr: np.ndarray, ocr: OcrLike) -> CardReading:
    """Find, rectify and classify the card, then read its fields, MRZ and QR.

    Raises the ``card`` errors (NoCard, SeveralCards, ImageTooSmall, UnknownCard …).
    """
    quad = find_card(image_bgr)
    kind: CardClass = classify(rectify(image_bgr, quad))
    layout = LAYOUTS[(kind.model, kind.side)]
    image = kind.image
    boxes = [(f.name, box) for f in layout.fields for box in f.lines]
    read = ocr.read_lines(image, [_box_quad(b) for _, b in boxes])
    texts: dict[str, list[str]] = {}
    conf: dict[str, list[float]] = {}
    for (name, _), tb in zip(boxes, read, strict=True):
        if tb.text.strip():
            texts.setdefault(name, []).append(" ".join(tb.text.split()))
            conf.setdefault(name, []).append(tb.confidence)
    fields = {k: " ".join(v) for k, v in texts.items()}
    confidence = {k: min(v) for k, v in conf.items()}
    mrz_text = mrz = mrz_error = None
    if layout.mrz is not None:
        lines = ocr.read_lines(image, [_box_quad(b) for b in layout.mrz])
        mrz_text = "\n".join(repair_mrz_line(tb.text, i) for i, tb in enumerate(lines))
        try:
            mrz = parse_mrz(mrz_text)
        except (MalformedData, UnsupportedData) as e:
            mrz_error = str(e)
    qr_text = qr = qr_error = None
    if layout.qr is not None:
        qr_text = decode_qr(image) or decode_qr(image_bgr)
        if qr_text is None:
            qr_error = "qr_not_decoded"
        else:
            try:
                qr = parse_qr_payload(qr_text)
            except MalformedQr as e:
                qr_error = f"{e.code}:{e.reason}"
    return CardReading(
        model=kind.model,
        side=kind.side,
        fields=fields,
        confidence=confidence,
        quad=quad,
        image=image,
        upside_down=kind.upside_down,
        mrz_text=mrz_text,
        mrz=mrz,
        mrz_error=mrz_error,
        qr_text=qr_text,
        qr=qr,
        qr_error=qr_error,
    )
