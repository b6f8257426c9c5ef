"""Which regions of a card are compared as text, as pictures or as ink only."""

from __future__ import annotations

from ekyc.cccd.layouts import Model, Side, card_layout
from ekyc.document.compare.results import Box

#: regions compared as pictures (structure correlation), not as ink or text
GRAPHICS = ("portrait", "emblem", "seal", "chip", "fingerprint")
#: regions compared as ink only (no text to read)
INK_ONLY = ("qr", "mrz")


def is_graphic(name: str) -> bool:
    return name.split(".")[0] in GRAPHICS


def is_text_line(name: str) -> bool:
    return not is_graphic(name) and name.split(".")[0] not in INK_ONLY


def card_regions(model: Model, side: Side) -> dict[str, Box]:
    """Regions of a card side for ``compare_documents``: one box per printed value line."""
    lay = card_layout(model, side)
    out: dict[str, Box] = {}
    for f in lay.fields:
        if len(f.lines) == 1:
            out[f.name] = f.lines[0]
        else:
            out.update({f"{f.name}.{i + 1}": b for i, b in enumerate(f.lines)})
    for name in ("portrait", "emblem", "seal", "chip", "qr"):
        box = getattr(lay, name)
        if box is not None:
            out[name] = box
    out.update({f"fingerprint.{i + 1}": b for i, b in enumerate(lay.fingerprints)})
    if lay.mrz is not None:
        out.update({f"mrz.{i + 1}": b for i, b in enumerate(lay.mrz)})
    return out
