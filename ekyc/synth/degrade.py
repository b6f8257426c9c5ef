"""Degradations of a rendered card or page: photocopy, flatbed scan and phone photo
(optionally taken with a shaking hand).

Each takes a BGR uint8 image and a seed and returns a new BGR uint8 image; the same
input and seed give the same bytes. ``phone_photo_with_quad`` also returns where the
document's corners landed, for tests of card finding and rectification.
"""

from __future__ import annotations

import cv2
import numpy as np

from ekyc.cccd.layouts import CARD_W


def _rotate_on_paper(img: np.ndarray, angle: float, margin: float, paper: int) -> np.ndarray:
    """Pad with a paper margin, then rotate by ``angle`` degrees about the centre."""
    h, w = img.shape[:2]
    m = round(margin * max(h, w))
    padded = cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_CONSTANT, value=(paper,) * 3)
    ph, pw = padded.shape[:2]
    rot = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
    return cv2.warpAffine(
        padded,
        rot,
        (pw, ph),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(paper,) * 3,
    )


def photocopy(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """A grey, contrasty photocopy on white paper: toner speckle, slight skew, dark edges."""
    rng = np.random.default_rng(seed)
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255.0
    gain = rng.uniform(6.0, 9.0)  # contrast curve: pale backgrounds wash out, ink goes black
    mid = rng.uniform(0.55, 0.68)
    grey = 1.0 / (1.0 + np.exp(-gain * (grey - mid)))
    out = (grey * 255).astype(np.uint8)
    out = _rotate_on_paper(
        cv2.cvtColor(out, cv2.COLOR_GRAY2BGR), rng.uniform(-1.5, 1.5), 0.04, 250
    )[:, :, 0].astype(np.float32)
    h, w = out.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    edge = np.minimum.reduce([xx, yy, w - 1 - xx, h - 1 - yy]) / (0.08 * min(h, w))
    out *= 0.78 + 0.22 * np.clip(edge, 0, 1)  # the lid lets light in at the edges
    out += rng.normal(0, 7, size=out.shape).astype(np.float32)
    speck = rng.random(size=out.shape) < 0.0015
    out[speck] = rng.uniform(0, 90, size=int(speck.sum()))
    out = cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (3, 3), 0.6)
    return cv2.cvtColor(out, cv2.COLOR_GRAY2BGR)


def scan(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """A flatbed scan: colour kept, slight skew on white, mild blur, tone shift, JPEG 92."""
    rng = np.random.default_rng(seed)
    out = _rotate_on_paper(img, rng.uniform(-0.8, 0.8), 0.03, 246).astype(np.float32)
    out = (out * rng.uniform(0.95, 1.05) + rng.uniform(-8, 8, size=3)).astype(np.float32)
    out += rng.normal(0, 2.5, size=out.shape).astype(np.float32)
    blurred = cv2.GaussianBlur(np.clip(out, 0, 255).astype(np.uint8), (3, 3), 0.7)
    return _jpeg(np.asarray(blurred, dtype=np.uint8), 92)


def phone_photo(
    img: np.ndarray,
    seed: int = 0,
    *,
    glare: bool | None = None,
    frame_scale: float = 1.0,
    shake_px: tuple[float, float] | None = None,
) -> np.ndarray:
    """A hand-held photo: the document in perspective on a textured table, blur, noise, JPEG.

    ``shake_px`` (shortest, longest): a shaking hand smears the photo along one direction by
    a length drawn from that range (motion blur; off by default)."""
    return phone_photo_with_quad(
        img, seed, glare=glare, frame_scale=frame_scale, shake_px=shake_px
    )[0]


#: the smear of ``shaken_photo`` in frame pixels: a hand-held 1/30 s exposure
SHAKE_PX = (3.0, 8.0)


def shaken_photo(img: np.ndarray, seed: int = 0) -> np.ndarray:
    """A phone photo taken with a shaking hand: smeared 3–8 px in one direction."""
    return phone_photo(img, seed, shake_px=SHAKE_PX)


def phone_photo_with_quad(
    img: np.ndarray,
    seed: int = 0,
    *,
    glare: bool | None = None,
    frame_scale: float = 1.0,
    shake_px: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``phone_photo`` plus the document's corners in the photo (4×2 float32: TL, TR, BR, BL)."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    # A phone frame (4:3, at least 1280×960) large enough that the document lands at about
    # its rendered resolution: a card (1012 px wide, ~300 dpi) in a 1280×960 frame, an A4
    # page (1754 px, ~150 dpi) in about 2220×1660, as a phone photo downscaled by a messaging
    # app. Shrinking a page further is a capture the comparison refuses (``low_resolution``);
    # ``frame_scale`` below 1 makes one for tests.
    grow = max(1.0, max(h, w) / CARD_W) * frame_scale
    long_side, short_side = round(1280 * grow), round(960 * grow)
    fw, fh = (long_side, short_side) if w >= h else (short_side, long_side)
    frame = _table(fh, fw, rng)

    # card area 40–80 % of the frame: pick the fraction, then jitter each corner
    frac = rng.uniform(0.45, 0.72)
    scale = np.sqrt(frac * fw * fh / (w * h))
    cw, ch = w * scale, h * scale
    cx = fw / 2 + rng.uniform(-0.5, 0.5) * (fw - cw) * 0.5
    cy = fh / 2 + rng.uniform(-0.5, 0.5) * (fh - ch) * 0.5
    base = np.array([[-cw / 2, -ch / 2], [cw / 2, -ch / 2], [cw / 2, ch / 2], [-cw / 2, ch / 2]])
    theta = np.deg2rad(rng.uniform(-8, 8))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    quad = base @ rot.T + [cx, cy] + rng.uniform(-0.04, 0.04, size=(4, 2)) * [cw, ch]
    quad = _fit(quad, fw, fh, margin=8).astype(np.float32)

    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    hom = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(img, hom, (fw, fh), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(_rounded_mask(h, w), hom, (fw, fh), flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255.0)[:, :, None]
    out = frame * (1 - alpha) + warped.astype(np.float32) * alpha

    # uneven light, then glare
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    gx, gy = rng.uniform(-0.25, 0.25, size=2)
    out *= (1 + gx * (xx / fw - 0.5) + gy * (yy / fh - 0.5))[:, :, None]
    if glare if glare is not None else rng.random() < 0.5:
        px, py = quad.mean(axis=0) + rng.uniform(-0.3, 0.3, size=2) * [cw, ch]
        sigma = rng.uniform(0.05, 0.10) * min(cw, ch)
        blob = np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * sigma**2))
        out += (rng.uniform(90, 160) * blob)[:, :, None]
    out = np.clip(out, 0, 255).astype(np.uint8)
    if shake_px is not None:  # its own generator: the unshaken photo stays byte-identical
        out = motion_blur(out, np.random.default_rng([seed, 1]), shake_px)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.4)).astype(np.float32)
    out += rng.normal(0, rng.uniform(2, 6), size=out.shape).astype(np.float32)
    return _jpeg(np.clip(out, 0, 255).astype(np.uint8), int(rng.integers(60, 91))), quad


def motion_blur(
    img: np.ndarray, rng: np.random.Generator, length_px: tuple[float, float]
) -> np.ndarray:
    """``img`` smeared along a random direction by a length drawn from ``length_px``."""
    length = rng.uniform(*length_px)
    angle = rng.uniform(0.0, np.pi)
    size = int(np.ceil(length)) | 1
    kernel = np.zeros((size, size), np.float32)
    c, half = size // 2, (length - 1) / 2
    dx, dy = half * np.cos(angle), half * np.sin(angle)
    shift = 4  # cv2.line's sub-pixel precision: coordinates in 1/16 px
    ends = [(round((c + sx * dx) * 16), round((c + sx * dy) * 16)) for sx in (-1, 1)]
    cv2.line(kernel, ends[0], ends[1], 1.0, 1, cv2.LINE_AA, shift)
    kernel /= kernel.sum()
    return np.asarray(cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REPLICATE), img.dtype)


def _fit(quad: np.ndarray, fw: int, fh: int, margin: int) -> np.ndarray:
    """Shrink (about its centre) and shift the quad so every corner lies inside the frame."""
    centre = quad.mean(axis=0)
    span = quad.max(axis=0) - quad.min(axis=0)
    shrink = min(1.0, (fw - 2 * margin) / span[0], (fh - 2 * margin) / span[1])
    quad = centre + (quad - centre) * shrink
    low = np.maximum(margin - quad.min(axis=0), 0)
    high = np.minimum([fw - margin, fh - margin] - quad.max(axis=0), 0)
    return quad + low + high


def _table(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A textured surface: a random base colour with wood-like streaks and low-frequency mottle."""
    base = rng.uniform(50, 200, size=3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    streak = np.sin(yy / rng.uniform(6, 18) + 3 * np.sin(xx / rng.uniform(80, 200)))
    low = cv2.resize(
        rng.normal(0, 1, size=(6, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    tex = 10 * streak + 14 * low + rng.normal(0, 4, size=(h, w)).astype(np.float32)
    return base[None, None, :] + tex[:, :, None]


def _rounded_mask(h: int, w: int) -> np.ndarray:
    """Opaque document mask; ID-1 cards (aspect ~1.586) get their 3 mm rounded corners."""
    mask = np.full((h, w), 255, np.uint8)
    if abs(max(h, w) / min(h, w) - 1.586) > 0.05:
        return mask
    r = round(min(h, w) * 3.18 / 54)
    mask[:r, :r] = mask[:r, -r:] = mask[-r:, :r] = mask[-r:, -r:] = 0
    for cx, cy in ((r, r), (w - r - 1, r), (r, h - r - 1), (w - r - 1, h - r - 1)):
        cv2.circle(mask, (cx, cy), r, 255, -1, lineType=cv2.LINE_AA)
    return mask


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    if decoded is None:
        raise RuntimeError("JPEG round trip failed")
    return np.asarray(decoded, dtype=np.uint8)
