"""Liveness challenges: issuance, single-use nonces, and the trajectory check on built poses."""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import pytest

from ekyc.face.challenge import (
    ACTIONS,
    Action,
    Challenge,
    ChallengeRejected,
    InMemoryChallengeStore,
    PoseSample,
    TrajectoryRules,
    check_trajectory,
    issue_challenge,
)

RULES = TrajectoryRules()
L, R, U, D, C = (
    Action.TURN_LEFT,
    Action.TURN_RIGHT,
    Action.LOOK_UP,
    Action.LOOK_DOWN,
    Action.COME_CLOSER,
)


def seeded(seed: int) -> Callable[[int], bytes]:
    r = random.Random(seed)
    return lambda n: r.randbytes(n)


def test_issue_is_deterministic_distinct_and_bounded() -> None:
    counts = set()
    for seed in range(200):
        c = issue_challenge(lambda: 1000.0, seeded(seed), session_id="s1")
        assert c == issue_challenge(lambda: 1000.0, seeded(seed), session_id="s1")
        assert 2 <= len(c.actions) <= 4
        assert len(set(c.actions)) == len(c.actions)
        assert c.issued_at_ms == 1_000_000
        assert c.deadline_ms == c.issued_at_ms + 4_000 + 3_000 * len(c.actions)
        assert len(c.nonce) == 32
        counts.add(len(c.actions))
    assert counts == {2, 3, 4}


def test_issue_covers_every_action_and_every_first_position() -> None:
    firsts = {issue_challenge(lambda: 0.0, seeded(s)).actions[0] for s in range(300)}
    assert firsts == set(ACTIONS)


def test_challenge_json_round_trip() -> None:
    c = issue_challenge(lambda: 5.5, seeded(1), session_id="abc")
    text = json.dumps(c.to_json())
    assert Challenge.from_json(text) == c
    assert json.loads(text)["window_ms"] == c.deadline_ms - c.issued_at_ms


def test_store_consumes_once() -> None:
    store = InMemoryChallengeStore()
    c = issue_challenge(lambda: 0.0, seeded(2), session_id="s")
    store.put(c)
    assert store.consume(c.nonce, "s") == c
    with pytest.raises(ChallengeRejected) as e:
        store.consume(c.nonce, "s")
    assert e.value.code == "nonce_replayed"


def test_store_unknown_and_other_session() -> None:
    store = InMemoryChallengeStore()
    c = issue_challenge(lambda: 0.0, seeded(3), session_id="s")
    store.put(c)
    with pytest.raises(ChallengeRejected) as e:
        store.consume("00" * 16, "s")
    assert e.value.code == "nonce_unknown"
    with pytest.raises(ChallengeRejected) as e:
        store.consume(c.nonce, "intruder")
    assert e.value.code == "session_mismatch"
    assert store.consume(c.nonce, "s") == c  # the other session could not burn it


def test_store_purge_turns_expired_into_replays() -> None:
    store = InMemoryChallengeStore()
    c = issue_challenge(lambda: 0.0, seeded(4))
    store.put(c)
    store.purge(c.deadline_ms + 1)
    with pytest.raises(ChallengeRejected) as e:
        store.consume(c.nonce, None)
    assert e.value.code == "nonce_replayed"
    with pytest.raises(ValueError):
        store.put(c)


# ---- trajectory on constructed pose sequences ----------------------------------------------

PEAKS = {L: (25, 0, 1), R: (-25, 0, 1), U: (0, 16, 1), D: (0, -16, 1), C: (0, 0, 1.4)}


def perform(actions: list[Action], base: tuple[float, float] = (2.0, -5.0)) -> list[PoseSample]:
    """Neutral, then each action ramped 0.5 -> 1 -> 0.5 -> 0 (come_closer stays close)."""
    y0, p0 = base
    shapes: list[tuple[float, float, float]] = [(0, 0, 1), (0, 0, 1)]
    scale = 1.0
    for a in actions:
        dy, dp, s = PEAKS[a]
        for f in (0.5, 1.0, 0.5, 0.0):
            if a is C:
                scale = max(scale, 1 + (s - 1) * f)
            shapes.append((dy * f, dp * f, scale))
    return [PoseSample(100 * i, y0 + dy, p0 + dp, 150 * s) for i, (dy, dp, s) in enumerate(shapes)]


@pytest.mark.parametrize("actions", [[L, R], [U, D, C], [C, L, D, R], [R, U], [D, C, U]])
def test_correct_order_passes(actions: list[Action]) -> None:
    res = check_trajectory(perform(actions), actions, RULES)
    assert res.ok, res.reasons
    assert res.completed == tuple(actions)
    assert len(res.action_frames) == len(actions)


def test_wrong_order_fails() -> None:
    res = check_trajectory(perform([R, L]), [L, R], RULES)
    assert not res.ok
    assert res.reasons == ("challenge_order",)


def test_unrequested_action_fails() -> None:
    res = check_trajectory(perform([L, U, R]), [L, R], RULES)
    assert res.reasons == ("challenge_order",)
    assert res.completed == (L,)


def test_missing_action_is_incomplete() -> None:
    res = check_trajectory(perform([L]), [L, D], RULES)
    assert res.reasons == ("challenge_incomplete",)
    assert res.completed == (L,)


def test_below_threshold_is_incomplete() -> None:
    samples = [PoseSample(100 * i, 2 + y, -5, 150) for i, y in enumerate([0, 0, 8, 14, 8, 0])]
    res = check_trajectory(samples, [L, R], RULES)
    assert res.reasons == ("challenge_incomplete",)


def test_static_sequence() -> None:
    samples = [PoseSample(100 * i, 1.0 + 0.3 * (i % 2), -4.0, 150.0) for i in range(10)]
    res = check_trajectory(samples, [L, R], RULES)
    assert res.reasons == ("static_sequence",)


def test_turned_start_is_not_neutral() -> None:
    samples = perform([L, R], base=(30.0, -5.0))
    res = check_trajectory(samples, [L, R], RULES)
    assert res.reasons == ("no_neutral_start",)


def test_holding_one_turn_does_not_count_twice() -> None:
    # turn left and never come back: look_up while still turned must not complete
    yaws = [0, 10, 25, 25, 25, 25]
    pitches = [0, 0, 0, 16, 16, 16]
    samples = [
        PoseSample(100 * i, y, p, 150) for i, (y, p) in enumerate(zip(yaws, pitches, strict=True))
    ]
    res = check_trajectory(samples, [L, U], RULES)
    assert res.reasons == ("challenge_incomplete",)
    assert res.completed == (L,)


def test_relative_to_first_frame() -> None:
    # a person whose landmark pitch reads -15 when frontal still needs +12 from there
    samples = perform([U, L], base=(0.0, -15.0))
    assert check_trajectory(samples, [U, L], RULES).ok
    flat = [PoseSample(s.t_ms, s.yaw, min(s.pitch, -5.0), s.size) for s in samples]
    # look_up only reaches +10 from the start, so the turn that follows is out of order
    assert check_trajectory(flat, [U, L], RULES).reasons == ("challenge_order",)
