"""Copy vs original on drawn A4 pages and synthetic cards: alignment, degradations, tampers."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ekyc.document.compare import compare_documents

WORDS = ["GIAY", "KHAI", "SINH", "NGUYEN", "VAN", "AN", "HA", "NOI", "NAM", "2021", "SO", "123"]


def _page(
    seed: int, changed: tuple[int, int, str] | None = None, drop: int | None = None
) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A white A4 page (150 dpi), 16 lines of words; one word changed or a line dropped."""
    rng = np.random.default_rng(seed)
    page = np.full((1754, 1240, 3), 255, np.uint8)
    cv2.rectangle(page, (80, 80), (1160, 1674), (0, 0, 0), 3)
    cv2.putText(page, f"DOCUMENT {seed}", (300, 200), cv2.FONT_HERSHEY_DUPLEX, 2.0, (0, 0, 0), 3)
    boxes = []
    for i in range(16):
        y = 320 + i * 80
        words = [WORDS[int(k)] for k in rng.integers(0, len(WORDS), size=6)]
        if changed is not None and changed[0] == i:
            words[changed[1]] = changed[2]
        if drop == i:
            boxes.append((0, 0, 0, 0))
            continue
        x = 140
        for w in words:
            (tw, th), _ = cv2.getTextSize(w, cv2.FONT_HERSHEY_SIMPLEX, 1.2, 2)
            cv2.putText(page, w, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (20, 20, 20), 2)
            x += tw + 30
        boxes.append((140, y - 35, x - 140, 45))
    return page, boxes


def _photocopy(img: np.ndarray, seed: int, angle: float = 2.0) -> np.ndarray:
    """Grey, contrasty, noisy, slightly rotated with a perspective tilt, on a larger sheet."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey = np.clip((grey - 128) * 1.4 + 140, 0, 255)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src * 0.92 + np.float32([[60, 80], [40, 70], [55, 60], [70, 90]])
    m = cv2.getPerspectiveTransform(src, dst)
    out = cv2.warpPerspective(grey, m, (w, h), borderValue=235)
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    out = cv2.warpAffine(out, rot, (w, h), borderValue=235)
    out = cv2.GaussianBlur(out, (0, 0), 0.8) + rng.normal(0, 8, out.shape)
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_honest_rotated_perspective_photocopy_matches(seed: int) -> None:
    page, _ = _page(seed)
    v = compare_documents([page], [_photocopy(page, seed, angle=1.5 + seed)])
    assert v.verdict == "MATCH", [(d.reason, d.box, d.score) for d in v.differences]
    h = v.pages[0].homography
    assert h is not None
    assert v.heatmap.shape == page.shape


def test_changed_word_flagged_at_its_box() -> None:
    page, boxes = _page(3)
    tampered, _ = _page(3, changed=(7, 2, "XOA"))
    v = compare_documents([page], [_photocopy(tampered, 3)])
    assert v.verdict == "MISMATCH"
    x, y, w, h = boxes[7]
    hits = [d for d in v.differences if y - 10 <= d.box[1] + d.box[3] / 2 <= y + h + 10]
    assert hits, [(d.reason, d.box) for d in v.differences]
    assert all(y - 20 <= d.box[1] + d.box[3] / 2 <= y + h + 20 for d in v.differences)
    # the heatmap is red where the difference is
    heat = v.heatmap
    bx, by, bw, bh = hits[0].box
    patch = heat[by : by + bh, bx : bx + bw].reshape(-1, 3)
    assert (patch[:, 2] > 200).any() and (patch[:, 2].astype(int) - patch[:, 1] > 100).any()


def test_removed_line_flagged() -> None:
    page, boxes = _page(4)
    tampered, _ = _page(4, drop=10)
    v = compare_documents([page], [_photocopy(tampered, 4)])
    assert v.verdict == "MISMATCH"
    x, y, w, h = boxes[10]
    removed = [d for d in v.differences if d.reason == "content_removed"]
    assert any(abs((d.box[1] + d.box[3] / 2) - (y + h / 2)) < 30 for d in removed)


def test_blank_copy_is_unreadable() -> None:
    page, _ = _page(5)
    blank = np.full_like(page, 250)
    v = compare_documents([page], [blank])
    assert v.verdict == "UNREADABLE"
    assert v.why == ["page 0: blank_page"]


def test_different_document_is_mismatch() -> None:
    rng = np.random.default_rng(0)
    page, _ = _page(6)
    other = np.full_like(page, 255)
    for _ in range(400):  # a dense page of unrelated marks
        x, y = rng.integers(100, 1100), rng.integers(100, 1650)
        cv2.circle(other, (int(x), int(y)), int(rng.integers(5, 30)), (0, 0, 0), 2)
    v = compare_documents([page], [other])
    assert v.verdict == "MISMATCH"
    assert v.differences[0].reason == "different_document"


def test_page_count_mismatch() -> None:
    page, _ = _page(7)
    v = compare_documents([page, page], [_photocopy(page, 7)])
    assert v.verdict == "MISMATCH"
    assert [d.reason for d in v.differences] == ["page_count"]
    assert len(v.pages) == 1 and v.pages[0].verdict == "MATCH"


def test_bad_inputs_never_crash() -> None:
    page, _ = _page(8)
    v = compare_documents([page], [np.zeros((5, 5), np.uint8)])
    assert v.verdict == "UNREADABLE" and v.why == ["page 0: copy_invalid"]
    assert compare_documents([], []).verdict == "UNREADABLE"


# --- OCR-first text lines, glare, portrait, card regions ---------------------------------------


class _FakeOcr:
    """Reads each line as a fixed text; on the copy, line ``changed[0]`` reads ``changed[1]``.

    Lines are told apart by where their quads are (re-reads frame them a little larger). With
    ``stable`` False the copy's misreading is noise: re-reads give the original text again."""

    def __init__(
        self,
        texts: list[str],
        changed: tuple[int, str] | None,
        confidence: float = 0.9,
        stable: bool = False,
        soft_misreads: bool = False,
        regions: dict[str, tuple[int, int, int, int]] | None = None,
    ) -> None:
        self.texts = texts
        self.changed = changed
        self.confidence = confidence
        self.stable = stable
        self.soft_misreads = soft_misreads  # the misreading comes from softness: a blurred
        # original is misread the same way
        self.original: np.ndarray | None = None
        # the lines' centres (compare reads only some lines, so a first read may not show all)
        self.centres: np.ndarray | None = None
        if regions is not None:
            self.centres = np.array([(x + w / 2, y + h / 2) for x, y, w, h in regions.values()])
        self.copy_reads = 0

    def read(self, image_bgr: np.ndarray) -> list[object]:
        raise AssertionError("regions were given: the detector must not run")

    def is_original(self, image_bgr: np.ndarray) -> bool:
        """The original, or the original blurred (compare softens it like the copy)."""
        o = self.original
        if image_bgr is o or o is None or image_bgr.shape != o.shape:
            return image_bgr is o
        a, b = (cv2.GaussianBlur(x, (0, 0), 4).astype(np.int16) for x in (image_bgr, o))
        return float(np.abs(a - b).mean()) < 3.0

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[object]:
        from models.ocr.base import TextBox

        centres = np.array([np.asarray(q, np.float32).reshape(4, 2).mean(axis=0) for q in quads])
        if self.original is None:
            self.original = image_bgr
            self.centres = centres if self.centres is None else self.centres
        assert self.centres is not None
        is_copy = not self.is_original(image_bgr)
        self.copy_reads += is_copy
        softened = image_bgr is not self.original and not is_copy
        out = []
        for q, c in zip(quads, centres, strict=True):
            i = int(np.argmin(np.linalg.norm(self.centres - c, axis=1)))
            text = self.texts[i]
            misread = self.changed is not None and self.changed[0] == i
            if is_copy and misread and (self.stable or self.copy_reads == 1):
                text = self.changed[1]  # type: ignore[index]
            if softened and misread and self.soft_misreads:
                text = self.changed[1]  # type: ignore[index]
            out.append(TextBox(q, text, self.confidence))
        return out


def _line_regions(boxes: list[tuple[int, int, int, int]]) -> dict[str, tuple[int, int, int, int]]:
    return {f"line{i}": b for i, b in enumerate(boxes) if b[2] > 0}


def test_ocr_difference_without_ink_evidence_is_not_reported() -> None:
    page, boxes = _page(10)
    regions = _line_regions(boxes)
    ocr = _FakeOcr([f"text {i}" for i in range(len(regions))], (5, "text 9"), regions=regions)
    v = compare_documents([page], [_photocopy(page, 10)], ocr, regions=regions)
    assert v.verdict == "MATCH", [(d.region, d.reason) for d in v.differences]
    line = next(c for c in v.pages[0].lines if c.region == "line5")
    # a line whose ink did not change is not even read: no reading of it could flag it
    assert line.copy_text is None and not line.flagged and line.ink_chars == 0.0


def _speck(page: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The page with a speck of ink at the end of a line: an edit that barely changes the ink."""
    x, y, w, h = box
    out = page.copy()
    out[y + h // 2 : y + h // 2 + 5, x + w - 8 : x + w - 4] = 20
    return out


def _specked(page: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    """A speck on every line: the haze of changed ink a soft copy leaves (so all are read)."""
    for box in boxes:
        if box[2] > 0:
            page = _speck(page, box)
    return page


def test_stable_confident_difference_on_a_sharp_copy_stands_on_barely_changed_ink() -> None:
    # an edited diacritic or a letter of the same shape barely changes the ink; a reading
    # that stays different at every framing is reported (on a sharp line, both confident)
    page, boxes = _page(10)
    regions = _line_regions(boxes)
    texts = [f"text {i}" for i in range(len(regions))]
    edited = _photocopy(_speck(page, boxes[5]), 10)
    ocr = _FakeOcr(texts, (5, "text 9"), confidence=0.95, stable=True, regions=regions)
    v = compare_documents([page], [edited], ocr, regions=regions)
    assert [(d.region, d.reason) for d in v.differences] == [("line5", "text_changed")]
    line = next(c for c in v.pages[0].lines if c.region == "line5")
    assert line.stable is True and 0.0 < line.ink_chars < 0.2
    unsure = _FakeOcr(texts, (5, "text 9"), confidence=0.6, stable=True, regions=regions)
    v = compare_documents([page], [edited], unsure, regions=regions)
    assert v.verdict == "MATCH"
    # with no changed ink at all the line is not even read: no reading alone flags a line
    unread = _FakeOcr(texts, (5, "text 9"), confidence=0.95, stable=True, regions=regions)
    v = compare_documents([page], [_photocopy(page, 10)], unread, regions=regions)
    assert v.verdict == "MATCH" and unread.copy_reads == 0


def test_ocr_difference_confirmed_by_ink_reports_both_strings() -> None:
    page, boxes = _page(11)
    tampered, _ = _page(11, changed=(5, 1, "XOA"))
    regions = _line_regions(boxes)
    ocr = _FakeOcr([f"text {i}" for i in range(len(regions))], (5, "text X"), regions=regions)
    v = compare_documents([page], [_photocopy(tampered, 11)], ocr, regions=regions)
    assert v.verdict == "MISMATCH"
    hit = [d for d in v.differences if d.region == "line5"]
    assert hit and hit[0].reason == "text_changed"
    assert (hit[0].original_text, hit[0].copy_text) == ("text 5", "text X")


def test_same_text_ignores_spacing_and_stray_punctuation_not_letters() -> None:
    from ekyc.document.compare.text import same_text

    assert same_text("Đà Nẵng  ,", "Đà Nẵng")
    assert same_text("Nữ", "Nữ_")
    assert not same_text("13/05/2023", "13/03/2023")
    assert not same_text("NGUYỄN THANH", "NGUYỄN AHANH")


def test_glare_mask_finds_a_bright_blob_not_smooth_lighting() -> None:
    from ekyc.document.compare import CompareSettings
    from ekyc.document.compare.glare import glare_mask

    rng = np.random.default_rng(0)
    original = np.clip(rng.normal(225, 3, (400, 600)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[0:400, 0:600].astype(np.float32)
    lit = original * (0.9 + 0.2 * xx / 600)  # uneven light: not glare
    blob = 120 * np.exp(-((xx - 400) ** 2 + (yy - 200) ** 2) / (2 * 40.0**2))
    copy = np.clip(lit + blob, 0, 255).astype(np.uint8)
    valid = np.ones((400, 600), np.uint8)
    mask = glare_mask(original, copy, valid, CompareSettings())
    assert mask[200, 400] and not mask[200, 60]


def test_card_regions_split_wrapped_fields_into_lines() -> None:
    from ekyc.document.compare import card_regions

    regions = card_regions("cccd2021", "front")
    assert "place_of_residence.1" in regions and "place_of_residence.2" in regions
    assert "place_of_residence" not in regions
    assert regions["portrait"] == (40, 190, 200, 262)
    assert {"mrz.1", "mrz.2", "mrz.3"} <= set(card_regions("cancuoc2024", "back"))


def test_swapped_portrait_on_a_scanned_card_is_reported() -> None:
    from ekyc.document.compare import card_regions
    from ekyc.synth import degrade
    from ekyc.synth.card import render_card
    from ekyc.synth.chip import sample_citizen
    from ekyc.synth.tamper import tamper

    card = render_card(sample_citizen(3), "front", "cccd2021", 3)
    regions = card_regions("cccd2021", "front")
    honest = compare_documents([card.image_bgr], [degrade.scan(card.image_bgr, 1)], regions=regions)
    assert not [d for d in honest.differences if d.reason == "portrait_changed"]
    swapped = degrade.scan(tamper(card, "portrait", 3).image_bgr, 1)
    v = compare_documents([card.image_bgr], [swapped], regions=regions)
    assert [d.region for d in v.differences if d.reason == "portrait_changed"] == ["portrait"]


def test_confident_digit_change_stands_on_barely_changed_ink() -> None:
    page, boxes = _page(12)
    regions = _line_regions(boxes)
    texts = [f"ngày {i}/05/2023" for i in range(len(regions))]
    edited = _photocopy(_speck(page, boxes[4]), 12)
    ocr = _FakeOcr(texts, (4, "ngày 4/06/2023"), confidence=0.99, regions=regions)
    v = compare_documents([page], [edited], ocr, regions=regions)
    assert [(d.region, d.reason) for d in v.differences] == [("line4", "text_changed")]
    unsure = _FakeOcr(texts, (4, "ngày 4/06/2023"), confidence=0.9, regions=regions)
    v = compare_documents([page], [edited], unsure, regions=regions)
    assert v.verdict == "MATCH"


def test_tone_mark_misreading_without_ink_is_not_a_difference() -> None:
    page, boxes = _page(13)
    regions = _line_regions(boxes)
    ocr = _FakeOcr(
        ["Phường Tràng Tiền"] * len(regions), (2, "Phường Tràng Tiến"), 0.99, regions=regions
    )
    v = compare_documents([page], [_photocopy(page, 13)], ocr, regions=regions)
    assert v.verdict == "MATCH", [(d.region, d.reason) for d in v.differences]


def test_digit_and_tone_helpers() -> None:
    from ekyc.document.compare.text import digits_only_change, untoned

    assert digits_only_change("25/03/2023", "29/03/2023")
    assert digits_only_change("năm 2018", "năm 2818")
    assert not digits_only_change("O", "0")  # a letter read as a digit is not a changed number
    assert not digits_only_change("Tiền 12", "Tiến 13")
    assert not digits_only_change("2023", "20231")
    assert untoned("Tràng Tiền") == untoned("Tràng Tiến")
    assert untoned("Hòa") != untoned("Hòq") and untoned("ă") != untoned("a")


class _GarblingOcr(_FakeOcr):
    """The copy reads a changed date on every line listed in ``garbled``, at every framing."""

    def __init__(self, texts: list[str], garbled: dict[int, str]) -> None:
        super().__init__(texts, None, confidence=0.99)
        self.garbled = garbled

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[object]:
        from models.ocr.base import TextBox

        boxes = super().read_lines(image_bgr, quads)
        if self.is_original(image_bgr):
            return boxes
        assert self.centres is not None
        out = []
        for q, b in zip(quads, boxes, strict=True):
            c = np.asarray(q, np.float32).reshape(4, 2).mean(axis=0)
            i = int(np.argmin(np.linalg.norm(self.centres - c, axis=1)))
            out.append(TextBox(q, self.garbled.get(i, b.text), self.confidence))  # type: ignore[attr-defined]
        return out


def test_most_lines_differing_make_the_page_unreadable_not_mismatch() -> None:
    page, boxes = _page(14)
    regions = _line_regions(boxes)
    texts = [f"ngày {i}/05/2023" for i in range(len(regions))]
    everywhere = _GarblingOcr(texts, {i: f"ngày {i}/06/2023" for i in range(0, 16, 2)})
    hazy = _photocopy(_specked(page, boxes), 14)
    v = compare_documents([page], [hazy], everywhere, regions=regions)
    assert v.verdict == "UNREADABLE", [(d.region, d.reason) for d in v.differences]
    assert v.pages[0].why == "too_many_differences" and not v.differences
    assert v.pages[0].scores["lines.differing"] == 8
    # a forger's few lines are still reported one by one
    few = _GarblingOcr(texts, {3: "ngày 3/06/2023", 9: "ngày 9/06/2023"})
    v = compare_documents([page], [hazy], few, regions=regions)
    assert v.verdict == "MISMATCH"
    assert sorted(d.region for d in v.differences) == ["line3", "line9"]


def test_a_removed_line_stands_out_of_a_crowded_page() -> None:
    page, boxes = _page(15)
    tampered, _ = _page(15, drop=6)
    regions = _line_regions(boxes)
    texts = [f"ngày {i}/05/2023" for i in range(len(regions))]
    garbled = {i: f"ngày {i}/06/2023" for i in range(0, 16, 2)} | {6: ""}
    v = compare_documents(
        [page],
        [_photocopy(_specked(tampered, boxes), 15)],
        _GarblingOcr(texts, garbled),
        regions=regions,
    )
    assert v.verdict == "MISMATCH" and v.pages[0].scores["lines.differing"] >= 8
    found = {d.region: d.reason for d in v.differences}
    assert found.get("line6") == "content_removed"
    # the garbled readings without ink (the crowd) are not reported
    assert not {f"line{i}" for i in range(0, 16, 2) if i != 6} & set(found)


def test_diacritics_only_readings_share_their_base_letters() -> None:
    from ekyc.document.compare.text import unmarked

    assert unmarked("GIÁM ĐỐC SỞ") == unmarked("GIẤM ĐỐC SỐ") == unmarked("giam doc so")
    assert unmarked("Phạm Minh") == unmarked("Pham Minh")
    assert unmarked("Phạm Minh") != unmarked("Phạm Minb")
    assert unmarked("12/05/2023") != unmarked("12/06/2023")


def test_a_copy_captured_too_coarsely_is_unreadable_not_judged() -> None:
    page, boxes = _page(16)
    regions = _line_regions(boxes)  # lines 45 px tall on the original
    copy = _photocopy(page, 16)
    coarse = cv2.resize(copy, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    v = compare_documents([page], [coarse], regions=regions)
    assert v.verdict == "UNREADABLE" and v.why == ["page 0: low_resolution"]
    fine = cv2.resize(copy, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA)
    assert compare_documents([page], [fine], regions=regions).verdict == "MATCH"


def _glared(img: np.ndarray, centre: tuple[int, int], sigma: float) -> np.ndarray:
    """A colour phone-like copy: warm, dimmer paper and a bright reflection at ``centre``."""
    out = img.astype(np.float32) * np.float32([0.86, 0.9, 0.94])
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]].astype(np.float32)
    blob = np.exp(-((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (2 * sigma**2))
    out += (130 * blob)[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def test_a_line_removed_under_glare_is_found_where_the_line_is_clear_of_it() -> None:
    page, boxes = _page(17)
    tampered, _ = _page(17, drop=9)
    regions = _line_regions(boxes)
    x, y, w, h = boxes[9]
    glare_at = (x + w // 4, y + h // 2)  # over the left part of the line
    v = compare_documents([page], [_glared(tampered, glare_at, 60)], regions=regions)
    found = {(d.region, d.reason) for d in v.differences}
    assert ("line9", "content_removed") in found, found
    line = next(c for c in v.pages[0].lines if c.region == "line9")
    assert line.glare >= 0.25 and line.clear_loss > 0.8
    honest = compare_documents([page], [_glared(page, glare_at, 60)], regions=regions)
    assert honest.verdict != "MISMATCH", [(d.region, d.reason) for d in honest.differences]


def test_line_rules_for_ink_haze_and_glare() -> None:
    from ekyc.document.compare import CompareSettings
    from ekyc.document.compare.ink import Ink
    from ekyc.document.compare.judge import judge_line
    from ekyc.document.compare.reading import Reading

    s = CompareSettings()
    same = Reading("Việt Nam", "Việt Nam", 0.99, 0.89, None)
    # a phone photo's ink haze on a soft line read the same on both sides is no difference ...
    assert judge_line(same, Ink(6.0, 0.0, 0.0), 0.75, s).verdict == "ok"
    # ... far more ink is (an edit the OCR missed)
    assert judge_line(same, Ink(9.0, 0.0, 0.0), 0.75, s).verdict == "flag"
    # differing readings with that much ink are
    other = Reading("Việt Nam", "Viột Nem", 0.99, 0.95, False)
    assert judge_line(other, Ink(6.0, 0.0, 0.0), 0.75, s).verdict == "flag"
    # on a sharp line (a scan) of a page without ink haze a little ink is an edit, whatever
    # the OCR read; on a hazy page it needs several times the page's haze
    assert judge_line(same, Ink(0.4, 0.0, 0.0), 0.9, s).verdict == "flag"
    assert judge_line(same, Ink(0.4, 0.0, 0.0), 0.9, s, haze=0.3).verdict == "ok"
    mark = Reading("HƯƠNG", "HƯÔNG", 1.0, 0.99, True)
    assert judge_line(mark, Ink(0.4, 0.0, 0.0), 0.95, s).verdict == "flag"
    assert judge_line(mark, Ink(0.4, 0.0, 0.0), 0.7, s).verdict == "unsure"
    # a difference the original reproduces when blurred like the copy is the copy's softness
    soft = Reading("Giới tính", "Giái tính", 0.99, 0.98, True, explained=True)
    assert judge_line(soft, Ink(0.5, 0.0, 0.0), 0.82, s).verdict == "ok"
    # under glare: a confident change of letters read alike at every framing stands ...
    letters = Reading("Quận Hải Châu", "Quận Hải Uhâu", 0.99, 0.97, True)
    assert judge_line(letters, Ink(0.3, 0.4, 0.0), 0.7, s).verdict == "flag"
    # ... a changed tone mark or an unstable reading does not
    tone = Reading("trước mép", "trước mẹp", 0.99, 0.97, True)
    assert judge_line(tone, Ink(0.3, 0.4, 0.0), 0.7, s).verdict == "glare"
    unstable = Reading("Quận Hải Châu", "Quận Hải Uhâu", 0.99, 0.97, False)
    assert judge_line(unstable, Ink(0.3, 0.4, 0.0), 0.7, s).verdict == "glare"
    # ink missing where the line is clear of glare is a removed line, OCR or not
    gone = Reading("Quận Hải Châu", "C gn 2", 0.99, 0.3, None)
    assert judge_line(gone, Ink(20.0, 0.5, 0.9), 0.1, s).verdict == "flag"
    assert judge_line(None, Ink(20.0, 0.5, 0.9), 0.1, s).verdict == "flag"
    assert judge_line(gone, Ink(20.0, 0.5, 0.1), 0.1, s).verdict == "glare"


def test_a_misreading_the_softened_original_repeats_is_the_copy_s_softness() -> None:
    page, boxes = _page(18)
    tampered, _ = _page(18, changed=(5, 1, "XOA"))
    regions = _line_regions(boxes)
    texts = [f"text {i}" for i in range(len(regions))]
    soft = _FakeOcr(
        texts, (5, "text X"), confidence=0.95, stable=True, soft_misreads=True, regions=regions
    )
    v = compare_documents([page], [_photocopy(_speck(page, boxes[5]), 18)], soft, regions=regions)
    assert v.verdict == "MATCH", [(d.region, d.reason) for d in v.differences]
    line = next(c for c in v.pages[0].lines if c.region == "line5")
    assert line.explained is True and not line.flagged
    # an edit is not what softness does to the original: it stands
    edit = _FakeOcr(texts, (5, "text X"), confidence=0.95, stable=True, regions=regions)
    v = compare_documents([page], [_photocopy(tampered, 18)], edit, regions=regions)
    assert ("line5", "text_changed") in {(d.region, d.reason) for d in v.differences}
    assert next(c for c in v.pages[0].lines if c.region == "line5").explained is False


def test_a_line_a_few_pixels_off_the_page_alignment_is_not_a_difference() -> None:
    # a phone photo's homography can be 2-3 px off at one edge; each line is re-registered
    page, boxes = _page(19)
    regions = _line_regions(boxes)
    copy = page.copy()
    x, y, w, h = boxes[12]
    copy[y : y + h, x + 3 : x + w + 3] = page[y : y + h, x : x + w]  # the line moved 3 px right
    copy[y : y + h, x : x + 3] = 255
    v = compare_documents([page], [_photocopy(copy, 19)], regions=regions)
    assert v.verdict == "MATCH", [(d.region, d.reason, d.score) for d in v.differences]
    assert next(c for c in v.pages[0].lines if c.region == "line12").ink_chars < 0.2
    # a real edit on the moved line is still found
    tampered, _ = _page(19, changed=(12, 2, "XOA"))
    copy = tampered.copy()
    copy[y : y + h, x + 3 : x + w + 3] = tampered[y : y + h, x : x + w]
    copy[y : y + h, x : x + 3] = 255
    v = compare_documents([page], [_photocopy(copy, 19)], regions=regions)
    assert "line12" in {d.region for d in v.differences}


def test_the_copy_s_blur_kernel_is_recovered_whatever_its_shape() -> None:
    # a shaking hand smears along one direction; the fitted kernel must follow that direction
    # (an isotropic Gaussian cannot reproduce how the OCR misreads such a copy: 05 read 06)
    from ekyc.document.compare.blur import copy_psf

    page, boxes = _page(21)
    grey = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    x, y, w, h = boxes[3]
    quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)
    for angle in (0.0, 45.0, 100.0):
        truth = np.zeros((15, 15), np.float32)
        dx, dy = 4 * np.cos(np.deg2rad(angle)), 4 * np.sin(np.deg2rad(angle))
        cv2.line(truth, (round(7 - dx), round(7 - dy)), (round(7 + dx), round(7 + dy)), 1.0)
        truth /= truth.sum()
        rng = np.random.default_rng(int(angle))
        copy = cv2.filter2D(grey, -1, truth).astype(np.float32) * 0.7 + 60  # greyer, flatter
        copy = np.clip(copy + rng.normal(0, 4, copy.shape), 0, 255).astype(np.uint8)
        kernel = copy_psf(grey, copy, quad)
        assert kernel is not None and abs(float(kernel.sum()) - 1.0) < 1e-4
        assert np.corrcoef(kernel.ravel(), truth.ravel())[0, 1] > 0.6, angle
    blank = np.full_like(grey, 255)
    assert copy_psf(blank, blank, quad) is None  # nothing printed to fit on


def test_softness_explains_only_misreadings_the_softened_original_repeats() -> None:
    from ekyc.document.compare.text import softness_explains as explains

    assert explains("05/08/2021", "06/08/2021", "06/08/2021")
    assert not explains("05/08/2021", "06/08/2021", "05/08/2021")  # still legible: an edit
    # word by word: every word whose letters differ is misread the same way when softened;
    # diacritics-only differences ride along (TẠO read TAO)
    assert explains("GIÁM ĐỐC SỞ TẠO MINH", "GiẦN ĐỐC SỐ TAO NINH", "GIẤN ĐỐC SỐ TẠO NINH")
    assert not explains("ngày 11 năm 2017", "ngày 11 năn 2017", "ngày 11 năm 2017")
    assert not explains("Hồ Chí Minh", "Hồ Chí Ninh", "Hồ Chí Ninh Ninh")  # words not aligned
    # marks alone are not explained away by this rule (they have their own ink bar)
    assert not explains("Hồ", "Hổ", "Hồ")


def test_smear_measures_a_straight_shake_not_a_soft_focus() -> None:
    from ekyc.document.compare.blur import smear_px

    for length, angle in ((4.0, 0.0), (7.0, 30.0), (10.0, 120.0)):
        k = np.zeros((15, 15), np.float32)
        dx, dy = (
            (length - 1) / 2 * np.cos(np.deg2rad(angle)),
            (length - 1) / 2 * np.sin(np.deg2rad(angle)),
        )
        ends = [(round((7 + sx * dx) * 16), round((7 + sx * dy) * 16)) for sx in (-1, 1)]
        cv2.line(k, ends[0], ends[1], 1.0, 1, cv2.LINE_AA, 4)
        assert abs(smear_px(k) - length) < 1.5, (length, smear_px(k))
    focus = cv2.getGaussianKernel(15, 2.0) @ cv2.getGaussianKernel(15, 2.0).T
    assert smear_px(focus.astype(np.float32)) < 1.0


def test_a_photo_smeared_by_a_shaking_hand_is_unreadable_not_judged() -> None:
    from ekyc.document.compare import card_regions, compare_page
    from ekyc.synth import degrade
    from ekyc.synth.card import render_card
    from ekyc.synth.chip import sample_citizen

    card = render_card(sample_citizen(31), "front", "cccd2021", 31).image_bgr
    regions = card_regions("cccd2021", "front")
    smeared = degrade.phone_photo(card, 31, glare=False, shake_px=(8.0, 8.0))
    r = compare_page(card, smeared, regions=regions)
    assert (r.verdict, r.why) == ("UNREADABLE", "motion_blur")
    assert r.scores["blur.smear_px"] > 6.0  # measured, for the clerk's log
    steady = compare_page(card, degrade.phone_photo(card, 31, glare=False), regions=regions)
    assert steady.why != "motion_blur" and steady.scores["blur.smear_px"] < 3.0


def test_an_edited_line_does_not_pass_for_camera_shake() -> None:
    # a card back has only three text lines; a removed one fits no blur of the original and
    # must not be taken for a smear (the MRZ lines and the fit's R² keep the measure honest)
    from ekyc.document.compare import card_regions, compare_page
    from ekyc.synth import degrade
    from ekyc.synth.card import render_card
    from ekyc.synth.chip import sample_citizen
    from ekyc.synth.tamper import tamper

    back = render_card(sample_citizen(3), "back", "cccd2021", 3)
    regions = card_regions("cccd2021", "back")
    for kind in ("line_removed", "date"):
        edited = tamper(back, kind, 3).image_bgr  # type: ignore[arg-type]
        for copy in (degrade.photocopy(edited, 3), degrade.scan(edited, 3)):
            r = compare_page(back.image_bgr, copy, regions=regions)
            assert r.why != "motion_blur" and r.scores["blur.smear_px"] < 3.0, kind


class _DetectingOcr(_FakeOcr):
    """``_FakeOcr`` with a text detector that finds the page's lines, counting what is read."""

    def __init__(self, boxes: list[tuple[int, int, int, int]], changed: tuple[int, str] | None):
        from ekyc.document.compare.geometry import box_quad

        regions = _line_regions(boxes)
        super().__init__([f"text {i}" for i in range(len(regions))], changed, stable=True,
                         regions=regions)  # fmt: skip
        self.quads = [box_quad(b) for b in regions.values()]
        self.detector = self
        self.lines_read = 0

    def detect(self, image_bgr: np.ndarray) -> list[np.ndarray]:
        return list(self.quads)

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[object]:
        self.lines_read += len(quads)
        return super().read_lines(image_bgr, quads)


def test_a_page_without_named_lines_reads_only_the_lines_whose_ink_changed() -> None:
    """The detector finds the lines; reading them all was most of an A4 page's time."""
    page, boxes = _page(12)
    honest = _DetectingOcr(boxes, None)
    v = compare_documents([page], [_photocopy(page, 12)], honest)
    assert v.verdict == "MATCH" and len(v.pages[0].lines) == 16
    assert honest.lines_read < 4  # the odd line with a haze of changed ink
    tampered, _ = _page(12, changed=(6, 3, "XOA"))
    ocr = _DetectingOcr(boxes, (6, "text X"))
    v = compare_documents([page], [_photocopy(tampered, 12)], ocr)
    assert v.verdict == "MISMATCH"
    hit = [d for d in v.differences if d.region == "line6"]
    assert hit and hit[0].reason == "text_changed"
    assert (hit[0].original_text, hit[0].copy_text) == ("text 6", "text X")
    assert ocr.lines_read < 16  # not every line, on either side
