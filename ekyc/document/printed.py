"""Reading a card by what is printed on it: the title and field labels found by OCR.

Every text line of the rectified card is detected and recognised; the card's model and side
follow from its title ("CĂN CƯỚC CÔNG DÂN", "CĂN CƯỚC" + "IDENTITY CARD"), its labels
(Vietnamese only on 2016 cards, bilingual from 2021, the Căn cước's own wording) and its MRZ.
Each field's value is the text after its label on the same line, or the line below the label
when the label ends its line; addresses and identifying features go on over the lines under
them until the next label. Labels are matched without diacritics, spaces or punctuation and
with a small edit tolerance (rapidfuzz), so an OCR slip in a label ("Date ofexpiry") or a
different print batch's wording does not lose the field.

Nothing here depends on where a template puts things: positions come from the lines found.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from rapidfuzz import fuzz

from ekyc.document.errors import UnknownCard

CardModel = str  # "cccd2016" | "cccd2021" | "cancuoc2024"


class _TextBox(Protocol):  # read-only, as models.ocr.base.TextBox
    @property
    def quad(self) -> np.ndarray: ...
    @property
    def text(self) -> str: ...
    @property
    def confidence(self) -> float: ...


# each field's labels, folded (no marks, no spaces, no punctuation), Vietnamese and English
LABELS: dict[str, tuple[str, ...]] = {
    "id_number": ("sodinhdanhcanhan", "personalidentificationnumber"),
    "full_name": ("hochudemvatenkhaisinh", "surnamemiddlenameandgivenname", "hovaten", "fullname"),
    "date_of_birth": ("ngaythangnamsinh", "ngaysinh", "dateofbirth"),
    "sex": ("gioitinh",),
    "nationality": ("quoctich", "nationality"),
    "place_of_origin": ("noidangkykhaisinh", "placeofbirth", "quequan", "placeoforigin"),
    "place_of_residence": ("noithuongtru", "noicutru", "placeofresidence"),
    "date_of_expiry": ("ngaythangnamhethan", "cogiatriden", "dateofexpiry"),
    "identifying_features": ("dacdiemnhandang", "personalidentification"),
    "date_of_issue": ("ngaythangnamcap", "dateofissue", "ngaythangnam", "datemonthyear"),
}
# short English labels only count right after their Vietnamese one ("Giới tính / Sex")
_TRAILING = {"sex": "sex", "id_number": "no"}
FRONT = ("id_number", "full_name", "date_of_birth", "sex", "nationality")
BACK = ("identifying_features", "date_of_issue")
_WRAPS = {"place_of_origin", "place_of_residence", "identifying_features"}
_FIELDS_BY_KIND: dict[tuple[CardModel, str], tuple[str, ...]] = {
    ("cccd2016", "front"): (*FRONT, "place_of_origin", "place_of_residence", "date_of_expiry"),
    ("cccd2021", "front"): (*FRONT, "place_of_origin", "place_of_residence", "date_of_expiry"),
    ("cccd2016", "back"): BACK,
    ("cccd2021", "back"): BACK,
    ("cancuoc2024", "front"): FRONT,
    ("cancuoc2024", "back"): (
        "place_of_residence",
        "place_of_origin",
        "date_of_issue",
        "date_of_expiry",
    ),
}
# documents that are not a citizen card: named so the caller hears what it sent
_OTHER_DOCUMENTS = {
    "chungminhnhandan": "a CMND (the 9-digit identity card before 2016)",
    "hochieu": "a passport",
    "passport": "a passport",
    "giaypheplaixe": "a driving licence",
}
_MIN_SCORE = 85.0
_MIN_COLON_SCORE = 70.0  # for a whole label before a colon (_labels_before_colons)
MAX_LABEL_CHARS = 40
VERTICAL_PAD = 0.06  # of a detected line's height, above and below
INK_MIN_DELTA, INK_FRACTION, INK_MIN_PIXELS = 20.0, 0.25, 0.06  # split_at_gaps' ink (grey levels)
_ID = re.compile(r"(?<!\d)\d{12}(?!\d)")


def fold(text: str) -> str:
    """Lower case, no diacritics (đ → d)."""
    s = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in s if not unicodedata.combining(c))


def _compact(text: str) -> tuple[str, list[int]]:
    """The folded letters and digits of ``text`` and, for each, its index in ``text``."""
    chars, index = [], []
    for i, ch in enumerate(text):
        f = fold(ch)
        for c in f:
            if c.isalnum():
                chars.append(c)
                index.append(i)
    return "".join(chars), index


@dataclass(frozen=True)
class Line:
    """One recognised line: its text, box (x0, y0, x1, y1) and confidence."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    def x_at(self, index: int) -> float:
        """The x of character ``index``, assuming evenly wide characters."""
        x0, _, x1, _ = self.box
        return x0 + (x1 - x0) * index / max(len(self.text), 1)


@dataclass(frozen=True)
class _Label:
    field: str
    line: int
    start: int  # character span of the label in the line's text
    end: int


def as_lines(boxes: Sequence[_TextBox]) -> list[Line]:
    out = []
    for b in boxes:
        q = np.asarray(b.quad, np.float32)
        text = " ".join(b.text.split())
        if text:
            out.append(
                Line(
                    text, (q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max()), b.confidence
                )
            )
    return sorted(out, key=lambda ln: (ln.box[1], ln.box[0]))


def split_at_gaps(grey: np.ndarray, quad: np.ndarray) -> list[np.ndarray]:
    """A detected line trimmed to its ink and cut where the ink pauses for over 1.2 line
    heights: a text detector joins a label in one column to a value in the next when they
    share a baseline, and its padded box lets the recogniser invent a letter at the end."""
    q = np.asarray(quad, np.float32).reshape(4, 2)
    x0, y0 = (int(v) for v in np.floor(q.min(axis=0)))
    x1, y1 = (int(v) for v in np.ceil(q.max(axis=0)))
    x0, y0 = max(x0, 0), max(y0, 0)
    region = grey[y0:y1, x0:x1]
    h = y1 - y0
    if region.size == 0 or h <= 0:
        return [q]
    bg = float(np.median(region))
    # labels are often printed in a light grey, and a photo's light fades part of a line:
    # ink is anything well off the background, a column inked when a few pixels are (not one
    # pixel of noise), or the faint part of a line is trimmed away with its gap
    contrast = bg - float(np.percentile(region, 0.5))
    ink = np.asarray(region < bg - max(INK_MIN_DELTA, INK_FRACTION * contrast))
    cols: list[bool] = (ink.sum(axis=0) >= max(2, INK_MIN_PIXELS * h)).tolist()
    pieces, start, run = [], None, 0
    for x, has_ink in enumerate([*cols, False] + [False] * int(1.2 * h + 1)):
        if has_ink:
            if start is None:
                start = x
            run, end = 0, x + 1
        elif start is not None:
            run += 1
            if run > 1.2 * h:
                pieces.append((start, end))
                start = None
    if not pieces:
        return [q]
    pad = max(2, h // 8)
    # stacked marks (Ặ, Ỗ) stand above the detector's box: a taller crop keeps them
    top, bottom = max(y0 - VERTICAL_PAD * h, 0), min(y1 + VERTICAL_PAD * h, grey.shape[0] - 1)
    return [
        np.array(
            [
                [x0 + a - pad, top],
                [x0 + b + pad, top],
                [x0 + b + pad, bottom],
                [x0 + a - pad, bottom],
            ],
            np.float32,
        )
        for a, b in pieces
    ]


def _find_labels(lines: list[Line], fields: Sequence[str]) -> list[_Label]:
    """Every label of ``fields`` in the lines, longest wordings first, spans not overlapping."""
    keys = sorted(
        ((key, name) for name in fields for key in LABELS[name]), key=lambda kv: -len(kv[0])
    )
    found: list[_Label] = []
    for li, line in enumerate(lines):
        compact, index = _compact(line.text)
        taken = np.zeros(len(compact), bool)
        for key, name in keys:
            if len(key) > len(compact) + 2:
                continue
            hit = fuzz.partial_ratio_alignment(key, compact, score_cutoff=_MIN_SCORE)
            if hit is None or hit.dest_end - hit.dest_start < 0.8 * len(key):
                continue
            s, e = hit.dest_start, hit.dest_end
            while e > s and compact[e - 1].isdigit():  # no label holds a digit: the value's
                e -= 1  # first one, aligned to a letter the label lost ("Dat of issue 17/…")
            if taken[s:e].any():
                continue
            taken[s:e] = True
            found.append(_Label(name, li, index[s], index[e - 1] + 1))
        # an English wording right after the Vietnamese one belongs to the same label
        merged: dict[str, _Label] = {}
        for lab in sorted((f for f in found if f.line == li), key=lambda f: f.start):
            prev = merged.get(lab.field)
            if prev is None:
                merged[lab.field] = lab
            else:
                merged[lab.field] = _Label(lab.field, li, prev.start, max(prev.end, lab.end))
        found = [f for f in found if f.line != li] + [
            _extend(line.text, _from_line_start(line.text, lab)) for lab in merged.values()
        ]
    found += _labels_before_colons(lines, [n for n in fields if n not in {f.field for f in found}],
                                   {f.line for f in found})  # fmt: skip
    return sorted(found, key=lambda f: (f.line, f.start))


def _labels_before_colons(
    lines: list[Line], missing: Sequence[str], taken: set[int]
) -> list[_Label]:
    """Labels the first pass missed because the recogniser dropped letters of a short one
    ("Gới tíh:", "Quố ic:"): what opens an unlabelled line up to its colon, compared whole
    with a looser cutoff. The colon is what makes the looser match safe: it marks the text
    before it as a label."""
    best: dict[str, tuple[float, _Label]] = {}
    for li, line in enumerate(lines):
        colon = line.text.find(":")
        if li in taken or not 0 < colon <= MAX_LABEL_CHARS:
            continue
        # the whole prefix, and each wording of a bilingual one ("Nơi thường ii / Phúc o
        # radene"): one garbled wording must not hide the other
        head = line.text[:colon]
        prefixes = {_compact(p)[0] for p in (head, *head.split("/"))} - {""}
        scored = [
            (fuzz.ratio(key, prefix), name)
            for prefix in prefixes
            for name in missing
            for key in LABELS[name]
            if abs(len(key) - len(prefix)) <= 4
        ]
        if not scored:
            continue
        score, name = max(scored)
        if score >= _MIN_COLON_SCORE and score > best.get(name, (0.0, None))[0]:
            best[name] = (score, _Label(name, li, 0, colon + 1))
    chosen: dict[int, _Label] = {}
    for _, lab in sorted(best.values(), key=lambda sl: -sl[0]):
        chosen.setdefault(lab.line, lab)  # one label per line, the best scored
    return list(chosen.values())


def _from_line_start(text: str, lab: _Label) -> _Label:
    """The label from the start of its line when only a few letters precede the wording
    that matched: the rest of a misread Vietnamese label before its English one
    ("Nơicưửn/ Place of residence")."""
    head = text[: lab.start]
    if (
        lab.start
        and "/" in head
        and len(_compact(head)[0]) <= 14
        and not any(c.isdigit() for c in head)
    ):
        return _Label(lab.field, lab.line, 0, lab.end)
    return lab


def _extend(text: str, lab: _Label) -> _Label:
    """The label's span over what trails it: "/ Sex", "/ No.", a colon."""
    rest = text[lab.end :]
    # a misread English wording runs up to where the value opens ("/Rersonai idenication
    # Nốt ruồi cách", "/Place o nxiknee Thôn Trọng, …"), its colon lost or not
    opens = _value_opens(lab.field, rest) if re.match(r"\s*/", rest) else None
    if opens is not None and opens <= MAX_LABEL_CHARS:
        return _Label(lab.field, lab.line, lab.start, lab.end + opens)
    # an English wording too misread to match ("/ Placo of ongin:") up to its colon
    english = re.match(r"\s*/[^:/]{1,40}:", rest)
    if english:
        return _Label(lab.field, lab.line, lab.start, lab.end + english.end())
    # … or without a colon, the whole rest of the line when it reads like one of them
    tail = re.fullmatch(r"\s*/([^:/\d]{3,40})", rest)
    if tail and any(
        fuzz.partial_ratio(_compact(tail.group(1))[0], key) >= 60
        for key in LABELS[lab.field]
        if key.isascii()
    ):
        return _Label(lab.field, lab.line, lab.start, len(text))
    short = _TRAILING.get(lab.field)
    pattern = rf"\s*/?\s*(?:{short}\b\.?)?\s*[:.]?" if short else r"\s*[:.]?"
    m = re.match(pattern, rest, flags=re.IGNORECASE)
    return _Label(lab.field, lab.line, lab.start, lab.end + (m.end() if m else 0))


def _is_mrz(text: str) -> bool:
    return "<<" in text and len(text.replace(" ", "")) >= 20


def classify_printed(lines: list[Line]) -> tuple[CardModel, str]:
    """The card's model and side from its title, labels and MRZ.

    Raises UnknownCard with ``reason`` ``no_printed_text`` (nothing card-like was read),
    ``other_document`` (another document, named) or ``no_layout`` (a title without the
    labels of any side).
    """
    compact = "".join(_compact(ln.text)[0] for ln in lines)
    for key, what in _OTHER_DOCUMENTS.items():
        if key in compact and "cancuoc" not in compact:
            raise UnknownCard(f"this is {what}, not a citizen card", reason="other_document")
    labels = {lab.field for lab in _find_labels(lines, tuple(LABELS))}
    mrz = any(_is_mrz(ln.text) for ln in lines)
    if not labels and not mrz:
        if not lines:
            raise UnknownCard("no printed text was read on the card", reason="no_printed_text")
        if "cancuoc" not in compact:
            raise UnknownCard("no card title or field label was read", reason="no_printed_text")
        raise UnknownCard("a card title without the labels of any side", reason="no_layout")
    # English wordings too garbled to match still follow their Vietnamese label after a
    # slash ("Gó tỉnh /Sec Nữ"); a 2016 card prints no slash but in its dates
    slashed = sum(bool(re.search(r"/\s*[^\W\d_]", ln.text)) for ln in lines)
    bilingual = _english_labels(lines) >= 2 or slashed >= 3
    new_wording = any(
        k in compact
        for k in ("sodinhdanh", "hochudem", "noicutru", "noidangkykhaisinh", "hethan", "namcap")
    )
    congdan = "congdan" in compact
    english_title = any(
        fuzz.ratio(_compact(ln.text)[0], "identitycard") >= 80 for ln in lines
    )  # "identty card"
    if "identitycard" in compact or english_title or (new_wording and not congdan):
        model: CardModel = "cancuoc2024"
    elif bilingual or mrz:
        model = "cccd2021"
    else:
        model = "cccd2016"
    if model == "cancuoc2024":
        side = "back" if mrz or labels & {"place_of_residence", "date_of_issue"} else "front"
    else:
        side = "back" if mrz or labels & set(BACK) else "front"
    if not labels & set(_FIELDS_BY_KIND[(model, side)]) and not mrz:
        raise UnknownCard(f"a {model} title without the labels of a side", reason="no_layout")
    return model, side


#: English wordings of labels: only cards from 2021 on print them
_ENGLISH = (
    "fullname", "dateofbirth", "nationality", "placeoforigin", "placeofresidence",
    "dateofexpiry", "personalidentification", "datemonthyear", "placeofbirth",
)  # fmt: skip


def _english_labels(lines: list[Line]) -> int:
    """How many English label wordings the lines hold, misread letters tolerated."""
    compacts = [_compact(ln.text)[0] for ln in lines]
    return sum(
        any(len(c) >= 0.8 * len(key) and fuzz.partial_ratio(key, c) >= 80 for c in compacts)
        for key in _ENGLISH
    )


#: re-reads boxes (x, y, w, h) of the card image: [(text, confidence)] in the same order
Reread = Callable[[list[tuple[int, int, int, int]]], list[tuple[str, float]]]


def read_printed(
    lines: list[Line],
    model: CardModel,
    side: str,
    reread: Reread | None = None,
) -> dict[str, tuple[str, float]]:
    """Each field's raw value and the lowest confidence of the lines it came from.

    With ``reread``, a value that shares its line with its label is read again from a
    shorter crop: a recogniser reading a long label-and-value line drops characters a
    short crop keeps."""
    names = _FIELDS_BY_KIND[(model, side)]
    labels = _find_labels(lines, names)
    labelled = {lab.line for lab in labels}
    lines = lines + _stray_tails(lines, labels)  # unlabelled: a wrapped value may take them
    consumed: set[int] = set()  # lines taken as a value already
    parts: dict[str, list[tuple[str, float]]] = {}
    crops: list[tuple[str, tuple[int, int, int, int]]] = []
    for i, lab in enumerate(labels):
        if lab.field in parts:
            continue
        line = lines[lab.line]
        nxt = labels[i + 1] if i + 1 < len(labels) and labels[i + 1].line == lab.line else None
        value = line.text[lab.end : nxt.start if nxt else None].strip(" :;.-/|")
        if _label_remnant(lab.field, value) or not _has_shape(lab.field, value):
            value = ""
        value = _closed_value(lab.field, line.text[lab.start : nxt.start if nxt else None]) or value
        # a label that opens its line is the value's column; one further in, its own x
        left = line.box[0] if lab.start == 0 else line.x_at(lab.start)
        last = lab.line
        if value:
            if reread is not None:
                stop = line.x_at(nxt.start) if nxt else line.box[2]
                crops.append((lab.field, _value_crop(line, line.x_at(lab.end), stop)))
            found = [(value, line.confidence)]
        elif (row := _rest_of_row(lines, lab.line, labelled | consumed)) and _beside(
            lab.field, lines[row[0]].text
        ):  # the value beside its label, detected apart from it
            found, last = [(lines[j].text, lines[j].confidence) for j in row], row[-1]
            found[0] = (_closed_value(lab.field, found[0][0]) or found[0][0], found[0][1])
            consumed.update(row)
        else:
            below = _below(lines, lab.line, left, labelled | consumed)
            if below is None:
                continue
            found, last = [(lines[below].text, lines[below].confidence)], below
            consumed.add(below)
        if lab.field in _WRAPS:
            joined = _rest_of_row(lines, last, labelled | consumed | {lab.line})
            while True:
                for j in joined:
                    found.append((lines[j].text, lines[j].confidence))
                    consumed.add(j)
                more = _continuation(lines, last, left, labelled | consumed)
                if more is None:
                    break
                found.append((lines[more].text, lines[more].confidence))
                consumed.add(more)
                last = more
                joined = _rest_of_row(lines, more, labelled | consumed)
        parts[lab.field] = found
    if crops and reread is not None:
        for (name, _), (text, conf) in zip(crops, reread([c for _, c in crops]), strict=True):
            first = parts[name][0][0]
            again = _after_label(text, first)
            # a whole date is not traded for a reading that cut it ("17/12/2016", "7/122016")
            cut = (
                name in _DATES and bool(_DATE.fullmatch(first)) and not _DATE.fullmatch(again or "")
            )
            if again and not cut and not _label_remnant(name, again):
                parts[name][0] = (again, conf)
    out = {
        k: (_without_label(k, " ".join(t for t, _ in v)), min(c for _, c in v))
        for k, v in parts.items()
    }
    if "id_number" in names:
        number = _id_number(lines)
        if number is not None and not re.fullmatch(r"\d{12}", out.get("id_number", ("", 0))[0]):
            out["id_number"] = number
    free = [i for i in range(len(lines)) if i not in labelled | consumed]
    out.update(
        _addresses_by_value(lines, free, [n for n in names if n in _ADDRESSES and n not in out])
    )
    if "sex" in names and "sex" not in out:
        out.update(_sex_by_value(lines, free))
    if "nationality" in names and "nationality" not in out:
        out.update(_nationality_by_value(lines, free))
    out.update(_trailing_date(out, [n for n in names if n in _DATES and n not in out]))
    out.update(_lone_date(lines, free, [n for n in names if n in _DATES and n not in out]))
    return out


def _trailing_date(
    values: dict[str, tuple[str, float]], missing: list[str]
) -> dict[str, tuple[str, float]]:
    """The one missing date, found at the end of an address: the detector joined the date in
    the next column to the address's last line ("…, Tây Ninh 20/06/2017")."""
    if len(missing) != 1:
        return {}
    for name in _ADDRESSES:
        text, conf = values.get(name, ("", 0.0))
        m = re.search(r"[\s,;]+(\d{1,2}/\d{1,2}/\d{4})[\s.]*$", text)
        if m and m.start() > 0:
            values[name] = (text[: m.start()], conf)
            return {missing[0]: (m.group(1), conf)}
    return {}


_DATES = ("date_of_birth", "date_of_expiry", "date_of_issue")
_ADDRESSES = ("place_of_origin", "place_of_residence")
#: the words that open a part of an address (its administrative unit), folded
_UNIT_WORDS = ("so", "to", "thon", "xom", "ap", "xa", "phuong", "quan", "huyen", "thi", "thanh")
#: the words an identifying feature opens with (the mark's kind)
FEATURE_KINDS = ("nốt", "sẹo", "vết", "chấm", "chàm")
_OPENERS = {
    "place_of_origin": _UNIT_WORDS,
    "place_of_residence": _UNIT_WORDS,
    "identifying_features": tuple(fold(k) for k in FEATURE_KINDS),
}


def _value_opens(name: str, text: str) -> int | None:
    """Where in ``text`` a value of ``name`` opens: its first capitalised word that only such
    a value starts with (an address's unit, a feature's kind), if any."""
    openers = _OPENERS.get(name, ())
    for m in re.finditer(r"\S+", text):
        word = m.group()
        if word[0].isupper() and fold(word).strip(",.:;") in openers:
            return m.start()
    return None


def _address_opens(words: list[str]) -> int | None:
    """The index of the first word that is an administrative unit, if any."""
    return next((k for k, w in enumerate(words) if fold(w).strip(",.") in _UNIT_WORDS), None)


def _closed_value(name: str, text: str) -> str | None:
    """Sex or nationality at the end of its label's line, however misread the label
    ("Giới đnh /Sex Nữ", "Quốc iịch /Natomity Việt Nam"): each has a closed vocabulary, so
    the value's own word is surer than where a garbled label seems to end."""
    words = text.split()
    if name == "sex" and len(words) >= 2 and fold(words[-1]) in ("nam", "nu"):
        return words[-1]
    if name == "nationality" and _compact(text)[0].endswith("vietnam") and len(words) >= 3:
        return "Việt Nam"
    return None


def _stray_tails(lines: list[Line], labels: list[_Label]) -> list[Line]:
    """What follows a date's label on its line but is no date: the detector joined the
    label (under the portrait) to the last line of a wrapped address in the next column
    ("Có giá trị đến/Date of expiry: Nhung Vũ, Khánh Hòa"). Kept as a line of its own."""
    out = []
    for lab in labels:
        line = lines[lab.line]
        after = [o.start for o in labels if o.line == lab.line and o.start >= lab.end]
        rest = line.text[lab.end : min(after, default=None)]
        value = rest.strip(" :;.-/|")
        if (
            lab.field in _DATES
            and not _has_shape(lab.field, value)
            and len(value.split()) >= 2
            and not _label_remnant(lab.field, value, 60)
        ):
            start = line.x_at(lab.end + len(rest) - len(rest.lstrip(" :;.-/|")))
            out.append(Line(value, (start, line.box[1], line.box[2], line.box[3]), line.confidence))
    return out


def _addresses_by_value(
    lines: list[Line], free: list[int], missing: list[str]
) -> dict[str, tuple[str, float]]:
    """Addresses whose labels were misread past matching ("Qa qun: Số 258 Bạch Đằng, …"):
    unlabelled lines of three or more comma-separated parts, after at most a short remnant
    of a label, given to the missing address fields in the order the card prints them."""
    starts: dict[int, str] = {}
    for i in free:
        text = lines[i].text
        words = text.split()
        opens = _address_opens(words)
        if opens is None or text.count(",") < 2 or _is_mrz(text):
            continue
        head = " ".join(words[:opens])
        if len(_compact(head)[0]) <= 16 and sum(c.isdigit() for c in head) <= 1:
            starts[i] = " ".join(words[opens:])
    # every start is taken from the outset: one address never runs on into the next
    taken = set(range(len(lines))) - set(free) | set(starts)
    found: list[tuple[str, float]] = []
    for i, text in starts.items():
        parts, conf, last = [text], lines[i].confidence, i
        while (more := _continuation(lines, last, lines[i].box[0], taken)) is not None:
            parts.append(lines[more].text)
            conf, last = min(conf, lines[more].confidence), more
            taken.add(more)
        found.append((" ".join(parts), conf))
    return dict(zip(missing, found, strict=False))


def _has_shape(name: str, value: str) -> bool:
    """Whether a value after its label can be the field's: a date or number holds digits
    ("Dao & axpiyi" after "Có giá trị đến" is the misread English label, not the date)."""
    return not value or name not in (*_DATES, "id_number") or any(c.isdigit() for c in value)


def _beside(name: str, text: str) -> bool:
    """Whether a line right of a label that ends its line can be the label's value."""
    return _has_shape(name, text) and not _label_remnant(name, text)


_DATE = re.compile(r"\d{2}/\d{2}/\d{4}")


def _sex_by_value(lines: list[Line], free: list[int]) -> dict[str, tuple[str, float]]:
    """Sex when its short label was misread past matching ("i tỉnh Nam"): a line ending in
    Nam or Nữ whose start still resembles part of "giới tính"."""
    for i in free:
        words = lines[i].text.split()
        if len(words) < 2 or fold(words[-1]) not in ("nam", "nu"):
            continue
        start = _compact(" ".join(words[:-1]))[0]
        resembles = 3 <= len(start) <= 10 and fuzz.partial_ratio(start, "gioitinh") >= 70
        # … or its English word ("Sex: Nam", cut from "Giới tính"), or any short label whose
        # colon still stands before the value ("cá nh: Nam")
        colon = words[-2].endswith(":") and 2 <= len(start) <= 10 and not start.isdigit()
        english = start.endswith("sex") and len(start) <= 6
        if resembles or english or colon:
            return {"sex": (words[-1], lines[i].confidence)}
    return {}


def _nationality_by_value(lines: list[Line], free: list[int]) -> dict[str, tuple[str, float]]:
    """Nationality when its label was lost ("h Việt Nam"): a free line that is "Việt Nam"
    after at most a few letters (a citizen card holder is a citizen)."""
    for i in free:
        compact = _compact(lines[i].text)[0]
        # a longer remnant only where a colon or slash shows it was a label
        # ("Qc th/Nanalty: Việt Nam"; the title's "… CHỦ NGHĨA VIỆT NAM" has neither)
        marked = ":" in lines[i].text or "/" in lines[i].text
        if (
            compact.endswith("vietnam")
            and len(compact) <= 7 + (12 if marked else 6)
            and not any(c.isdigit() for c in compact)
        ):
            return {"nationality": ("Việt Nam", lines[i].confidence)}
    return {}


def _lone_date(
    lines: list[Line], free: list[int], missing: list[str]
) -> dict[str, tuple[str, float]]:
    """The one date field whose label was misread, when one line is nothing but a date and
    no other label claimed it (a CCCD front's expiry under the portrait)."""
    dates = [i for i in free if _DATE.fullmatch(lines[i].text.strip(" .:"))]
    if len(missing) != 1 or len(dates) != 1:
        return {}
    line = lines[dates[0]]
    return {missing[0]: (line.text.strip(" .:"), line.confidence)}


def _value_crop(line: Line, label_end: float, stop: float) -> tuple[int, int, int, int]:
    """A box over a value after its label, starting well inside the label.

    ``label_end`` assumes evenly wide characters, but labels are printed smaller than values,
    so the label really ends before it: the crop starts halfway there and the label's tail
    read with it is cut off by aligning the value's first reading (``_after_label``)."""
    x0, y0, _, y1 = line.box
    start = x0 + 0.5 * (label_end - x0)
    return (int(start), int(y0), int(max(stop - start, 1)), int(y1 - y0))


def _after_label(reread: str, value: str) -> str | None:
    """The part of ``reread`` (label tail + value) where ``value`` begins, or None."""
    hit = fuzz.partial_ratio_alignment(value, reread, score_cutoff=70)
    if hit is None:
        return None
    return reread[hit.dest_start :].strip(" :;.-/|")


def _without_label(name: str, value: str) -> str:
    """``value`` without a misread label wording before its colon ("Piace of birth: …")."""
    head, colon, rest = value.partition(":")
    if colon and rest.strip() and _label_remnant(name, head, 60):
        return rest.strip(" :;.-/|")
    if name in _ADDRESSES:  # … or with its colon lost, up to the unit that opens the address
        words = value.split()
        opens = _address_opens(words)
        head = " ".join(words[:opens]) if opens else ""
        if head and len(_compact(head)[0]) >= 4 and _label_remnant(name, head, 60):
            return " ".join(words[opens:])
    return value


def _label_remnant(name: str, value: str, score: float = 80) -> bool:
    """Whether ``value`` is what is left of a label OCR misread ("Date of expin")."""
    compact = _compact(value)[0]
    return bool(compact) and any(
        len(compact) <= len(key) + 3 and fuzz.partial_ratio(compact, key) >= score
        for key in LABELS[name]
    )


def _below(lines: list[Line], li: int, left: float, labelled: set[int]) -> int | None:
    """The unlabelled line right under line ``li`` that starts near ``left``; else the only
    unlabelled line in the row under it (a value wrapped to the start of the next row)."""
    ref = lines[li]
    best, best_gap = None, 1.8 * ref.height
    under: list[int] = []
    for j, ln in enumerate(lines):
        if j in labelled or _is_mrz(ln.text):
            continue
        gap = ln.box[1] - ref.box[1]
        if 0.4 * ref.height < gap < 1.8 * ref.height:
            under.append(j)
            if gap < best_gap and abs(ln.box[0] - left) < 3 * ref.height:
                best, best_gap = j, gap
    return best if best is not None or len(under) != 1 else under[0]


def _rest_of_row(lines: list[Line], li: int, taken: set[int]) -> list[int]:
    """Unlabelled lines to the right of line ``li`` on its row, left to right: the rest of
    a value the detector cut at a wide gap ("Phường" | "10, Quận Tuyết")."""
    ref = lines[li]
    row = [
        j
        for j, ln in enumerate(lines)
        if j not in taken
        and j != li
        and ln.box[0] >= ref.box[2] - 0.5 * ref.height
        and ln.box[0] - ref.box[2] < 4 * ref.height
        and abs((ln.box[1] + ln.box[3]) - (ref.box[1] + ref.box[3])) < 0.5 * ref.height
        and not _is_mrz(ln.text)
    ]
    return sorted(row, key=lambda j: lines[j].box[0])


def _continuation(lines: list[Line], li: int, left: float, labelled: set[int]) -> int | None:
    """The next line of a wrapped value: just under line ``li``, unlabelled, in its column."""
    ref = lines[li]
    for j, ln in enumerate(lines):
        if j in labelled or _is_mrz(ln.text) or j == li:
            continue
        gap = ln.box[1] - ref.box[3]
        in_column = min(left, ref.box[0]) - 2 * ref.height <= ln.box[0] < ref.box[2]
        if (
            -0.5 * ref.height < gap < 0.8 * ref.height
            and in_column
            and ln.box[1] > ref.box[1] + 0.5 * ref.height
            and not _label_between(lines, labelled, ref, ln)
            and not _label_before(lines, labelled, ln, left)
        ):
            return j
    return None


def _label_before(lines: list[Line], labelled: set[int], line: Line, left: float) -> bool:
    """Whether a labelled line opens ``line``'s row in the value's column: ``line`` is that
    label's value ("Nơi thường trú / Place of" | "Tổ 18, Phường …"), not a continuation.
    A label further left (the expiry's, under the portrait) is another column's."""
    h = line.height
    return any(
        abs(lines[k].box[0] - left) < 2 * h
        and lines[k].box[2] <= line.box[0] + 0.5 * h
        and abs((lines[k].box[1] + lines[k].box[3]) - (line.box[1] + line.box[3])) < h
        for k in labelled
    )


def _label_between(lines: list[Line], labelled: set[int], upper: Line, lower: Line) -> bool:
    """Whether a labelled line starts between two lines: the next field begins there, so
    the lower line is not the upper one's continuation."""
    return any(
        upper.box[1] < lines[k].box[1] < lower.box[1]
        and lines[k].box[0] < lower.box[2]
        and lower.box[0] < lines[k].box[2]  # in the same column (not the expiry by the photo)
        for k in labelled
    )


def _id_number(lines: list[Line]) -> tuple[str, float] | None:
    """The 12-digit personal number, wherever it is printed (not in the MRZ)."""
    for ln in lines:
        if _is_mrz(ln.text):
            continue
        # an O misread for a zero touches digits; the O of "NO" before the number does not
        text = re.sub(r"(?<=\d)O|O(?=\d)", "0", ln.text)
        digits = re.sub(r"(?<=\d)[ .](?=\d)", "", text)
        m = _ID.search(digits)
        if m:
            return m.group(0), ln.confidence
    return None


def mrz_lines(lines: list[Line]) -> list[str]:
    """The card's MRZ lines, top to bottom."""
    return [ln.text.replace(" ", "") for ln in lines if _is_mrz(ln.text) or _mrz_like(ln.text)]


def _mrz_like(text: str) -> bool:
    s = text.replace(" ", "")
    return len(s) >= 25 and bool(re.fullmatch(r"[A-Z0-9<]+", s)) and "<" in s
