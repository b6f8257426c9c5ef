"""Fonts, found in installed packages (never in a checkout): the synthetic documents draw
with them and card reading renders the fixed print it locates cards by.

Text uses Be Vietnam Pro (OFL, PyPI ``fontpkg-be-vietnam-pro``), which covers every
Vietnamese letter; the MRZ and A4 serif text use DejaVu (Debian ``fonts-dejavu-core``).
When Be Vietnam Pro is absent, DejaVu Sans (also complete for Vietnamese) stands in.
"""

from __future__ import annotations

import importlib.util
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from PIL import ImageFont

Role = Literal["regular", "medium", "bold", "mono", "serif", "serif_bold"]

_DEJAVU_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
_BE_VIETNAM = {"regular": "Regular", "medium": "SemiBold", "bold": "Bold"}
_DEJAVU = {
    "regular": "DejaVuSans.ttf",
    "medium": "DejaVuSans-Bold.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "mono": "DejaVuSansMono.ttf",
    "serif": "DejaVuSerif.ttf",
    "serif_bold": "DejaVuSerif-Bold.ttf",
}


class FontNotFound(RuntimeError):
    """No installed font fills a role (install fonts-dejavu-core / fontpkg-be-vietnam-pro)."""

    code = "font_not_found"

    def __init__(self, role: str) -> None:
        super().__init__(f"no installed font for role {role!r}")
        self.role = role


def _be_vietnam_dir() -> Path | None:
    spec = importlib.util.find_spec("fontpkg_be_vietnam_pro")
    if spec is None or not spec.submodule_search_locations:
        return None
    files = Path(next(iter(spec.submodule_search_locations))) / "files"
    return files if files.is_dir() else None


@cache
def font_path(role: Role) -> Path:
    """The file of the font used for ``role``."""
    if role in _BE_VIETNAM and (d := _be_vietnam_dir()) is not None:
        candidate = d / f"BeVietnamPro-{_BE_VIETNAM[role]}.ttf"
        if candidate.is_file():
            return candidate
    for d in _DEJAVU_DIRS:
        candidate = d / _DEJAVU[role]
        if candidate.is_file():
            return candidate
    raise FontNotFound(role)


@lru_cache(maxsize=256)
def font(role: Role, size: int) -> ImageFont.FreeTypeFont:
    """A loaded font for ``role`` at ``size`` pixels (cached)."""
    return ImageFont.truetype(str(font_path(role)), size)
