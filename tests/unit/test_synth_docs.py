"""Synthetic cards, pages, degradations and tampering (ekyc.synth)."""

from __future__ import annotations

import dataclasses
import itertools

import cv2
import numpy as np
import pytest
import zxingcpp

from ekyc.cccd.layouts import CARD_H, CARD_W, LAYOUTS, Box, card_layout
from ekyc.fonts import font, font_path
from ekyc.icao.mrz import parse_mrz
from ekyc.synth.card import RenderedCard, render_card
from ekyc.synth.chip import sample_citizen
from ekyc.synth.degrade import phone_photo, phone_photo_with_quad, photocopy, scan
from ekyc.synth.document import PAGE_H, PAGE_W, render_a4
from ekyc.synth.tamper import KINDS, TamperNotApplicable, tamper

PAIRS = list(itertools.product(("cccd2021", "cancuoc2024"), ("front", "back")))
LONG_PLACE = "Thôn Phước Thuận, Xã Nghĩa Kỳ, Huyện Tư Nghĩa, Tỉnh Quảng Ngãi"


@pytest.fixture(scope="module")
def cards() -> dict[tuple[str, str], RenderedCard]:
    c = sample_citizen(7)
    return {(m, s): render_card(c, s, m, 7) for m, s in PAIRS}  # type: ignore[arg-type]


def _inside(inner: Box, outer: Box, margin: int = 0) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return (
        x >= ox + margin
        and y >= oy + margin
        and x + w <= ox + ow - margin
        and y + h <= oy + oh - margin
    )


def _bbox(mask: np.ndarray) -> Box:
    ys, xs = np.nonzero(mask)
    return (
        int(xs.min()),
        int(ys.min()),
        int(xs.max() - xs.min() + 1),
        int(ys.max() - ys.min() + 1),
    )


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def test_render_is_deterministic_and_seeded() -> None:
    c = sample_citizen(3)
    a = render_card(c, "back", "cancuoc2024", 3)
    b = render_card(c, "back", "cancuoc2024", 3)
    assert a.image_bgr.tobytes() == b.image_bgr.tobytes()
    assert a.image_bgr.shape == (CARD_H, CARD_W, 3) and a.image_bgr.dtype == np.uint8
    other = render_card(c, "back", "cancuoc2024", 4)
    assert other.image_bgr.tobytes() != a.image_bgr.tobytes()
    pa, pb = render_a4(3, "diploma"), render_a4(3, "diploma")
    assert pa.image_bgr.tobytes() == pb.image_bgr.tobytes() and pa.lines == pb.lines


def test_fields_are_the_printed_values(cards: dict[tuple[str, str], RenderedCard]) -> None:
    front = cards[("cccd2021", "front")]
    c = front.citizen
    assert c is not None
    assert front.fields["id_number"] == c.id_number
    assert front.fields["full_name"] == c.full_name.upper()
    assert front.fields["date_of_birth"] == c.date_of_birth.strftime("%d/%m/%Y")
    assert set(cards[("cancuoc2024", "back")].fields) == {
        "place_of_residence",
        "place_of_origin",
        "date_of_issue",
        "date_of_expiry",
    }
    assert cards[("cccd2021", "back")].fields["date_of_issue"] == c.date_of_issue.strftime(
        "%d/%m/%Y"
    )


@pytest.mark.parametrize(("model", "side"), [("cccd2021", "front"), ("cancuoc2024", "back")])
def test_qr_decodes_to_the_payload(
    cards: dict[tuple[str, str], RenderedCard], model: str, side: str
) -> None:
    card = cards[(model, side)]
    assert card.qr_payload is not None
    parts = card.qr_payload.split("|")
    assert len(parts) == (7 if model == "cccd2021" else 8)
    c = card.citizen
    assert c is not None
    assert parts[0] == c.id_number and parts[2] == c.full_name and parts[5] == c.place_of_residence
    assert parts[3] == c.date_of_birth.strftime("%d%m%Y")
    decoded = [r.text for r in zxingcpp.read_barcodes(card.image_bgr)]
    assert decoded == [card.qr_payload]
    # and the QR lies where the layout says
    x, y, w, h = card.regions["qr"]
    assert [r.text for r in zxingcpp.read_barcodes(card.image_bgr[y : y + h, x : x + w])] == [
        card.qr_payload
    ]


def test_qr_only_on_its_side(cards: dict[tuple[str, str], RenderedCard]) -> None:
    for pair in (("cccd2021", "back"), ("cancuoc2024", "front")):
        assert cards[pair].qr_payload is None
        assert zxingcpp.read_barcodes(cards[pair].image_bgr) == []


@pytest.mark.parametrize("model", ["cccd2021", "cancuoc2024"])
def test_mrz_is_valid_and_printed_in_its_region(
    cards: dict[tuple[str, str], RenderedCard], model: str
) -> None:
    back = cards[(model, "back")]
    assert back.mrz is not None and cards[(model, "front")].mrz is None
    mrz = parse_mrz(back.mrz)
    assert mrz.valid and mrz.format == "TD1"
    assert back.citizen is not None and mrz.id_number == back.citizen.id_number
    # each MRZ line is printed inside its own line box
    grey = cv2.cvtColor(back.image_bgr, cv2.COLOR_BGR2GRAY)
    for i in range(3):
        x, y, w, h = back.regions[f"mrz.{i + 1}"]
        assert (grey[y : y + h, x : x + w] < 80).sum() > 2000  # 30 dark characters


@pytest.mark.parametrize(("model", "side"), PAIRS)
def test_every_value_is_inked_inside_its_region_with_margin(model: str, side: str) -> None:
    c = dataclasses.replace(
        sample_citizen(11), place_of_origin=LONG_PLACE, place_of_residence=LONG_PLACE
    )
    card = render_card(c, side, model, 11)  # type: ignore[arg-type]
    full = (0, 0, CARD_W, CARD_H)
    for name, value in card.fields.items():
        region = card.regions[name]
        assert _inside(region, full), name
        blank = render_card(c, side, model, 11, overrides={name: ""})  # type: ignore[arg-type]
        ink = cv2.absdiff(card.image_bgr, blank.image_bgr).max(axis=2) > 8
        assert ink.sum() > 30 * len(value.replace(" ", "")), name
        assert _inside(_bbox(ink), region, margin=2), (name, _bbox(ink), region)
    # the long addresses wrapped onto two lines, each with its own box
    for wrapped in {"place_of_origin", "place_of_residence"} & set(card.fields):
        first, second = card.regions[f"{wrapped}.1"], card.regions[f"{wrapped}.2"]
        assert second[1] > first[1] and card.regions[wrapped][3] >= first[3] + second[3]


@pytest.mark.parametrize(("model", "side"), PAIRS)
def test_layout_boxes_do_not_collide(model: str, side: str) -> None:
    lay = card_layout(model, side)  # type: ignore[arg-type]
    full = (0, 0, CARD_W, CARD_H)
    values = [b for f in lay.fields for b in f.lines]
    labels = []
    for f in lay.fields:
        x0, y0, x1, y1 = font("regular", f.label_size).getbbox(f.label, anchor="ls")
        labels.append((f.label_at[0] + x0, f.label_at[1] + y0, x1 - x0, y1 - y0))
    fixed = [b for n, b in lay.regions().items() if n not in lay.field_names and "." not in n]
    if lay.mrz is not None:
        fixed.remove(lay.regions()["mrz"])
        fixed.extend(lay.mrz)
    for box in values + labels + fixed:
        assert _inside(box, full), box
    for a, b in itertools.combinations(values + fixed, 2):
        if a not in fixed or b not in fixed:
            assert not _overlap(a, b), (a, b)
    for label in labels:
        assert not any(_overlap(label, v) for v in values + fixed), label


def test_layout_table_covers_both_models_and_sides() -> None:
    assert set(LAYOUTS) == set(PAIRS)
    assert card_layout("cccd2021", "front").qr is not None
    assert card_layout("cancuoc2024", "front").qr is None
    assert card_layout("cancuoc2024", "back").qr is not None
    assert all(card_layout(m, "back").mrz is not None for m in ("cccd2021", "cancuoc2024"))


def test_fonts_come_from_installed_packages() -> None:
    for role in ("regular", "bold", "mono", "serif"):
        path = font_path(role)  # type: ignore[arg-type]
        assert path.is_file() and "shared" not in path.parts
    # Vietnamese letters render as distinct glyphs, not one replacement box
    f = font("medium", 30)
    masks = {ch: bytes(f.getmask(ch)) for ch in "ẫỵữđƠ"}
    assert len(set(masks.values())) == 5


@pytest.mark.parametrize("kind", KINDS)
def test_tampering_is_localised_to_the_changed_field(
    cards: dict[tuple[str, str], RenderedCard], kind: str
) -> None:
    for seed in range(2):
        card = cards[("cccd2021", "front")]
        t = tamper(card, kind, seed)  # type: ignore[arg-type]
        assert t.mask.dtype == bool and t.mask.shape == card.image_bgr.shape[:2]
        assert t.mask.any() and len(t.changed_fields) == 1
        name = t.changed_fields[0]
        assert _inside(_bbox(t.mask), card.regions[name]), (name, _bbox(t.mask))
        if kind != "portrait":
            assert t.mask.mean() < 0.01
        changed = np.abs(card.image_bgr.astype(int) - t.image_bgr.astype(int)).max(axis=2) > 8
        assert np.array_equal(changed, t.mask)
        if kind == "date":
            assert name.startswith("date_")
        if kind != "portrait":  # the QR keeps the truth
            assert [r.text for r in zxingcpp.read_barcodes(t.image_bgr)] == [card.qr_payload]


def test_tamper_is_deterministic_and_rejects_impossible_edits(
    cards: dict[tuple[str, str], RenderedCard],
) -> None:
    back = cards[("cancuoc2024", "back")]
    a, b = tamper(back, "date", 5), tamper(back, "date", 5)
    assert a.image_bgr.tobytes() == b.image_bgr.tobytes() and a.changed_fields == b.changed_fields
    with pytest.raises(TamperNotApplicable) as e:
        tamper(back, "portrait", 0)
    assert e.value.code == "tamper_not_applicable"
    with pytest.raises(TamperNotApplicable):
        tamper(render_a4(1), "portrait", 0)


@pytest.mark.parametrize("kind", ["char", "date", "line_removed"])
def test_page_tampering(kind: str) -> None:
    page = render_a4(2, "birth_certificate")
    t = tamper(page, kind, 3)  # type: ignore[arg-type]
    i = int(t.changed_fields[0].removeprefix("line"))
    assert t.mask.any() and _inside(_bbox(t.mask), page.lines[i][1])


@pytest.mark.parametrize("kind", ["birth_certificate", "diploma"])
def test_a4_pages(kind: str) -> None:
    page = render_a4(4, kind)  # type: ignore[arg-type]
    assert page.image_bgr.shape == (PAGE_H, PAGE_W, 3)
    assert 15 <= len(page.lines) <= 25
    grey = cv2.cvtColor(page.image_bgr, cv2.COLOR_BGR2GRAY)
    boxes = [box for _text, box in page.lines]
    for text, (x, y, w, h) in page.lines:
        assert _inside((x, y, w, h), (0, 0, PAGE_W, PAGE_H)) and text
        assert (grey[y : y + h, x : x + w] < 100).sum() > 20 * len(text.replace(" ", "")) // 2
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)
    assert any("GIẤY KHAI SINH" in t or "BẰNG TỐT NGHIỆP" in t for t, _b in page.lines)


def test_degradations_are_deterministic_and_change_the_image(
    cards: dict[tuple[str, str], RenderedCard],
) -> None:
    img = cards[("cccd2021", "front")].image_bgr
    for fn in (photocopy, scan, phone_photo):
        a, b = fn(img, 2), fn(img, 2)
        assert a.tobytes() == b.tobytes(), fn.__name__
        assert a.dtype == np.uint8 and a.ndim == 3
        assert a.shape != img.shape or np.abs(a.astype(int) - img.astype(int)).mean() > 3
        assert fn(img, 3).tobytes() != a.tobytes()
    copy = photocopy(img, 2)
    assert np.array_equal(copy[:, :, 0], copy[:, :, 1])  # grey


def test_photocopy_and_scan_keep_the_card(cards: dict[tuple[str, str], RenderedCard]) -> None:
    card = cards[("cccd2021", "front")]
    for fn in (photocopy, scan):
        out = fn(card.image_bgr, 1)
        assert [r.text for r in zxingcpp.read_barcodes(out)] == [card.qr_payload], fn.__name__


@pytest.mark.parametrize("seed", range(4))
def test_phone_photo_keeps_the_card(cards: dict[tuple[str, str], RenderedCard], seed: int) -> None:
    card = cards[("cccd2021", "front")]
    photo, quad = phone_photo_with_quad(card.image_bgr, seed, glare=seed % 2 == 0)
    fh, fw = photo.shape[:2]
    area = cv2.contourArea(quad.astype(np.float32)) / (fw * fh)
    assert 0.4 <= area <= 0.8
    assert (quad >= 0).all() and (quad[:, 0] < fw).all() and (quad[:, 1] < fh).all()
    # rectifying with the true quad gives the card back
    dst = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], dtype=np.float32)
    rect = cv2.warpPerspective(photo, cv2.getPerspectiveTransform(quad, dst), (CARD_W, CARD_H))
    a = cv2.cvtColor(rect, cv2.COLOR_BGR2GRAY).astype(float)
    b = cv2.cvtColor(card.image_bgr, cv2.COLOR_BGR2GRAY).astype(float)
    assert np.corrcoef(a[40:-40, 40:-40].ravel(), b[40:-40, 40:-40].ravel())[0, 1] > 0.8
    if seed % 2:  # glare may legitimately hide the QR
        assert [r.text for r in zxingcpp.read_barcodes(photo)] == [card.qr_payload]


def test_phone_photo_frames_a_page_at_the_resolution_of_a_card() -> None:
    page = render_a4(5, "birth_certificate").image_bgr  # PAGE_H × PAGE_W
    photo, quad = phone_photo_with_quad(page, 5)
    assert photo.shape[:2] == (round(1280 * PAGE_H / CARD_W), round(960 * PAGE_H / CARD_W))
    # the page lands at about its rendered size (0.85–1.15×), as a card does in 1280×960
    side = np.linalg.norm(quad[3] - quad[0])
    assert 0.8 < side / PAGE_H < 1.2
    coarse, q = phone_photo_with_quad(page, 5, frame_scale=0.55)
    assert coarse.shape[0] < 1300 and np.linalg.norm(q[3] - q[0]) / PAGE_H < 0.7


def test_shaken_photo_smears_the_same_capture() -> None:
    from ekyc.synth.degrade import shaken_photo

    page = render_a4(6, "diploma").image_bgr
    steady, shaken = phone_photo(page, 6), shaken_photo(page, 6)
    assert np.array_equal(shaken, shaken_photo(page, 6))  # deterministic
    assert steady.shape == shaken.shape

    def sharpness(img: np.ndarray) -> float:
        return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_32F).var())

    assert sharpness(shaken) < 0.7 * sharpness(steady)
    # the same framing: the smear moves ink by a few pixels, not the page
    a, b = (
        cv2.resize(cv2.cvtColor(i, cv2.COLOR_BGR2GRAY), None, fx=0.25, fy=0.25)
        for i in (steady, shaken)
    )
    assert np.corrcoef(a.ravel().astype(float), b.ravel().astype(float))[0, 1] > 0.9
