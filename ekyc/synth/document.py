"""Synthetic A4 pages (birth certificate, upper-secondary diploma) at ~150 dpi, with the
box of every printed line, deterministic from a seed.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ekyc.cccd.layouts import MOTTO, NATION, Box
from ekyc.fonts import Role, font
from ekyc.synth.chip import Citizen, sample_citizen

PAGE_W, PAGE_H = 1240, 1754  # A4 at 150 dpi
PageKind = Literal["birth_certificate", "diploma"]
LineKind = Literal["static", "value", "date"]
MARGIN = 6  # line boxes extend this far around the ink


@dataclass(frozen=True)
class PageLine:
    """One line to print: text, anchor point (x, baseline), size, font, alignment, kind."""

    text: str
    at: tuple[int, int]
    size: int = 30
    role: Role = "serif"
    align: Literal["left", "centre"] = "left"
    kind: LineKind = "static"  # "value"/"date": carries personal data a forger would edit


@dataclass(frozen=True)
class RenderedPage:
    """A rendered page and the text and box of each line, in print order."""

    image_bgr: np.ndarray  # PAGE_H × PAGE_W × 3, uint8
    lines: list[tuple[str, Box]]
    kind: PageKind = "birth_certificate"
    seed: int = 0
    line_kinds: list[LineKind] = field(default_factory=list)
    overrides: dict[int, str] = field(default_factory=dict)


def _d(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def _birth_certificate(c: Citizen, rng: random.Random) -> list[PageLine]:
    ward = c.place_of_residence.split(",")[0]
    reg = c.date_of_birth + dt.timedelta(days=rng.randrange(3, 40))
    mother_year = c.date_of_birth.year - rng.randrange(20, 36)
    father_year = mother_year - rng.randrange(0, 6)
    cx = PAGE_W // 2
    lines = [
        PageLine("ỦY BAN NHÂN DÂN", (270, 150), 22, "serif_bold", "centre"),
        PageLine(ward.upper(), (270, 186), 22, "serif_bold", "centre"),
        PageLine(f"Số: {rng.randrange(1, 400)}/{reg.year}", (270, 226), 22, align="centre"),
        PageLine(NATION, (850, 150), 22, "serif_bold", "centre"),
        PageLine(MOTTO, (850, 186), 22, "serif_bold", "centre"),
        PageLine("GIẤY KHAI SINH", (cx, 310), 48, "serif_bold", "centre"),
        PageLine(f"Họ, chữ đệm, tên: {c.full_name.upper()}", (140, 420), kind="value"),
        PageLine(f"Ngày, tháng, năm sinh: {_d(c.date_of_birth)}", (140, 480), kind="date"),
        PageLine(
            f"Giới tính: {c.sex}    Dân tộc: {c.ethnicity}    Quốc tịch: {c.nationality}",
            (140, 540),
            kind="value",
        ),
        PageLine(f"Nơi sinh: {c.place_of_origin}", (140, 600), kind="value"),
        PageLine(f"Quê quán: {c.place_of_origin}", (140, 660), kind="value"),
        PageLine(f"Số định danh cá nhân: {c.id_number}", (140, 720), kind="value"),
        PageLine(f"Họ, chữ đệm, tên người mẹ: {c.mother_name.upper()}", (140, 800), kind="value"),
        PageLine(
            f"Năm sinh: {mother_year}    Dân tộc: Kinh    Quốc tịch: Việt Nam",
            (140, 860),
            kind="value",
        ),
        PageLine(f"Nơi cư trú: {c.place_of_residence}", (140, 920), kind="value"),
        PageLine(f"Họ, chữ đệm, tên người cha: {c.father_name.upper()}", (140, 1000), kind="value"),
        PageLine(
            f"Năm sinh: {father_year}    Dân tộc: Kinh    Quốc tịch: Việt Nam",
            (140, 1060),
            kind="value",
        ),
        PageLine(f"Nơi cư trú: {c.place_of_residence}", (140, 1120), kind="value"),
        PageLine(f"Người đi khai sinh: {c.father_name}", (140, 1200), kind="value"),
        PageLine(f"Nơi đăng ký khai sinh: Ủy ban nhân dân {ward}", (140, 1260), kind="value"),
        PageLine(f"Ngày, tháng, năm đăng ký: {_d(reg)}", (140, 1320), kind="date"),
        PageLine("NGƯỜI KÝ GIẤY KHAI SINH", (850, 1420), 26, "serif_bold", "centre"),
        PageLine("(Ký, ghi rõ họ, chữ đệm, tên và đóng dấu)", (850, 1460), 22, align="centre"),
        PageLine("Trần Thị Bích Ngọc", (850, 1640), 28, "serif_bold", "centre"),
    ]
    return lines


def _diploma(c: Citizen, rng: random.Random) -> list[PageLine]:
    year = c.date_of_birth.year + 18
    issued = dt.date(year, 7, 1) + dt.timedelta(days=rng.randrange(0, 40))
    city = c.place_of_residence.split(",")[-1].strip()
    school = rng.choice(["Phan Châu Trinh", "Lê Quý Đôn", "Nguyễn Trãi", "Trần Phú", "Chu Văn An"])
    cx = PAGE_W // 2
    return [
        PageLine(NATION, (cx, 190), 30, "serif_bold", "centre"),
        PageLine(MOTTO, (cx, 236), 28, "serif_bold", "centre"),
        PageLine(
            f"GIÁM ĐỐC SỞ GIÁO DỤC VÀ ĐÀO TẠO {city.upper()}", (cx, 330), 28, "serif_bold", "centre"
        ),
        PageLine("cấp", (cx, 380), 28, align="centre"),
        PageLine("BẰNG TỐT NGHIỆP", (cx, 480), 58, "serif_bold", "centre"),
        PageLine("TRUNG HỌC PHỔ THÔNG", (cx, 550), 40, "serif_bold", "centre"),
        PageLine(f"Cho: {c.full_name}", (200, 680), 32, kind="value"),
        PageLine(f"Giới tính: {c.sex}", (200, 745), kind="value"),
        PageLine(f"Ngày sinh: {_d(c.date_of_birth)}", (200, 805), kind="date"),
        PageLine(f"Nơi sinh: {c.place_of_origin}", (200, 865), kind="value"),
        PageLine(f"Học sinh trường: THPT {school}", (200, 925), kind="value"),
        PageLine(f"Năm tốt nghiệp: {year}", (200, 985), kind="value"),
        PageLine(
            f"Xếp loại: {rng.choice(['Trung bình', 'Khá', 'Giỏi'])}", (200, 1045), kind="value"
        ),
        PageLine("Hình thức đào tạo: Chính quy", (200, 1105), kind="value"),
        PageLine(
            f"{city}, ngày {issued.day} tháng {issued.month} năm {issued.year}",
            (820, 1220),
            26,
            align="centre",
            kind="date",
        ),
        PageLine("GIÁM ĐỐC", (820, 1270), 28, "serif_bold", "centre"),
        PageLine("Lê Văn Thắng", (820, 1480), 28, "serif_bold", "centre"),
        PageLine(f"Số hiệu: A {rng.randrange(10**6, 10**7)}", (200, 1560), 24, kind="value"),
        PageLine(
            f"Số vào sổ cấp bằng: {rng.randrange(100, 99999)}/{year}", (200, 1600), 24, kind="value"
        ),
    ]


def page_lines(seed: int, kind: PageKind) -> list[PageLine]:
    """The lines a page of ``kind`` prints for the citizen of ``seed``."""
    rng = random.Random(f"{kind}-{seed}")
    c = sample_citizen(seed)
    return _birth_certificate(c, rng) if kind == "birth_certificate" else _diploma(c, rng)


def render_a4(
    seed: int = 0,
    kind: PageKind = "birth_certificate",
    *,
    overrides: Mapping[int, str] | None = None,
) -> RenderedPage:
    """Render an A4 page; ``overrides`` replace the text of lines by index ("" erases)."""
    rng = np.random.default_rng(seed)
    paper = rng.normal(0, 2.0, size=(PAGE_H, PAGE_W)) + rng.uniform(244, 252)
    img = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8), "L").convert("RGB")
    draw = ImageDraw.Draw(img)
    if kind == "diploma":
        _border(draw)
    specs = page_lines(seed, kind)
    overrides = dict(overrides or {})
    lines: list[tuple[str, Box]] = []
    for i, spec in enumerate(specs):
        text = overrides.get(i, spec.text)
        f = font(spec.role, spec.size)
        anchor = "ms" if spec.align == "centre" else "ls"
        # the box comes from the original text so an edited line keeps its place
        x0, y0, x1, y1 = draw.textbbox(spec.at, spec.text, font=f, anchor=anchor)
        if text:
            draw.text(spec.at, text, font=f, fill=(20, 20, 25), anchor=anchor)
            tx0, ty0, tx1, ty1 = draw.textbbox(spec.at, text, font=f, anchor=anchor)
            x0, y0, x1, y1 = min(x0, tx0), min(y0, ty0), max(x1, tx1), max(y1, ty1)
        x0, y0, x1, y1 = (round(v) for v in (x0, y0, x1, y1))
        box = (x0 - MARGIN, y0 - MARGIN, x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN)
        lines.append((text, box))
    _stamp(img, (850, 1550) if kind == "birth_certificate" else (820, 1380))
    img = img.filter(ImageFilter.GaussianBlur(0.3))
    bgr = np.ascontiguousarray(np.asarray(img)[:, :, ::-1])
    return RenderedPage(bgr, lines, kind, seed, [s.kind for s in specs], overrides)


def _border(draw: ImageDraw.ImageDraw) -> None:
    """The diploma's double decorative frame."""
    red = (170, 40, 40)
    draw.rectangle([50, 50, PAGE_W - 50, PAGE_H - 50], outline=red, width=8)
    draw.rectangle([72, 72, PAGE_W - 72, PAGE_H - 72], outline=red, width=2)
    for x in range(90, PAGE_W - 90, 40):
        draw.ellipse([x, 80, x + 10, 90], outline=red)
        draw.ellipse([x, PAGE_H - 90, x + 10, PAGE_H - 80], outline=red)


def _stamp(img: Image.Image, centre: tuple[int, int]) -> None:
    """A translucent red round stamp over the signature area."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    cx, cy = centre
    red = (200, 30, 40, 150)
    d.ellipse([cx - 200, cy - 80, cx - 40, cy + 80], outline=red, width=5)
    d.ellipse([cx - 170, cy - 50, cx - 70, cy + 50], outline=red, width=2)
    d.line(
        [(cx - 90, cy + 10), (cx + 20, cy - 30), (cx + 60, cy + 20), (cx + 140, cy - 20)],
        fill=(30, 40, 120, 220),
        width=3,
    )
    img.paste(Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB"))
