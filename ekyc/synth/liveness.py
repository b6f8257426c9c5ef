"""Synthetic liveness frame sequences built from real face photos, and re-capture attacks.

Head movements are simulated by giving the photo a depth (a smooth head-shaped bump plus a
nose) and rotating that surface: a turn shifts the nose sideways relative to the eyes and
compresses the far side, which is what landmark-based pose reads. ``come_closer`` is a zoom
crop. Every frame gets fresh sensor noise so no two frames are identical. ``recapture``
simulates a photo printed or shown on a screen and filmed again (moiré, screen-door grid or
halftone, reduced dynamic range, slight blur).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ekyc.face.challenge import Action

Box = tuple[float, float, float, float]  # x, y, w, h

#: head model in units of the face box width: dome depth, nose height and nose spread
DOME_DEPTH = 0.8
NOSE_HEIGHT = 0.2
NOSE_SIGMA = 0.2


@dataclass(frozen=True)
class FacePhoto:
    """A camera-sized frame with its face box and nose tip, the base of a sequence."""

    image: np.ndarray  # BGR uint8
    box: Box
    nose: tuple[float, float]


def frame_from_photo(
    photo_bgr: np.ndarray,
    box: Box,
    nose: tuple[float, float],
    size: tuple[int, int] = (480, 640),
    face_fraction: float = 0.32,
) -> FacePhoto:
    """Crop/scale a photo so the face spans ``face_fraction`` of a (W, H) frame, centred."""
    w_out, h_out = size
    x, y, w, h = box
    scale = face_fraction * w_out / w
    cx, cy = x + w / 2, y + h / 2
    m = np.array([[scale, 0.0, w_out / 2 - scale * cx], [0.0, scale, h_out * 0.45 - scale * cy]])
    img = cv2.warpAffine(photo_bgr, m, (w_out, h_out), borderMode=cv2.BORDER_REPLICATE)
    nb = (x * scale + m[0, 2], y * scale + m[1, 2], w * scale, h * scale)
    nn = (nose[0] * scale + m[0, 2], nose[1] * scale + m[1, 2])
    return FacePhoto(img, nb, nn)


def _depth(face: FacePhoto, shape: tuple[int, int]) -> np.ndarray:
    """A head-shaped depth map (pixels towards the camera): smooth dome plus a nose bump."""
    h_img, w_img = shape
    x, y, w, h = face.box
    cx, cy = x + w / 2, y + h / 2
    a, b = 0.75 * w, 0.9 * h
    yy, xx = np.mgrid[0:h_img, 0:w_img].astype(np.float32)
    r2 = ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2
    dome = DOME_DEPTH * a * np.clip(1 - r2, 0, None) ** 1.5
    nx, ny = face.nose
    sigma = NOSE_SIGMA * w
    nose = NOSE_HEIGHT * w * np.exp(-((xx - nx) ** 2 + ((yy - ny) / 1.6) ** 2) / (2 * sigma**2))
    return (dome + nose).astype(np.float32)


def _rotate(face: FacePhoto, degrees: float, axis: int) -> np.ndarray:
    """Rotate the depth surface about the vertical (axis=1, yaw) or horizontal (axis=0) axis."""
    img = face.image
    z = _depth(face, img.shape[:2])
    t = np.deg2rad(degrees)
    x, y, w, h = face.box
    centre = x + w / 2 if axis == 1 else y + h / 2
    n = img.shape[1] if axis == 1 else img.shape[0]
    coord = np.arange(n, dtype=np.float32)
    # forward map of every source coordinate along the axis, inverted line by line
    zz = z if axis == 1 else z.T
    fwd = (coord[None, :] - centre) * np.cos(t) + zz * np.sin(t) + centre
    fwd = np.maximum.accumulate(fwd, axis=1)  # folds (occlusion) keep the nearer surface
    src = np.empty_like(fwd)
    for i in range(fwd.shape[0]):
        src[i] = np.interp(coord, fwd[i], coord)
    map_other = np.broadcast_to(np.arange(fwd.shape[0], dtype=np.float32)[:, None], fwd.shape)
    if axis == 1:
        map_x, map_y = src, map_other
    else:
        map_x, map_y = map_other.T, src.T
    return cv2.remap(
        img,
        np.ascontiguousarray(map_x, dtype=np.float32),
        np.ascontiguousarray(map_y, dtype=np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def turn(face: FacePhoto, yaw: float) -> np.ndarray:
    """Simulate a head turn; yaw > 0 = the subject turns to their left (nose to image right)."""
    return _rotate(face, yaw, axis=1)


def tilt(face: FacePhoto, pitch: float) -> np.ndarray:
    """Simulate looking up (pitch > 0, nose moves up in the image) or down."""
    return _rotate(face, -pitch, axis=0)


def zoom(face: FacePhoto, factor: float) -> np.ndarray:
    """Simulate coming closer: a crop centred on the face, enlarged by ``factor``."""
    x, y, w, h = face.box
    cx, cy = x + w / 2, y + h / 2
    m = np.array([[factor, 0.0, cx - factor * cx], [0.0, factor, cy - factor * cy]])
    hh, ww = face.image.shape[:2]
    return cv2.warpAffine(face.image, m, (ww, hh), borderMode=cv2.BORDER_REPLICATE)


#: the pose each action reaches at its peak in a synthetic sequence
PEAK: dict[Action, tuple[str, float]] = {
    Action.TURN_LEFT: ("yaw", 30.0),
    Action.TURN_RIGHT: ("yaw", -30.0),
    Action.LOOK_UP: ("pitch", 28.0),
    Action.LOOK_DOWN: ("pitch", -28.0),
    Action.COME_CLOSER: ("zoom", 1.45),
}


def render(face: FacePhoto, action: Action | None, amount: float) -> np.ndarray:
    """The frame at ``amount`` (0 = neutral, 1 = peak) of an action."""
    if action is None or amount == 0:
        return face.image.copy()
    kind, peak = PEAK[action]
    if kind == "yaw":
        return turn(face, peak * amount)
    if kind == "pitch":
        return tilt(face, peak * amount)
    return zoom(face, 1 + (peak - 1) * amount)


def sequence(
    face: FacePhoto,
    actions: Sequence[Action],
    *,
    fps: float = 10.0,
    start_ms: int = 200,
    neutral_frames: int = 2,
    ramp: Sequence[float] = (0.5, 1.0, 0.5, 0.0),
    noise: float = 2.0,
    seed: int = 0,
) -> list[tuple[int, np.ndarray]]:
    """Timestamped frames (ms since the challenge) performing ``actions`` at ``fps``."""
    rng = np.random.default_rng(seed)
    shapes: list[tuple[Action | None, float]] = [(None, 0.0)] * neutral_frames
    for i, action in enumerate(actions):
        steps = list(ramp)
        if action is Action.COME_CLOSER and i + 1 < len(actions):
            steps = steps[:-1]  # stays close and goes on from there (no step back needed)
        shapes += [(action, a) for a in steps]
    step = 1000.0 / fps
    return [
        (int(round(start_ms + k * step)), add_noise(render(face, act, amt), noise, rng))
        for k, (act, amt) in enumerate(shapes)
    ]


def add_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add Gaussian sensor noise so that consecutive frames are never byte-identical."""
    if sigma <= 0:
        return image
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def recapture(image: np.ndarray, kind: str = "screen", seed: int = 0) -> np.ndarray:
    """Simulate filming a printed photo (``print``) or a display (``screen``) of ``image``."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    f = image.astype(np.float32)
    # reduced dynamic range: raised blacks, lowered whites, a colour cast
    cast = np.array([1.0, 0.97, 0.92] if kind == "print" else [1.05, 1.0, 0.9], np.float32)
    f = (40 + f * 0.65) * cast
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == "screen":
        # screen-door: dark gaps between sub-pixel columns/rows of a ~3 px pixel pitch
        grid = 0.82 + 0.18 * (
            (np.sin(2 * np.pi * xx / 3.0) > -0.5) & (np.sin(2 * np.pi * yy / 3.0) > -0.5)
        )
        f *= grid[..., None]
        # moiré: a fine grid slightly rotated against the sensor grid beats at low frequency
        ang = np.deg2rad(3.0)
        u = xx * np.cos(ang) + yy * np.sin(ang)
        f *= (1 + 0.12 * np.sin(2 * np.pi * u / 2.1))[..., None]
    else:
        # halftone: a rotated dot screen modulating the intensity, paper texture
        ang = np.deg2rad(45.0)
        u = xx * np.cos(ang) + yy * np.sin(ang)
        v = -xx * np.sin(ang) + yy * np.cos(ang)
        dots = np.cos(2 * np.pi * u / 4.0) * np.cos(2 * np.pi * v / 4.0)
        f *= (0.88 + 0.12 * dots)[..., None]
        f += rng.normal(0, 3.0, (h, w, 1)).astype(np.float32)
    blurred = cv2.GaussianBlur(np.clip(f, 0, 255), (0, 0), 1.0).astype(np.float32)
    out = np.clip(blurred + rng.normal(0, 1.5, blurred.shape), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("JPEG encoding failed")
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if decoded is None:
        raise ValueError("JPEG decoding failed")
    return np.asarray(decoded, dtype=np.uint8)
