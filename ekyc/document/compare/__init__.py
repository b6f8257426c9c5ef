"""Copy vs original: align each page, read every text line on both, and locate every difference.

Per page pair the copy is registered onto the original (ORB features, ratio test, RANSAC
homography, then ``findTransformECC`` refinement) and warped into the original's pixels.

Text lines (the caller's regions, one box per printed line, e.g. ``card_regions``; else the OCR
detector's lines on the original) are judged by OCR first: each line with some changed ink
(or under glare) is read on the original and, through the same quad, on the aligned copy
(``read_lines``), and the normalised strings compared; a line whose ink did not change at
all is not read. OCR alone misreads now and then, so a differing reading is reported only
when the line's ink agrees (some changed strokes inside the line after tone matching), and ink alone
reports a line only when a large share of it changed (a removed line). On lines under glare on
the copy (bright, washed-out ink) only what glare cannot fake counts: a confident change of
letters read alike at every framing, or the original's ink missing where the line is clear of
the glare; anything else there makes the page UNREADABLE (why ``glare``). A copy captured too
coarsely to read (its text lines under ``min_line_px`` of its own pixels) is UNREADABLE (why
``low_resolution``) before any line is judged, and so is one smeared by a shaking hand (why
``motion_blur``: the blur kernel fitted on each text line smears further than
``max_smear_px`` along one direction). A forger changes a few lines: when most lines
differ a little (a soft phone photo of an A4 page), only a line far out of that crowd is
reported and the page is otherwise UNREADABLE (why ``too_many_differences``).

Everything else on the page (stamps, headings, removed or added marks) is compared as ink:
both pages flattened (background divided out), the copy's tones matched to the original's per
tile (a photocopier's grey, contrast and faded red ink are not differences), and darkness on
one side beyond the other's neighbourhood kept when it forms a large blob. A portrait is
judged by the face comparer when given, else by structure correlation plus its levels seen
through the copy's tone curve (measured on the card around it). Boxes are ``(x, y, w, h)``
in the original page's pixels.
"""

from ekyc.document.compare.graphics import FaceComparer
from ekyc.document.compare.page import compare_page
from ekyc.document.compare.reading import OcrLike
from ekyc.document.compare.regions import card_regions
from ekyc.document.compare.results import CopyVerdict, Difference, LineCheck, PageResult, Verdict
from ekyc.document.compare.settings import CompareSettings
from ekyc.document.compare.verdict import compare_documents

__all__ = [
    "CompareSettings",
    "CopyVerdict",
    "Difference",
    "FaceComparer",
    "LineCheck",
    "OcrLike",
    "PageResult",
    "Verdict",
    "card_regions",
    "compare_documents",
    "compare_page",
]
