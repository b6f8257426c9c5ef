"""Read every printed field, the MRZ and the QR code of a card photo.

The card is found, rectified and classified (``card``); each field of its layout is read
by recognising the layout's line boxes only (``OcrEngine.read_lines``). MRZ OCR output is
repaired only by position: in a field that can hold only digits, letters that look like
digits become digits (O→0, I→1 …) and the reverse in letter-only fields. Nothing is ever
chosen to make a check digit pass, so a misread MRZ stays invalid instead of passing.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
import zxingcpp

from ekyc.cccd.id_number import PROVINCES
from ekyc.cccd.layouts import LAYOUTS, Box, CardLayout
from ekyc.cccd.qr import MalformedQr, QrPayload, parse_qr_payload
from ekyc.document.card import classify_found, find_card
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


class _TextBox(Protocol):  # read-only, as models.ocr.base.TextBox (a frozen dataclass)
    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...


class OcrLike(Protocol):
    """The part of ``models.ocr.base.OcrEngine`` field reading needs."""

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> Sequence[_TextBox]: ...


class _Detector(Protocol):
    def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class CardReading:
    """What a card side says: printed fields, the MRZ (parsed, checked) and the QR payload."""

    model: str
    side: str
    fields: dict[str, str]  # normalised printed values (NFC, single spaces, dates dd/mm/yyyy)
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
    raw: dict[str, str] = field(default_factory=dict)  # the OCR text before normalising
    timings_ms: dict[str, float] = field(default_factory=dict)
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


# --- value regions -------------------------------------------------------------------------

_MIN_INK_PX = 60  # fewer dark pixels than this in a line box: the line is empty (unwrapped)
_MIN_BLOB_PX = 6  # toner specks and noise are smaller than any stroke of a character
_INK_PAD = 8  # px kept around the ink so the recogniser sees whole glyphs


def _box_quad(box: Box) -> np.ndarray:
    x, y, w, h = box
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)


def ink_span(grey: np.ndarray, box: Box) -> Box | None:
    """The part of a value box that holds ink (full height, trimmed left/right), or None if empty.

    Trimming to the ink keeps the recogniser off the box's blank tail (where it invents ``_`` or
    strokes of the background pattern) and makes crops narrower, hence faster to recognise.
    """
    x, y, w, h = box
    region = grey[y : y + h, x : x + w]
    if region.size == 0:
        return None
    bg = float(np.median(region))
    delta = max(35.0, 0.45 * (bg - float(np.percentile(region, 0.5))))
    ink = (region < bg - delta).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = [i for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= _MIN_BLOB_PX]
    if sum(int(stats[i, cv2.CC_STAT_AREA]) for i in keep) < _MIN_INK_PX:
        return None
    x0 = min(int(stats[i, cv2.CC_STAT_LEFT]) for i in keep)
    x1 = max(int(stats[i, cv2.CC_STAT_LEFT] + stats[i, cv2.CC_STAT_WIDTH]) for i in keep)
    x0, x1 = max(0, x0 - _INK_PAD), min(w, x1 + _INK_PAD)
    return (x + x0, y, x1 - x0, h)


def _detected_spans(detector: _Detector, image: np.ndarray, boxes: list[Box]) -> list[Box | None]:
    """Value regions from the text detector: the detected lines centred in each layout box."""
    quads = detector.detect(image)
    out: list[Box | None] = []
    for x, y, w, h in boxes:
        # a detected line may run on from the label into the value: keep those whose middle
        # row lies in the box and that reach into it, clipped to the box below
        hits = [
            q
            for q in quads
            if y <= float(q[:, 1].mean()) <= y + h
            and float(q[:, 0].max()) > x + 4
            and float(q[:, 0].min()) < x + w
        ]
        if not hits:
            out.append(None)
            continue
        x0 = max(x, int(min(float(q[:, 0].min()) for q in hits)) - 2)
        x1 = min(x + w, int(max(float(q[:, 0].max()) for q in hits)) + 2)
        out.append((x0, y, max(x1 - x0, 1), h))
    return out


# --- normalising values ----------------------------------------------------------------------

_DATE = re.compile(r"(\d{1,2})\D{0,2}(\d{1,2})\D{0,2}(\d{4})")
_EDGE_JUNK = " _-.,:;|'\"`~^*"
_PROVINCE_KEYS: dict[str, str] = {}


def _fold(text: str) -> str:
    """Lower case without diacritics (đ → d), for matching OCR output to a gazetteer."""
    s = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c))


def _province(name: str) -> str:
    """The gazetteer spelling of a province the OCR read with a wrong or missing mark."""
    if not _PROVINCE_KEYS:
        for p in PROVINCES.values():
            _PROVINCE_KEYS.setdefault(_fold(p), p)
            _PROVINCE_KEYS.setdefault(_fold(p.removeprefix("TP. ").removeprefix("Thành phố ")), p)
    return _PROVINCE_KEYS.get(_fold(name).strip(), name)


def clean_text(text: str) -> str:
    """NFC, single spaces, no junk at the ends, one space after commas."""
    s = unicodedata.normalize("NFC", text)
    s = " ".join(s.split()).strip(_EDGE_JUNK)
    s = re.sub(r"\s*,\s*", ", ", s)
    return s


def _date_value(text: str) -> str:
    m = _DATE.search(text.replace("O", "0").replace("o", "0"))
    if m is None:
        return clean_text(text)
    return f"{int(m.group(1)):02d}/{int(m.group(2)):02d}/{m.group(3)}"


def _address(text: str) -> str:
    parts = clean_text(text).split(", ")
    parts[-1] = _province(parts[-1])
    return ", ".join(parts)


def _sex(text: str) -> str:
    f = _fold(clean_text(text))
    return {"nam": "Nam", "nu": "Nữ"}.get(f, clean_text(text))


def _nationality(text: str) -> str:
    return "Việt Nam" if _fold(clean_text(text)).replace(" ", "") == "vietnam" else clean_text(text)


# "Đặc điểm nhận dạng" (identifying features) use a small vocabulary: the mark's kind and
# where on the face it is. Words sharing a mark-less form (dưới/đuôi, mắt/mặt, dái/dài, cánh/cạnh)
# are all listed so that form stays ambiguous and is never corrected.
_FEATURE_VOCABULARY = (
    "nốt ruồi sẹo vết chấm chàm xăm lõm lồi đen nâu cách trên dưới trước sau giữa trong "
    "ngoài mép phải trái đuôi mắt mặt lông mày mũi cánh cạnh môi miệng cằm má gò trán tai "
    "dái dài cổ đầu gáy thái dương nhân trung"
)
_FEATURE_WORDS = _FEATURE_VOCABULARY.split()
_FEATURE_KEYS: dict[str, str | None] = {}


def _features(text: str) -> str:
    """Identifying features with each word's marks restored from the feature vocabulary.

    A word whose mark-less form matches exactly one vocabulary word takes that word's
    marks (``ruổi`` → ``ruồi``); the letters are never changed, and ambiguous forms stay.
    """
    if not _FEATURE_KEYS:
        for word in _FEATURE_WORDS:
            key = _fold(word)
            _FEATURE_KEYS[key] = word if _FEATURE_KEYS.get(key, word) == word else None

    def fix(word: str) -> str:
        known = _FEATURE_KEYS.get(_fold(word))
        if known is None or not word.isalpha():
            return word
        if word.isupper():
            return known.upper()
        return known.capitalize() if word[0].isupper() else known

    return " ".join(fix(w) for w in clean_text(text).split(" "))


_NORMALISERS: dict[str, Callable[[str], str]] = {
    "identifying_features": _features,
    "id_number": lambda t: "".join(c for c in t.replace("O", "0") if c.isdigit()),
    "full_name": lambda t: clean_text(t).upper(),
    "date_of_birth": _date_value,
    "date_of_issue": _date_value,
    "date_of_expiry": lambda t: t if _fold(t).startswith("khong") else _date_value(t),
    "sex": _sex,
    "nationality": _nationality,
    "place_of_origin": _address,
    "place_of_residence": _address,
}


def normalise_field(name: str, text: str) -> str:
    """A printed value in its canonical form (``dd/mm/yyyy`` dates, NFC, gazetteer province)."""
    return _NORMALISERS.get(name, clean_text)(text)


# --- reading ---------------------------------------------------------------------------------


def decode_qr(image_bgr: np.ndarray) -> str | None:
    """The text of the first QR code zxing-cpp finds, or None."""
    for r in zxingcpp.read_barcodes(
        image_bgr, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    ):
        if r.valid and r.text:
            return str(r.text)
    return None


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 2)


def read_card(
    image_bgr: np.ndarray, ocr: OcrLike, *, use_detector: bool = False, qr: bool = True
) -> CardReading:
    """Find, rectify and classify the card, then read its fields, MRZ and QR.

    Values are read from the layout's value boxes only (trimmed to their ink), never the
    labels; ``use_detector`` asks the engine's text detector for the lines instead.
    Raises the ``card`` errors (NoCard, SeveralCards, ImageTooSmall, UnknownCard …).
    """
    timings: dict[str, float] = {}
    start = t0 = time.perf_counter()
    quad = find_card(image_bgr)
    timings["find"] = _ms(t0)
    t0 = time.perf_counter()
    quad, kind = classify_found(image_bgr, quad)
    timings["rectify"] = _ms(t0)
    layout = LAYOUTS[(kind.model, kind.side)]
    image = kind.image
    t0 = time.perf_counter()
    boxes = [(f.name, box) for f in layout.fields for box in f.lines]
    mrz_boxes = list(layout.mrz or ())
    detector = getattr(ocr, "detector", None) if use_detector else None
    if detector is not None:
        spans = _detected_spans(detector, image, [b for _, b in boxes] + mrz_boxes)
        timings["detect"] = _ms(t0)
    else:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        spans = [ink_span(grey, b) for _, b in boxes] + [ink_span(grey, b) for b in mrz_boxes]
        timings["locate"] = _ms(t0)
    t0 = time.perf_counter()
    wanted = [i for i, s in enumerate(spans) if s is not None]
    read = ocr.read_lines(image, [_box_quad(spans[i]) for i in wanted])  # type: ignore[arg-type]
    by_index = dict(zip(wanted, read, strict=True))
    timings["recognise"] = _ms(t0)
    texts: dict[str, list[str]] = {}
    conf: dict[str, list[float]] = {}
    for i, (name, _) in enumerate(boxes):
        tb = by_index.get(i)
        if tb is not None and tb.text.strip():
            texts.setdefault(name, []).append(" ".join(tb.text.split()))
            conf.setdefault(name, []).append(tb.confidence)
    raw = {k: " ".join(v) for k, v in texts.items()}
    fields = {k: normalise_field(k, v) for k, v in raw.items()}
    confidence = {k: min(v) for k, v in conf.items()}
    mrz_text = mrz = mrz_error = None
    if mrz_boxes:
        lines = [by_index.get(len(boxes) + i) for i in range(len(mrz_boxes))]
        mrz_text = "\n".join(
            repair_mrz_line(tb.text if tb is not None else "", i) for i, tb in enumerate(lines)
        )
        mrz, mrz_error = _parse_mrz(mrz_text)
    qr_text = qr_payload = qr_error = None
    if qr and layout.qr is not None:
        t0 = time.perf_counter()
        qr_text = _decode_qr_region(image, layout) or decode_qr(image_bgr)
        timings["qr"] = _ms(t0)
        if qr_text is None:
            qr_error = "qr_not_decoded"
        else:
            try:
                qr_payload = parse_qr_payload(qr_text)
            except MalformedQr as e:
                qr_error = f"{e.code}:{e.reason}"
    timings["total"] = _ms(start)
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
        qr=qr_payload,
        qr_error=qr_error,
        raw=raw,
        timings_ms=timings,
    )


def _parse_mrz(text: str) -> tuple[Mrz | None, str | None]:
    """The parsed MRZ, or why it could not be parsed (a misread never passes its checks)."""
    try:
        return parse_mrz(text), None
    except (MalformedData, UnsupportedData) as e:
        return None, str(e)


def _decode_qr_region(image: np.ndarray, layout: CardLayout) -> str | None:
    """The QR text decoded from the layout's QR box (with a margin), cheaper than the card."""
    assert layout.qr is not None
    x, y, w, h = layout.qr
    m = 24
    region = image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m]
    return decode_qr(np.ascontiguousarray(region)) or decode_qr(image)
