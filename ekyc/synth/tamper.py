"""Tampered copies of rendered cards and pages, with the ground truth of what changed.

The edit is re-rendered in place (same font, size and position over the same background),
so it looks like the original printing; the mask marks every pixel that changed. On cards
only the printed values change: the QR and MRZ keep the truth, as a forger's would.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ekyc.cccd.layouts import Box, card_layout
from ekyc.synth.card import RenderedCard, fit_value, render_card
from ekyc.synth.chip import synthetic_portrait
from ekyc.synth.document import RenderedPage, render_a4

TamperKind = Literal["char", "date", "portrait", "line_removed"]
KINDS: tuple[TamperKind, ...] = ("char", "date", "portrait", "line_removed")
DIFF_THRESHOLD = 8  # a pixel changed when some channel moved by more than this
_TEXT_FIELDS = (
    "id_number",
    "full_name",
    "place_of_origin",
    "place_of_residence",
    "identifying_features",
)
_LOWER = "abcdeghiklmnopqrstuvxyăâđêôơư"


class TamperNotApplicable(ValueError):
    """The document has nothing this kind of tampering can change (no portrait, no date)."""

    code = "tamper_not_applicable"

    def __init__(self, kind: str, why: str) -> None:
        super().__init__(f"cannot apply {kind!r}: {why}")
        self.kind = kind


@dataclass(frozen=True)
class Tampered:
    """The tampered image, the changed pixels and the names of the changed fields."""

    image_bgr: np.ndarray
    mask: np.ndarray  # bool, same height and width as the image
    changed_fields: list[str]  # card: Dg13 field names or "portrait"; page: "line<i>"
    boxes: dict[str, Box]  # where each changed field is printed


def tamper(rendered: RenderedCard | RenderedPage, kind: TamperKind, seed: int = 0) -> Tampered:
    """Apply one edit of ``kind`` to a rendered card side or page, chosen by ``seed``."""
    rng = random.Random(f"tamper-{kind}-{seed}")
    if isinstance(rendered, RenderedPage):
        return _tamper_page(rendered, kind, rng)
    return _tamper_card(rendered, kind, rng, seed)


def change_char(text: str, rng: random.Random) -> str:
    """``text`` with one letter or digit replaced by another of the same kind and case."""
    spots = [i for i, ch in enumerate(text) if ch.isalnum()]
    if not spots:
        raise TamperNotApplicable("char", "no letter or digit to change")
    i = rng.choice(spots)
    ch = text[i]
    pool = "0123456789" if ch.isdigit() else _LOWER.upper() if ch.isupper() else _LOWER
    new = rng.choice([c for c in pool if c != ch])
    return text[:i] + new + text[i + 1 :]


def change_date(text: str, rng: random.Random) -> str:
    """A different valid ``dd/mm/yyyy`` date: day, month or year moved."""
    d = dt.datetime.strptime(text, "%d/%m/%Y").date()
    part = rng.choice(["day", "month", "year"])
    if part == "day":
        new = d + dt.timedelta(days=rng.choice([-1, 1]) * rng.randrange(1, 20))
    elif part == "month":
        month = rng.choice([m for m in range(1, 13) if m != d.month])
        new = d.replace(month=month, day=min(d.day, 28))
    else:
        new = d.replace(
            year=d.year + rng.choice([-1, 1]) * rng.randrange(1, 10), day=min(d.day, 28)
        )
    if new == d:
        new = d + dt.timedelta(days=1)
    return new.strftime("%d/%m/%Y")


def _mask(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return diff > DIFF_THRESHOLD


def _tamper_card(card: RenderedCard, kind: TamperKind, rng: random.Random, seed: int) -> Tampered:
    if card.citizen is None:
        raise TamperNotApplicable(kind, "the card carries no citizen to re-render")
    for _attempt in range(8):  # an edit that renders identically is no edit: pick another
        overrides = dict(card.overrides)
        portrait = card.portrait_bgr
        if kind == "portrait":
            if card.portrait_bgr is None:
                raise TamperNotApplicable(kind, f"{card.model} {card.side} has no portrait")
            swapped = synthetic_portrait(card.seed + 1 + rng.randrange(1, 10**6))
            changed = ["portrait"]
        else:
            swapped = None
            name = rng.choice(_card_candidates(card, kind))
            overrides[name] = _edit_value(card, name, kind, rng)
            changed = [name]
        out = render_card(
            card.citizen,
            card.side,
            card.model,
            card.seed,
            portrait=swapped if swapped is not None else portrait,
            overrides=overrides,
        )
        mask = _mask(card.image_bgr, out.image_bgr)
        if mask.any():
            return Tampered(out.image_bgr, mask, changed, {n: card.regions[n] for n in changed})
    raise TamperNotApplicable(kind, f"no visible edit found for seed {seed}")


def _edit_value(card: RenderedCard, name: str, kind: TamperKind, rng: random.Random) -> str:
    value = card.fields[name]
    if kind == "char":
        return change_char(value, rng)
    if kind == "date":
        return change_date(value, rng)
    if f"{name}.2" in card.regions and rng.random() < 0.5:
        return _first_line(card, name)  # white out the second line only
    return ""


def _card_candidates(card: RenderedCard, kind: TamperKind) -> list[str]:
    if kind == "date":
        names = [n for n, v in card.fields.items() if n.startswith("date_") and v]
    elif kind == "char":
        names = [n for n in _TEXT_FIELDS if card.fields.get(n)]
    else:
        names = [n for n, v in card.fields.items() if v]
    if not names:
        raise TamperNotApplicable(kind, f"{card.model} {card.side} has no field for it")
    return names


def _first_line(card: RenderedCard, name: str) -> str:
    """The part of a wrapped value printed on its first line."""
    lines, _size = fit_value(card_layout(card.model, card.side).field(name), card.fields[name])
    return lines[0]


def _tamper_page(page: RenderedPage, kind: TamperKind, rng: random.Random) -> Tampered:
    if kind == "portrait":
        raise TamperNotApplicable(kind, f"a {page.kind} page has no portrait")
    wanted = ("date",) if kind == "date" else ("value", "date")
    idx = [i for i, k in enumerate(page.line_kinds) if k in wanted and page.lines[i][0]]
    if not idx:
        raise TamperNotApplicable(kind, f"no line for it on a {page.kind} page")
    i = rng.choice(idx)
    text = page.lines[i][0]
    head, sep, value = text.rpartition(": ")
    if kind == "char":
        new = head + sep + change_char(value, rng) if sep else change_char(text, rng)
    elif kind == "date":
        new = _change_any_date(text, rng)
    else:
        new = ""
    overrides = dict(page.overrides)
    overrides[i] = new
    out = render_a4(page.seed, page.kind, overrides=overrides)
    name = f"line{i}"
    return Tampered(
        out.image_bgr, _mask(page.image_bgr, out.image_bgr), [name], {name: page.lines[i][1]}
    )


def _change_any_date(text: str, rng: random.Random) -> str:
    """Change the dd/mm/yyyy date in a line, or one digit of a written-out date."""
    m = re.search(r"\d{2}/\d{2}/\d{4}", text)
    if m:
        return text[: m.start()] + change_date(m.group(), rng) + text[m.end() :]
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    i = rng.choice(digits)
    return text[:i] + rng.choice([c for c in "0123456789" if c != text[i]]) + text[i + 1 :]
