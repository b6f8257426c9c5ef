"""Head pose (yaw, pitch, roll in degrees) approximated from the 5 face landmarks.

The geometry is a weak-perspective (orthographic) head model measured in units of the
inter-ocular distance (IOD): both eyes lie in one plane, the nose tip stands
``NOSE_DEPTH`` IOD in front of it and the mouth corners ``MOUTH_DEPTH`` IOD in front.

- roll: angle of the eye line (right eye -> left eye) against the image x axis; > 0 when
  the image-right eye (the subject's left) is lower, i.e. a clockwise tilt in the image.
- yaw: in the frame of the eye line, the nose tip's offset from the eye midpoint divided
  by the projected IOD equals ``NOSE_DEPTH * tan(yaw)``; > 0 when the subject turns to
  their left (the nose moves toward the image right).
- pitch: the nose tip's height between the eye line and the mouth line,
  ``q = d(eyes, nose) / d(eyes, mouth)``, equals ``NEUTRAL_RATIO`` when frontal; rotating
  the model about the x axis and solving for the angle gives pitch; > 0 when looking up
  (the protruding nose rises toward the eyes, so ``q`` falls).

It is an approximation (faces differ from the mean model by several degrees); it is meant
for gating frontal photos and for following the direction of active liveness challenges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: nose tip depth in front of the eye plane, in IOD (mean adult face, approximate)
NOSE_DEPTH = 0.5
#: mouth corners' depth in front of the eye plane, in IOD
MOUTH_DEPTH = 0.1
#: frontal nose height between eye line and mouth line: median of YuNet landmarks on the
#: 24 faces of the development photos (the ArcFace template's 0.495 reads 10 degrees low)
NEUTRAL_RATIO = 0.56
#: frontal mouth-line distance below the eye line, in IOD (same photos, median 1.03)
MOUTH_DROP = 1.03


@dataclass(frozen=True)
class Pose:
    """Head orientation in degrees; see the module docstring for the sign conventions."""

    yaw: float
    pitch: float
    roll: float


def _pitch_from_ratio(q: float) -> float:
    # eyes at (y=0, z=0), nose at (y_n, z_n), mouth at (y_m, z_m); a pitch of phi maps
    # y -> y cos(phi) - z sin(phi), so q = (y_n - z_n t) / (y_m - z_m t) with t = tan(phi)
    y_m = MOUTH_DROP
    y_n = NEUTRAL_RATIO * y_m
    denom = q * MOUTH_DEPTH - NOSE_DEPTH
    return math.degrees(math.atan((q * y_m - y_n) / denom))


def head_pose(landmarks: np.ndarray) -> Pose:
    """Yaw, pitch and roll (degrees) of a face from its 5 landmarks in YuNet order."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    right_eye, left_eye, nose, mouth_r, mouth_l = pts
    eye_vec = left_eye - right_eye
    iod = float(np.hypot(*eye_vec))
    if iod <= 1e-6:
        raise ValueError("degenerate landmarks: both eyes at the same point")
    u = eye_vec / iod
    v = np.array([-u[1], u[0]])  # perpendicular to the eye line, pointing down the face
    eye_mid = (right_eye + left_eye) / 2
    mouth_mid = (mouth_r + mouth_l) / 2
    roll = math.degrees(math.atan2(u[1], u[0]))
    yaw = math.degrees(math.atan(float(np.dot(nose - eye_mid, u)) / iod / NOSE_DEPTH))
    mouth_drop = float(np.dot(mouth_mid - eye_mid, v))
    if mouth_drop <= 1e-6:
        raise ValueError("degenerate landmarks: mouth not below the eye line")
    q = float(np.dot(nose - eye_mid, v)) / mouth_drop
    return Pose(yaw=yaw, pitch=_pitch_from_ratio(q), roll=roll)
