"""A virtual CCCD chip: an ICAO 9303 LDS application with BAC, PACE, secure
messaging, access conditions, Active and Chip Authentication, and fault modes.

It works on raw file bytes (built by ``ekyc.synth.chip``) so the card side
never depends on the domain code it is used to test.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from readers.access_key import Can, MrzKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.errors import SecureMessagingError
from readers.sm import SecureMessaging
from readers.tlv import encode, parse_all
from readers.vcard.aa_card import aa_sign
from readers.vcard.bac_card import BacCard
from readers.vcard.chip_auth_card import ChipAuthCard
from readers.vcard.pace_card import PaceCard

LDS_AID = bytes.fromhex("A0000002471001")
FID_CARD_ACCESS = 0x011C
# T=0/T=1 ATRs whose historical bytes are 80 (compact TLV) 73 (card capabilities):
# third byte 0x40 announces extended Lc/Le, 0x80 command chaining only. Last byte: TCK.
ATR_EXTENDED = bytes.fromhex("3B8580018073C0014076")
ATR_SHORT = bytes.fromhex("3B8580018073C00180B6")

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY = 0x6982
SW_NO_EF = 0x6986
SW_SM_MISSING = 0x6987
SW_SM_WRONG = 0x6988
SW_BAD_DATA = 0x6A80
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6B00
SW_INS = 0x6D00
SW_CLA = 0x6E00


@dataclass
class CardProfile:
    """What one chip holds: files by FID, access keys and private keys."""

    files: dict[int, bytes]
    mrz_key: MrzKey
    can: Can | None = None
    security_infos: Any = None  # readers.security_infos.SecurityInfos for PACE, None = BAC only
    aa_key: Any = None  # cryptography private key (RSA or EC) matching DG15
    ca_key: tuple[int, int] | None = None  # (ICAO curve id, private scalar) matching DG14
    extended_length: bool = True
    max_response: int = 65536


@dataclass
class Faults:
    """Ways the card misbehaves, for tests and demos."""

    remove_after_apdus: int | None = None  # leave the field when this APDU arrives
    counter: int = field(default=0, init=False)


def _sw(sw: int) -> ResponseAPDU:
    return ResponseAPDU(b"", sw)


class VirtualCard:
    """Answers raw APDUs like a CCCD chip (``process``); powered by ``VpcdLink``."""

    def __init__(
        self,
        profile: CardProfile,
        faults: Faults | None = None,
        rng: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self.profile = profile
        self.faults = faults or Faults()
        self.rng = rng
        self.bac = BacCard(profile.mrz_key, rng=rng)
        self.pace: PaceCard | None = None
        if profile.security_infos is not None:
            passwords: list[MrzKey | Can] = [profile.mrz_key]
            if profile.can is not None:
                passwords.append(profile.can)
            self.pace = PaceCard(passwords, profile.security_infos, rng=rng)
        self.ca = ChipAuthCard(*profile.ca_key, rng=rng) if profile.ca_key else None
        self.apdus = 0
        self.power_on()

    # -- power ---------------------------------------------------------------
    def atr(self) -> bytes:
        return ATR_EXTENDED if self.profile.extended_length else ATR_SHORT

    def power_on(self) -> None:
        self.session: SecureMessaging | None = None
        self.in_lds = False
        self.current_ef: int | None = None

    def power_off(self) -> None:
        self.power_on()

    def should_leave(self) -> bool:
        limit = self.faults.remove_after_apdus
        return limit is not None and self.apdus >= limit

    # -- APDU processing -----------------------------------------------------
    def process(self, raw: bytes) -> bytes:
        self.apdus += 1
        try:
            cmd = CommandAPDU.decode(raw)
        except ValueError:
            return _sw(SW_WRONG_LENGTH).encode()
        if cmd.cla & 0x0C == 0x0C:
            return self._process_protected(cmd).encode()
        # A plain command ends any secure-messaging session (ICAO 9303-11 §9.8).
        self.session = None
        return self._dispatch(cmd).encode()

    def _process_protected(self, cmd: CommandAPDU) -> ResponseAPDU:
        session = self.session
        if session is None:
            return _sw(SW_SM_MISSING)
        try:
            plain = session.unprotect_command(cmd)
        except SecureMessagingError:
            self.session = None
            return _sw(SW_SM_WRONG)
        resp = session.protect_response(self._dispatch(plain))
        if self.ca is not None and self.ca.new_session is not None:
            self.session, self.ca.new_session = self.ca.new_session, None
        return resp

    def _dispatch(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.cla & 0xF3 not in (0x00, 0x10):  # plain or chained, SM bits already removed
            return _sw(SW_CLA)
        if cmd.ins == 0xA4:
            return self._select(cmd)
        if cmd.ins in (0xB0, 0xB1):
            return self._read_binary(cmd)
        if cmd.ins == 0x88:
            return self._internal_authenticate(cmd)
        for handler in (self.pace, self.bac):
            if handler is None:
                continue
            resp = handler.process(cmd)
            if resp is not None:
                if handler.session is not None:  # access control succeeded: SM starts
                    self.session, handler.session = handler.session, None
                return resp
        if self.ca is not None and self.session is not None:
            resp = self.ca.process(cmd)  # its new session is installed after protection
            if resp is not None:
                return resp
        return _sw(SW_INS)

    # -- files ---------------------------------------------------------------
    def _readable(self, fid: int) -> bool:
        if fid == FID_CARD_ACCESS:
            return True
        return self.in_lds and self.session is not None

    def _select(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.p1 == 0x04:  # by AID
            if cmd.data != LDS_AID:
                return _sw(SW_NOT_FOUND)
            self.in_lds, self.current_ef = True, None
            return _sw(SW_OK)
        if cmd.p1 == 0x00 and cmd.data in (b"", b"\x3f\x00"):
            self.in_lds, self.current_ef = False, None
            return _sw(SW_OK)
        if cmd.p1 in (0x00, 0x02) and len(cmd.data) == 2:
            fid = int.from_bytes(cmd.data, "big")
            if fid not in self.profile.files:
                return _sw(SW_NOT_FOUND)
            if not self._readable(fid):
                return _sw(SW_SECURITY)
            self.current_ef = fid
            return _sw(SW_OK)
        return _sw(SW_WRONG_P1P2)

    def _fid_for_sfi(self, sfi: int) -> int | None:
        fid = 0x0100 | sfi
        return fid if fid in self.profile.files else None

    def _read_binary(self, cmd: CommandAPDU) -> ResponseAPDU:
        if cmd.ins == 0xB0 and cmd.p1 & 0x80:
            fid = self._fid_for_sfi(cmd.p1 & 0x1F)
            if fid is None:
                return _sw(SW_NOT_FOUND)
            if not self._readable(fid):
                return _sw(SW_SECURITY)
            self.current_ef, offset = fid, cmd.p2
        else:
            if self.current_ef is None:
                return _sw(SW_NO_EF)
            if not self._readable(self.current_ef):
                return _sw(SW_SECURITY)
            if cmd.ins == 0xB0:
                offset = (cmd.p1 << 8) | cmd.p2
            else:  # odd INS: offset in DO54
                dos = {t.tag: t.value for t in parse_all(cmd.data)} if cmd.data else {}
                if 0x54 not in dos:
                    return _sw(SW_BAD_DATA)
                offset = int.from_bytes(dos[0x54], "big")
        content = self.profile.files[self.current_ef]
        if offset > len(content):
            return _sw(SW_WRONG_P1P2)
        want = cmd.le if cmd.le is not None else 256
        limit = self.profile.max_response if self.profile.extended_length else 256
        chunk = content[offset : offset + min(want, limit)]
        data = encode(0x53, chunk) if cmd.ins == 0xB1 else chunk
        return ResponseAPDU(data, SW_OK)

    def _internal_authenticate(self, cmd: CommandAPDU) -> ResponseAPDU:
        if self.profile.aa_key is None:
            return _sw(SW_INS)
        if self.session is None:
            return _sw(SW_SECURITY)
        if len(cmd.data) != 8:
            return _sw(SW_BAD_DATA)
        return ResponseAPDU(aa_sign(self.profile.aa_key, cmd.data, rng=self.rng), SW_OK)
