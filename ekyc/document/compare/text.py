"""Comparing two readings of a line: normalised, untoned, digits-only changes."""

from __future__ import annotations

import unicodedata

from ekyc.document import normalise


def same_text(a: str, b: str) -> bool:
    """Equal letters and digits after NFC and case folding (OCR's spaces and stray
    punctuation vary; a forger's edit changes a letter or a digit)."""
    return alnum(a) == alnum(b)


def softness_explains(original: str, copy: str, softened: str) -> bool:
    """Whether the softened original's reading accounts for how the copy reads differently.

    Either it reads exactly as the copy does, or, word by word, every word whose letters the
    copy reads differently the softened original misreads too, into the same letters; words
    that differ in diacritics only are blur's commonest noise and pass beside them (a line
    differing in marks alone is not explained this way: it has its own, higher ink bar). A
    word the softened original still reads right is legible at the copy's blur, so a
    different reading of it stays unexplained."""
    if same_text(softened, copy):
        return True
    o, c, t = ([a for a in map(alnum, text.split()) if a] for text in (original, copy, softened))
    if not len(o) == len(c) == len(t):
        return False
    misread = [
        (o_w, c_w, t_w)
        for o_w, c_w, t_w in zip(o, c, t, strict=True)
        if unmarked(o_w) != unmarked(c_w)
    ]
    return bool(misread) and all(
        t_w != o_w and unmarked(t_w) == unmarked(c_w) for o_w, c_w, t_w in misread
    )


def digits_only_change(a: str, b: str) -> bool:
    """The same letters, the same number of digits, and different digits (a changed number)."""
    x, y = alnum(a), alnum(b)
    dx = "".join(ch for ch in x if ch.isdigit())
    dy = "".join(ch for ch in y if ch.isdigit())
    same_letters = [ch for ch in x if not ch.isdigit()] == [ch for ch in y if not ch.isdigit()]
    return same_letters and bool(dx) and len(dx) == len(dy) and dx != dy


#: Vietnamese tone marks (grave, acute, hook above, tilde, dot below), as combining characters
_TONE_MARKS = frozenset("\u0300\u0301\u0309\u0303\u0323")


def untoned(value: str) -> str:
    """Letters and digits with the tone marks dropped (breve, circumflex and horn kept)."""
    nfd = unicodedata.normalize("NFD", alnum(value))
    return unicodedata.normalize("NFC", "".join(ch for ch in nfd if ch not in _TONE_MARKS))


def unmarked(value: str) -> str:
    """Letters and digits with every diacritic dropped (đ read as d): the base letters."""
    nfd = unicodedata.normalize("NFD", alnum(value).replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in nfd if not unicodedata.combining(ch))


def alnum(value: str) -> str:
    return "".join(ch for ch in normalise.text(value) if ch.isalnum())
