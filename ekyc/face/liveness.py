"""Server-side liveness: an active head-pose challenge plus a passive PAD signal, one verdict.

Frame timestamps are **milliseconds since the client received the challenge**, on the
client's own monotonic clock (a client clock cannot be trusted to match the server's, but
its intervals can be checked). The server bounds them with its own clock: the submission
must arrive before ``deadline_ms + upload_grace_ms`` and no frame may be stamped after the
challenge window. The nonce is consumed before anything else, whatever the outcome, so a
failed attempt cannot be retried with the same challenge.

Signals (each with value, threshold, status and reason codes): ``challenge`` (nonce),
``timing``, ``faces``, ``trajectory``, ``identity``, ``passive_pad``. Any failed signal makes
the verdict ``not_live``. When no PAD model is registered the ``passive_pad`` signal is
``unavailable`` and, by default (``pad_required=True``), the verdict is ``review``, never
``live``; a deployer may set ``pad_required=False`` to accept active liveness alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import cv2
import numpy as np

from ekyc.face.align import align
from ekyc.face.challenge import (
    Challenge,
    ChallengeRejected,
    ChallengeStore,
    PoseSample,
    TrajectoryRules,
    check_trajectory,
)
from ekyc.face.pipeline import Detector, Embedder, Pad
from ekyc.face.pose import head_pose

Status = Literal["pass", "fail", "unavailable", "skipped"]
Decision = Literal["live", "not_live", "review"]
SIGNALS = ("challenge", "timing", "faces", "trajectory", "identity", "passive_pad")


@dataclass(frozen=True)
class Frame:
    """One client frame: ms since the challenge was received, and the decoded BGR image."""

    timestamp_ms: int
    image_bgr: np.ndarray


class LivenessEngine(Protocol):
    """What liveness needs from ``ekyc.face.pipeline.FaceEngine``: its detector and embedder."""

    @property
    def detector(self) -> Detector: ...
    @property
    def embedder(self) -> Embedder: ...


@dataclass(frozen=True)
class LivenessConfig:
    min_frames: int = 5
    max_frames: int = 30
    min_interval_ms: int = 50  # faster than 20 fps is a burst (or a synthetic stream)
    max_gap_ms: int = 1_000  # a longer hole hides what happened in between
    upload_grace_ms: int = 3_000  # network time allowed after the deadline for the upload
    # mean absolute difference (grey levels) of 64x48 thumbnails below which two frames are
    # the same picture; sensor noise alone keeps live frames well above it
    duplicate_mad: float = 0.1
    min_face_px: float = 64.0  # face box height
    second_face_ratio: float = 0.4  # another face at least this tall (vs the first) counts
    min_detection_score: float = 0.6
    trajectory: TrajectoryRules = field(default_factory=TrajectoryRules)
    # same person in every frame: cosine to the best frame. Frames near the start pose must
    # reach the strict threshold (one capture, one pose: genuine ~0.95); turned frames lose
    # similarity with pose, so they get a looser one. SFace impostors on the development
    # photos (frontal) peak at 0.355.
    identity_threshold: float = 0.5
    identity_threshold_posed: float = 0.3
    identity_frontal_yaw: float = 10.0  # |yaw|, |pitch| change from the start below which
    identity_frontal_pitch: float = 8.0  # a frame is held to the strict threshold
    pad_threshold: float = 0.5  # mean live probability over the PAD frames
    pad_frames: int = 3  # the most frontal frames are scored
    pad_required: bool = True  # no PAD model -> "review" rather than "live"


@dataclass(frozen=True)
class Signal:
    status: Status
    value: object = None
    threshold: object = None
    reasons: tuple[str, ...] = ()
    detail: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "status": self.status,
            "value": self.value,
            "threshold": self.threshold,
            "reasons": list(self.reasons),
            **({"detail": self.detail} if self.detail else {}),
        }


@dataclass(frozen=True)
class LivenessVerdict:
    decision: Decision
    reasons: tuple[str, ...]
    signals: dict[str, Signal]
    nonce: str
    best_frame: int | None
    model_ids: dict[str, str]
    timings_ms: dict[str, float]

    def to_json(self) -> dict[str, object]:
        """JSON-ready form of the whole verdict."""
        return {
            "decision": self.decision,
            "reasons": list(self.reasons),
            "nonce": self.nonce,
            "best_frame": self.best_frame,
            "signals": {k: s.to_json() for k, s in self.signals.items()},
            "model_ids": self.model_ids,
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass
class _Observed:
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    yaw: float
    pitch: float
    size: float


def check_liveness(
    challenge: Challenge,
    frames: Sequence[Frame],
    engine: LivenessEngine,
    pad: Pad | None,
    now: float,
    *,
    store: ChallengeStore,
    config: LivenessConfig = LivenessConfig(),
) -> LivenessVerdict:
    """Decide whether ``frames`` show a live person performing ``challenge``; ``now`` is epoch s."""
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    signals: dict[str, Signal] = {}
    model_ids = {"detector": engine.detector.model_id, "embedder": engine.embedder.model_id}
    if pad is not None:
        model_ids["pad"] = pad.model_id

    def finish(best: int | None) -> LivenessVerdict:
        for name in SIGNALS:
            signals.setdefault(name, Signal("skipped"))
        timings["total"] = (time.perf_counter() - t_start) * 1000
        return _verdict(challenge.nonce, signals, best, model_ids, timings, config)

    signals["challenge"] = _consume(challenge, store)
    if signals["challenge"].status == "fail":
        return finish(None)
    signals["timing"] = _timing(challenge, frames, int(round(now * 1000)), config)
    if signals["timing"].status == "fail":
        return finish(None)

    t0 = time.perf_counter()
    faces_signal, observed = _faces(frames, engine.detector, config)
    timings["detect"] = (time.perf_counter() - t0) * 1000
    signals["faces"] = faces_signal
    if faces_signal.status == "fail":
        return finish(None)
    obs = [o for o in observed if o is not None]

    samples = [
        PoseSample(f.timestamp_ms, o.yaw, o.pitch, o.size) for f, o in zip(frames, obs, strict=True)
    ]
    signals["trajectory"] = _trajectory(samples, challenge, config.trajectory)
    ranked = _frontal_ranking(obs)
    best = ranked[0]

    t0 = time.perf_counter()
    signals["identity"] = _identity(frames, obs, best, engine.embedder, config)
    timings["embed"] = (time.perf_counter() - t0) * 1000

    t0 = time.perf_counter()
    signals["passive_pad"] = _pad(frames, obs, ranked[: config.pad_frames], pad, config)
    timings["pad"] = (time.perf_counter() - t0) * 1000
    return finish(best)


def _verdict(
    nonce: str,
    signals: dict[str, Signal],
    best: int | None,
    model_ids: dict[str, str],
    timings: dict[str, float],
    config: LivenessConfig,
) -> LivenessVerdict:
    reasons = tuple(r for name in SIGNALS for r in signals[name].reasons)
    decision: Decision
    if any(s.status == "fail" for s in signals.values()):
        decision = "not_live"
    elif signals["passive_pad"].status == "unavailable" and config.pad_required:
        decision = "review"
    else:
        decision = "live"
    ordered = {name: signals[name] for name in SIGNALS}
    return LivenessVerdict(decision, reasons, ordered, nonce, best, model_ids, timings)


def _consume(challenge: Challenge, store: ChallengeStore) -> Signal:
    try:
        stored = store.consume(challenge.nonce, challenge.session_id)
    except ChallengeRejected as e:
        return Signal("fail", reasons=(e.code,))
    if stored != challenge:  # the client echoed a challenge the server did not issue
        return Signal("fail", reasons=("challenge_mismatch",))
    return Signal("pass", value=challenge.nonce)


def _timing(
    challenge: Challenge, frames: Sequence[Frame], now_ms: int, config: LivenessConfig
) -> Signal:
    reasons: list[str] = []
    ts = [f.timestamp_ms for f in frames]
    late_by = now_ms - challenge.deadline_ms
    if late_by > config.upload_grace_ms or (ts and (ts[0] < 0 or ts[-1] > challenge.window_ms)):
        reasons.append("deadline")
    if not config.min_frames <= len(frames) <= config.max_frames:
        reasons.append("frame_count")
    gaps = np.diff(np.asarray(ts, dtype=np.int64)) if len(ts) > 1 else np.zeros(0, np.int64)
    if (gaps <= 0).any():
        reasons.append("timestamps_not_increasing")
    elif (gaps < config.min_interval_ms).any():
        reasons.append("frame_burst")
    if (gaps > config.max_gap_ms).any():
        reasons.append("frame_gap")
    dup: list[int] = []
    if "frame_count" not in reasons:  # never hash an unbounded upload
        dup = _duplicates(frames, config.duplicate_mad)
        if dup:
            reasons.append("duplicate_frames")
    value = {
        "frames": len(frames),
        "span_ms": int(ts[-1] - ts[0]) if ts else 0,
        "min_interval_ms": int(gaps.min()) if gaps.size else None,
        "max_gap_ms": int(gaps.max()) if gaps.size else None,
        "submitted_after_deadline_ms": max(0, late_by),
    }
    threshold = {
        "frames": [config.min_frames, config.max_frames],
        "min_interval_ms": config.min_interval_ms,
        "max_gap_ms": config.max_gap_ms,
        "window_ms": challenge.window_ms,
        "upload_grace_ms": config.upload_grace_ms,
    }
    detail: dict[str, object] = {"duplicate_pairs": dup} if dup else {}
    return Signal("fail" if reasons else "pass", value, threshold, tuple(reasons), detail)


def _duplicates(frames: Sequence[Frame], limit: float) -> list[int]:
    """Indices of frames that repeat an earlier frame (any earlier one, not only the last)."""
    thumbs = []
    for f in frames:
        img = f.image_bgr
        grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
        thumbs.append(cv2.resize(grey, (64, 48), interpolation=cv2.INTER_AREA).astype(np.float32))
    stack = np.stack(thumbs)
    out: list[int] = []
    for j in range(1, len(stack)):
        mad = np.abs(stack[:j] - stack[j]).mean(axis=(1, 2))
        if float(mad.min()) < limit:
            out.append(j)
    return out


def _faces(
    frames: Sequence[Frame], detector: Detector, config: LivenessConfig
) -> tuple[Signal, list[_Observed | None]]:
    per_frame: dict[str, list[int]] = {}
    observed: list[_Observed | None] = []
    for i, f in enumerate(frames):
        dets = [d for d in detector.detect(f.image_bgr) if d.score >= config.min_detection_score]
        code = None
        if not dets:
            code = "no_face"
        else:
            first = dets[0]
            height = first.box[3]
            if any(d.box[3] >= config.second_face_ratio * height for d in dets[1:]):
                code = "several_faces"
            elif height < config.min_face_px:
                code = "face_too_small"
        if code is not None:
            per_frame.setdefault(code, []).append(i)
            observed.append(None)
            continue
        lm = np.asarray(first.landmarks, dtype=np.float64).reshape(5, 2)
        try:
            pose = head_pose(lm)
        except ValueError:
            per_frame.setdefault("no_face", []).append(i)
            observed.append(None)
            continue
        x, y, w, h = first.box
        observed.append(_Observed(first.box, lm, pose.yaw, pose.pitch, float(np.sqrt(w * h))))
    reasons = tuple(per_frame)
    ok = len(frames) - sum(len(v) for v in per_frame.values())
    return (
        Signal(
            "fail" if reasons else "pass",
            value=ok,
            threshold=len(frames),
            reasons=reasons,
            detail={"frames": per_frame} if per_frame else {},
        ),
        observed,
    )


def _trajectory(samples: list[PoseSample], challenge: Challenge, rules: TrajectoryRules) -> Signal:
    res = check_trajectory(samples, challenge.actions, rules)
    return Signal(
        "pass" if res.ok else "fail",
        value={
            "completed": [a.value for a in res.completed],
            "action_frames": list(res.action_frames),
            **{k: round(v, 3) for k, v in res.max_deltas.items()},
        },
        threshold={
            "actions": [a.value for a in challenge.actions],
            "yaw_deg": rules.yaw_threshold,
            "pitch_deg": rules.pitch_threshold,
            "closer_ratio": rules.closer_ratio,
        },
        reasons=res.reasons,
        detail={"poses": [[s.t_ms, round(s.yaw, 1), round(s.pitch, 1)] for s in samples]},
    )


def _frontal_ranking(obs: list[_Observed]) -> list[int]:
    """Frame indices, most frontal first (relative to the first frame's pitch; larger wins ties)."""
    p0 = obs[0].pitch
    return sorted(
        range(len(obs)), key=lambda i: (abs(obs[i].yaw) + abs(obs[i].pitch - p0), -obs[i].size)
    )


def _identity(
    frames: Sequence[Frame],
    obs: list[_Observed],
    best: int,
    embedder: Embedder,
    config: LivenessConfig,
) -> Signal:
    batch = np.stack([align(f.image_bgr, o.landmarks) for f, o in zip(frames, obs, strict=True)])
    emb = np.asarray(embedder.embed(batch), dtype=np.float32)
    sims = emb @ emb[best]
    y0, p0 = obs[0].yaw, obs[0].pitch
    limits = [
        config.identity_threshold
        if abs(o.yaw - y0) < config.identity_frontal_yaw
        and abs(o.pitch - p0) < config.identity_frontal_pitch
        else config.identity_threshold_posed
        for o in obs
    ]
    low = [i for i, (s, t) in enumerate(zip(sims, limits, strict=True)) if float(s) < t]
    margin = int(np.argmin(sims - np.asarray(limits)))
    return Signal(
        "fail" if low else "pass",
        value=round(float(sims[margin]), 4),
        threshold=limits[margin],
        reasons=("identity_changed",) if low else (),
        detail={"reference_frame": best, "frames_below": low} if low else {"reference_frame": best},
    )


def _pad(
    frames: Sequence[Frame],
    obs: list[_Observed],
    chosen: list[int],
    pad: Pad | None,
    config: LivenessConfig,
) -> Signal:
    if pad is None:
        return Signal("unavailable", threshold=config.pad_threshold, reasons=("pad_unavailable",))
    scores = [float(pad.score(frames[i].image_bgr, obs[i].box).live) for i in chosen]
    mean = float(np.mean(scores))
    spoof = mean < config.pad_threshold
    return Signal(
        "fail" if spoof else "pass",
        value=round(mean, 4),
        threshold=config.pad_threshold,
        reasons=("pad_spoof",) if spoof else (),
        detail={"frames": chosen, "scores": [round(s, 4) for s in scores]},
    )
