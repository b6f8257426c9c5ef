"""Alignment of a face to the standard 112x112 ArcFace template from its 5 landmarks."""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 112
#: ArcFace 5-point template, YuNet order: right eye, left eye, nose, right/left mouth corner
TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping src onto dst (Umeyama)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    sc, dc = src - mu_s, dst - mu_d
    cov = dc.T @ sc / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0  # reflection: a similarity must keep the handedness of the face
    rot = u @ np.diag(d) @ vt
    var_s = (sc**2).sum() / len(src)
    scale = float((s * d).sum() / var_s) if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def align(image_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Warp the face given by 5 landmarks onto the ArcFace template; 112x112x3 RGB uint8."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    m = similarity_transform(pts, TEMPLATE)
    crop = cv2.warpAffine(
        image_bgr, m, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )
    return np.ascontiguousarray(crop[:, :, ::-1])
