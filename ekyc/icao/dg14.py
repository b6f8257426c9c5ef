"""DG14 (ICAO 9303-10 §4.7.14): SecurityInfos for Chip Authentication and friends, tag 6E."""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.errors import MalformedData
from ekyc.icao import lds
from readers.security_infos import (
    MalformedSecurityInfos,
    SecurityInfos,
    encode_security_infos,
    parse_security_infos,
)

_FILE = "DG14"
_TAG = 0x6E


@dataclass(frozen=True)
class Dg14:
    """DG14: the decoded SecurityInfos and the DER SET they were read from."""

    infos: SecurityInfos
    content: bytes  # the SET OF SecurityInfo, exactly as on the chip

    def encode(self) -> bytes:
        """The DG14 bytes (the original SET, so hashes over a re-encode still match)."""
        return lds.wrap(_TAG, self.content)

    @classmethod
    def from_infos(cls, infos: SecurityInfos) -> Dg14:
        """A DG14 holding ``infos`` (DER, SET members sorted)."""
        return cls(infos, encode_security_infos(infos))


def parse_dg14(data: bytes) -> Dg14:
    """Parse DG14; anything that is not SecurityInfos raises ``MalformedData(file="DG14")``."""
    outer = lds.unwrap(_FILE, data, _TAG)
    try:
        infos = parse_security_infos(outer.value)
    except MalformedSecurityInfos as e:
        raise MalformedData(_FILE, outer.offset + outer.header_len, str(e)) from None
    return Dg14(infos, outer.value)
