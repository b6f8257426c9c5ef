"""The card side of vsmartcard's vpcd socket protocol.

pcscd's vpcd driver listens on TCP (35963 for reader "Virtual PCD 00 00"); the
virtual card connects as a client and answers frames of a 2-byte big-endian
length + payload. A 1-byte payload is a control code, anything longer is a
command APDU. Closing the socket is how a card leaves the field.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from typing import Protocol

log = logging.getLogger(__name__)

VPCD_PORT = 35963
_POWER_OFF, _POWER_ON, _RESET, _GET_ATR = 0, 1, 2, 4


class Card(Protocol):
    def atr(self) -> bytes: ...
    def power_off(self) -> None: ...
    def power_on(self) -> None: ...
    def process(self, apdu: bytes) -> bytes: ...
    def should_leave(self) -> bool: ...


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        # vpcd writes the length and the payload separately; without QUICKACK the
        # delayed ACK stalls every APDU by ~40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class VpcdLink:
    """Serves one card to pcscd's vpcd in a background thread.

    ``insert()`` connects (the card enters the field) and ``remove()`` closes the
    socket (the card leaves). ``apdu_delay`` makes a slow card.
    """

    def __init__(
        self, card: Card, host: str = "127.0.0.1", port: int = VPCD_PORT, apdu_delay: float = 0.0
    ) -> None:
        self.card = card
        self.host, self.port = host, port
        self.apdu_delay = apdu_delay
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def insert(self, timeout: float = 10.0) -> None:
        """Connect to vpcd (retrying until ``timeout``) and start answering."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as e:
                if time.monotonic() >= deadline:
                    raise ConnectionError(
                        f"vpcd is not listening on {self.host}:{self.port} — is pcscd running "
                        "with vsmartcard-vpcd installed?"
                    ) from e
                time.sleep(0.05)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sock = sock
        self._thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Take the card out of the field: close the socket and wait for the thread."""
        with self._lock:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.card.power_off()

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                head = _recv_exact(sock, 2)
                if head is None:
                    return
                payload = _recv_exact(sock, int.from_bytes(head, "big"))
                if payload is None:
                    return
                answer = self._answer(payload)
                if answer is None:
                    continue
                if self.card.should_leave():  # fault: card pulled before it answers
                    threading.Thread(target=self.remove, daemon=True).start()
                    return
                sock.sendall(len(answer).to_bytes(2, "big") + answer)
        except OSError:
            return  # socket closed by remove()

    def _answer(self, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            code = payload[0]
            if code == _POWER_OFF:
                self.card.power_off()
            elif code in (_POWER_ON, _RESET):
                self.card.power_on()
            elif code == _GET_ATR:
                return self.card.atr()
            return None
        if self.apdu_delay:
            time.sleep(self.apdu_delay)
        return self.card.process(payload)
