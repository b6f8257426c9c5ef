"""Card finding, rectification, model/side classification and orientation on synthetic cards."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.cccd.layouts import LAYOUTS
from ekyc.document.card import classify, find_card, locate_by_print, rectify
from ekyc.document.errors import ImageTooSmall, NoCard, SeveralCards
from ekyc.face.errors import ImageRejected
from ekyc.face.image import decode_image
from ekyc.synth import degrade
from ekyc.synth.card import render_card
from ekyc.synth.chip import sample_citizen

KINDS = sorted(LAYOUTS)


def _card(seed: int, model: str = "cccd2021", side: str = "front") -> np.ndarray:
    return render_card(sample_citizen(seed), side, model, seed).image_bgr  # type: ignore[arg-type]


def _corner_error(found: np.ndarray, truth: np.ndarray) -> float:
    # the quad is ordered long edge first; 0° and 180° are told apart later by classify
    return min(float(np.abs(found - np.roll(truth, k, axis=0)).max()) for k in (0, 2))


@pytest.mark.parametrize("seed", range(6))
def test_find_card_in_phone_photo(seed: int) -> None:
    photo, truth = degrade.phone_photo_with_quad(_card(seed), seed)
    assert _corner_error(find_card(photo), truth) < 8


@pytest.mark.parametrize(("model", "side"), KINDS)
def test_classify_every_model_and_side(model: str, side: str) -> None:
    photo = degrade.phone_photo(_card(11, model, side), 11)
    c = classify(rectify(photo, find_card(photo)))
    assert (c.model, c.side, c.upside_down) == (model, side, False)
    assert c.margin > 0


@pytest.mark.parametrize(("model", "side"), KINDS)
def test_upside_down_card_is_found_and_turned(model: str, side: str) -> None:
    card = _card(12, model, side)
    photo = cv2.rotate(degrade.phone_photo(card, 12), cv2.ROTATE_180)
    c = classify(rectify(photo, find_card(photo)))
    assert (c.model, c.side, c.upside_down) == (model, side, True)
    # the turned image is the upright card: close to the render, far from its 180° turn
    diff_up = cv2.absdiff(c.image, card).mean()
    diff_down = cv2.absdiff(c.image, cv2.rotate(card, cv2.ROTATE_180)).mean()
    assert diff_up < diff_down


def test_cropped_card_is_its_own_quad() -> None:
    card = _card(13)
    q = find_card(card)
    assert np.abs(q - np.float32([[0, 0], [1011, 0], [1011, 637], [0, 637]])).max() < 2


def _washed_out_copy(card: np.ndarray, angle: float, margin: int) -> tuple[np.ndarray, np.ndarray]:
    """A photocopy whose card tint is lost in the paper: only the print shows; + true corners."""
    grey = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    grey = np.where(grey > 200, 250, grey).astype(np.uint8)  # tint and guilloche wash out
    page = cv2.copyMakeBorder(grey, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=250)
    h, w = page.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    page = cv2.warpAffine(page, rot, (w, h), borderValue=250)
    ch, cw = card.shape[:2]
    corners = np.float32([[0, 0], [cw, 0], [cw, ch], [0, ch]]) + margin
    truth = np.c_[corners, np.ones(4)] @ rot.T
    return cv2.cvtColor(page, cv2.COLOR_GRAY2BGR), truth.astype(np.float32)


@pytest.mark.parametrize(("model", "side"), KINDS)
def test_washed_out_photocopy_found_by_its_print(model: str, side: str) -> None:
    copy, truth = _washed_out_copy(_card(30, model, side), angle=1.2, margin=50)
    assert _corner_error(find_card(copy), truth) < 6  # not the page (50 px off)
    c = classify(rectify(copy, find_card(copy)))
    assert (c.model, c.side) == (model, side)


def test_upside_down_photocopy_found_by_its_print() -> None:
    copy, truth = _washed_out_copy(_card(31, "cancuoc2024", "front"), angle=-1.0, margin=40)
    turned = cv2.rotate(copy, cv2.ROTATE_180)
    h, w = copy.shape[:2]
    truth = np.float32([w - 1, h - 1]) - truth
    assert _corner_error(find_card(turned), truth) < 6


def test_print_locates_a_cropped_card_at_its_frame() -> None:
    q = locate_by_print(_card(32, "cccd2021", "back"))
    assert q is not None
    frame = np.float32([[0, 0], [1012, 0], [1012, 638], [0, 638]])
    assert _corner_error(q, frame) < 4


def test_print_finds_nothing_on_a_textured_table() -> None:
    rng = np.random.default_rng(2)
    table = cv2.GaussianBlur(rng.integers(0, 255, (700, 1100, 3)).astype(np.uint8), (3, 3), 0)
    assert locate_by_print(table) is None


def test_no_card() -> None:
    rng = np.random.default_rng(0)
    table = cv2.GaussianBlur(rng.integers(60, 90, (960, 1280, 3)).astype(np.uint8), (9, 9), 0)
    with pytest.raises(NoCard) as e:
        find_card(table)
    assert e.value.code == "no_card"


def test_two_cards() -> None:
    photo = np.full((1000, 1600, 3), 70, np.uint8)
    for i, x in enumerate((60, 830)):
        small = cv2.resize(_card(20 + i), (700, 441))
        photo[280:721, x : x + 700] = small
    with pytest.raises(SeveralCards) as e:
        find_card(photo)
    assert e.value.code == "several_cards"


def test_too_small() -> None:
    with pytest.raises(ImageTooSmall):
        find_card(np.full((120, 190, 3), 200, np.uint8))
    photo = np.full((450, 600, 3), 60, np.uint8)
    photo[140:310, 160:430] = cv2.resize(_card(3), (270, 170))  # 17 % of the frame, 270 px
    with pytest.raises(ImageTooSmall) as e:
        find_card(photo)
    assert e.value.code == "image_too_small"


def test_wrong_file_type() -> None:
    with pytest.raises(ImageRejected) as e:  # one decoder for every untrusted image
        decode_image(b"%PDF-1.7 not an image")
    assert e.value.code in ("not_an_image", "unsupported_image")
    ok, png = cv2.imencode(".png", _card(1))
    assert ok and decode_image(png.tobytes()).shape == (638, 1012, 3)


def test_blank_page_is_no_card() -> None:
    rng = np.random.default_rng(1)
    page = np.clip(245 + rng.normal(0, 1.5, (700, 1000, 3)), 0, 255).astype(np.uint8)
    with pytest.raises(NoCard) as e:  # card-shaped, but nothing printed on it
        find_card(page)
    assert "blank" in str(e.value)


def test_an_inner_box_taken_for_the_card_falls_back_to_the_whole_card() -> None:
    # a clean 2024 front filling the image: the outline search finds the portrait's frame,
    # which classifies as nothing; the card located by its print (or the frame) does
    from ekyc.document.card import classify_found
    from ekyc.document.errors import UnknownCard

    image = _card(1098, "cancuoc2024", "front")
    inner = find_card(image)
    with pytest.raises(UnknownCard):
        classify(rectify(image, inner))
    quad, kind = classify_found(image, inner)
    assert (kind.model, kind.side) == ("cancuoc2024", "front")
    assert np.linalg.norm(quad[1] - quad[0]) > 0.9 * image.shape[1]
