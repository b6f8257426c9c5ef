"""`ekyc liveness`: issue a challenge and decide frames as the server does."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ekyc.cli._common import emit, face_engine, fail
from ekyc.errors import EkycError


@click.group()
def liveness() -> None:
    """Active + passive liveness, decided as the server decides it."""


@liveness.command("challenge")
def liveness_challenge() -> None:
    """Issue a challenge (nonce, 2-4 actions, deadline) as JSON."""
    import time

    from ekyc.face.challenge import issue_challenge

    emit(issue_challenge(time.time).to_json())


@liveness.command("check")
@click.option(
    "--challenge",
    "challenge_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--interval-ms",
    default=100,
    show_default=True,
    help="frame spacing when --timestamps is not given",
)
@click.option("--timestamps", help="comma-separated ms since the challenge, one per frame")
@click.option(
    "--offline",
    is_flag=True,
    help="re-check recorded frames as if uploaded at their last timestamp",
)
@click.argument(
    "frames", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def liveness_check(
    challenge_file: Path,
    interval_ms: int,
    timestamps: str | None,
    offline: bool,
    frames: tuple[Path, ...],
) -> None:
    """Check FRAMES against a challenge; exit 0 live, 3 not live or review, 2 error."""
    import time

    from ekyc.face.challenge import Challenge, InMemoryChallengeStore
    from ekyc.face.image import decode_image
    from ekyc.face.liveness import Frame, check_liveness

    challenge = Challenge.from_json(challenge_file.read_text())
    stamps = (
        [int(t) for t in timestamps.split(",")]
        if timestamps
        else [i * interval_ms for i in range(len(frames))]
    )
    if len(stamps) != len(frames):
        raise click.BadParameter("one timestamp per frame")
    try:
        images = [decode_image(f.read_bytes()) for f in frames]
        engine = face_engine()
    except EkycError as e:
        fail(e)
    store = InMemoryChallengeStore()
    store.put(challenge)
    now = (challenge.issued_at_ms + stamps[-1]) / 1000 if offline else time.time()
    verdict = check_liveness(
        challenge,
        [Frame(t, im) for t, im in zip(stamps, images, strict=True)],
        engine,
        engine.pad,
        now,
        store=store,
    )
    emit({**verdict.to_json(), "offline": offline})
    sys.exit(0 if verdict.decision == "live" else 3)
