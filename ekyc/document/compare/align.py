"""Registering the copy onto the original: ORB + RANSAC homography, refined by ECC."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ekyc.document.compare.settings import CompareSettings


@dataclass(frozen=True)
class _Alignment:
    homography: np.ndarray | None  # copy (work scale) → original (work scale)
    why: str | None  # set when homography is None


def _features(grey: np.ndarray) -> tuple[list[cv2.KeyPoint], np.ndarray | None]:
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    # ORB: in every OpenCV build (AKAZE left the main module in OpenCV 5), binary and fast.
    detector = cv2.ORB_create(  # type: ignore[attr-defined]  # missing from cv2's stubs
        nfeatures=6000, scaleFactor=1.2, nlevels=8, fastThreshold=10
    )
    kp, desc = detector.detectAndCompute(clahe.apply(grey), None)
    return list(kp), desc


def align(original: np.ndarray, copy: np.ndarray, s: CompareSettings) -> _Alignment:
    """Homography taking the copy onto the original (both grey, work scale), refined by ECC."""
    kp_o, d_o = _features(original)
    kp_c, d_c = _features(copy)
    if d_c is None or len(kp_c) < s.min_copy_features:
        return _Alignment(None, "too_few_features")
    if d_o is None or len(kp_o) < s.min_copy_features:
        return _Alignment(None, "original_unreadable")
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(d_c, d_o, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < s.min_inliers:
        return _Alignment(None, "different_document")
    src = np.array([kp_c[m.queryIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    dst = np.array([kp_o[m.trainIdx].pt for m in good], np.float32).reshape(-1, 1, 2)
    h, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 4.0, maxIters=5000, confidence=0.999)
    if h is None or inliers is None or int(inliers.sum()) < s.min_inliers:
        return _Alignment(None, "different_document")
    if not _plausible(h, copy.shape, original.shape):
        return _Alignment(None, "alignment_failed")
    return _Alignment(_refine_ecc(original, copy, h), None)


def _plausible(h: np.ndarray, copy_shape: tuple[int, ...], orig_shape: tuple[int, ...]) -> bool:
    """The copy's page maps to a convex quad of sane size over the original."""
    ch, cw = copy_shape[:2]
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32).reshape(-1, 1, 2)
    mapped = cv2.perspectiveTransform(corners, h).reshape(4, 2)
    if not cv2.isContourConvex(mapped.reshape(-1, 1, 2).astype(np.float32)):
        return False
    area = abs(cv2.contourArea(mapped))
    return 0.2 * orig_shape[0] * orig_shape[1] < area < 50 * orig_shape[0] * orig_shape[1]


def _refine_ecc(original: np.ndarray, copy: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Sub-pixel refinement of ``h`` by ECC at half scale; ``h`` unchanged if ECC fails."""
    oh, ow = original.shape[:2]
    warped = cv2.warpPerspective(
        copy, h, (ow, oh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    half = 0.5
    a = cv2.GaussianBlur(cv2.resize(original, None, fx=half, fy=half), (5, 5), 0)
    b = cv2.GaussianBlur(cv2.resize(warped, None, fx=half, fy=half), (5, 5), 0)
    warp = np.eye(3, dtype=np.float32)
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)
    try:
        _, warp = cv2.findTransformECC(  # type: ignore[call-overload]  # stubs lack this overload
            a.astype(np.float32),
            b.astype(np.float32),
            warp,
            cv2.MOTION_HOMOGRAPHY,
            criteria,
            None,
            5,
        )
    except cv2.error:
        return h
    scale = np.diag([half, half, 1.0])
    # ECC's warp maps original (half) → warped copy (half); invert to go copy → original.
    refine = np.linalg.inv(scale) @ warp.astype(np.float64) @ scale
    if np.abs(refine[:2, 2]).max() > 8 or np.abs(refine[:2, :2] - np.eye(2)).max() > 0.02:
        return h  # ECC wandered off; keep the feature alignment
    return np.linalg.inv(refine) @ h
