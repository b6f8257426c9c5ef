"""The card half of Chip Authentication (ECDH) for the virtual card."""

from __future__ import annotations

import os
from collections.abc import Callable

from readers import tlv
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.chip_auth import MSE_SET_AT_CA, MSE_SET_KAT, TAG_KAT_PUBLIC_KEY
from readers.crypto import Algorithm, SessionKeys
from readers.ec import curve_by_id
from readers.errors import MalformedTLV, ProtocolError
from readers.pace import (
    INS_GENERAL_AUTHENTICATE,
    INS_MSE,
    dynamic_auth,
    dynamic_auth_field,
    zero_ssc,
)
from readers.security_infos import ChipAuthInfo, oid_from_bytes
from readers.sm import SecureMessaging

SW_OK = 0x9000
SW_WRONG_DATA = 0x6A80
SW_REFERENCED_DATA_NOT_FOUND = 0x6A88


def _sw(sw: int) -> ResponseAPDU:
    return ResponseAPDU(b"", sw)


class ChipAuthCard:
    """Answers CA's MSE:Set AT / GENERAL AUTHENTICATE (or MSE:Set KAT).

    On success ``new_session`` holds the card-role SM that the dispatcher installs after
    protecting this response with the old session.
    """

    def __init__(
        self,
        curve_id: int,
        private_key: int,
        rng: Callable[[int], bytes] = os.urandom,
        key_id: int | None = None,
    ) -> None:
        self.curve = curve_by_id(curve_id)
        self._sk = private_key
        self._rng = rng  # CA needs no card randomness; kept for a uniform handler signature
        self._key_id = key_id
        self._pending: Algorithm | None = None
        self.new_session: SecureMessaging | None = None

    @property
    def public_key(self) -> bytes:
        """The static public key that DG14 publishes."""
        return self.curve.encode_point(self.curve.mul_g(self._sk))

    def process(self, cmd: CommandAPDU) -> ResponseAPDU | None:
        """Answer a Chip Authentication command, or return None when it is not CA's."""
        try:
            if cmd.ins == INS_MSE and (cmd.p1, cmd.p2) == MSE_SET_AT_CA:
                return self._set_at(cmd)
            if cmd.ins == INS_MSE and (cmd.p1, cmd.p2) == MSE_SET_KAT:
                objs = tlv.parse_all(cmd.data)
                pk = tlv.find(objs, TAG_KAT_PUBLIC_KEY)
                if pk is None or not self._key_ok(objs):
                    return _sw(SW_WRONG_DATA)
                return self._agree(pk.value, Algorithm.TDES, b"")
            if cmd.ins == INS_GENERAL_AUTHENTICATE and self._pending is not None:
                alg, self._pending = self._pending, None
                return self._agree(dynamic_auth_field(cmd.data, 0x80), alg, dynamic_auth())
        except (MalformedTLV, ProtocolError):
            self._pending = None
            return _sw(SW_WRONG_DATA)
        return None

    def _key_ok(self, objs: list[tlv.TLV]) -> bool:
        ref = tlv.find(objs, 0x84)
        if ref is None or self._key_id is None:
            return True
        return int.from_bytes(ref.value, "big") == self._key_id

    def _set_at(self, cmd: CommandAPDU) -> ResponseAPDU:
        self._pending = None
        objs = tlv.parse_all(cmd.data)
        oid = tlv.find(objs, 0x80)
        if oid is None:
            return _sw(SW_WRONG_DATA)
        try:
            protocol = oid_from_bytes(oid.value)
            info = ChipAuthInfo(protocol)
            ok = info.key_agreement == "ECDH"
        except ValueError:
            ok = False
        if not ok or not self._key_ok(objs):
            return _sw(SW_REFERENCED_DATA_NOT_FOUND)
        self._pending = info.cipher
        return _sw(SW_OK)

    def _agree(self, terminal_pk: bytes, alg: Algorithm, answer: bytes) -> ResponseAPDU:
        point = self.curve.decode_point(terminal_pk)
        keys = SessionKeys.derive(self.curve.encode_x(self.curve.mul(self._sk, point)), alg)
        self.new_session = SecureMessaging(keys, zero_ssc(alg))
        return ResponseAPDU(answer, SW_OK)
