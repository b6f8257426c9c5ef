"""A second card generator, drawn by another hand: the reader is measured on cards it never saw.

Nothing here comes from ``ekyc.cccd.layouts`` or ``ekyc.synth.card``: every card is laid out
afresh from its seed as rows of printed labels and values, with the layout's origin, row
pitch, column and sizes drawn ±10 %, one of several Debian fonts (DejaVu, Liberation, FreeFont,
Noto), label wording variants (Vietnamese only or bilingual, with or without the colon,
values on the label's line or below it), pastel backgrounds with guilloche lines, a
drawn portrait, and a resolution of 250–350 dpi. Three card models:

- ``cccd2016``: the 12-digit citizen card without a chip (2016–2021), Vietnamese labels,
  no QR on the front; the back has identifying features, date of issue, fingerprints and no
  MRZ;
- ``cccd2021``: the chip card (2021–2024), bilingual labels, QR on the front, MRZ on the back;
- ``cancuoc2024``: the Căn cước (from 1 July 2024), name and birth on the front, residence,
  place of birth registration, issue and expiry on the back with the QR and the MRZ.

The values come from their own sampler (other names, other address forms). ``fields`` holds
each printed value in the reader's canonical form (``dd/mm/yyyy``, names in capitals).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import segno
from PIL import Image, ImageDraw, ImageFont

from ekyc.cccd.id_number import PROVINCES
from ekyc.icao.mrz import encode_vn_td1

OTHER_MODELS = ("cccd2016", "cccd2021", "cancuoc2024")
SIDES = ("front", "back")
FONT_DIR = Path("/usr/share/fonts/truetype")
#: (regular, bold) per family, from Debian's fonts-dejavu-core, fonts-liberation2,
#: fonts-freefont-ttf and fonts-noto-core
FONTS = (
    ("dejavu/DejaVuSans.ttf", "dejavu/DejaVuSans-Bold.ttf"),
    ("dejavu/DejaVuSansCondensed.ttf", "dejavu/DejaVuSansCondensed-Bold.ttf"),
    ("dejavu/DejaVuSerif.ttf", "dejavu/DejaVuSerif-Bold.ttf"),
    ("liberation2/LiberationSans-Regular.ttf", "liberation2/LiberationSans-Bold.ttf"),
    ("liberation2/LiberationSerif-Regular.ttf", "liberation2/LiberationSerif-Bold.ttf"),
    ("freefont/FreeSans.ttf", "freefont/FreeSansBold.ttf"),
    ("freefont/FreeSerif.ttf", "freefont/FreeSerifBold.ttf"),
    ("noto/NotoSans-Regular.ttf", "noto/NotoSans-Bold.ttf"),
)
MONO = ("dejavu/DejaVuSansMono.ttf", "liberation2/LiberationMono-Regular.ttf")

# label wordings per field: (Vietnamese, English); the 2016 card prints Vietnamese only
_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "cccd": {
        "id_number": ("Số", "No."),
        "full_name": ("Họ và tên", "Full name"),
        "date_of_birth": ("Ngày sinh", "Date of birth"),
        "sex": ("Giới tính", "Sex"),
        "nationality": ("Quốc tịch", "Nationality"),
        "place_of_origin": ("Quê quán", "Place of origin"),
        "place_of_residence": ("Nơi thường trú", "Place of residence"),
        "date_of_expiry": ("Có giá trị đến", "Date of expiry"),
        "identifying_features": ("Đặc điểm nhân dạng", "Personal identification"),
        "date_of_issue": ("Ngày, tháng, năm", "Date, month, year"),
    },
    "cancuoc2024": {
        "id_number": ("Số định danh cá nhân", "Personal identification number"),
        "full_name": ("Họ, chữ đệm và tên khai sinh", "Surname, middle name and given name"),
        "date_of_birth": ("Ngày, tháng, năm sinh", "Date of birth"),
        "sex": ("Giới tính", "Sex"),
        "nationality": ("Quốc tịch", "Nationality"),
        "place_of_residence": ("Nơi cư trú", "Place of residence"),
        "place_of_origin": ("Nơi đăng ký khai sinh", "Place of birth"),
        "date_of_issue": ("Ngày, tháng, năm cấp", "Date of issue"),
        "date_of_expiry": ("Ngày, tháng, năm hết hạn", "Date of expiry"),
    },
}
_LABEL_2016 = {
    "date_of_birth": "Ngày, tháng, năm sinh",
    "identifying_features": "Đặc điểm nhận dạng",
}
# the rows of each side, in print order; a pair shares one row
_ROWS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("cccd", "front"): (
        ("id_number",),
        ("full_name",),
        ("date_of_birth",),
        ("sex", "nationality"),
        ("place_of_origin",),
        ("place_of_residence",),
    ),
    ("cccd", "back"): (("identifying_features",), ("date_of_issue",)),
    ("cancuoc2024", "front"): (
        ("id_number",),
        ("full_name",),
        ("date_of_birth",),
        ("sex", "nationality"),
    ),
    ("cancuoc2024", "back"): (
        ("place_of_residence",),
        ("place_of_origin",),
        ("date_of_issue",),
        ("date_of_expiry",),
    ),
}
_BELOW = {"full_name", "place_of_origin", "place_of_residence", "identifying_features"}
_WRAPS = {"place_of_origin", "place_of_residence", "identifying_features"}

_FAMILY = ("Đỗ", "Vũ", "Đặng", "Bùi", "Hồ", "Ngô", "Dương", "Lý", "Trịnh", "Đinh", "Lâm", "Mai")
_MIDDLE = ("Văn", "Thị", "Hữu", "Ngọc", "Minh", "Thanh", "Quốc", "Thùy", "Đức", "Kim", "Bảo")
_GIVEN = ("Khải", "Tuyết", "Phúc", "Hằng", "Trọng", "Nhung", "Khoa", "Yến", "Lộc", "Thảo", "Vỹ")
_STREETS = ("Lê Lợi", "Trần Phú", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Bạch Đằng")
_FEATURES = (
    "Sẹo chấm cách 1cm dưới đuôi mắt trái",
    "Nốt ruồi cách 2cm trên cánh mũi phải",
    "Sẹo lõm cách 3cm sau tai trái",
    "Nốt ruồi cách 1,5cm dưới mép trái",
    "Chấm đen cách 2cm trên đầu lông mày phải",
)


@dataclass(frozen=True)
class OtherCard:
    """A card drawn by this generator, with the truth the reader should return."""

    model: str
    side: str
    image_bgr: np.ndarray
    fields: dict[str, str]  # canonical printed values by Dg13 field name
    mrz: str | None
    qr_payload: str | None
    font: str


def _date(rng: random.Random, start: int, years: int) -> dt.date:
    return dt.date(start, 1, 1) + dt.timedelta(days=rng.randrange(365 * years))


def _address(rng: random.Random) -> str:
    province = rng.choice(sorted(set(PROVINCES.values())))
    forms = (
        f"Số {rng.randrange(1, 300)} {rng.choice(_STREETS)}, Phường {rng.randrange(1, 15)}",
        f"Thôn {rng.choice(_GIVEN)}, Xã {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}",
        f"Tổ {rng.randrange(1, 40)}, Phường {rng.choice(_GIVEN)} {rng.choice(_MIDDLE)}",
    )
    district = (
        f"{rng.choice(('Huyện', 'Quận', 'Thị xã'))} {rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
    )
    return f"{rng.choice(forms)}, {district}, {province}"


def sample_values(seed: int) -> dict[str, str]:
    """Printed values of one holder, by Dg13 field name (names not yet upper-cased)."""
    rng = random.Random(f"other-citizen-{seed}")
    sex = rng.choice(("Nam", "Nữ"))
    birth = _date(rng, 1945, 60)
    century = 0 if birth.year < 2000 else 2
    province = rng.choice(sorted(PROVINCES))
    number = f"{province}{century + (sex == 'Nữ')}{birth.year % 100:02d}{rng.randrange(10**6):06d}"
    issue = _date(rng, 2016, 8)
    return {
        "id_number": number,
        "full_name": f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}",
        "date_of_birth": birth.strftime("%d/%m/%Y"),
        "sex": sex,
        "nationality": "Việt Nam",
        "place_of_origin": _address(rng),
        "place_of_residence": _address(rng),
        "identifying_features": rng.choice(_FEATURES),
        "date_of_issue": issue.strftime("%d/%m/%Y"),
        "date_of_expiry": issue.replace(year=issue.year + rng.choice((10, 15, 20))).strftime(
            "%d/%m/%Y"
        ),
    }


def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / path), size)


def fonts_available() -> bool:
    """Whether every Debian font this generator draws with is installed."""
    return all((FONT_DIR / p).is_file() for pair in FONTS for p in pair) and all(
        (FONT_DIR / p).is_file() for p in MONO
    )


def _background(w: int, h: int, rng: random.Random) -> Image.Image:
    """A pastel gradient with a few guilloche waves and fine noise."""
    base = np.array([rng.randint(215, 245) for _ in range(3)], np.float32)
    other = np.clip(base + [rng.randint(-20, 12) for _ in range(3)], 180, 255)
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    img = base * (1 - t) + other * t + np.zeros((h, 1, 3), np.float32)
    nprng = np.random.default_rng(rng.randrange(2**32))
    img += nprng.normal(0, 2.0, img.shape)
    out = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    tone = tuple(int(c) - rng.randint(12, 30) for c in base)
    for k in range(rng.randint(3, 7)):
        amp, period, phase = rng.uniform(6, 30), rng.uniform(80, 300), rng.uniform(0, 6.3)
        y0 = rng.uniform(0, h)
        pts = [(x, y0 + amp * math.sin(x / period * 6.283 + phase + k)) for x in range(0, w, 6)]
        draw.line(pts, fill=tone, width=1)
    return out


def _portrait(img: Image.Image, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """A drawn head and shoulders on a pale backdrop (no photo of anyone)."""
    x, y, w, h = box
    draw = ImageDraw.Draw(img)
    draw.rectangle((x, y, x + w, y + h), fill=(rng.randint(200, 240),) * 3, outline=(90, 90, 90))
    skin = (rng.randint(170, 225), rng.randint(130, 180), rng.randint(100, 150))
    cx = x + w // 2
    draw.ellipse((cx - w // 4, y + h // 8, cx + w // 4, y + h // 8 + int(h * 0.45)), fill=skin)
    draw.chord(
        (x + w // 10, y + int(h * 0.62), x + w - w // 10, y + h + h // 2),
        180,
        360,
        fill=(rng.randint(20, 80),) * 3,
    )
    draw.pieslice((cx - w // 4, y + h // 10, cx + w // 4, y + h // 3), 180, 360, fill=(25, 20, 20))


def _emblem(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    draw.ellipse((x, y, x + w, y + h), fill=(200, 40, 40), outline=(230, 190, 60), width=3)
    cx, cy, r = x + w / 2, y + h / 2, w * 0.28
    star = [
        (
            cx + (r if k % 2 == 0 else r * 0.4) * math.sin(k * math.pi / 5),
            cy - (r if k % 2 == 0 else r * 0.4) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=(240, 200, 50))


def _qr(img: Image.Image, payload: str, box: tuple[int, int, int, int]) -> None:
    x, y, w, _ = box
    qr = segno.make(payload, error="m", micro=False)
    side = qr.symbol_size(scale=1, border=1)[0]
    scale = max(1, w // side)
    matrix = np.array(list(qr.matrix_iter(scale=scale, border=1)), np.uint8)
    tile = Image.fromarray(np.where(matrix > 0, 0, 255).astype(np.uint8)).convert("RGB")
    img.paste(tile, (x, y))


def _fingerprint(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    x, y, w, h = box
    draw.rectangle((x, y, x + w, y + h), outline=(90, 90, 90))
    for k in range(4, min(w, h) // 2 - 4, 6):
        draw.ellipse(
            (x + w / 2 - k * 0.8, y + h / 2 - k, x + w / 2 + k * 0.8, y + h / 2 + k),
            outline=(120, 120, 130),
        )


def _wrap(text: str, font: ImageFont.FreeTypeFont, first: float, rest: float) -> list[str]:
    """Words onto lines no wider than ``first`` (the first line) and ``rest`` (the others)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if current and font.getlength(trial) > (first if not lines else rest):
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current]


def render_other_card(model: str, side: str, seed: int, scale: float = 1.0) -> OtherCard:
    """Draw one side of a ``model`` card for the holder and the layout drawn from ``seed``.

    A layout whose fields would run off the card (or into the MRZ) is drawn again with the
    same choices in smaller type (``scale``), as a card printer fits a long address."""
    if model not in OTHER_MODELS or side not in SIDES:
        raise ValueError(f"unknown card {model} {side}")
    rng = random.Random(f"other-card-{model}-{side}-{seed}")
    values = sample_values(seed)
    dpi = rng.uniform(250, 350)
    w, h = round(85.6 / 25.4 * dpi), round(53.98 / 25.4 * dpi)
    u = w / 1000  # one thousandth of the card's width, in pixels
    regular, bold = rng.choice(FONTS)
    img = _background(w, h, rng)
    draw = ImageDraw.Draw(img)
    ink = (rng.randint(0, 40), rng.randint(0, 40), rng.randint(20, 60))
    red = (rng.randint(170, 210), rng.randint(20, 50), rng.randint(20, 50))
    family = "cancuoc2024" if model == "cancuoc2024" else "cccd"
    bilingual = model != "cccd2016"
    colon = rng.random() < 0.7
    label_size = round(u * rng.uniform(17, 21) * scale)
    value_size = round(u * rng.uniform(22, 26) * scale)
    label_font, value_font = _font(regular, label_size), _font(bold, value_size)

    def jitter(v: float) -> float:
        return v * rng.uniform(0.9, 1.1)

    def text(
        xy: tuple[float, float],
        s: str,
        font: ImageFont.FreeTypeFont,
        fill: tuple[int, ...],
        anchor: str = "la",
    ) -> None:
        draw.text(xy, s, font=font, fill=fill, anchor=anchor)

    qr_payload = mrz = None
    top = jitter(30) * u
    if side == "front":
        centre = jitter(550) * u
        text(
            (centre, top),
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            _font(bold, round(u * 23)),
            ink,
            "ma",
        )
        text(
            (centre, top + 34 * u),
            "Độc lập - Tự do - Hạnh phúc",
            _font(bold, round(u * 21)),
            ink,
            "ma",
        )
        title = "CĂN CƯỚC" if model == "cancuoc2024" else "CĂN CƯỚC CÔNG DÂN"
        text((centre, top + 72 * u), title, _font(bold, round(u * jitter(38))), red, "ma")
        if model == "cancuoc2024":
            text((centre, top + 118 * u), "IDENTITY CARD", _font(bold, round(u * 19)), red, "ma")
        _emblem(draw, (round(jitter(35) * u), round(top), round(120 * u), round(120 * u)))
        portrait = (
            round(jitter(40) * u),
            round(jitter(200) * u),
            round(jitter(190) * u),
            round(250 * u),
        )
        _portrait(img, portrait, rng)
        if model == "cccd2021":
            qr_box = (round(w - 165 * u), round(jitter(20) * u), round(150 * u), round(150 * u))
            qr_payload = "|".join(
                (
                    values["id_number"],
                    "",
                    values["full_name"],
                    values["date_of_birth"].replace("/", ""),
                    values["sex"],
                    values["place_of_residence"],
                    values["date_of_issue"].replace("/", ""),
                )
            )
            _qr(img, qr_payload, qr_box)
        x0, y = portrait[0] + portrait[2] + jitter(35) * u, jitter(200) * u
    else:
        x0, y = jitter(40) * u, jitter(45) * u
        if model == "cancuoc2024":
            qr_box = (round(w - 175 * u), round(jitter(25) * u), round(150 * u), round(150 * u))
            qr_payload = "|".join(
                (
                    values["id_number"],
                    "",
                    values["full_name"],
                    values["date_of_birth"].replace("/", ""),
                    values["sex"],
                    values["place_of_residence"],
                    values["date_of_issue"].replace("/", ""),
                    values["date_of_expiry"].replace("/", ""),
                )
            )
            _qr(img, qr_payload, qr_box)
        else:
            for k in range(2):
                _fingerprint(
                    draw,
                    (round(w - (360 - 175 * k) * u), round(40 * u), round(155 * u), round(195 * u)),
                )
    right = (w - 190 * u) if (qr_payload and side == "back") else (w - 30 * u)
    if side == "back" and model != "cancuoc2024":
        right = w - 380 * u
    pitch = jitter(1.75) * value_size
    printed: dict[str, str] = {}
    for row in _ROWS[(family, side)]:
        x = x0
        for k, name in enumerate(row):
            vn, en = _LABELS[family][name]
            if model == "cccd2016":
                vn = _LABEL_2016.get(name, vn)
            label = f"{vn} / {en}" if bilingual else vn
            label += ":" if colon else ""
            value = values[name].upper() if name == "full_name" else values[name]
            if k == 1:
                x = max(x, x0 + jitter(300) * u)
            text((x, y), label, label_font, ink, "ls")
            end = x + label_font.getlength(label) + 10 * u
            fits = end + value_font.getlength(value.split(" ")[0]) * 2 < right
            if not fits or (name in _BELOW and (name == "full_name" or rng.random() < 0.5)):
                lines = _wrap(value, value_font, right - x0, right - x0)
                for i, line in enumerate(lines):
                    text((x0, y + pitch * (i + 1)), line, value_font, ink, "ls")
                y += pitch * len(lines)
            elif name in _WRAPS:
                lines = _wrap(value, value_font, right - end, right - x0)
                text((end, y), lines[0], value_font, ink, "ls")
                for i, line in enumerate(lines[1:]):
                    text((x0, y + pitch * (i + 1)), line, value_font, ink, "ls")
                y += pitch * (len(lines) - 1)
            elif end + value_font.getlength(value) < right:
                text((end, y), value, value_font, ink, "ls")
                x = end + value_font.getlength(value)
            else:  # too long for the label's line: on the next one
                text((x0, y + pitch), value, value_font, ink, "ls")
                y += pitch
            printed[name] = value
        y += pitch
    has_mrz = side == "back" and model != "cccd2016"
    bottom = h - (3 * 54 + 30) * u if has_mrz else h - 15 * u
    if y - pitch + 0.3 * value_size > bottom and scale > 0.6:
        return render_other_card(model, side, seed, scale * 0.92)
    if model != "cancuoc2024" and side == "front":  # expiry under the portrait
        vn, en = _LABELS[family]["date_of_expiry"]
        label = (f"{vn} / {en}" if bilingual else vn) + (":" if colon else "")
        room = x0 - portrait[0] - 12 * u  # never into the fields' column
        size = round(label_size * 0.8)
        while size > 8 and _font(regular, size).getlength(label) > room:
            size -= 1
        ly = portrait[1] + portrait[3] + jitter(35) * u
        text((portrait[0], ly), label, _font(regular, size), ink, "ls")
        text(
            (portrait[0], ly + pitch * 0.9),
            values["date_of_expiry"],
            _font(bold, round(value_size * 0.9)),
            ink,
            "ls",
        )
        printed["date_of_expiry"] = values["date_of_expiry"]
    if has_mrz:
        surname, _, given = values["full_name"].partition(" ")
        mrz = encode_vn_td1(
            id_number=values["id_number"],
            date_of_birth=dt.datetime.strptime(values["date_of_birth"], "%d/%m/%Y").strftime(
                "%y%m%d"
            ),
            date_of_expiry=dt.datetime.strptime(values["date_of_expiry"], "%d/%m/%Y").strftime(
                "%y%m%d"
            ),
            surname=surname,
            given_names=given,
            sex="M" if values["sex"] == "Nam" else "F",
        ).text
        mono = _font(rng.choice(MONO), round(u * 40))
        band = h - 3 * 54 * u - 15 * u
        draw.rectangle((0, band - 10 * u, w, h), fill=(250, 250, 250))
        for i, line in enumerate(mrz.split("\n")):
            text((jitter(60) * u, band + 54 * u * (i + 1) - 10 * u), line, mono, (10, 10, 10), "ls")
    elif side == "back":
        text(
            (x0 + 60 * u, y + pitch * 0.5),
            "CỤC TRƯỞNG CỤC CẢNH SÁT",
            _font(bold, round(u * 18)),
            ink,
        )
        text(
            (x0 + 20 * u, y + pitch * 1.3),
            "ĐKQL CƯ TRÚ VÀ DLQG VỀ DÂN CƯ",
            _font(bold, round(u * 18)),
            ink,
        )
    bgr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    bgr = _rounded(bgr, round(30 * u))
    fields = {k: (v.upper() if k == "full_name" else v) for k, v in printed.items()}
    return OtherCard(model, side, bgr, fields, mrz, qr_payload, Path(regular).stem)


def _rounded(bgr: np.ndarray, r: int) -> np.ndarray:
    """Corners rounded onto white, as a card cut from its sheet."""
    h, w = bgr.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    cv2.rectangle(mask, (r, 0), (w - r, h), 255, -1)
    cv2.rectangle(mask, (0, r), (w, h - r), 255, -1)
    for cx, cy in ((r, r), (w - r, r), (r, h - r), (w - r, h - r)):
        cv2.circle(mask, (cx, cy), r, 255, -1)
    out = bgr.copy()
    out[mask == 0] = 255
    return out
