"""The transport seam: anything that moves one APDU to a card and back.

PC/SC (``readers.pcsc``) is the production transport; protocols (BAC, PACE,
secure messaging, file reading) only see this interface, and ``CountingTransport``
measures APDUs, bytes and time spent in the transport for benchmarks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from readers.apdu import CommandAPDU, ResponseAPDU


class Transport(Protocol):
    @property
    def extended_length(self) -> bool:
        """Whether the card accepts extended-length APDUs."""
        ...

    def transmit(self, command: CommandAPDU) -> ResponseAPDU:
        """Send one command APDU and return the card's response (GET RESPONSE/61xx handled)."""
        ...


@dataclass
class TransportStats:
    apdus: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    transport_seconds: float = 0.0
    commands: list[str] = field(default_factory=list)


class CountingTransport:
    """Wraps a transport and counts APDUs, bytes and wall time inside the transport."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.stats = TransportStats()

    @property
    def extended_length(self) -> bool:
        return self.inner.extended_length

    def transmit(self, command: CommandAPDU) -> ResponseAPDU:
        t0 = time.perf_counter()
        try:
            resp = self.inner.transmit(command)
        finally:
            self.stats.transport_seconds += time.perf_counter() - t0
        self.stats.apdus += 1
        self.stats.bytes_sent += len(command.encode())
        self.stats.bytes_received += len(resp.data) + 2
        return resp
