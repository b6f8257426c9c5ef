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
