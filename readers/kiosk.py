"""The kiosk flow on a PC/SC reader: wait for a card, read it, resume after a drop."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from readers.access_key import AccessKey
from readers.chip_reader import ChipReader, ChipReadResult
from readers.errors import CardRemoved
from readers.pcsc import PcscContext
from readers.transport import CountingTransport, TransportStats

log = logging.getLogger(__name__)


def read_chip(
    key: AccessKey,
    reader: str | None = None,
    aa_nonce: bytes | None = None,
    wait: float = 30.0,
    resumes: int = 2,
    rng: Callable[[int], bytes] = os.urandom,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> tuple[ChipReadResult, TransportStats]:
    """Read the chip presented to ``reader``; after ``CardRemoved`` wait for it again and resume.

    At most ``resumes`` resumptions; then the last ``CardRemoved`` propagates. Stats cover
    every link session of the read.
    """
    chip = ChipReader(key, rng=rng, on_progress=on_progress)
    stats = TransportStats()
    with PcscContext() as ctx:
        name = ctx.pick_reader(reader)
        for attempt in range(resumes + 1):
            ctx.wait_for_card(name, wait)
            card = ctx.connect(name, exclusive=True)
            transport = CountingTransport(card)
            transport.stats = stats
            try:
                return chip.read(transport, aa_nonce=aa_nonce), stats
            except CardRemoved:
                if attempt == resumes:
                    raise
                done = ", ".join(chip.complete) or "nothing"
                log.warning("card removed mid-read (kept: %s); waiting to resume", done)
                # pcscd polls the reader: let it register the removal before waiting for
                # the card again, or the stale "present" state would burn the retries.
                ctx.wait_for_removal(name, wait)
            finally:
                card.close()
    raise AssertionError("unreachable")
