"""Find an ID card in a photo, rectify it to the canonical frame, and tell its model and side.

Finding: card-shaped quads (aspect 85.6 : 54 within perspective slack) from edge contours,
then from bright regions as a fallback. When no outline shows (a photocopy washes the card's
pale tint out to the paper's white), the card is located by its fixed print: ORB features of
every layout's headings and labels, matched with a RANSAC similarity. An image that is itself
card-shaped, with its print where the layout puts it, is taken as an already cropped card.
Rectifying maps the quad onto the 1012 × 638 frame of ``ekyc.cccd.layouts``. Classifying
scores the rectified card, upright and turned 180°, against every layout (ink where the
layout puts fields, a QR where it puts one) and keeps the best, so an upside-down card comes
out turned.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from ekyc.cccd.layouts import LAYOUTS, Box, CardLayout, Model, Side
from ekyc.document.errors import (
    ImageTooLarge,
    ImageTooSmall,
    InvalidImage,
    NoCard,
    SeveralCards,
    UnknownCard,
)
from ekyc.fonts import FontNotFound, font

CARD_W, CARD_H = 1012, 638
CARD_ASPECT = CARD_W / CARD_H
MIN_IMAGE_SIDE = 200
MAX_IMAGE_SIDE = 10_000
MIN_CARD_LONG_SIDE = 300  # px in the photo; below this the fields are unreadable
_WORK_SIDE = 960
ASPECT_RANGE = (1.4, 1.9)  # 1.585 with perspective slack; a 3:4 portrait stays out
_MIN_AREA_FRACTION = 0.08  # FPT.AI asks for a card of at least 1/4 of the frame
_BLANK_STD = 4.0  # grey-level spread of an empty page or a lens cap: nothing printed
_SECOND_CARD_FRACTION = 0.35  # a second quad this large (vs the first) is a second card


def as_bgr(image: np.ndarray) -> np.ndarray:
    """The image as contiguous uint8 BGR, or InvalidImage/ImageTooSmall/ImageTooLarge."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise InvalidImage("expected a non-empty uint8 array")
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InvalidImage(f"unsupported shape {image.shape}")
    h, w = image.shape[:2]
    if min(h, w) < MIN_IMAGE_SIDE:
        raise ImageTooSmall(f"{w}x{h} px, need at least {MIN_IMAGE_SIDE} px on each side")
    if max(h, w) > MAX_IMAGE_SIDE:
        raise ImageTooLarge(f"{w}x{h} px, at most {MAX_IMAGE_SIDE} px per side")
    return np.ascontiguousarray(image)


def order_card_quad(points: np.ndarray) -> np.ndarray:
    """Corners ordered tl, tr, br, bl with the first edge a long side (card landscape)."""
    pts = np.asarray(points, dtype=np.float32).reshape(4, 2)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    if np.linalg.norm(pts[1] - pts[0]) < np.linalg.norm(pts[3] - pts[0]):
        pts = np.roll(pts, -1, axis=0)  # portrait in the photo: start at the next corner
    return pts


@dataclass(frozen=True)
class _Candidate:
    quad: np.ndarray  # work-scale, ordered
    area: float


def _quad_aspect(q: np.ndarray) -> float:
    long_side = float(np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2
    short_side = float(np.linalg.norm(q[3] - q[0]) + np.linalg.norm(q[2] - q[1])) / 2
    return long_side / max(short_side, 1e-6)


def _card_like(q: np.ndarray) -> bool:
    """Opposite sides of similar length (perspective slack), as a photographed card has."""
    sides = [float(np.linalg.norm(q[(i + 1) % 4] - q[i])) for i in range(4)]
    return max(sides[0], sides[2]) < 1.5 * min(sides[0], sides[2]) and max(
        sides[1], sides[3]
    ) < 1.5 * min(sides[1], sides[3])


def _as_quad(contour: np.ndarray) -> np.ndarray | None:
    """A convex 4-corner fit of a contour, or its min-area rectangle when that fits well."""
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    for eps in (0.015, 0.03, 0.05):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4 and cv2.isContourConvex(approx):
            quad = order_card_quad(approx.reshape(4, 2))
            return _fit_edges(contour, _fit_edges(contour, quad))
    rect = cv2.minAreaRect(hull)
    box_area = rect[1][0] * rect[1][1]
    if box_area > 0 and cv2.contourArea(hull) / box_area > 0.9:
        quad = order_card_quad(cv2.boxPoints(rect))
        return _fit_edges(contour, _fit_edges(contour, quad))
    return None


def _fit_edges(contour: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Corners from lines fitted to the four sides, so rounded card corners do not pull in."""
    pts = contour.reshape(-1, 2).astype(np.float32)
    lines = []
    for i in range(4):
        a, b = quad[i], quad[(i + 1) % 4]
        d = b - a
        length = float(np.linalg.norm(d))
        if length < 1:
            return quad
        u = d / length
        rel = pts - a
        along = rel @ u
        across = np.abs(rel[:, 0] * u[1] - rel[:, 1] * u[0])
        # the middle 70 % of the side, points close to it: away from the rounded corners
        sel = (along > 0.15 * length) & (along < 0.85 * length) & (across < 0.03 * length + 4)
        if sel.sum() < 5:
            return quad
        vx, vy, x0, y0 = cv2.fitLine(pts[sel], cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
        lines.append((np.array([x0, y0]), np.array([vx, vy])))
    corners = []
    for i in range(4):
        (p1, d1), (p2, d2) = lines[i - 1], lines[i]
        m = np.array([d1, -d2]).T
        if abs(np.linalg.det(m)) < 1e-6:
            return quad
        t = np.linalg.solve(m, p2 - p1)
        corners.append(p1 + t[0] * d1)
    fitted = np.array(corners, dtype=np.float32)
    return fitted if np.abs(fitted - quad).max() < 0.1 * cv2.arcLength(quad, True) else quad


def _candidates(mask: np.ndarray, min_area: float) -> list[_Candidate]:
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    found = []
    for c in contours:
        if cv2.contourArea(c) < min_area:
            continue
        quad = _as_quad(c)
        if quad is None:
            continue
        area = float(cv2.contourArea(quad))
        # a card fills its quad; a blob of text and pictures that happens to fit one does not
        if area <= 0 or cv2.contourArea(c) / area < 0.9 or not _card_like(quad):
            continue
        if area >= min_area and ASPECT_RANGE[0] <= _quad_aspect(quad) <= ASPECT_RANGE[1]:
            found.append(_Candidate(quad, area))
    return found


def _edge_mask(image: np.ndarray, low: int, high: int) -> np.ndarray:
    """Closed outlines from Canny on every Lab channel (a card on a pale table differs in hue)."""
    lab = cv2.cvtColor(cv2.GaussianBlur(image, (5, 5), 0), cv2.COLOR_BGR2LAB)
    edges: np.ndarray = np.zeros(image.shape[:2], np.uint8)
    for channel in cv2.split(lab):
        edges = np.bitwise_or(edges, cv2.Canny(channel, low, high))
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8), iterations=2)
    # Fill the closed outlines so text inside the card cannot split it.
    contours, _ = cv2.findContours(edges, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(edges)
    cv2.drawContours(filled, contours, -1, 255, thickness=cv2.FILLED)
    return cv2.morphologyEx(filled, cv2.MORPH_OPEN, np.ones((7, 7), np.uint8))


def _bright_mask(grey: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(grey, (7, 7), 0)
    _, mask = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((15, 15), np.uint8))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((9, 9), np.uint8))


def _inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    c = inner.mean(axis=0)
    return cv2.pointPolygonTest(outer.reshape(-1, 1, 2), (float(c[0]), float(c[1])), False) >= 0


def _distinct(cands: list[_Candidate]) -> list[_Candidate]:
    kept: list[_Candidate] = []
    for c in sorted(cands, key=lambda c: -c.area):
        if not any(_inside(c.quad, k.quad) or _inside(k.quad, c.quad) for k in kept):
            kept.append(c)
    return kept


def find_card(image_bgr: np.ndarray) -> np.ndarray:
    """The card's corners in the photo (4 × 2 float32, tl tr br bl, long edge first).

    Raises NoCard, SeveralCards, ImageTooSmall (image or card), ImageTooLarge, InvalidImage.
    """
    image = as_bgr(image_bgr)
    h, w = image.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(h, w))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    if float(grey.std()) < _BLANK_STD:
        raise NoCard("the image is blank")
    min_area = _MIN_AREA_FRACTION * grey.size
    frame_area = 0.97 * grey.size
    cards: list[_Candidate] = []
    masks = (
        lambda: _edge_mask(small, 40, 120),
        lambda: _edge_mask(small, 15, 45),
        lambda: _bright_mask(grey),
    )
    for make in masks:
        mask = make()
        # A quad covering the whole frame is the photo's own border, not a card.
        cands = [c for c in _candidates(mask, min_area) if c.area < frame_area]
        cards = _distinct(cands)
        if cards:
            break
    if not cards:
        printed = locate_by_print(image)
        whole = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
        cropped = ASPECT_RANGE[0] <= max(h, w) / min(h, w) <= ASPECT_RANGE[1]
        if printed is not None and not (cropped and _near(printed, whole)):
            return _checked(printed)
        if cropped:
            # Already a cropped card (a scan or a rectified image).
            return _checked(order_card_quad(whole))
        raise NoCard("no card-shaped outline in the photo")
    if len(cards) > 1 and cards[1].area >= _SECOND_CARD_FRACTION * cards[0].area:
        raise SeveralCards(f"{len(cards)} card-shaped outlines in the photo")
    return _checked(cards[0].quad / scale)


def _near(quad: np.ndarray, whole: np.ndarray) -> bool:
    """The print-located quad is the image's own frame (within 1.5 % of the diagonal)."""
    tol = 0.015 * float(np.linalg.norm(whole[2] - whole[0]))
    return min(float(np.abs(quad - np.roll(whole, k, axis=0)).max()) for k in range(4)) < tol


def _checked(quad: np.ndarray) -> np.ndarray:
    long_side = max(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[2] - quad[3]))
    if long_side < MIN_CARD_LONG_SIDE:
        raise ImageTooSmall(f"card is {long_side:.0f} px long, need {MIN_CARD_LONG_SIDE}")
    return quad.astype(np.float32)


# --- finding by the fixed print ----------------------------------------------------------------

_ORB_REF_FEATURES = 2000
_ORB_QUERY_FEATURES = 2500
_RATIO = 0.8  # Lowe's ratio test: labels repeat letters, keep only distinctive matches
_RANSAC_PX = 3.0  # px in the photo
_MIN_INLIERS = 15
# ink correlation with the fixed print after rectifying; low, since values, portrait, MRZ and
# fingerprints are ink the fixed print lacks: it only sorts out the layout whose labels fit
_MIN_PRINT_SCORE = 0.1
_SCORE_SCALE = 4  # the fixed-print check runs on a 1/4-scale frame
_OUTSIDE_SLACK = 0.03  # a located card may overhang the photo by this much of its size


@dataclass(frozen=True)
class _PrintRef:
    keypoints: np.ndarray  # (n, 2) float32 in the canonical frame
    descriptors: np.ndarray
    ink: np.ndarray  # fixed-print ink on the 1/4-scale frame, float32


_PRINT_REFS: dict[tuple[Model, Side], _PrintRef] | None = None


def _orb(features: int) -> cv2.Feature2D:
    """ORB, in every OpenCV build (cv2's type stubs omit its factory)."""
    return cv2.ORB_create(nfeatures=features, fastThreshold=10)  # type: ignore[attr-defined]


def fixed_print(layout: CardLayout) -> np.ndarray:
    """The print every card of a layout shares (headings, labels), black on white, canonical."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (CARD_W, CARD_H), 255)
    draw = ImageDraw.Draw(canvas)
    for t in layout.texts:
        draw.text(t.at, t.text, font=font(t.role, t.size), fill=0, anchor=t.anchor)
    for f in layout.fields:
        draw.text(f.label_at, f.label, font=font("regular", f.label_size), fill=0, anchor="ls")
    return np.asarray(canvas)


def _print_refs() -> dict[tuple[Model, Side], _PrintRef]:
    global _PRINT_REFS
    if _PRINT_REFS is None:
        orb = _orb(_ORB_REF_FEATURES)
        refs = {}
        for key, layout in LAYOUTS.items():
            grey = fixed_print(layout)
            kps, des = orb.detectAndCompute(grey, None)
            small = cv2.resize(
                grey, (CARD_W // _SCORE_SCALE, CARD_H // _SCORE_SCALE), interpolation=cv2.INTER_AREA
            )
            ink = (255 - small).astype(np.float32) / 255
            pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
            refs[key] = _PrintRef(pts, des, ink)
        _PRINT_REFS = refs
    return _PRINT_REFS


def _print_score(grey: np.ndarray, card_to_photo: np.ndarray, ref: _PrintRef) -> float:
    """Correlation of the photo's ink, rectified by the transform, with the fixed print."""
    down = np.diag([_SCORE_SCALE, _SCORE_SCALE, 1.0])
    frame = cv2.warpPerspective(
        grey,
        card_to_photo @ down,
        (CARD_W // _SCORE_SCALE, CARD_H // _SCORE_SCALE),
        flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
        borderValue=255,
    )
    ink = cv2.adaptiveThreshold(
        frame, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 15, 8
    ).astype(np.float32)
    return _correlation(cv2.blur(ink, (3, 3)), cv2.blur(ref.ink, (3, 3)))


def locate_by_print(image_bgr: np.ndarray) -> np.ndarray | None:
    """The card's corners found from its fixed print (ORB + RANSAC similarity), or None.

    For cards whose edge does not show; a similarity (no perspective) suits the flat copies
    and scans where that happens. The best layout by ink correlation after rectifying wins.
    """
    try:
        refs = _print_refs()
    except FontNotFound:
        return None  # without the reference fonts there is no fixed print to match
    grey = cv2.cvtColor(as_bgr(image_bgr), cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    orb = _orb(_ORB_QUERY_FEATURES)
    kps, des = orb.detectAndCompute(grey, None)
    if des is None or len(kps) < _MIN_INLIERS:
        return None
    photo_pts = np.array([k.pt for k in kps], np.float32).reshape(-1, 2)
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    corners = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], np.float32).reshape(
        -1, 1, 2
    )
    best: tuple[float, np.ndarray] | None = None
    for ref in refs.values():
        pairs = matcher.knnMatch(ref.descriptors, des, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < _RATIO * p[1].distance]
        if len(good) < _MIN_INLIERS:
            continue
        src = ref.keypoints[[m.queryIdx for m in good]]
        dst = photo_pts[[m.trainIdx for m in good]]
        affine, inliers = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PX, maxIters=4000
        )
        if affine is None or int(inliers.sum()) < _MIN_INLIERS:
            continue
        card_to_photo = np.vstack([affine, [0.0, 0.0, 1.0]])
        if CARD_W * np.sqrt(abs(np.linalg.det(affine[:, :2]))) < MIN_CARD_LONG_SIDE:
            continue  # a fit collapsed onto a few letters, not a card
        quad = cv2.perspectiveTransform(corners, card_to_photo).reshape(4, 2)
        slack = _OUTSIDE_SLACK * float(np.linalg.norm(quad[1] - quad[0]))
        if quad.min() < -slack or (quad[:, 0] > w + slack).any() or (quad[:, 1] > h + slack).any():
            continue
        score = _print_score(grey, card_to_photo, ref)
        if score >= _MIN_PRINT_SCORE and (best is None or score > best[0]):
            best = (score, quad)
    return None if best is None else order_card_quad(best[1])


def rectify(image_bgr: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """The card warped onto the canonical 1012 × 638 frame (tl of the quad at top left)."""
    dst = np.array([[0, 0], [CARD_W, 0], [CARD_W, CARD_H], [0, CARD_H]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(np.asarray(quad, np.float32).reshape(4, 2), dst)
    return cv2.warpPerspective(
        image_bgr, m, (CARD_W, CARD_H), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )


# --- model, side and orientation --------------------------------------------------------------

_GRID = 8  # px of the canonical frame per template cell


@dataclass(frozen=True)
class CardClass:
    """The card's model and side, the upright image, and whether it had to be turned."""

    model: Model
    side: Side
    upside_down: bool
    image: np.ndarray  # the rectified card, upright
    score: float  # template correlation of the winner
    margin: float  # its lead over the best other model/side


def _text_box(text: str, x: int, top: int, size: int, centred: bool) -> Box:
    width = int(0.56 * size * len(text))
    return (x - width // 2 if centred else x, top, width, int(1.2 * size))


def _template(layout: CardLayout) -> np.ndarray:
    """Expected ink density of a layout on the template grid."""
    t = np.zeros((CARD_H, CARD_W), np.float32)

    def fill(box: Box, weight: float) -> None:
        x, y, w, h = box
        t[max(y, 0) : y + h, max(x, 0) : x + w] = np.maximum(
            t[max(y, 0) : y + h, max(x, 0) : x + w], weight
        )

    for f in layout.fields:
        for x, y, w, h in f.lines:
            fill((x, y + h // 5, int(w * 0.6), h * 3 // 5), 0.35)
        lx, lb = f.label_at
        fill(_text_box(f.label, lx, lb - f.label_size, f.label_size, False), 0.3)
    for s in layout.texts:
        fill(_text_box(s.text, s.at[0], s.at[1], s.size, s.anchor == "ma"), 0.35)
    for box, weight in ((layout.portrait, 0.6), (layout.qr, 0.55), (layout.emblem, 0.4)):
        if box is not None:
            fill(box, weight)
    for box in layout.fingerprints:
        fill(box, 0.45)
    if layout.mrz is not None:
        for x, y, w, h in layout.mrz:
            fill((x, y + h // 5, w - 60, h * 3 // 5), 0.5)
    return cv2.resize(t, (CARD_W // _GRID, CARD_H // _GRID), interpolation=cv2.INTER_AREA)


def ink_map(rectified: np.ndarray) -> np.ndarray:
    """Observed ink density of a rectified card on the template grid."""
    grey = cv2.cvtColor(rectified, cv2.COLOR_BGR2GRAY) if rectified.ndim == 3 else rectified
    grey = cv2.resize(grey, (CARD_W, CARD_H), interpolation=cv2.INTER_AREA)
    ink = cv2.adaptiveThreshold(
        grey, 1, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 12
    ).astype(np.float32)
    return cv2.resize(ink, (CARD_W // _GRID, CARD_H // _GRID), interpolation=cv2.INTER_AREA)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def _templates() -> dict[tuple[Model, Side], np.ndarray]:
    global _TEMPLATES
    if _TEMPLATES is None:
        _TEMPLATES = {key: _template(lay) for key, lay in LAYOUTS.items()}
    return _TEMPLATES


_TEMPLATES: dict[tuple[Model, Side], np.ndarray] | None = None


def _qr_centre(image: np.ndarray) -> tuple[float, float] | None:
    for r in zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    ):
        p = r.position
        xs = [p.top_left.x, p.top_right.x, p.bottom_right.x, p.bottom_left.x]
        ys = [p.top_left.y, p.top_right.y, p.bottom_right.y, p.bottom_left.y]
        return sum(xs) / 4, sum(ys) / 4
    return None


def _qr_consistent(layout: CardLayout, centre: tuple[float, float] | None) -> bool:
    """With a QR found, only layouts with a QR at that place (±60 px) stay in the race."""
    if centre is None:
        return True
    if layout.qr is None:
        return False
    x, y, w, h = layout.qr
    return abs(centre[0] - (x + w / 2)) < 60 and abs(centre[1] - (y + h / 2)) < 60


def classify(rectified: np.ndarray) -> CardClass:
    """Model and side of a rectified card, turning it 180° when it is upside down.

    Raises UnknownCard when nothing fits (correlation below 0.2 for every layout).
    """
    image = cv2.resize(as_bgr(rectified), (CARD_W, CARD_H), interpolation=cv2.INTER_AREA)
    turned = cv2.rotate(image, cv2.ROTATE_180)
    qr = _qr_centre(image)
    scores: list[tuple[float, Model, Side, bool]] = []
    for upside_down, candidate in ((False, image), (True, turned)):
        observed = ink_map(candidate)
        centre = None if qr is None else ((CARD_W - qr[0], CARD_H - qr[1]) if upside_down else qr)
        for (model, side), template in _templates().items():
            if _qr_consistent(LAYOUTS[(model, side)], centre):
                scores.append((_correlation(observed, template), model, side, upside_down))
    scores.sort(key=lambda s: -s[0])
    if not scores or scores[0][0] < 0.2:
        best = f"{scores[0][0]:.2f}" if scores else "none"
        raise UnknownCard(f"no card layout fits (best correlation {best})")
    score, model, side, upside_down = scores[0]
    others = [s[0] for s in scores if (s[1], s[2]) != (model, side)]
    return CardClass(
        model=model,
        side=side,
        upside_down=upside_down,
        image=turned if upside_down else image,
        score=score,
        margin=score - (max(others) if others else 0.0),
    )


def classify_found(image_bgr: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, CardClass]:
    """Rectify and classify the card at ``quad``; when that does not classify (an inner box,
    such as the portrait's frame, was taken for the card's outline), try the card located by
    its fixed print, then the whole image when it is card-shaped, before UnknownCard."""
    try:
        return quad, classify(rectify(image_bgr, quad))
    except UnknownCard as first:
        h, w = image_bgr.shape[:2]  # already checked by find_card
        others = [locate_by_print(image_bgr)]
        if ASPECT_RANGE[0] <= max(h, w) / min(h, w) <= ASPECT_RANGE[1]:
            whole = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], np.float32)
            others.append(order_card_quad(whole))
        for other in others:
            if other is None or np.abs(other - quad).max() < 0.02 * max(h, w):
                continue
            try:
                return other, classify(rectify(image_bgr, other))
            except UnknownCard:
                continue
        raise first
