"""Session state machine: the transition table and its typed error."""

from __future__ import annotations

import pytest

from ekyc.verification.states import (
    FINAL,
    TRANSITIONS,
    IllegalTransition,
    State,
    can_transition,
    is_final,
    transition,
)


def test_happy_paths_are_allowed() -> None:
    path = [State.CREATED, State.IN_PROGRESS, State.REVIEW, State.APPROVED]
    for a, b in zip(path, path[1:], strict=False):
        assert transition(a, b) is b
    assert can_transition(State.IN_PROGRESS, State.DECLINED)
    assert can_transition(State.CREATED, State.EXPIRED)
    assert can_transition(State.IN_PROGRESS, State.EXPIRED)


@pytest.mark.parametrize("final", sorted(FINAL))
def test_final_states_never_change(final: State) -> None:
    assert is_final(final)
    for target in State:
        with pytest.raises(IllegalTransition) as e:
            transition(final, target)
        assert e.value.code == "illegal_transition"
        assert e.value.current is final and e.value.target is target


def test_no_shortcuts() -> None:
    # a session cannot be approved without running a step, nor go back to created
    assert not can_transition(State.CREATED, State.APPROVED)
    assert not can_transition(State.IN_PROGRESS, State.CREATED)
    # a pending human review does not silently expire
    assert not can_transition(State.REVIEW, State.EXPIRED)
    with pytest.raises(IllegalTransition):
        transition(State.REVIEW, State.IN_PROGRESS)


def test_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(State)
    assert {s for s in State if not TRANSITIONS[s]} == FINAL
