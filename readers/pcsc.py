"""PC/SC transport over pyscard (pcsc-lite's SCard* API).

Reader listing, waiting for a card, exclusive connect, GET RESPONSE / wrong-Le
retries, extended-length APDUs when the ATR allows them and command chaining
otherwise. PC/SC return codes become the typed errors of ``readers.errors``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from readers.apdu import CommandAPDU, ResponseAPDU
from readers.atr import supports_extended_length
from readers.errors import (
    CardRemoved,
    CardTimeout,
    NoCard,
    NoReader,
    PcscUnavailable,
    ReaderError,
)

try:
    from smartcard import scard
except ImportError as e:  # pragma: no cover - depends on the [kiosk] extra
    raise PcscUnavailable("pyscard is not installed: pip install 'ekyc[kiosk]'") from e

_REMOVED = {
    scard.SCARD_W_REMOVED_CARD,
    scard.SCARD_W_RESET_CARD,
    scard.SCARD_E_NO_SMARTCARD,
    scard.SCARD_W_UNPOWERED_CARD,
    scard.SCARD_E_READER_UNAVAILABLE,
    scard.SCARD_W_UNRESPONSIVE_CARD,
    # contactless: a card leaving the field mid-exchange surfaces as a failed transaction
    scard.SCARD_E_NOT_TRANSACTED,
}
_NO_SERVICE = {scard.SCARD_E_NO_SERVICE, scard.SCARD_E_SERVICE_STOPPED}
_CHAIN = 0x10
_MAX_SHORT_DATA = 255


def _check(hresult: int, what: str) -> None:
    if hresult == scard.SCARD_S_SUCCESS:
        return
    text = scard.SCardGetErrorMessage(hresult)
    if hresult in _NO_SERVICE:
        raise PcscUnavailable(f"{what}: pcscd is not running ({text})")
    if hresult in _REMOVED:
        raise CardRemoved(f"{what}: {text}")
    if hresult == scard.SCARD_E_TIMEOUT:
        raise CardTimeout(f"{what}: {text}")
    if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
        raise NoReader(f"{what}: no PC/SC reader is attached")
    raise ReaderError(f"{what}: {text} ({hresult & 0xFFFFFFFF:08X})")


class PcscContext:
    """An established PC/SC context; ``with PcscContext() as ctx: ...``."""

    def __init__(self) -> None:
        hresult, self._ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check(hresult, "establishing the PC/SC context")

    def __enter__(self) -> PcscContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._ctx is not None:
            scard.SCardReleaseContext(self._ctx)
            self._ctx = None

    def readers(self) -> list[str]:
        """Names of the readers pcscd knows (empty when none is attached)."""
        hresult, names = scard.SCardListReaders(self._ctx, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        _check(hresult, "listing readers")
        return list(names)

    def pick_reader(self, name: str | None = None) -> str:
        """The reader whose name contains ``name`` (the first one when ``name`` is None)."""
        names = self.readers()
        matches = [r for r in names if name is None or name.lower() in r.lower()]
        if not matches:
            known = ", ".join(names) or "none"
            raise NoReader(f"no reader matches {name!r} (attached: {known})")
        return matches[0]

    def _wait_for_state(self, reader: str, timeout: float, reached: Callable[[int], bool]) -> bool:
        """Follow the reader's state changes until ``reached(state)`` or ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        while True:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(self._ctx, left_ms, [(reader, state)])
            if hresult == scard.SCARD_E_TIMEOUT:
                return False
            _check(hresult, f"watching {reader}")
            _, event, _ = states[0]
            if reached(event):
                return True
            state = event & ~scard.SCARD_STATE_CHANGED
            if time.monotonic() >= deadline:
                return False

    def wait_for_card(self, reader: str, timeout: float) -> None:
        """Block until a card is present in ``reader`` or raise NoCard after ``timeout`` s."""
        present = scard.SCARD_STATE_PRESENT
        if not self._wait_for_state(
            reader, timeout, lambda s: bool(s & present) and not s & scard.SCARD_STATE_MUTE
        ):
            raise NoCard(f"no card presented to {reader} within {timeout:g} s")

    def wait_for_removal(self, reader: str, timeout: float) -> bool:
        """Block until ``reader`` is empty; False when the card is still there after ``timeout``."""
        return self._wait_for_state(reader, timeout, lambda s: bool(s & scard.SCARD_STATE_EMPTY))

    def connect(self, reader: str, exclusive: bool = True) -> PcscTransport:
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        protocols = scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        hresult, card, protocol = scard.SCardConnect(self._ctx, reader, share, protocols)
        if hresult == scard.SCARD_E_NO_SMARTCARD:
            raise NoCard(f"no card in {reader}")
        _check(hresult, f"connecting to {reader}")
        return PcscTransport(card, protocol, reader)


@dataclass
class PcscTransport:
    """One connected card: a ``readers.transport.Transport``."""

    card: int
    protocol: int
    reader: str
    extended_length: bool = False

    def __post_init__(self) -> None:
        self.atr = self._atr()
        self.extended_length = supports_extended_length(self.atr)

    def _atr(self) -> bytes:
        hresult, _reader, _state, _proto, atr = scard.SCardStatus(self.card)
        _check(hresult, "reading the ATR")
        return bytes(atr)

    def _raw(self, apdu: bytes) -> ResponseAPDU:
        hresult, resp = scard.SCardTransmit(self.card, self.protocol, list(apdu))
        _check(hresult, "transmitting an APDU")
        if len(resp) < 2:  # vpcd (and some readers) answer nothing when the link drops
            raise CardRemoved("the card answered no status word: the link was lost")
        return ResponseAPDU.decode(bytes(resp))

    def transmit(self, command: CommandAPDU) -> ResponseAPDU:
        if len(command.data) > _MAX_SHORT_DATA and not self.extended_length:
            return self._chained(command)
        resp = self._raw(command.encode(extended=self.extended_length and command.needs_extended()))
        if resp.sw >> 8 == 0x6C:  # wrong Le: the card says how many bytes it has
            fixed = CommandAPDU(
                command.cla,
                command.ins,
                command.p1,
                command.p2,
                command.data,
                (resp.sw & 0xFF) or 256,
            )
            resp = self._raw(fixed.encode())
        data = resp.data
        while resp.sw >> 8 == 0x61:  # more data: GET RESPONSE
            resp = self._raw(CommandAPDU(0x00, 0xC0, 0, 0, le=(resp.sw & 0xFF) or 256).encode())
            data += resp.data
        return ResponseAPDU(data, resp.sw)

    def _chained(self, command: CommandAPDU) -> ResponseAPDU:
        """ISO 7816-4 command chaining for data that does not fit a short APDU."""
        chunks = [
            command.data[i : i + _MAX_SHORT_DATA]
            for i in range(0, len(command.data), _MAX_SHORT_DATA)
        ]
        for chunk in chunks[:-1]:
            part = CommandAPDU(command.cla | _CHAIN, command.ins, command.p1, command.p2, chunk)
            resp = self.transmit(part)
            if not resp.ok:
                return resp
        last = CommandAPDU(command.cla, command.ins, command.p1, command.p2, chunks[-1], command.le)
        return self.transmit(last)

    def close(self, reset: bool = False) -> None:
        disposition = scard.SCARD_RESET_CARD if reset else scard.SCARD_LEAVE_CARD
        scard.SCardDisconnect(self.card, disposition)
