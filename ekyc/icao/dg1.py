"""DG1 (ICAO 9303-10 §4.7.1): the MRZ, tag 61 → 5F1F."""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.errors import MalformedData
from ekyc.icao import lds
from ekyc.icao.mrz import Mrz, parse_mrz

_FILE = "DG1"
_TAG = 0x61
_MRZ_TAG = 0x5F1F


@dataclass(frozen=True)
class Dg1:
    """DG1: the chip's copy of the MRZ."""

    mrz: Mrz

    def encode(self) -> bytes:
        """The DG1 bytes."""
        return lds.wrap(_TAG, lds.wrap(_MRZ_TAG, self.mrz.encode()))


def parse_dg1(data: bytes) -> Dg1:
    """Parse DG1; structure faults raise ``MalformedData(file="DG1")``."""
    outer = lds.unwrap(_FILE, data, _TAG)
    item = lds.require(_FILE, lds.children(_FILE, outer), _MRZ_TAG, outer.offset)
    try:
        return Dg1(parse_mrz(item.value))
    except MalformedData as e:
        raise MalformedData(_FILE, item.offset + item.header_len + e.offset, e.reason) from None
