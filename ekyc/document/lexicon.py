"""Words a card's print is made of, and the correction of a word OCR read as no word at all.

A recogniser reading a small print or a photo adds a stroke ("Vũg"), drops or doubles a
letter ("Khhải") or runs two words together ("LaLý"). Such a reading is no Vietnamese word,
so it is compared with the words one edit away in the lexicon (``vie_words.txt``), each
scored by how well the line's own CTC frames support it (``OcrEngine.score_line``): the best
replaces the reading when the frames support it nearly as well as what was read. A misread
that is a real word (Yến read as Yên) is left alone: only the frames could tell those apart.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache, partial
from pathlib import Path
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from ekyc.document.printed import fold

LEXICON = Path(__file__).with_name("vie_words.txt")
#: how much less (natural log) the frames may support a correction than the reading itself:
#: a stroke the recogniser invented costs little, a letter it clearly saw costs much more
MARGIN = 6.0
MAX_CANDIDATES = 24  # per word: the nearest by edit distance, each scored on the frames
_WORD = re.compile(r"[^\W\d_]+")

#: ``OcrEngine.score_line(image, quad, texts)``: each reading's log-likelihood, or None
Scorer = Callable[[Any, Any, list[str]], "list[float] | None"]


#: the English of the cards' bilingual labels and titles, and the unit of their features
CARD_ENGLISH = frozenset(
    "no full name surname middle and given date of birth month year sex nationality place "  # noqa: SIM905
    "origin residence expiry issue personal identification number identity card citizen "
    "socialist republic viet nam independence freedom happiness cm".split()
)


@cache
def words() -> frozenset[str]:
    return frozenset(_listed())


@cache
def _listed() -> tuple[str, ...]:
    """The lexicon in a fixed order, so that ties between alternatives break the same way in
    every process (a set's order changes with string hashing)."""
    lines = LEXICON.read_text(encoding="utf-8").splitlines()
    return tuple(sorted({w for w in lines if w and not w.startswith("#")} | CARD_ENGLISH))


def known(word: str) -> bool:
    return unicodedata.normalize("NFC", word).lower() in words()


def _cased(word: str, like: str) -> str:
    """``word`` in the case of the reading it replaces (a stray capital inside, as in "aMai",
    is a name's: capitalised)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    return word[:1].upper() + word[1:] if any(c.isupper() for c in like) else word


def alternatives(word: str) -> list[str]:
    """Lexicon words one edit from ``word`` (cased like it), and ``word`` cut into two
    lexicon words ("LaLý" → "La Lý")."""
    low = unicodedata.normalize("NFC", word).lower()
    near = process.extract(low, _listed(), scorer=Levenshtein.distance, score_cutoff=1, limit=None)
    # a short word has dozens of neighbours: those keeping its letters (a mark changed, one
    # letter added or lost) come first, as OCR misreads marks far more often than letters
    folded = fold(low)
    near.sort(key=lambda hit: (Levenshtein.distance(fold(hit[0]), folded), hit[2]))
    out = [_cased(w, word) for w, _, _ in near[:MAX_CANDIDATES]]
    for k in range(1, len(word)):
        head, tail = word[:k], word[k:]
        if len(head) > 1 and len(tail) > 1 and known(head) and known(tail):
            out.append(f"{head} {tail}")
    return out


def correct_line(text: str, score: Callable[[list[str]], list[float] | None]) -> str:
    """``text`` with each word that is not in the lexicon replaced by the alternative the
    line's frames support best, when they support it within ``MARGIN`` of the reading.

    All the line's alternatives are scored in one call (one pass of the recogniser), each
    with only its own word changed; the words are then corrected independently."""
    if "<" in text:  # an MRZ line: codes, not words
        return text
    spans: list[tuple[int, int, list[str]]] = []
    for m in _WORD.finditer(text):
        if len(m.group()) >= 2 and not known(m.group()):
            options = alternatives(m.group())
            if options:
                spans.append((m.start(), m.end(), options))
    if not spans:
        return text
    readings = [text] + [text[:a] + o + text[b:] for a, b, options in spans for o in options]
    scores = score(readings)
    if scores is None:
        return text
    out, k = text, 1
    chosen: list[tuple[int, int, str]] = []
    for a, b, options in spans:
        best = max(range(len(options)), key=lambda n: scores[k + n])
        if scores[k + best] >= scores[0] - MARGIN:
            chosen.append((a, b, options[best]))
        k += len(options)
    for a, b, word in reversed(chosen):
        out = out[:a] + word + out[b:]
    return out


def correct_boxes(boxes: Sequence[Any], image: Any, score_line: Scorer | None) -> list[Any]:
    """Text boxes (``models.ocr.base.TextBox``) with their words corrected, when the engine
    can score readings (``score_line(image, quad, texts)``); otherwise as they are."""
    if score_line is None:
        return list(boxes)
    out = []
    for b in boxes:
        text = correct_line(b.text, partial(score_line, image, b.quad))
        out.append(b if text == b.text else replace(b, text=text))
    return out


def build(traineddata: Path, out: Path = LEXICON) -> int:
    """Rebuild the lexicon from a tesseract language file (its word DAWG); the word count."""
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f"{tmp}/vie."
        subprocess.run(["combine_tessdata", "-u", str(traineddata), prefix], check=True)
        listing = Path(tmp, "words.txt")
        subprocess.run(
            ["dawg2wordlist", prefix + "lstm-unicharset", prefix + "lstm-word-dawg", listing],
            check=True,
        )
        entries = {
            unicodedata.normalize("NFC", w.strip()).lower()
            for w in listing.read_text(encoding="utf-8").splitlines()
        }
    kept = sorted(w for w in entries if w.isalpha())
    header = LEXICON.read_text(encoding="utf-8").split("\n")[:3] if LEXICON.exists() else []
    out.write_text("\n".join([*header, *kept]) + "\n", encoding="utf-8")
    return len(kept)


if __name__ == "__main__":
    print(build(Path(sys.argv[1])))
