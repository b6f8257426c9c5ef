"""The document verdict over all page pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ekyc.document.compare.graphics import FaceComparer
from ekyc.document.compare.page import compare_page
from ekyc.document.compare.reading import OcrLike
from ekyc.document.compare.results import Box, CopyVerdict, Difference, Verdict
from ekyc.document.compare.settings import CompareSettings


def compare_documents(
    original_pages: Sequence[np.ndarray],
    copy_pages: Sequence[np.ndarray],
    ocr: OcrLike | None = None,
    face: FaceComparer | None = None,
    *,
    regions: Mapping[str, Box] | Sequence[Mapping[str, Box]] | None = None,
    settings: CompareSettings | None = None,
) -> CopyVerdict:
    """Compare copy pages with original pages, paired in order; any difference → MISMATCH."""
    per_page: list[Mapping[str, Box]]
    if regions is None:
        per_page = [{}] * len(original_pages)
    elif isinstance(regions, Mapping):
        per_page = [regions] * len(original_pages)
    else:
        per_page = list(regions) + [{}] * max(0, len(original_pages) - len(regions))
    pages = [
        compare_page(o, c, page=i, ocr=ocr, face=face, regions=per_page[i], settings=settings)
        for i, (o, c) in enumerate(zip(original_pages, copy_pages, strict=False))
    ]
    differences = [d for p in pages for d in p.differences]
    why = [f"page {p.page}: {p.why}" for p in pages if p.why]
    if len(original_pages) != len(copy_pages):
        n = min(len(original_pages), len(copy_pages))
        differences.append(
            Difference(
                n,
                "page",
                (0, 0, 0, 0),
                "page_count",
                str(len(original_pages)),
                str(len(copy_pages)),
            )
        )
    if not original_pages or not copy_pages:
        why.append("no pages")
    verdict: Verdict
    if differences:
        verdict = "MISMATCH"
    elif why:
        verdict = "UNREADABLE"
    else:
        verdict = "MATCH"
    return CopyVerdict(verdict, differences, pages, why)
