"""The card half of PACE (ECDH Generic Mapping) for the virtual card."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from readers import tlv
from readers.access_key import AccessKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.crypto import SessionKeys, ct_equal
from readers.ec import Curve, curve_by_id
from readers.errors import MalformedTLV, ProtocolError
from readers.pace import (
    CLA_CHAIN,
    INS_GENERAL_AUTHENTICATE,
    INS_MSE,
    MSE_SET_AT_PACE,
    auth_token,
    dynamic_auth,
    dynamic_auth_field,
    encrypt_nonce,
    map_generator,
    password_key,
    supports,
    zero_ssc,
)
from readers.security_infos import PaceInfo, SecurityInfos
from readers.sm import SecureMessaging

SW_OK = 0x9000
SW_AUTH_FAILED = 0x6300
SW_WRONG_DATA = 0x6A80
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_REFERENCED_DATA_NOT_FOUND = 0x6A88


def _sw(sw: int) -> ResponseAPDU:
    return ResponseAPDU(b"", sw)


@dataclass
class _Run:
    """State of one PACE run between MSE:Set AT and the token step."""

    info: PaceInfo
    password: AccessKey
    curve: Curve
    step: int = 1
    s: bytes = b""
    map_sk: int = 0
    mapped: Curve | None = None
    eph_pk: bytes = b""
    terminal_pk: bytes = b""
    keys: SessionKeys | None = None


class PaceCard:
    """Answers PACE's MSE:Set AT and GENERAL AUTHENTICATE; on success ``session`` is card SM."""

    def __init__(
        self,
        passwords: Sequence[AccessKey],
        infos: SecurityInfos | Sequence[PaceInfo],
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._passwords = {p.pace_password_ref: p for p in passwords}
        pace = infos.pace if isinstance(infos, SecurityInfos) else list(infos)
        self._infos = [i for i in pace if supports(i)]
        self._rng = rng
        self._run: _Run | None = None
        self.session: SecureMessaging | None = None
        self.failures = 0

    def reset(self) -> None:
        """Forget a PACE run in progress (power off, or another protocol started)."""
        self._run = None

    def process(self, cmd: CommandAPDU) -> ResponseAPDU | None:
        """Answer a PACE command, or return None when the command is not PACE's."""
        if cmd.ins == INS_MSE and (cmd.p1, cmd.p2) == MSE_SET_AT_PACE:
            return self._set_at(cmd)
        if cmd.ins == INS_GENERAL_AUTHENTICATE and self._run is not None:
            try:
                return self._general_authenticate(self._run, cmd)
            except ProtocolError:  # bad TLV or a point off the curve: abort the run
                self._run = None
                return _sw(SW_WRONG_DATA)
        return None

    def _set_at(self, cmd: CommandAPDU) -> ResponseAPDU:
        self._run = None
        try:
            objs = tlv.parse_all(cmd.data)
        except MalformedTLV:
            return _sw(SW_WRONG_DATA)
        oid, ref, pid = (tlv.find(objs, t) for t in (0x80, 0x83, 0x84))
        if oid is None or ref is None or len(ref.value) != 1:
            return _sw(SW_WRONG_DATA)
        candidates = [i for i in self._infos if i.oid_bytes == oid.value]
        if pid is not None:
            candidates = [
                i for i in candidates if i.parameter_id == int.from_bytes(pid.value, "big")
            ]
        elif len({i.parameter_id for i in self._infos}) > 1:
            # Like real chips offering several curves: without 84 the choice is ambiguous.
            return _sw(SW_REFERENCED_DATA_NOT_FOUND)
        password = self._passwords.get(ref.value[0])
        if not candidates or password is None:
            return _sw(SW_REFERENCED_DATA_NOT_FOUND)
        info = candidates[0]
        self._run = _Run(info, password, curve_by_id(info.parameter_id or 0))
        return _sw(SW_OK)

    def _general_authenticate(self, run: _Run, cmd: CommandAPDU) -> ResponseAPDU:
        last = run.step == 4
        if cmd.cla & CLA_CHAIN != (0 if last else CLA_CHAIN) or cmd.p1 or cmd.p2:
            self._run = None
            return _sw(SW_CONDITIONS_NOT_SATISFIED)
        alg, curve = run.info.cipher, run.curve
        if run.step == 1:
            if cmd.data != dynamic_auth():
                raise ProtocolError("step 1 expects empty dynamic authentication data")
            run.s = self._rng(alg.block_size)
            z = encrypt_nonce(password_key(run.password, alg), alg, run.s)
            run.step = 2
            return ResponseAPDU(dynamic_auth(0x80, z), SW_OK)
        if run.step == 2:
            terminal_map = curve.decode_point(dynamic_auth_field(cmd.data, 0x81))
            run.map_sk = curve.random_scalar(self._rng)
            map_pk = curve.encode_point(curve.mul_g(run.map_sk))
            run.mapped = map_generator(curve, run.s, curve.mul(run.map_sk, terminal_map))
            run.step = 3
            return ResponseAPDU(dynamic_auth(0x82, map_pk), SW_OK)
        mapped = run.mapped
        assert mapped is not None
        if run.step == 3:
            run.terminal_pk = dynamic_auth_field(cmd.data, 0x83)
            terminal_eph = mapped.decode_point(run.terminal_pk)
            eph_sk = mapped.random_scalar(self._rng)
            run.eph_pk = mapped.encode_point(mapped.mul_g(eph_sk))
            if ct_equal(run.eph_pk, run.terminal_pk):
                raise ProtocolError("the terminal echoed the chip's ephemeral public key")
            run.keys = SessionKeys.derive(mapped.encode_x(mapped.mul(eph_sk, terminal_eph)), alg)
            run.step = 4
            return ResponseAPDU(dynamic_auth(0x84, run.eph_pk), SW_OK)
        keys = run.keys
        assert keys is not None
        self._run = None
        token = dynamic_auth_field(cmd.data, 0x85)
        if not ct_equal(token, auth_token(keys, run.info.oid_bytes, run.eph_pk)):
            self.failures += 1
            return _sw(SW_AUTH_FAILED)
        self.session = SecureMessaging(keys, zero_ssc(alg))
        chip_token = auth_token(keys, run.info.oid_bytes, run.terminal_pk)
        return ResponseAPDU(dynamic_auth(0x86, chip_token), SW_OK)
