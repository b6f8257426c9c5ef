"""Synthetic CCCD card sides: a guilloche background, headings, a portrait, Vietnamese
labels and values, a QR code with the card payload and a TD1 MRZ, deterministic from a seed.

Positions come from ``ekyc.cccd.layouts`` (the table field extraction also uses), so the
regions returned are exactly where the values were printed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from ekyc.cccd.layouts import (
    CARD_H,
    CARD_W,
    MRZ_BASELINE,
    MRZ_SIZE,
    Box,
    FieldLayout,
    Model,
    Side,
    card_layout,
    union,
)
from ekyc.fonts import font
from ekyc.icao.mrz import encode_vn_td1
from ekyc.synth.chip import Citizen, synthetic_portrait

RGB = tuple[int, int, int]
INK: RGB = (18, 18, 28)
LABEL_INK: RGB = (55, 55, 70)
PAD = 4  # value text starts this far inside its box and must end this far before its right edge
MIN_SIZE = 14


@dataclass(frozen=True)
class RenderedCard:
    """One rendered card side with its ground truth (printed values, where they are)."""

    image_bgr: np.ndarray  # CARD_H × CARD_W × 3, uint8
    fields: dict[str, str]  # printed value by Dg13 field name
    regions: dict[str, Box]  # field name (and "name.1"/"name.2" when wrapped), portrait, qr…
    mrz: str | None  # the three TD1 lines joined by "\n" (back side only)
    qr_payload: str | None  # the side that carries the QR only
    model: Model = "cccd2021"
    side: Side = "front"
    seed: int = 0
    citizen: Citizen | None = None
    portrait_bgr: np.ndarray | None = None  # the portrait source (to re-render identically)
    overrides: dict[str, str] = field(default_factory=dict)


def vn_date(d: dt.date) -> str:
    """A date as printed on the card, ``dd/mm/yyyy``."""
    return d.strftime("%d/%m/%Y")


def printed_values(citizen: Citizen) -> dict[str, str]:
    """Every value a card may print, by Dg13 field name (before upper-casing)."""
    return {
        "id_number": citizen.id_number,
        "full_name": citizen.full_name,
        "date_of_birth": vn_date(citizen.date_of_birth),
        "sex": citizen.sex,
        "nationality": citizen.nationality,
        "place_of_origin": citizen.place_of_origin,
        "place_of_residence": citizen.place_of_residence,
        "identifying_features": citizen.identifying_features,
        "date_of_issue": vn_date(citizen.date_of_issue),
        "date_of_expiry": vn_date(citizen.date_of_expiry),
    }


def old_id_number(citizen: Citizen) -> str:
    """A 9-digit former CMND number for about half the citizens, else "" (from the ID)."""
    h = hashlib.sha256(f"cmnd-{citizen.id_number}".encode()).digest()
    return "" if h[0] & 1 else f"{int.from_bytes(h[1:6], 'big') % 10**9:09d}"


def qr_payload(citizen: Citizen, model: Model) -> str:
    """The QR text: ID|old ID|name|DOB|sex|address|issue date (|expiry on 2024 cards)."""
    parts = [
        citizen.id_number,
        old_id_number(citizen),
        citizen.full_name,
        citizen.date_of_birth.strftime("%d%m%Y"),
        citizen.sex,
        citizen.place_of_residence,
        citizen.date_of_issue.strftime("%d%m%Y"),
    ]
    if model == "cancuoc2024":
        parts.append(citizen.date_of_expiry.strftime("%d%m%Y"))
    return "|".join(parts)


def card_mrz(citizen: Citizen) -> str:
    """The TD1 MRZ of the citizen's card, lines joined by newlines."""
    surname, _, given = citizen.full_name.partition(" ")
    return encode_vn_td1(
        id_number=citizen.id_number,
        date_of_birth=citizen.date_of_birth.strftime("%y%m%d"),
        date_of_expiry=citizen.date_of_expiry.strftime("%y%m%d"),
        surname=surname,
        given_names=given,
        sex="M" if citizen.sex == "Nam" else "F",
    ).text


def render_card(
    citizen: Citizen,
    side: Side = "front",
    model: Model = "cccd2021",
    seed: int = 0,
    *,
    portrait: np.ndarray | bytes | None = None,
    overrides: Mapping[str, str] | None = None,
) -> RenderedCard:
    """Render one card side; ``overrides`` replace printed values only (QR and MRZ keep truth)."""
    lay = card_layout(model, side)
    rng = random.Random(seed)
    img = _background(lay.tint, rng)
    draw = ImageDraw.Draw(img)
    for t in lay.texts:
        f = font(t.role, t.size)
        draw.text(t.at, t.text, font=f, fill=t.color, anchor=t.anchor)
        if t.underline:
            x0, _, x1, y1 = draw.textbbox(t.at, t.text, font=f, anchor=t.anchor)
            draw.line([(x0 + 40, y1 + 4), (x1 - 40, y1 + 4)], fill=t.color, width=2)
    if lay.emblem:
        _emblem(draw, lay.emblem)
    if lay.chip:
        _chip(draw, lay.chip)
    for box in lay.fingerprints:
        _fingerprint(img, box, rng)
    if lay.seal:
        _seal(img, lay.seal, rng)

    portrait_bgr: np.ndarray | None = None
    if lay.portrait:
        portrait_bgr = _portrait_source(portrait, seed)
        _paste_cover(img, portrait_bgr, lay.portrait)

    values = printed_values(citizen)
    overrides = dict(overrides or {})
    fields: dict[str, str] = {}
    regions: dict[str, Box] = {}
    for fl in lay.fields:
        draw.text(
            fl.label_at, fl.label, font=font("regular", fl.label_size), fill=LABEL_INK, anchor="ls"
        )
        value = values[fl.name].upper() if fl.upper else values[fl.name]
        value = overrides.get(fl.name, value)
        fields[fl.name] = value
        regions.update(_draw_value(draw, fl, value))

    payload = None
    if lay.qr:
        payload = qr_payload(citizen, model)
        _qr(img, payload, lay.qr)
    mrz = None
    if lay.mrz:
        mrz = card_mrz(citizen)
        mono = font("mono", MRZ_SIZE)
        for line, (x, y, w, _h) in zip(mrz.split("\n"), lay.mrz, strict=True):
            draw.text((x + w // 2, y + MRZ_BASELINE), line, font=mono, fill=INK, anchor="ms")
    for name, box in lay.regions().items():
        regions.setdefault(name, box)

    bgr = np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])
    return RenderedCard(
        bgr, fields, regions, mrz, payload, model, side, seed, citizen, portrait_bgr, overrides
    )


# --- values -------------------------------------------------------------------------------


def _wrap(text: str, widths: list[int], f: ImageFont.FreeTypeFont) -> list[str] | None:
    """Split ``text`` over lines of the given widths, preferring a break after a comma."""
    if f.getlength(text) <= widths[0]:
        return [text]
    if len(widths) < 2:
        return None
    words = text.split(" ")
    cuts = [i for i in range(1, len(words)) if words[i - 1].endswith(",")]
    cuts += [i for i in range(len(words) - 1, 0, -1) if i not in cuts]
    for i in sorted(cuts, key=lambda i: (not words[i - 1].endswith(","), -i)):
        first, rest = " ".join(words[:i]), " ".join(words[i:])
        if f.getlength(first) <= widths[0] and f.getlength(rest) <= widths[1]:
            return [first, rest]
    return None


def fit_value(fl: FieldLayout, value: str) -> tuple[list[str], int]:
    """How a value is printed in its field: its lines and font size (shrunk until it fits)."""
    widths = [w - 2 * PAD for _x, _y, w, _h in fl.lines]
    for size in range(fl.size, MIN_SIZE - 1, -1):
        lines = _wrap(value, widths, font(fl.role, size))
        if lines is not None:
            return lines, size
    raise ValueError(f"{fl.name} value too long for its box: {value!r}")


def _draw_value(draw: ImageDraw.ImageDraw, fl: FieldLayout, value: str) -> dict[str, Box]:
    """Draw a value in its line boxes → its regions (the union, and each line when wrapped)."""
    lines, size = fit_value(fl, value)
    f = font(fl.role, size)
    for i, line in enumerate(lines):
        x, _y, _w, _h = fl.lines[i]
        draw.text((x + PAD, fl.baseline(i)), line, font=f, fill=INK, anchor="ls")
    used = fl.lines[: len(lines)]
    out = {fl.name: union(used)}
    if len(lines) > 1:
        out.update({f"{fl.name}.{i + 1}": b for i, b in enumerate(used)})
    return out


# --- drawing --------------------------------------------------------------------------------


def _background(tint: RGB, rng: random.Random) -> Image.Image:
    """A light guilloche: wave bands across the card and a rosette, in two pale inks."""
    img = Image.new("RGB", (CARD_W, CARD_H), tint)
    draw = ImageDraw.Draw(img)
    ink_a = tuple(max(0, c - 28) for c in tint[:2]) + (min(255, tint[2] + 5),)
    ink_b = (min(255, tint[0] + 6), max(0, tint[1] - 30), max(0, tint[2] - 22))
    xs = np.arange(0, CARD_W + 4, 4, dtype=float)
    lam1, lam2 = rng.uniform(140, 220), rng.uniform(300, 420)
    phase = rng.uniform(0, 2 * math.pi)
    for k in range(-6, 60):
        y = (
            k * 12
            + 18 * np.sin(2 * np.pi * xs / lam1 + phase + k * 0.18)
            + 9 * np.sin(2 * np.pi * xs / lam2 + k * 0.07)
        )
        draw.line(list(zip(xs.tolist(), y.tolist(), strict=True)), fill=ink_a, width=1)
    cx, cy = CARD_W * rng.uniform(0.55, 0.65), CARD_H * rng.uniform(0.45, 0.6)
    th = np.linspace(0, 2 * np.pi, 720)
    petals = rng.choice([9, 11, 13])
    for r in range(40, 300, 14):
        rr = r + 10 * np.sin(petals * th + r * 0.05)
        pts = list(
            zip((cx + rr * np.cos(th)).tolist(), (cy + rr * np.sin(th)).tolist(), strict=True)
        )
        draw.line(pts, fill=ink_b, width=1)
    return img.filter(ImageFilter.GaussianBlur(0.4))


def _emblem(draw: ImageDraw.ImageDraw, box: Box) -> None:
    """A simplified national emblem: gold rim, red disc, yellow star, cog at the bottom."""
    x, y, w, h = box
    cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
    gold, red, star = (212, 160, 40), (200, 32, 36), (250, 215, 40)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=gold)
    draw.ellipse([cx - r * 0.78, cy - r * 0.82, cx + r * 0.78, cy + r * 0.74], fill=red)
    pts = []
    for i in range(10):
        rad = r * (0.42 if i % 2 == 0 else 0.17)
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy - r * 0.12 + rad * math.sin(a)))
    draw.polygon(pts, fill=star)
    for i in range(9):  # cog teeth
        a = math.pi * (0.15 + 0.7 * i / 8)
        tx, ty = cx + r * 0.5 * math.cos(a), cy + r * 0.45 + r * 0.18 * math.sin(a)
        draw.rectangle([tx - 4, ty - 4, tx + 4, ty + 4], fill=gold)
    draw.ellipse([cx - r * 0.3, cy + r * 0.42, cx + r * 0.3, cy + r * 0.72], fill=gold)
    draw.rectangle([cx - r * 0.5, cy + r * 0.78, cx + r * 0.5, cy + r * 0.92], fill=red)


def _chip(draw: ImageDraw.ImageDraw, box: Box) -> None:
    """A gold contact chip with its contact pads."""
    x, y, w, h = box
    draw.rounded_rectangle(
        [x, y, x + w, y + h], radius=14, fill=(208, 176, 96), outline=(150, 120, 50), width=2
    )
    for fx in (0.35, 0.65):
        draw.line([(x + w * fx, y + 4), (x + w * fx, y + h - 4)], fill=(150, 120, 50), width=2)
    for fy in (0.33, 0.66):
        draw.line([(x + 4, y + h * fy), (x + w * 0.35, y + h * fy)], fill=(150, 120, 50), width=2)
        draw.line(
            [(x + w * 0.65, y + h * fy), (x + w - 4, y + h * fy)], fill=(150, 120, 50), width=2
        )


def _fingerprint(img: Image.Image, box: Box, rng: random.Random) -> None:
    """A fingerprint-like whorl of grey ridges inside a frame."""
    draw = ImageDraw.Draw(img)
    x, y, w, h = box
    draw.rectangle([x, y, x + w, y + h], outline=(120, 120, 130), width=1)
    cx, cy = x + w / 2 + rng.uniform(-8, 8), y + h / 2 + rng.uniform(-8, 8)
    for k in range(3, 24):
        rx, ry = k * 3.2, k * 4.0
        start = rng.uniform(0, 60)
        draw.arc(
            [cx - rx, cy - ry, cx + rx, cy + ry],
            start,
            start + rng.uniform(250, 330),
            fill=(95, 95, 105),
            width=2,
        )


def _seal(img: Image.Image, box: Box, rng: random.Random) -> None:
    """A red round seal overlapped by a blue signature stroke."""
    layer = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    x, y, w, h = box
    r = min(w, h) / 2 - 4
    cx, cy = x + r + 6, y + h / 2
    red = (205, 40, 50, 170)
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=red, width=4)
    draw.ellipse([cx - r * 0.72, cy - r * 0.72, cx + r * 0.72, cy + r * 0.72], outline=red, width=2)
    pts = [
        (
            cx + r * 0.3 * math.cos(-math.pi / 2 + i * math.pi / 5) * (1 if i % 2 == 0 else 0.4),
            cy + r * 0.3 * math.sin(-math.pi / 2 + i * math.pi / 5) * (1 if i % 2 == 0 else 0.4),
        )
        for i in range(10)
    ]
    draw.polygon(pts, fill=red)
    sx = np.linspace(x + w * 0.3, x + w * 0.95, 60)
    sy = cy + 18 * np.sin(np.linspace(0, rng.uniform(9, 14), 60)) + np.linspace(10, -20, 60)
    draw.line(list(zip(sx.tolist(), sy.tolist(), strict=True)), fill=(30, 40, 120, 230), width=3)
    img.paste(Image.alpha_composite(img.convert("RGBA"), layer).convert("RGB"))


def _portrait_source(portrait: np.ndarray | bytes | None, seed: int) -> np.ndarray:
    if portrait is None:
        portrait = synthetic_portrait(seed)
    if isinstance(portrait, bytes):
        rgb = np.asarray(Image.open(io.BytesIO(portrait)).convert("RGB"))
        return np.ascontiguousarray(rgb[:, :, ::-1])
    return portrait


def _paste_cover(img: Image.Image, bgr: np.ndarray, box: Box) -> None:
    """Scale the portrait to cover ``box`` (centre crop) and paste it."""
    x, y, w, h = box
    src = Image.fromarray(np.ascontiguousarray(bgr[:, :, ::-1]))
    scale = max(w / src.width, h / src.height)
    src = src.resize(
        (max(w, round(src.width * scale)), max(h, round(src.height * scale))),
        Image.Resampling.LANCZOS,
    )
    left, top = (src.width - w) // 2, (src.height - h) // 2
    img.paste(src.crop((left, top, left + w, top + h)), (x, y))


def _qr(img: Image.Image, payload: str, box: Box) -> None:
    """The QR code (UTF-8 byte mode, level M) on a white patch filling ``box``."""
    code = segno.make(payload, error="m", micro=False, boost_error=False)
    modules = np.array(list(code.matrix_iter(scale=1, border=2)), dtype=np.uint8)
    x, y, w, h = box
    side = min(w, h)
    qr = Image.fromarray(np.where(modules > 0, 0, 255).astype(np.uint8), "L")
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    img.paste(qr.convert("RGB"), (x + (w - side) // 2, y + (h - side) // 2))
