"""Reading an eMRTD chip end to end: access control (PACE, falling back to BAC),
Chip Authentication, resumable file reads, Active Authentication.

The reader returns raw files and the AA transcript; it decides nothing about
authenticity — the server does (``ekyc.icao``). A dropped link raises
``CardRemoved`` and the same ``ChipReader`` continues where it stopped when
``read`` is called again with a new transport.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from readers.access_key import AccessKey, MrzKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.bac import perform_bac
from readers.chip_auth import perform_chip_auth
from readers.errors import (
    AccessDenied,
    AccessKeyNotApplicable,
    CardError,
    ChipAuthenticationFailed,
    FileNotFoundOnChip,
    MalformedTLV,
    ProtocolError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
)
from readers.files import CARD_ACCESS, COM, DATA_GROUPS, SOD, ChipFile
from readers.pace import perform_pace
from readers.security_infos import parse_security_infos
from readers.sm import SecureChannel
from readers.tlv import encode, expect, find, parse_all, total_length
from readers.transport import Transport

log = logging.getLogger(__name__)

LDS_AID = bytes.fromhex("A0000002471001")
#: LDS tags of the data groups as EF.COM lists them (ICAO 9303-10 table 34)
DG_BY_TAG = {0x61: 1, 0x75: 2, 0x63: 3, 0x76: 4, **{0x60 + n: n for n in range(5, 17)}}
#: DG3/DG4 (fingerprints, iris) need Extended Access Control, which a CCCD reader lacks
SKIPPED_DGS = {3, 4}
SHORT_CHUNK = 0xDF  # 223 plain bytes still fit a 256-byte protected response
EXTENDED_CHUNK = 0x1000
_MAX_B0_OFFSET = 0x7FFF


def _ok(resp: ResponseAPDU, what: str) -> bytes:
    if resp.sw == 0x9000 or (resp.sw == 0x6282 and resp.data):
        return resp.data
    if resp.sw == 0x6A82:
        raise FileNotFoundOnChip(resp.sw, what)
    if resp.sw == 0x6982:
        raise SecurityStatusNotSatisfied(resp.sw, what)
    raise CardError(resp.sw, what)


@dataclass
class ChipReadResult:
    """Raw chip files and the authentication transcript, for the server to verify."""

    files: dict[str, bytes]
    access_protocol: str  # "PACE" or "BAC"
    access_key: str  # "CAN" or "MRZ"
    pace_fallback: str | None = None  # why PACE was not used, when BAC was
    chip_auth: Any = None  # readers.chip_auth.ChipAuthResult, when DG14 offered it
    aa_nonce: bytes | None = None
    aa_signature: bytes | None = None
    reads: int = 1  # how many link sessions it took (>1 after a resume)


@dataclass
class ChipReader:
    """Reads one chip; keeps completed files and partial progress across link drops."""

    key: AccessKey
    rng: Callable[[int], bytes] = os.urandom
    chip_authentication: bool = True
    chunk: int | None = None  # bytes per READ BINARY; default depends on extended length
    on_progress: Callable[[str, int, int], None] | None = None  # (file, bytes read, total)
    complete: dict[str, bytes] = field(default_factory=dict)
    partial: dict[str, bytearray] = field(default_factory=dict)
    attempts: int = 0

    def read(self, transport: Transport, aa_nonce: bytes | None = None) -> ChipReadResult:
        """Authenticate, read every readable file EF.COM lists, then run AA over ``aa_nonce``."""
        self.attempts += 1
        card_access = self._read_card_access(transport)
        channel, protocol, fallback = self._authenticate(transport, card_access)
        self._select_lds(channel)
        chunk = self.chunk or (EXTENDED_CHUNK if transport.extended_length else SHORT_CHUNK)

        com = self._read_file(channel, COM, chunk)
        wanted = [DATA_GROUPS[n] for n in self._listed_dgs(com) if n not in SKIPPED_DGS]
        ca_result = None
        dg14 = DATA_GROUPS[14]
        if self.chip_authentication and dg14 in wanted:
            infos = parse_security_infos(expect(self._read_file(channel, dg14, chunk), 0x6E).value)
            if infos.chip_auth_keys:
                ca_result = perform_chip_auth(channel, infos, rng=self.rng)
        try:
            for f in (*wanted, SOD):
                self._read_file(channel, f, chunk)
        except SecureMessagingError as e:
            if ca_result is None:
                raise
            raise ChipAuthenticationFailed(
                f"secure messaging failed after Chip Authentication (cloned chip?): {e}"
            ) from e

        signature = None
        if aa_nonce is not None and DATA_GROUPS[15] in wanted:
            signature = self._active_authenticate(channel, aa_nonce)
        files = dict(self.complete)
        if card_access is not None:
            files[CARD_ACCESS.name] = card_access
        return ChipReadResult(
            files=files,
            access_protocol=protocol,
            access_key=self.key.label if protocol == "PACE" else "MRZ",
            pace_fallback=fallback,
            chip_auth=ca_result,
            aa_nonce=aa_nonce if signature is not None else None,
            aa_signature=signature,
            reads=self.attempts,
        )

    # -- access control --------------------------------------------------------
    def _read_card_access(self, transport: Transport) -> bytes | None:
        """EF.CardAccess is readable without a key; its absence (6A82) means BAC only."""
        transport.transmit(CommandAPDU(0x00, 0xA4, 0x00, 0x0C, b"\x3f\x00"))
        try:
            return self._read_file(transport, CARD_ACCESS, SHORT_CHUNK)
        except (FileNotFoundOnChip, ProtocolError) as e:
            log.info("no usable EF.CardAccess (%s): BAC only", e)
            self.partial.pop(CARD_ACCESS.name, None)
            return None

    def _authenticate(
        self, transport: Transport, card_access: bytes | None
    ) -> tuple[SecureChannel, str, str | None]:
        fallback = "EF.CardAccess is absent or unreadable" if card_access is None else None
        if card_access is not None:
            try:
                infos = parse_security_infos(card_access)
                if infos.pace:
                    return perform_pace(transport, self.key, infos, rng=self.rng), "PACE", None
                fallback = "EF.CardAccess offers no PACE parameters"
            except AccessDenied:
                raise  # the key is wrong: BAC with it would only count another failure
            except (ProtocolError, CardError, MalformedTLV) as e:
                fallback = f"PACE failed: {e}"
                log.warning("PACE failed, falling back to BAC: %s", e)
        if not isinstance(self.key, MrzKey):
            raise AccessKeyNotApplicable(
                f"this chip needs BAC ({fallback}), which takes the MRZ key, not a {self.key.label}"
            )
        return perform_bac(transport, self.key, rng=self.rng), "BAC", fallback

    def _select_lds(self, channel: SecureChannel) -> None:
        _ok(channel.transmit(CommandAPDU(0x00, 0xA4, 0x04, 0x0C, LDS_AID)), "SELECT LDS")

    # -- files -----------------------------------------------------------------
    def _listed_dgs(self, com: bytes) -> list[int]:
        try:
            body = parse_all(expect(com, 0x60).value)
            tags = find(body, 0x5C)
        except MalformedTLV as e:
            raise ProtocolError(f"EF.COM is malformed: {e}") from e
        if tags is None:
            raise ProtocolError("EF.COM has no tag list (5C)")
        return [DG_BY_TAG[t] for t in tags.value if t in DG_BY_TAG]

    def _read_file(self, channel: Transport, f: ChipFile, chunk: int) -> bytes:
        """Read a whole file, resuming from what an earlier link session already read."""
        if f.name in self.complete:
            return self.complete[f.name]
        buf = self.partial.setdefault(f.name, bytearray())
        if len(buf) <= 0xFF:  # READ BINARY with SFI: P2 carries the offset (0..255)
            cmd = CommandAPDU(0x00, 0xB0, 0x80 | f.sfi, len(buf), le=chunk)
            buf += _ok(channel.transmit(cmd), f"READ {f.name}")
        else:  # resuming further in: select by file id, then read at the offset
            select = CommandAPDU(0x00, 0xA4, 0x02, 0x0C, f.fid.to_bytes(2, "big"))
            _ok(channel.transmit(select), f"SELECT {f.name}")
        try:
            total = total_length(bytes(buf[:8]))
        except MalformedTLV as e:
            raise ProtocolError(f"{f.name} does not start with a TLV header: {e}") from e
        if self.on_progress is not None:  # every file, also those one READ BINARY returns
            self.on_progress(f.name, min(len(buf), total), total)
        while len(buf) < total:
            data = self._read_chunk(channel, f, len(buf), min(chunk, total - len(buf)))
            if not data:
                raise ProtocolError(f"{f.name} ended at {len(buf)} of {total} bytes")
            buf += data
            if self.on_progress is not None:
                self.on_progress(f.name, len(buf), total)
        content = bytes(buf[:total])
        self.complete[f.name] = content
        del self.partial[f.name]
        return content

    @staticmethod
    def _read_chunk(channel: Transport, f: ChipFile, offset: int, want: int) -> bytes:
        """READ BINARY at ``offset``; past 32767 the odd INS B1 carries it in DO54."""
        if offset <= _MAX_B0_OFFSET:
            cmd = CommandAPDU(0x00, 0xB0, offset >> 8, offset & 0xFF, le=want)
            return _ok(channel.transmit(cmd), f"READ {f.name}")
        do54 = encode(0x54, offset.to_bytes(3, "big"))
        cmd = CommandAPDU(0x00, 0xB1, 0x00, 0x00, do54, le=want + 4)  # + DO53 header
        answer = _ok(channel.transmit(cmd), f"READ {f.name}")
        try:
            return expect(answer, 0x53).value
        except MalformedTLV as e:
            raise ProtocolError(f"READ BINARY (B1) of {f.name} answered no DO53: {e}") from e

    # -- active authentication ----------------------------------------------------
    def _active_authenticate(self, channel: Transport, nonce: bytes) -> bytes:
        if len(nonce) != 8:
            raise ValueError("the Active Authentication nonce must be 8 bytes")
        le = 65536 if channel.extended_length else 256
        resp = channel.transmit(CommandAPDU(0x00, 0x88, 0x00, 0x00, nonce, le=le))
        return _ok(resp, "INTERNAL AUTHENTICATE")
