"""Session states and the only transitions allowed between them.

created → in_progress → (review) → approved | declined | expired | error. A final state
never changes again; anything else is a programming or concurrency error and raises.
"""

from __future__ import annotations

from enum import StrEnum

from ekyc.errors import EkycError


class State(StrEnum):
    CREATED = "created"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"  # waiting for a clerk: every automated step is done
    APPROVED = "approved"
    DECLINED = "declined"
    EXPIRED = "expired"
    ERROR = "error"


FINAL: frozenset[State] = frozenset({State.APPROVED, State.DECLINED, State.EXPIRED, State.ERROR})

TRANSITIONS: dict[State, frozenset[State]] = {
    State.CREATED: frozenset({State.IN_PROGRESS, State.EXPIRED, State.ERROR}),
    State.IN_PROGRESS: frozenset(
        {State.REVIEW, State.APPROVED, State.DECLINED, State.EXPIRED, State.ERROR}
    ),
    # a review is a human's decision: it does not time out like an unattended session
    State.REVIEW: frozenset({State.APPROVED, State.DECLINED, State.ERROR}),
    State.APPROVED: frozenset(),
    State.DECLINED: frozenset(),
    State.EXPIRED: frozenset(),
    State.ERROR: frozenset(),
}


class IllegalTransition(EkycError):
    """A state change the transition table does not allow."""

    code = "illegal_transition"

    def __init__(self, current: State, target: State) -> None:
        self.current = current
        self.target = target
        super().__init__(f"a session cannot go from {current.value} to {target.value}")


def is_final(state: State) -> bool:
    """True when the state can never change again."""
    return state in FINAL


def can_transition(current: State, target: State) -> bool:
    """True when the table allows going from ``current`` to ``target``."""
    return target in TRANSITIONS[current]


def transition(current: State, target: State) -> State:
    """Return ``target`` when the change is allowed, else raise ``IllegalTransition``."""
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
    return target
