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
from typing import Any, Protocol

import cv2
import numpy as np
import zxingcpp
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from ekyc.cccd.id_number import PROVINCES
from ekyc.cccd.layouts import LAYOUTS, Box, CardLayout, FieldLayout
from ekyc.cccd.qr import MalformedQr, QrPayload, parse_qr_payload
from ekyc.document.card import (
    ASPECT_RANGE,
    MIN_CARD_LONG_SIDE,
    CardClass,
    classify_found,
    find_card,
    order_card_quad,
    rectify,
)
from ekyc.document.errors import ImageTooSmall, NoCard, UnknownCard
from ekyc.document.lexicon import correct_boxes
from ekyc.document.printed import (
    FEATURE_KINDS,
    as_lines,
    classify_printed,
    mrz_lines,
    read_printed,
    split_at_gaps,
)
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


class _LineBox(_TextBox, Protocol):
    @property
    def quad(self) -> np.ndarray: ...


class OcrLike(Protocol):
    """The part of ``models.ocr.base.OcrEngine`` field reading needs."""

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> Sequence[_TextBox]: ...
    def read(self, image_bgr: np.ndarray) -> Sequence[_LineBox]: ...


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
    method: str = "layout"  # "layout": the layout's boxes; "printed": found by labels


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
    blobs = _ink_blobs(grey, box)
    if blobs is None:
        return None
    x0 = min(int(b[cv2.CC_STAT_LEFT]) for b in blobs)
    x1 = max(int(b[cv2.CC_STAT_LEFT] + b[cv2.CC_STAT_WIDTH]) for b in blobs)
    x0, x1 = max(0, x0 - _INK_PAD), min(w, x1 + _INK_PAD)
    return (x + x0, y, x1 - x0, h)


def cut_at_left(grey: np.ndarray, box: Box) -> bool:
    """Whether a glyph (a blob at least a third of the box tall) touches the box's left edge:
    the printed value starts before the box, so the layout does not fit this card."""
    blobs = _ink_blobs(grey, box) or []
    return any(b[cv2.CC_STAT_LEFT] == 0 and 3 * b[cv2.CC_STAT_HEIGHT] >= box[3] for b in blobs)


def _ink_blobs(grey: np.ndarray, box: Box) -> list[np.ndarray] | None:
    """The connected ink blobs of a box (their cv2 stats rows), or None when it holds too
    little ink to be a line of print."""
    x, y, w, h = box
    region = grey[y : y + h, x : x + w]
    if region.size == 0:
        return None
    bg = float(np.median(region))
    delta = max(35.0, 0.45 * (bg - float(np.percentile(region, 0.5))))
    ink = (region < bg - delta).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    keep = [stats[i] for i in range(1, n) if stats[i, cv2.CC_STAT_AREA] >= _MIN_BLOB_PX]
    if sum(int(b[cv2.CC_STAT_AREA]) for b in keep) < _MIN_INK_PX:
        return None
    return keep


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
            _PROVINCE_KEYS.setdefault(_province_key(p), p)
            _PROVINCE_KEYS.setdefault(
                _province_key(p.removeprefix("TP. ").removeprefix("Thành phố ")), p
            )
    key = _province_key(name)
    if key in _PROVINCE_KEYS:
        return _PROVINCE_KEYS[key]
    # a letter doubled or dropped ("Kiên Giangg"): the one province within one edit
    near = [k for k in _PROVINCE_KEYS if len(key) >= 6 and Levenshtein.distance(k, key) <= 1]
    return _PROVINCE_KEYS[near[0]] if len({_PROVINCE_KEYS[k] for k in near}) == 1 else name


def _province_key(name: str) -> str:
    return "".join(c for c in _fold(name) if c.isalnum())


def clean_text(text: str) -> str:
    """NFC, single spaces, no junk at the ends, one space after commas."""
    s = unicodedata.normalize("NFC", text)
    s = " ".join(s.split()).strip(_EDGE_JUNK)
    s = re.sub(r"(?<!\d)\s*,\s*|\s*,\s*(?!\d)", ", ", s)  # a decimal comma (1,5cm) stays
    return s


def _date_value(text: str) -> str:
    text = text.replace("O", "0").replace("o", "0")
    # its first slash read as a 1 ("06101/2040"): two digits too many for a day
    text = re.sub(r"^(\d{2})1(\d{2}/\d{4})$", r"\1/\2", text.strip())
    m = _DATE.search(text)
    # a day or month out of range is a misread or cut date ("05/2023" is not 00/05/2023)
    if m is None or not (1 <= int(m.group(1)) <= 31 and 1 <= int(m.group(2)) <= 12):
        return clean_text(text)
    return f"{int(m.group(1)):02d}/{int(m.group(2)):02d}/{m.group(3)}"


# the words that open an address part (the administrative unit): marks restored from here
_UNITS = {_fold(w): w for w in ("Tổ", "Thôn", "Xóm", "Ấp", "Xã", "Phường", "Quận", "Huyện", "Số")}


# a unit word with its first letter lost, known by the mark left ("ổ 10" is Tổ, "ố 21" Số)
_HEADLESS_UNITS = {"ổ": "Tổ", "ố": "Số", "hôn": "Thôn"}


def _unit(part: str) -> str:
    word, _, rest = part.partition(" ")
    unit = _UNITS.get(_fold(word)) or _HEADLESS_UNITS.get(word.lower())
    if unit is None and rest[:1].isdigit() and len(word) >= 4:
        # before a number a misread unit word is still one ("Phườ 10"): the closest
        near = max(_UNITS, key=lambda k: fuzz.ratio(k, _fold(word)))
        unit = _UNITS[near] if len(near) >= 4 and fuzz.ratio(near, _fold(word)) >= 80 else None
    # "Tổ"/"Số" only before a number: "Tô Hiến Thành" is a street
    if unit is None or not rest or (unit in ("Tổ", "Số") and not rest[:1].isdigit()):
        return part
    return f"{unit} {rest}"


def _address(text: str) -> str:
    """The address with its province in the gazetteer's spelling and each part's unit word
    in its spelling (Tố → Tổ); a province the OCR ran into the district (its comma lost) is
    split off again."""
    # a comma after a house or group number read as a period ("Tổ 28. Phường …")
    text = re.sub(r"(?<=\d)\.\s+(?=\D)", ", ", text)
    # … or lost before a unit that opens the next part ("Phúc Quốc Quận Thảo Đỗ"): these
    # units never end a name ("Thị" is also a name, "Thị xã" is not)
    text = re.sub(r"(?<=[^\W\d_])\s+(?=(?:Phường|Quận|Huyện|Xã|Thị xã)\s)", ", ", text)
    # a speck read as a lone stop between parts ("Xã Quốc Trọng, . Thị xã …")
    parts = [_unit(p.strip(" .")) for p in clean_text(text).split(", ")]
    province = _province(parts[-1])
    if province == parts[-1] and province not in _PROVINCE_KEYS.values():
        words = parts[-1].split(" ")
        for k in range(1, min(len(words), 5)):
            tail = _province(" ".join(words[-k:]))
            head = _province_key(words[-k - 1]) if k < len(words) else ""
            if tail in _PROVINCE_KEYS.values() and head not in ("tp", "tinh", "thanhpho", "pho"):
                parts[-1:] = [" ".join(words[:-k]), tail]
                break
    else:
        parts[-1] = province
    return ", ".join(p for p in parts if p)


def _sex(text: str) -> str:
    # a closed vocabulary: a reading one letter from only one of its words is that word
    # ("Nơ" is Nữ; "Na" is as near Nữ as Nam, and stays as read)
    f = _fold(clean_text(text))
    near = [v for k, v in (("nam", "Nam"), ("nu", "Nữ")) if Levenshtein.distance(f, k) <= 1]
    return near[0] if len(near) == 1 else clean_text(text)


def _nationality(text: str) -> str:
    # only citizens hold the card: whatever misread label precedes it, "…Việt Nam" is theirs
    compact = "".join(c for c in _fold(clean_text(text)) if c.isalnum())
    # … and a letter lost or misread at the edge of the crop ("iệt Nam") is still it
    near = len(compact) >= 6 and Levenshtein.distance(compact[-7:], "vietnam") <= 1
    return "Việt Nam" if compact.endswith("vietnam") or near else clean_text(text)


# "Đặc điểm nhận dạng" (identifying features) use a small vocabulary: the mark's kind and
# where on the face it is. Words sharing a mark-less form (dưới/đuôi, mắt/mặt, dái/dài, cánh/cạnh)
# are all listed: a word read as none of them takes the one whose marks are nearest, and
# a tie (cảnh: cánh or cạnh) is never corrected.
_FEATURE_VOCABULARY = (
    "nốt ruồi sẹo vết chấm chàm xăm lõm lồi đen nâu cách trên dưới trước sau giữa trong "
    "ngoài mép phải trái đuôi mắt mặt lông mày mũi cánh cạnh môi miệng cằm má gò trán tai "
    "dái dài cổ đầu gáy thái dương nhân trung"
)
_FEATURE_WORDS = _FEATURE_VOCABULARY.split()
_FEATURE_KEYS: dict[str, list[str]] = {}


def _marks_closest(word: str, candidates: list[str]) -> str | None:
    """The one candidate whose marks are nearest the word's (``chẩm`` → ``chấm``, not
    ``chàm``: the circumflex was read, its tone misread), or None on a tie."""
    decomposed = unicodedata.normalize("NFD", word.casefold())
    scored = sorted(
        (Levenshtein.distance(decomposed, unicodedata.normalize("NFD", c)), c) for c in candidates
    )
    if len(scored) > 1 and scored[0][0] == scored[1][0]:
        return None
    return scored[0][1]


def _features(text: str) -> str:
    """Identifying features with each word's marks restored from the feature vocabulary.

    A word that is no vocabulary word but shares a mark-less form with some takes the
    nearest one's marks (``ruổi`` → ``ruồi``, ``Chẩm`` → ``Chấm``); the letters are never
    changed, and a tie stays as read.
    """
    if not _FEATURE_KEYS:
        for word in _FEATURE_WORDS:
            _FEATURE_KEYS.setdefault(_fold(word), []).append(word)

    def fix(word: str) -> str:
        candidates = _FEATURE_KEYS.get(_fold(word))
        if not candidates or not word.isalpha() or word.casefold() in candidates:
            return word
        # a word read with no marks at all says nothing of which one it is (duoi: dưới, đuôi)
        unmarked = word.casefold() == _fold(word)
        known = candidates[0] if len(candidates) == 1 else None
        if known is None and not unmarked:
            known = _marks_closest(word, candidates)
        if known is None:
            return word
        if word.isupper():
            return known.upper()
        return known.capitalize() if word[0].isupper() else known

    def case(k: int, word: str) -> str:
        # printed in sentence case: "NỐt", or "Cách" mid-line, is the recogniser's case slip
        if word.isupper() or word.casefold() not in _FEATURE_WORDS:
            return word
        return word.capitalize() if k == 0 else word.casefold()

    # the first letters of the mark's kind lost at the crop's edge ("ốt ruồi"): no word of
    # the vocabulary is spelt so, and only the kinds end so
    first, _, rest = clean_text(text).partition(" ")
    head = first.casefold()
    kind = next((k for k in FEATURE_KINDS if k.endswith(head) and k != head), None)
    if kind is not None and len(head) >= 2 and head not in _FEATURE_WORDS:
        text = f"{kind.capitalize()} {rest}"
    # its digit 1 read as l or I before the unit ("cách lcm", "lem"): no word is spelt so
    text = re.sub(r"(?<!\w)[lI|](?=(?:cm|ơm|om|crn|cn|em)\b)", "1", clean_text(text))
    text = re.sub(r"\b(cách) [lI|]m\b", r"\1 1cm", text)  # … its c lost too ("cách lm")
    # "cm" is the only unit printed there; OCR reads it "ơm", "crn" …
    text = re.sub(r"(\d)\s*(?:cm|ơm|om|crn|cn|em)\b", r"\1cm", text)
    # … and the 5 of "1,5cm" read as an S ("1.Scm", "1, Scm")
    text = re.sub(r"(\d)\s*[.,]\s*[Ss]cm\b", r"\1,5cm", text)
    return " ".join(case(k, fix(w)) for k, w in enumerate(text.split(" ")))


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
    """Find and rectify the card, then read its fields, MRZ and QR.

    A card that fits one of the known layouts, confirmed by its printed labels where the
    layout puts them and by plausible values, is read from the layout's value boxes (trimmed
    to their ink; ``use_detector`` asks the engine's text detector for the lines instead).
    Any other card is read by what is printed (``ekyc.document.printed``): every line
    recognised, the model and side from its title and labels, each value found next to or
    under its label. Raises the ``card`` errors (NoCard, SeveralCards, ImageTooSmall …) and
    UnknownCard (with its ``reason``) when neither way finds a citizen card.
    """
    timings: dict[str, float] = {}
    start = t0 = time.perf_counter()
    try:
        quad = find_card(image_bgr)
    except (NoCard, ImageTooSmall):
        # a crop of the card itself, its pale edge lost on white: read it whole
        whole = _whole_card(image_bgr)
        if whole is None:
            raise
        quad = whole
    timings["find"] = _ms(t0)
    t0 = time.perf_counter()
    try:
        found, kind = classify_found(image_bgr, quad)
    except UnknownCard:
        kind = None
    timings["rectify"] = _ms(t0)
    if kind is not None:
        reading = _read_by_layout(image_bgr, found, kind, ocr, use_detector, qr, timings)
        if reading is not None:
            timings["total"] = _ms(start)
            return reading
    reading = _read_by_print(image_bgr, quad if kind is None else found, kind, ocr, qr, timings)
    timings["total"] = _ms(start)
    return reading


def _read_by_layout(
    image_bgr: np.ndarray,
    quad: np.ndarray,
    kind: CardClass,
    ocr: OcrLike,
    use_detector: bool,
    qr: bool,
    timings: dict[str, float],
) -> CardReading | None:
    """The reading from the layout's boxes, or None when the card's labels are not where the
    layout puts them or a value is implausible (then the card is read by its print)."""
    layout = LAYOUTS[(kind.model, kind.side)]
    image = kind.image
    t0 = time.perf_counter()
    boxes = [(f.name, box) for f in layout.fields for box in f.lines]
    mrz_boxes = list(layout.mrz or ())
    label_boxes = [label_box(f) for f in layout.fields]
    detector = getattr(ocr, "detector", None) if use_detector else None
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if detector is not None:
        spans = _detected_spans(detector, image, [b for _, b in boxes] + mrz_boxes)
        timings["detect"] = _ms(t0)
    else:
        spans = [ink_span(grey, b) for _, b in boxes] + [ink_span(grey, b) for b in mrz_boxes]
        timings["locate"] = _ms(t0)
    # a value printed further left than the layout's box is cut by it ("ôn Nhung" of "Thôn
    # Nhung"): another print of the card, read by its print instead
    if any(cut_at_left(grey, b) for _, b in boxes):
        return None
    spans += [ink_span(grey, b) for b in label_boxes]
    t0 = time.perf_counter()
    wanted = [i for i, s in enumerate(spans) if s is not None]
    read = ocr.read_lines(image, [_box_quad(spans[i]) for i in wanted])  # type: ignore[arg-type]
    by_index = dict(zip(wanted, read, strict=True))
    timings["recognise"] = _ms(t0)
    first_label = len(boxes) + len(mrz_boxes)
    labels_read = [by_index.get(first_label + i) for i in range(len(label_boxes))]
    if not labels_confirmed(layout, [tb.text if tb is not None else "" for tb in labels_read]):
        return None
    texts: dict[str, list[str]] = {}
    conf: dict[str, list[float]] = {}
    for i, (name, _) in enumerate(boxes):
        tb = by_index.get(i)
        if tb is not None and tb.text.strip():
            texts.setdefault(name, []).append(" ".join(tb.text.split()))
            conf.setdefault(name, []).append(tb.confidence)
    raw = {k: " ".join(v) for k, v in texts.items()}
    fields = {k: normalise_field(k, v) for k, v in raw.items()}
    if set(fields) != set(layout.field_names) or not all(
        plausible(k, v) for k, v in fields.items()
    ):
        return None
    mrz_text = None
    if mrz_boxes:
        lines = [by_index.get(len(boxes) + i) for i in range(len(mrz_boxes))]
        mrz_text = "\n".join(
            repair_mrz_line(tb.text if tb is not None else "", i) for i, tb in enumerate(lines)
        )
    wants_qr = qr and layout.qr is not None
    return CardReading(
        model=kind.model,
        side=kind.side,
        fields=fields,
        confidence={k: min(v) for k, v in conf.items()},
        quad=quad,
        image=image,
        upside_down=kind.upside_down,
        raw=raw,
        timings_ms=timings,
        method="layout",
        **_codes(mrz_text, _decode_qr_region(image, layout) if wants_qr else None, wants_qr),
    )


def _read_by_print(
    image_bgr: np.ndarray,
    quad: np.ndarray,
    kind: CardClass | None,
    ocr: OcrLike,
    qr: bool,
    timings: dict[str, float],
) -> CardReading:
    """The reading from every printed line (model, side and fields found by their labels)."""
    upright = rectify(image_bgr, _outline(image_bgr, quad))
    turned = cv2.rotate(upright, cv2.ROTATE_180)
    tries = [(upright, False), (turned, True)]
    if kind is not None and kind.upside_down:  # the layout's orientation: the best first guess
        tries.reverse()
    first: UnknownCard | None = None
    t0 = time.perf_counter()
    for image, upside_down in tries:
        lines = as_lines(_read_all(ocr, image))
        try:
            model, side = classify_printed(lines)
        except UnknownCard as e:
            first = first or e
            continue
        timings["read_all"] = _ms(t0)

        def reread(boxes: list[Box], image: np.ndarray = image) -> list[tuple[str, float]]:
            read = ocr.read_lines(image, [_box_quad(b) for b in boxes])
            return [(tb.text, tb.confidence) for tb in _corrected(ocr, image, read)]

        values = read_printed(lines, model, side, reread)
        raw = {k: v for k, (v, _) in values.items()}
        fields = {k: normalise_field(k, v) for k, v in raw.items()}
        mrz = mrz_lines(lines)
        mrz_text = (
            "\n".join(repair_mrz_line(mrz[i] if i < len(mrz) else "", i) for i in range(3))
            if mrz
            else None
        )
        wants_qr = qr and (model, side) in {("cccd2021", "front"), ("cancuoc2024", "back")}
        qr_text = (decode_qr(image) or decode_qr(image_bgr)) if wants_qr else None
        return CardReading(
            model=model,
            side=side,
            fields=fields,
            confidence={k: c for k, (_, c) in values.items()},
            quad=quad,
            image=image,
            upside_down=upside_down,
            raw=raw,
            timings_ms=timings,
            method="printed",
            **_codes(mrz_text, qr_text, wants_qr),
        )
    assert first is not None
    raise first


def _read_all(ocr: OcrLike, image: np.ndarray) -> Sequence[_LineBox]:
    """Every printed line, lines the detector joined across a column gap cut apart."""
    detector = getattr(ocr, "detector", None)
    if detector is None:
        return ocr.read(image)
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    quads = [piece for q in detector.detect(image) for piece in split_at_gaps(grey, q)]
    return _corrected(ocr, image, ocr.read_lines(image, quads))


def _corrected(ocr: OcrLike, image: np.ndarray, boxes: Sequence[Any]) -> list[Any]:
    """Lines read a second time in a taller framing (``OcrEngine.second_look``: tone marks),
    then words read as no word corrected (``ekyc.document.lexicon``), where the engine can
    score readings."""
    second_look = getattr(ocr, "second_look", None)
    looked = second_look(image, list(boxes)) if second_look is not None else list(boxes)
    return correct_boxes(looked, image, getattr(ocr, "score_line", None))


def _whole_card(image_bgr: np.ndarray) -> np.ndarray | None:
    """The whole image's corners when the image is itself card-shaped, big enough and
    printed on (a blank page stays NoCard)."""
    h, w = image_bgr.shape[:2]
    if (
        not ASPECT_RANGE[0] <= max(h, w) / min(h, w) <= ASPECT_RANGE[1]
        or max(h, w) < MIN_CARD_LONG_SIDE
        or float(np.std(image_bgr)) < 8.0
    ):
        return None
    return order_card_quad(np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32))


def _outline(image_bgr: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The card's corners to read by print: the whole image when it is itself card-shaped
    and the outline found covers well under it (a pale card's edge lost on white)."""
    whole = _whole_card(image_bgr)
    h, w = image_bgr.shape[:2]
    if whole is not None and cv2.contourArea(quad.astype(np.float32)) < 0.85 * w * h:
        return whole
    return quad


def _codes(mrz_text: str | None, qr_text: str | None, qr_expected: bool) -> dict[str, Any]:
    """The MRZ parsed and checked and the QR payload parsed, as CardReading's fields."""
    mrz, mrz_error = _parse_mrz(mrz_text) if mrz_text is not None else (None, None)
    qr_payload = qr_error = None
    if qr_expected:
        if qr_text is None:
            qr_error = "qr_not_decoded"
        else:
            try:
                qr_payload = parse_qr_payload(qr_text)
            except MalformedQr as e:
                qr_error = f"{e.code}:{e.reason}"
    return {
        "mrz_text": mrz_text,
        "mrz": mrz,
        "mrz_error": mrz_error,
        "qr_text": qr_text,
        "qr": qr_payload,
        "qr_error": qr_error,
    }


def label_box(f: FieldLayout) -> Box:
    """Where the layout prints field ``f``'s label (its width estimated from its length)."""
    x, baseline = f.label_at
    return (
        x,
        baseline - round(1.05 * f.label_size),
        int(0.5 * f.label_size * len(f.label)),
        round(1.4 * f.label_size),
    )


def labels_confirmed(layout: CardLayout, read: Sequence[str]) -> bool:
    """Whether two thirds of the layout's labels were read where the layout puts them."""
    hits = sum(
        fuzz.partial_ratio(_fold_compact(f.label), _fold_compact(text)) >= 75
        for f, text in zip(layout.fields, read, strict=True)
        if text
    )
    return hits >= max(1, round(2 * len(layout.fields) / 3))


def _fold_compact(text: str) -> str:
    return "".join(c for c in _fold(text) if c.isalnum())


_PLAUSIBLE: dict[str, re.Pattern[str]] = {
    "id_number": re.compile(r"\d{12}"),
    "date_of_birth": re.compile(r"\d{2}/\d{2}/\d{4}"),
    "date_of_issue": re.compile(r"\d{2}/\d{2}/\d{4}"),
    "date_of_expiry": re.compile(r"\d{2}/\d{2}/\d{4}|Không thời hạn", re.IGNORECASE),
    "sex": re.compile(r"Nam|Nữ"),
    "full_name": re.compile(r"[^\W\d_]+( [^\W\d_]+)+"),
    "place_of_origin": re.compile(r".+, .+"),
    "place_of_residence": re.compile(r".+, .+"),
}


def plausible(name: str, value: str) -> bool:
    """Whether a normalised value has its field's form (a date, 12 digits, Nam/Nữ …)."""
    pattern = _PLAUSIBLE.get(name)
    return bool(value) and (pattern is None or pattern.fullmatch(value) is not None)


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
