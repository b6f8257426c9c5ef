"""What a comparison returns: verdicts, located differences, per-line evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

Verdict = Literal["MATCH", "MISMATCH", "UNREADABLE"]
Reason = Literal[
    "text_changed",
    "content_removed",
    "content_added",
    "portrait_changed",
    "page_count",
    "different_document",
    "graphic_changed",
]


Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Difference:
    """One located difference: where (page, region name, box), why, and the texts if read."""

    page: int
    region: str
    box: Box
    reason: Reason
    original_text: str | None = None
    copy_text: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class LineCheck:
    """The evidence gathered on one text line (kept for audit and threshold tuning)."""

    region: str
    box: Box
    original_text: str | None
    copy_text: str | None
    ink_chars: float  # changed ink inside the line, in characters
    stable: bool | None  # differing readings that persist when re-read (None: same reading)
    glare: float  # share of the line under glare on the copy
    flagged: bool
    original_confidence: float | None = None  # the OCR's confidence in each reading
    copy_confidence: float | None = None
    sharpness: float = 1.0  # the copy line's sharpness relative to the original's
    unreadable: bool = False  # too blurred, glared or faint on the copy to judge its text
    clear_loss: float = 0.0  # share of the original's ink clear of glare missing on the copy
    explained: bool | None = None  # differing readings the original blurred like the copy gives


@dataclass(frozen=True)
class PageResult:
    """The verdict of one page pair, with the heatmap (BGR, original page size)."""

    page: int
    verdict: Verdict
    differences: list[Difference]
    heatmap: np.ndarray
    why: str | None = None  # reason code when UNREADABLE
    homography: np.ndarray | None = None  # copy → original page pixels
    lines: list[LineCheck] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)  # graphic and page-ink evidence


@dataclass(frozen=True)
class CopyVerdict:
    """The overall verdict, every difference, and a heatmap per page."""

    verdict: Verdict
    differences: list[Difference]
    pages: list[PageResult] = field(default_factory=list)
    why: list[str] = field(default_factory=list)

    @property
    def heatmaps(self) -> list[np.ndarray]:
        return [p.heatmap for p in self.pages]

    @property
    def heatmap(self) -> np.ndarray:
        """All page heatmaps stacked top to bottom at the first page's width."""
        if not self.pages:
            return np.zeros((1, 1, 3), np.uint8)
        width = self.pages[0].heatmap.shape[1]
        rows = []
        for p in self.pages:
            h, w = p.heatmap.shape[:2]
            rows.append(cv2.resize(p.heatmap, (width, max(1, round(h * width / w)))))
        return np.vstack(rows)
