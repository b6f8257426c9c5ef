"""The card half of Basic Access Control for the virtual card."""

from __future__ import annotations

import os
from collections.abc import Callable

from readers.access_key import MrzKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.bac import (
    CRYPTOGRAM_LEN,
    INS_EXTERNAL_AUTHENTICATE,
    INS_GET_CHALLENGE,
    KEY_MATERIAL_LEN,
    RND_LEN,
    bac_keys,
    bac_session,
    open_cryptogram,
    seal_cryptogram,
)
from readers.crypto import ct_equal
from readers.errors import ProtocolError
from readers.sm import SecureMessaging

SW_OK = 0x9000
SW_AUTH_FAILED = 0x6300
SW_WRONG_LENGTH = 0x6700
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_P1P2 = 0x6B00


class BacCard:
    """Answers GET CHALLENGE and EXTERNAL AUTHENTICATE; on success ``session`` is card-role SM."""

    def __init__(self, key: MrzKey, rng: Callable[[int], bytes] = os.urandom) -> None:
        self._keys = bac_keys(key.information)
        self._rng = rng
        self._challenge: bytes | None = None
        self.session: SecureMessaging | None = None
        self.failures = 0

    def process(self, cmd: CommandAPDU) -> ResponseAPDU | None:
        """Answer a plain BAC command, or return None when the command is not BAC's."""
        if cmd.ins == INS_GET_CHALLENGE:
            return self._get_challenge(cmd)
        if cmd.ins == INS_EXTERNAL_AUTHENTICATE:
            return self._external_authenticate(cmd)
        return None

    def _get_challenge(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.p1 or cmd.p2:
            return ResponseAPDU(b"", SW_WRONG_P1P2)
        if cmd.le != RND_LEN:
            return ResponseAPDU(b"", SW_WRONG_LENGTH)
        self._challenge = self._rng(RND_LEN)
        return ResponseAPDU(self._challenge, SW_OK)

    def _external_authenticate(self, cmd: CommandAPDU) -> ResponseAPDU:
        # A challenge is good for one attempt; a new attempt also ends any earlier session.
        rnd_ic, self._challenge = self._challenge, None
        self.session = None
        if cmd.p1 or cmd.p2:
            return ResponseAPDU(b"", SW_WRONG_P1P2)
        if rnd_ic is None:
            return ResponseAPDU(b"", SW_CONDITIONS_NOT_SATISFIED)
        if len(cmd.data) != CRYPTOGRAM_LEN:
            return ResponseAPDU(b"", SW_WRONG_LENGTH)
        try:
            plain = open_cryptogram(self._keys, cmd.data)
        except ProtocolError:
            self.failures += 1
            return ResponseAPDU(b"", SW_AUTH_FAILED)
        rnd_ifd, echo, k_ifd = plain[:RND_LEN], plain[RND_LEN : 2 * RND_LEN], plain[2 * RND_LEN :]
        if not ct_equal(echo, rnd_ic):
            self.failures += 1
            return ResponseAPDU(b"", SW_AUTH_FAILED)
        k_ic = self._rng(KEY_MATERIAL_LEN)
        self.session = bac_session(k_ifd, k_ic, rnd_ic, rnd_ifd)
        return ResponseAPDU(seal_cryptogram(self._keys, rnd_ic + rnd_ifd + k_ic), SW_OK)
