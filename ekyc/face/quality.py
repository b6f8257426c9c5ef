"""Quality gate for a selfie or a chip portrait, with every failing reason and its numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np

from ekyc.face.errors import FaceCode, FaceRejected
from ekyc.face.pose import Pose, head_pose

Role = Literal["selfie", "portrait"]
#: side of the square the face box is resampled to before blur and exposure are measured,
#: so both figures are independent of the face's size in pixels
NORM_SIDE = 128


class FaceBox(Protocol):
    """What the gate needs from a detection (models.face_detector.Detection fits)."""

    @property
    def box(self) -> tuple[float, float, float, float]: ...
    @property
    def landmarks(self) -> np.ndarray: ...
    @property
    def score(self) -> float: ...


@dataclass(frozen=True)
class QualityThresholds:
    """Limits of the gate; one row per role in ``QUALITY_TABLE``."""

    #: inter-ocular distance in input pixels below which the face is too small
    min_iod_px: float
    #: inter-ocular distance over face-box width below which the eyes are too close
    #: (a profile view or collapsed landmarks)
    min_iod_ratio: float
    max_abs_yaw: float
    max_abs_pitch: float
    #: variance of the Laplacian of the face box resampled to NORM_SIDE x NORM_SIDE
    min_sharpness: float
    #: mean luminance (0-255) of the central face region
    min_luminance: float
    max_luminance: float
    #: a second face at least this fraction of the subject's box width means several faces
    other_face_ratio: float
    #: detector score below which another detection is not counted as a competing face
    #: (YuNet fires at 0.6-0.7 on background texture; real faces score above 0.85)
    min_other_score: float


# Measured on the development photos with YuNet: sharp photos 279-1427, a sigma-6 blur 3-23,
# 240x320 JPEG2000 chip-like portraits at 5.7 kB 94-293; luminance 96-168, x0.25 darkened
# 24-41; inter-ocular distance on 240x320 chip-like portraits 64-88 px.
QUALITY_TABLE: dict[Role, QualityThresholds] = {
    "selfie": QualityThresholds(
        min_iod_px=32.0,
        min_iod_ratio=0.25,
        max_abs_yaw=30.0,
        max_abs_pitch=25.0,
        min_sharpness=50.0,
        min_luminance=50.0,
        max_luminance=215.0,
        other_face_ratio=0.5,
        min_other_score=0.75,
    ),
    # chip portraits are small and strongly compressed (JPEG2000): lower size and blur limits
    "portrait": QualityThresholds(
        min_iod_px=24.0,
        min_iod_ratio=0.25,
        max_abs_yaw=30.0,
        max_abs_pitch=25.0,
        min_sharpness=25.0,
        min_luminance=50.0,
        max_luminance=215.0,
        other_face_ratio=0.5,
        min_other_score=0.75,
    ),
}


@dataclass(frozen=True)
class QualityReason:
    """One failing check: its code, what was measured and the limit it broke."""

    code: FaceCode
    measured: float
    limit: float
    message: str


@dataclass(frozen=True)
class QualityReport:
    """The gate's verdict on one image; ``reasons`` lists every failing check."""

    role: Role
    reasons: tuple[QualityReason, ...]
    measures: dict[str, float] = field(default_factory=dict)
    pose: Pose | None = None

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not self.reasons

    @property
    def codes(self) -> tuple[str, ...]:
        """The failing reason codes, in check order."""
        return tuple(r.code for r in self.reasons)

    def raise_if_failed(self) -> None:
        """Raise FaceRejected with the first reason when the gate failed."""
        if self.reasons:
            first = self.reasons[0]
            text = "; ".join(r.message for r in self.reasons)
            raise FaceRejected(first.code, text)


def iod(landmarks: np.ndarray) -> float:
    """Inter-ocular distance in pixels."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    return float(np.hypot(*(pts[1] - pts[0])))


def choose_subject(faces: Sequence[FaceBox], image_shape: tuple[int, ...]) -> int | None:
    """Index of the subject: the largest confident face, ties broken toward the image centre."""
    if not faces:
        return None
    h, w = image_shape[:2]
    centre = np.array([w / 2, h / 2])
    diag = float(np.hypot(w, h))

    def key(i: int) -> float:
        x, y, bw, bh = faces[i].box
        off = float(np.hypot(*(np.array([x + bw / 2, y + bh / 2]) - centre))) / diag
        # size dominates; centrality (0..0.5 of the diagonal) shifts it by at most 25 %,
        # and the detector score keeps a weak background detection from winning
        return float(np.sqrt(max(bw * bh, 0.0))) * (1.0 - 0.5 * off) * faces[i].score

    return max(range(len(faces)), key=key)


def _normalised_crop(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image_bgr.shape[:2]
    x, y, bw, bh = box
    x0, y0 = max(int(round(x)), 0), max(int(round(y)), 0)
    x1, y1 = min(int(round(x + bw)), w), min(int(round(y + bh)), h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((NORM_SIDE, NORM_SIDE), dtype=np.uint8)
    crop = cv2.resize(image_bgr[y0:y1, x0:x1], (NORM_SIDE, NORM_SIDE), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)


def sharpness(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Variance of the Laplacian of the face box resampled to a fixed size."""
    grey = _normalised_crop(image_bgr, box)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def luminance(image_bgr: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Mean luminance (0-255) of the central 60 % of the face box."""
    grey = _normalised_crop(image_bgr, box)
    m = int(NORM_SIDE * 0.2)
    return float(grey[m:-m, m:-m].mean())


def assess(
    image_bgr: np.ndarray,
    faces: Sequence[FaceBox],
    role: Role = "selfie",
    table: dict[Role, QualityThresholds] | None = None,
    subject: int | None = None,
) -> QualityReport:
    """Run every quality check on the subject face of an image and list the failures."""
    t = (table or QUALITY_TABLE)[role]
    if subject is None:
        subject = choose_subject(faces, image_bgr.shape)
    if subject is None:
        no = QualityReason("no_face", 0.0, 1.0, "no face found")
        return QualityReport(role, (no,), {"faces": 0.0})
    face = faces[subject]
    reasons: list[QualityReason] = []
    measures: dict[str, float] = {"faces": float(len(faces))}

    sub_w = max(face.box[2], 1e-6)
    others = [
        f.box[2] / sub_w
        for i, f in enumerate(faces)
        if i != subject and f.score >= t.min_other_score
    ]
    other = max(others, default=0.0)
    measures["other_face_ratio"] = other
    if other >= t.other_face_ratio:
        reasons.append(
            QualityReason(
                "several_faces",
                other,
                t.other_face_ratio,
                f"another face {other:.2f}x the subject's width",
            )
        )

    d = iod(face.landmarks)
    ratio = d / sub_w
    measures.update(iod_px=d, iod_ratio=ratio)
    if d < t.min_iod_px:
        reasons.append(QualityReason("face_too_small", d, t.min_iod_px, f"eyes {d:.0f} px apart"))
    if ratio < t.min_iod_ratio:
        reasons.append(
            QualityReason(
                "eyes_too_close", ratio, t.min_iod_ratio, f"eye distance {ratio:.2f} of face width"
            )
        )

    pose: Pose | None = None
    if d > 1e-6:
        pose = head_pose(face.landmarks)
        measures.update(yaw=pose.yaw, pitch=pose.pitch, roll=pose.roll)
        for name, value, limit in (
            ("yaw", pose.yaw, t.max_abs_yaw),
            ("pitch", pose.pitch, t.max_abs_pitch),
        ):
            if abs(value) > limit:
                reasons.append(
                    QualityReason(
                        "pose_out_of_range", abs(value), limit, f"{name} {value:+.0f} degrees"
                    )
                )

    sharp = sharpness(image_bgr, face.box)
    lum = luminance(image_bgr, face.box)
    measures.update(sharpness=sharp, luminance=lum)
    if sharp < t.min_sharpness:
        reasons.append(QualityReason("blurry", sharp, t.min_sharpness, f"sharpness {sharp:.0f}"))
    if lum < t.min_luminance:
        reasons.append(
            QualityReason("underexposed", lum, t.min_luminance, f"face luminance {lum:.0f}")
        )
    if lum > t.max_luminance:
        reasons.append(
            QualityReason("overexposed", lum, t.max_luminance, f"face luminance {lum:.0f}")
        )
    return QualityReport(role, tuple(reasons), measures, pose)
