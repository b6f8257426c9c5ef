"""EF.COM (ICAO 9303-10 §4.6.1): LDS version, Unicode version and the list of data groups."""

from __future__ import annotations

from dataclasses import dataclass

from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao import lds

_FILE = "EF.COM"
_TAG = 0x60
_LDS_VERSION = 0x5F01
_UNICODE_VERSION = 0x5F36
_TAG_LIST = 0x5C


@dataclass(frozen=True)
class Com:
    """EF.COM: ``lds_version`` is ``"0107"`` for LDS 1.7, ``unicode_version`` ``"040000"``."""

    tags: tuple[int, ...]
    lds_version: str = "0108"
    unicode_version: str = "040000"

    @property
    def data_groups(self) -> tuple[int, ...]:
        """The data-group numbers listed, in order (tags this service does not know are skipped)."""
        out = []
        for tag in self.tags:
            try:
                dg = lds.by_tag(tag).dg
            except UnsupportedData:
                continue
            if dg is not None:
                out.append(dg)
        return tuple(out)

    @classmethod
    def for_data_groups(cls, numbers: list[int] | tuple[int, ...], **kw: str) -> Com:
        """An EF.COM listing these data-group numbers."""
        return cls(tags=tuple(lds.by_dg(n).tag or 0 for n in numbers), **kw)

    def encode(self) -> bytes:
        """The EF.COM bytes."""
        return lds.wrap(
            _TAG,
            lds.wrap(_LDS_VERSION, self.lds_version.encode("ascii"))
            + lds.wrap(_UNICODE_VERSION, self.unicode_version.encode("ascii"))
            + lds.wrap(_TAG_LIST, bytes(self.tags)),
        )


def _digits(file_item: bytes, size: int, offset: int, what: str) -> str:
    text = file_item.decode("ascii", errors="replace")
    if len(file_item) != size or not text.isdigit():
        raise MalformedData(_FILE, offset, f"{what} must be {size} ASCII digits")
    return text


def parse_com(data: bytes) -> Com:
    """Parse EF.COM."""
    outer = lds.unwrap(_FILE, data, _TAG)
    items = lds.children(_FILE, outer)
    ver = lds.require(_FILE, items, _LDS_VERSION, outer.offset)
    uni = lds.require(_FILE, items, _UNICODE_VERSION, outer.offset)
    tags = lds.require(_FILE, items, _TAG_LIST, outer.offset)
    return Com(
        tags=tuple(tags.value),
        lds_version=_digits(ver.value, 4, ver.offset, "LDS version"),
        unicode_version=_digits(uni.value, 6, uni.offset, "Unicode version"),
    )
