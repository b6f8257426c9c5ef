"""What an ATR says about the card's APDU capabilities (ISO/IEC 7816-4 §8.1.1.2.7)."""

from __future__ import annotations


def historical_bytes(atr: bytes) -> bytes:
    """Extract the historical bytes from an ATR (T0's low nibble counts them)."""
    if len(atr) < 2:
        return b""
    t0 = atr[1]
    k = t0 & 0x0F
    pos, y = 2, t0 >> 4
    while True:
        pos += bin(y & 0x0F).count("1")  # TA/TB/TC/TD present bits
        if not y & 0x08:  # no TDi
            break
        if pos - 1 >= len(atr):
            return b""
        y = atr[pos - 1] >> 4
    return atr[pos : pos + k]


def supports_extended_length(atr: bytes) -> bool:
    """True when the card-capabilities data object (tag 7) announces extended Lc/Le."""
    hist = historical_bytes(atr)
    if not hist or hist[0] != 0x80:  # only the compact-TLV category indicator is parsed
        return False
    pos = 1
    while pos < len(hist):
        tag, length = hist[pos] >> 4, hist[pos] & 0x0F
        value = hist[pos + 1 : pos + 1 + length]
        if tag == 0x7 and len(value) >= 3:
            return bool(value[2] & 0x40)
        pos += 1 + length
    return False
