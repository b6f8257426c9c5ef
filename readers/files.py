"""Where the eMRTD files live on the chip: short file identifiers and file ids.

ICAO 9303-10 §4.6: the LDS application's EFs have FID 01xx and SFI xx; EF.CardAccess
sits in the master file.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChipFile:
    name: str
    sfi: int
    fid: int
    in_master_file: bool = False


CARD_ACCESS = ChipFile("EF.CardAccess", 0x1C, 0x011C, in_master_file=True)
COM = ChipFile("EF.COM", 0x1E, 0x011E)
SOD = ChipFile("EF.SOD", 0x1D, 0x011D)
DATA_GROUPS = {n: ChipFile(f"DG{n}", n, 0x0100 | n) for n in range(1, 17)}
BY_NAME = {f.name: f for f in (CARD_ACCESS, COM, SOD, *DATA_GROUPS.values())}


def chip_file(name: str) -> ChipFile:
    """Look a file up by name (``EF.SOD``, ``DG2`` …)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown chip file {name!r}") from None
