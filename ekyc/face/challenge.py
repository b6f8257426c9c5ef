"""Active liveness challenges: issuance, single-use nonces, and the head-pose trajectory check.

A challenge is a random nonce plus a random sequence of 2–4 distinct actions with an
issue time and a deadline (epoch milliseconds, server clock). The server keeps it in a
``ChallengeStore``; a nonce is consumed on the first submission whatever the outcome, so a
replay (or a retry after a failure) is rejected. The trajectory checker is pure: it takes
(timestamp, pose, face size) samples and says whether the actions were performed in order.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from ekyc.errors import EkycError


class Action(StrEnum):
    TURN_LEFT = "turn_left"  # subject turns to their left: yaw > 0 (image right)
    TURN_RIGHT = "turn_right"
    LOOK_UP = "look_up"  # pitch > 0
    LOOK_DOWN = "look_down"
    COME_CLOSER = "come_closer"  # face size grows


ACTIONS: tuple[Action, ...] = tuple(Action)


class ChallengeRejected(EkycError):
    """A submission names a nonce that is unknown, already used, or bound to another session."""

    code = "challenge_rejected"

    def __init__(self, code: str, message: str) -> None:
        self.code = code  # nonce_unknown | nonce_replayed | session_mismatch
        super().__init__(message)


@dataclass(frozen=True)
class Challenge:
    nonce: str
    actions: tuple[Action, ...]
    issued_at_ms: int
    deadline_ms: int
    session_id: str | None = None

    @property
    def window_ms(self) -> int:
        """Milliseconds between issue and deadline: the span frame timestamps may cover."""
        return self.deadline_ms - self.issued_at_ms

    def to_json(self) -> dict[str, object]:
        """The client-facing JSON form (frame timestamps are ms since the client got it)."""
        return {
            "nonce": self.nonce,
            "actions": [a.value for a in self.actions],
            "issued_at_ms": self.issued_at_ms,
            "deadline_ms": self.deadline_ms,
            "window_ms": self.window_ms,
            "session_id": self.session_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | str) -> Challenge:
        """Parse the form written by ``to_json`` (raises KeyError/ValueError on bad input)."""
        d = json.loads(data) if isinstance(data, str) else data
        actions = d["actions"]
        if not isinstance(actions, list):
            raise ValueError("actions must be a list")
        session = d.get("session_id")
        return cls(
            nonce=str(d["nonce"]),
            actions=tuple(Action(str(a)) for a in actions),
            issued_at_ms=int(str(d["issued_at_ms"])),
            deadline_ms=int(str(d["deadline_ms"])),
            session_id=None if session is None else str(session),
        )


def issue_challenge(
    clock: Callable[[], float],
    rng: Callable[[int], bytes] = os.urandom,
    *,
    session_id: str | None = None,
    min_actions: int = 2,
    max_actions: int = 4,
    base_ms: int = 4_000,
    per_action_ms: int = 3_000,
    actions: Sequence[Action] = ACTIONS,
) -> Challenge:
    """Issue a challenge of 2–4 distinct random actions; ``clock`` returns epoch seconds."""
    if not 1 <= min_actions <= max_actions <= len(actions):
        raise ValueError("invalid action count bounds")
    nonce = rng(16).hex()
    count = min_actions + _uniform(rng, max_actions - min_actions + 1)
    pool = list(actions)
    chosen: list[Action] = []
    for _ in range(count):  # Fisher–Yates draw from the rng so tests are deterministic
        chosen.append(pool.pop(_uniform(rng, len(pool))))
    issued = int(round(clock() * 1000))
    return Challenge(
        nonce=nonce,
        actions=tuple(chosen),
        issued_at_ms=issued,
        deadline_ms=issued + base_ms + per_action_ms * count,
        session_id=session_id,
    )


def _uniform(rng: Callable[[int], bytes], n: int) -> int:
    """An unbiased integer in [0, n) by rejection sampling over 4 random bytes."""
    limit = (1 << 32) - (1 << 32) % n
    while True:
        v = int.from_bytes(rng(4), "big")
        if v < limit:
            return v % n


class ChallengeStore(Protocol):
    def put(self, challenge: Challenge) -> None:
        """Remember an issued challenge."""
        ...

    def consume(self, nonce: str, session_id: str | None) -> Challenge:
        """Mark the nonce used and return its challenge, or raise ``ChallengeRejected``."""
        ...


@dataclass
class InMemoryChallengeStore:
    """A process-local store; consumed nonces are kept (as tombstones) to report replays."""

    _live: dict[str, Challenge] = field(default_factory=dict)
    _used: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, challenge: Challenge) -> None:
        """Remember an issued challenge."""
        with self._lock:
            if challenge.nonce in self._live or challenge.nonce in self._used:
                raise ValueError("nonce already issued")
            self._live[challenge.nonce] = challenge

    def consume(self, nonce: str, session_id: str | None) -> Challenge:
        """Mark the nonce used and return its challenge, or raise ``ChallengeRejected``."""
        with self._lock:
            if nonce in self._used:
                raise ChallengeRejected("nonce_replayed", "nonce already used")
            challenge = self._live.get(nonce)
            if challenge is None:
                raise ChallengeRejected("nonce_unknown", "nonce was never issued")
            if challenge.session_id != session_id:
                # not consumed: another session must not be able to burn this one's nonce
                raise ChallengeRejected("session_mismatch", "nonce belongs to another session")
            del self._live[nonce]
            self._used.add(nonce)
            return challenge

    def purge(self, now_ms: int) -> None:
        """Turn challenges past their deadline into tombstones (a late submit is a replay)."""
        with self._lock:
            for nonce in [n for n, c in self._live.items() if c.deadline_ms < now_ms]:
                del self._live[nonce]
                self._used.add(nonce)


# ---- trajectory ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PoseSample:
    t_ms: int
    yaw: float
    pitch: float
    size: float  # face size in pixels (sqrt of the box area)


@dataclass(frozen=True)
class TrajectoryRules:
    yaw_threshold: float = 18.0  # degrees from the neutral start for a turn
    pitch_threshold: float = 12.0  # degrees from the neutral start for look up/down
    closer_ratio: float = 1.25  # face size growth for come_closer
    neutral_yaw: float = 12.0  # |yaw| of the first frame (absolute)
    neutral_pitch: float = 20.0  # |pitch| of the first frame (absolute; landmark pitch is biased)
    return_fraction: float = 0.5  # back below this share of the threshold between actions
    static_yaw: float = 4.0  # below these ranges the sequence did not move at all
    static_pitch: float = 4.0
    static_size: float = 1.08


@dataclass(frozen=True)
class TrajectoryResult:
    ok: bool
    reasons: tuple[str, ...]
    completed: tuple[Action, ...]
    action_frames: tuple[int, ...]  # index of the frame where each completed action peaked
    max_deltas: dict[str, float]  # largest excursion seen per axis, for the verdict


def _reached(s: PoseSample, base: PoseSample, rules: TrajectoryRules, frac: float) -> set[Action]:
    dyaw, dpitch, ratio = s.yaw - base.yaw, s.pitch - base.pitch, s.size / base.size
    got: set[Action] = set()
    if dyaw >= rules.yaw_threshold * frac:
        got.add(Action.TURN_LEFT)
    if dyaw <= -rules.yaw_threshold * frac:
        got.add(Action.TURN_RIGHT)
    if dpitch >= rules.pitch_threshold * frac:
        got.add(Action.LOOK_UP)
    if dpitch <= -rules.pitch_threshold * frac:
        got.add(Action.LOOK_DOWN)
    if ratio >= 1 + (rules.closer_ratio - 1) * frac:
        got.add(Action.COME_CLOSER)
    return got


def check_trajectory(
    samples: Sequence[PoseSample], actions: Sequence[Action], rules: TrajectoryRules
) -> TrajectoryResult:
    """Check that the samples start neutral and perform ``actions`` in order.

    Deltas are taken from the first sample (its pose must be near frontal). An action
    counts when its axis passes the threshold; before the next action the head must come
    back below ``return_fraction`` of that threshold (come_closer needs no step back).
    Reaching an action that is not the expected one fails with ``challenge_order``.
    """
    if not samples:
        return TrajectoryResult(False, ("challenge_incomplete",), (), (), {})
    base = samples[0]
    deltas = {
        "yaw_left": max(s.yaw - base.yaw for s in samples),
        "yaw_right": max(base.yaw - s.yaw for s in samples),
        "pitch_up": max(s.pitch - base.pitch for s in samples),
        "pitch_down": max(base.pitch - s.pitch for s in samples),
        "size_ratio": max(s.size / base.size for s in samples),
    }
    if abs(base.yaw) > rules.neutral_yaw or abs(base.pitch) > rules.neutral_pitch:
        return TrajectoryResult(False, ("no_neutral_start",), (), (), deltas)
    if (
        max(deltas["yaw_left"], deltas["yaw_right"]) < rules.static_yaw
        and max(deltas["pitch_up"], deltas["pitch_down"]) < rules.static_pitch
        and deltas["size_ratio"] < rules.static_size
    ):
        return TrajectoryResult(False, ("static_sequence",), (), (), deltas)

    done: list[Action] = []
    frames: list[int] = []
    holding: Action | None = None  # the action just completed, until the head returns
    for i, s in enumerate(samples[1:], start=1):
        if len(done) == len(actions):
            break
        full = _reached(s, base, rules, 1.0) - set(done)
        if holding is not None:
            if holding in _reached(s, base, rules, rules.return_fraction):
                continue  # still in (or near) the previous action's pose
            holding = None
        expected = actions[len(done)]
        if expected in full:
            done.append(expected)
            frames.append(i)
            holding = None if expected is Action.COME_CLOSER else expected
        elif full:
            return TrajectoryResult(False, ("challenge_order",), tuple(done), tuple(frames), deltas)
    if len(done) < len(actions):
        return TrajectoryResult(
            False, ("challenge_incomplete",), tuple(done), tuple(frames), deltas
        )
    return TrajectoryResult(True, (), tuple(done), tuple(frames), deltas)
