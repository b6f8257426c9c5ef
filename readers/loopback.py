"""An in-process Transport: encoded APDU bytes go to a callable card, no PC/SC involved."""

from __future__ import annotations

from collections.abc import Callable

from readers.apdu import CommandAPDU, ResponseAPDU


class LoopbackTransport:
    """Hands each encoded command to ``card(raw) -> raw response``, as a reader would."""

    def __init__(self, card: Callable[[bytes], bytes], extended_length: bool = True) -> None:
        self.card = card
        self.extended_length = extended_length

    def transmit(self, command: CommandAPDU) -> ResponseAPDU:
        """Encode the command, let the card answer, decode its response."""
        if command.needs_extended() and not self.extended_length:
            raise ValueError("this card does not accept extended-length APDUs")
        return ResponseAPDU.decode(self.card(command.encode()))
