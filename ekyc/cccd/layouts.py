"""Card layouts: where every printed field sits on each CCCD model and side.

One table, shared by the generator (``ekyc.synth.card``) and by field extraction from a
rectified card (``ekyc.document``). Coordinates are pixels in the canonical card frame,
1012×638 px (85.6×54 mm at ~300 dpi), boxes as ``(x, y, w, h)``. A field's value has one
box per line it may occupy (addresses wrap onto a second line); the value's baseline sits
at ``y + round(1.3 * size)`` inside each box, leaving room for stacked Vietnamese marks
above and descenders below. Field names are those of ``ekyc.cccd.dg13.Dg13``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Box = tuple[int, int, int, int]
Model = Literal["cccd2021", "cancuoc2024"]
Side = Literal["front", "back"]
TextRole = Literal["regular", "medium", "bold"]

CARD_W, CARD_H = 1012, 638
MODELS: tuple[Model, ...] = ("cccd2021", "cancuoc2024")
SIDES: tuple[Side, ...] = ("front", "back")
MRZ_SIZE = 46  # DejaVu Sans Mono: 30 characters span ~830 px

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


@dataclass(frozen=True)
class FieldLayout:
    """One printed field: its label (drawn at a left-baseline point) and its value lines."""

    name: str
    label: str
    label_at: tuple[int, int]  # (x, baseline)
    label_size: int
    lines: tuple[Box, ...]
    size: int
    role: TextRole = "medium"
    upper: bool = False  # printed in capitals (the full name)

    @property
    def box(self) -> Box:
        """The union of every line box."""
        return union(self.lines)

    def baseline(self, line: int) -> int:
        """The baseline y of value line ``line``."""
        return self.lines[line][1] + round(1.3 * self.size)


@dataclass(frozen=True)
class StaticText:
    """Printed text that is the same on every card (headings, issuer)."""

    text: str
    at: tuple[int, int]  # anchor point, see ``anchor``
    size: int
    role: TextRole = "bold"
    anchor: Literal["ma", "la"] = "ma"  # PIL anchors: middle-ascender or left-ascender
    color: tuple[int, int, int] = (25, 25, 35)
    underline: bool = False


@dataclass(frozen=True)
class CardLayout:
    """Everything printed on one side of one card model."""

    model: Model
    side: Side
    fields: tuple[FieldLayout, ...]
    texts: tuple[StaticText, ...] = ()
    emblem: Box | None = None
    portrait: Box | None = None
    qr: Box | None = None
    chip: Box | None = None
    mrz: tuple[Box, Box, Box] | None = None
    fingerprints: tuple[Box, ...] = ()
    seal: Box | None = None
    tint: tuple[int, int, int] = (236, 240, 232)  # background RGB

    def field(self, name: str) -> FieldLayout:
        """The layout of field ``name`` (KeyError when this side does not print it)."""
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def regions(self) -> dict[str, Box]:
        """Every fixed region by name: each field's full box, portrait, qr, chip, emblem, mrz."""
        out = {f.name: f.box for f in self.fields}
        for name in ("emblem", "portrait", "qr", "chip", "seal"):
            box = getattr(self, name)
            if box is not None:
                out[name] = box
        if self.mrz is not None:
            out["mrz"] = union(self.mrz)
            out.update({f"mrz.{i + 1}": b for i, b in enumerate(self.mrz)})
        return out


def union(boxes: tuple[Box, ...] | list[Box]) -> Box:
    """The smallest box holding every box given."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return (x0, y0, x1 - x0, y1 - y0)


def _slot(x: int, baseline: int, w: int, size: int) -> Box:
    """A value box of width ``w`` whose text baseline falls on ``baseline``."""
    return (x, baseline - round(1.3 * size), w, round(1.65 * size))


def _f(
    name: str,
    label: str,
    label_at: tuple[int, int],
    lines: list[tuple[int, int, int]],  # (x, baseline, width) per line
    size: int = 24,
    label_size: int = 19,
    role: TextRole = "medium",
    upper: bool = False,
) -> FieldLayout:
    boxes = tuple(_slot(x, b, w, size) for x, b, w in lines)
    return FieldLayout(name, label, label_at, label_size, boxes, size, role, upper)


def _heading(title: str, subtitle: str | None, title_size: int) -> tuple[StaticText, ...]:
    red = (190, 30, 35)
    texts = [
        StaticText(NATION, (500, 30), 25),
        StaticText(MOTTO, (500, 64), 23, underline=True),
        StaticText(title, (560, 104), title_size, color=red),
    ]
    if subtitle:
        texts.append(StaticText(subtitle, (560, 104 + title_size + 8), 20, color=red))
    return tuple(texts)


# three TD1 lines, 54 px apart, text baseline MRZ_BASELINE px below each box's top
MRZ_BASELINE = 44
_MRZ: tuple[Box, Box, Box] = ((60, 468, 892, 54), (60, 522, 892, 54), (60, 576, 892, 54))

CCCD2021_FRONT = CardLayout(
    "cccd2021",
    "front",
    fields=(
        _f(
            "id_number",
            "Số / No.:",
            (300, 204),
            [(404, 204, 330)],
            size=34,
            label_size=21,
            role="bold",
        ),
        _f(
            "full_name",
            "Họ và tên / Full name:",
            (272, 244),
            [(272, 282, 700)],
            size=26,
            role="bold",
            upper=True,
        ),
        _f("date_of_birth", "Ngày sinh / Date of birth:", (272, 324), [(516, 324, 220)]),
        _f("sex", "Giới tính / Sex:", (272, 364), [(418, 364, 110)]),
        _f("nationality", "Quốc tịch / Nationality:", (560, 364), [(790, 364, 200)]),
        _f(
            "place_of_origin",
            "Quê quán / Place of origin:",
            (272, 404),
            [(530, 404, 462), (272, 444, 720)],
        ),
        _f(
            "place_of_residence",
            "Nơi thường trú / Place of residence:",
            (272, 484),
            [(612, 484, 380), (272, 524, 720)],
        ),
        _f(
            "date_of_expiry",
            "Có giá trị đến / Date of expiry:",
            (40, 486),
            [(40, 524, 210)],
            size=22,
            label_size=15,
        ),
    ),
    texts=_heading("CĂN CƯỚC CÔNG DÂN", None, 42),
    emblem=(36, 24, 124, 124),
    portrait=(40, 190, 200, 262),
    qr=(846, 18, 150, 150),
    tint=(232, 240, 236),
)

CCCD2021_BACK = CardLayout(
    "cccd2021",
    "back",
    fields=(
        _f(
            "identifying_features",
            "Đặc điểm nhân dạng / Personal identification:",
            (40, 56),
            [(40, 96, 560), (40, 137, 560)],
        ),
        _f("date_of_issue", "Ngày, tháng, năm / Date, month, year:", (40, 204), [(404, 204, 210)]),
    ),
    texts=(
        StaticText("CỤC TRƯỞNG CỤC CẢNH SÁT", (250, 226), 18),
        StaticText("QUẢN LÝ HÀNH CHÍNH VỀ TRẬT TỰ XÃ HỘI", (250, 250), 18),
        StaticText("Ngón trỏ trái", (720, 248), 17, role="regular"),
        StaticText("Left index finger", (720, 270), 15, role="regular"),
        StaticText("Ngón trỏ phải", (895, 248), 17, role="regular"),
        StaticText("Right index finger", (895, 270), 15, role="regular"),
    ),
    chip=(500, 300, 118, 92),
    fingerprints=((640, 40, 160, 200), (815, 40, 160, 200)),
    seal=(140, 278, 220, 140),
    mrz=_MRZ,
    tint=(232, 240, 236),
)

CANCUOC2024_FRONT = CardLayout(
    "cancuoc2024",
    "front",
    fields=(
        _f(
            "id_number",
            "Số định danh cá nhân / Personal identification number:",
            (272, 212),
            [(272, 262, 400)],
            size=34,
            label_size=17,
            role="bold",
        ),
        _f(
            "full_name",
            "Họ, chữ đệm và tên khai sinh / Surname, middle name and given name:",
            (272, 298),
            [(272, 336, 720)],
            size=26,
            label_size=17,
            role="bold",
            upper=True,
        ),
        _f(
            "date_of_birth",
            "Ngày, tháng, năm sinh / Date of birth:",
            (272, 378),
            [(592, 378, 220)],
            label_size=17,
        ),
        _f("sex", "Giới tính / Sex:", (272, 418), [(400, 418, 110)], label_size=17),
        _f("nationality", "Quốc tịch / Nationality:", (560, 418), [(768, 418, 220)], label_size=17),
    ),
    texts=_heading("CĂN CƯỚC", "IDENTITY CARD", 44),
    emblem=(36, 24, 124, 124),
    portrait=(40, 196, 200, 262),
    tint=(230, 238, 246),
)

CANCUOC2024_BACK = CardLayout(
    "cancuoc2024",
    "back",
    fields=(
        _f(
            "place_of_residence",
            "Nơi cư trú / Place of residence:",
            (40, 56),
            [(336, 56, 490), (40, 96, 786)],
        ),
        # "Nơi đăng ký khai sinh" replaces "Quê quán" on this model; DG13 field 8 holds it
        _f(
            "place_of_origin",
            "Nơi đăng ký khai sinh / Place of birth:",
            (40, 146),
            [(400, 146, 426), (40, 186, 786)],
        ),
        _f("date_of_issue", "Ngày, tháng, năm cấp / Date of issue:", (40, 236), [(404, 236, 210)]),
        _f(
            "date_of_expiry",
            "Ngày, tháng, năm hết hạn / Date of expiry:",
            (40, 276),
            [(448, 276, 210)],
        ),
    ),
    texts=(
        StaticText("BỘ CÔNG AN", (820, 200), 20),
        StaticText("MINISTRY OF PUBLIC SECURITY", (820, 226), 16),
    ),
    qr=(846, 18, 150, 150),
    chip=(60, 320, 118, 92),
    seal=(700, 256, 240, 150),
    mrz=_MRZ,
    tint=(230, 238, 246),
)

LAYOUTS: dict[tuple[Model, Side], CardLayout] = {
    (lay.model, lay.side): lay
    for lay in (CCCD2021_FRONT, CCCD2021_BACK, CANCUOC2024_FRONT, CANCUOC2024_BACK)
}


def card_layout(model: Model, side: Side) -> CardLayout:
    """The layout of ``side`` of card ``model`` (KeyError for an unknown pair)."""
    return LAYOUTS[(model, side)]
