"""Debian's tesseract (`vie`) as a comparison engine, run as a subprocess with a time limit."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np

from models.ocr.base import OcrEngine, TextBox, TextDetector, check_image
from models.ocr.errors import EngineFailed, EngineTimeout, EngineUnavailable

ENGINE = "tesseract"


def find_tesseract(lang: str = "vie") -> str:
    """Path of the tesseract binary, checked to have the language installed."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise EngineUnavailable(
            ENGINE, "tesseract binary not found (apt-get install tesseract-ocr)"
        )
    langs = subprocess.run(
        [binary, "--list-langs"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.split()
    if lang not in langs:
        raise EngineUnavailable(ENGINE, f"language {lang!r} missing (tesseract-ocr-{lang})")
    return binary


def _parse_tsv(
    tsv: str,
) -> dict[int, list[tuple[tuple[int, int, int], str, float, tuple[int, ...]]]]:
    """Words by page: (block, paragraph, line) key, text, confidence 0-100, box (x, y, w, h)."""
    pages: dict[int, list[tuple[tuple[int, int, int], str, float, tuple[int, ...]]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        page = int(row["page_num"])
        pages.setdefault(page, [])
        text = (row.get("text") or "").strip()
        if row["level"] != "5" or not text:
            continue
        key = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        box = tuple(int(row[k]) for k in ("left", "top", "width", "height"))
        pages[page].append((key, text, max(float(row["conf"]), 0.0), box))
    return pages


class TesseractRecognizer:
    """Reads line crops with `tesseract -l vie --psm 7`, all crops in one process run."""

    def __init__(
        self, lang: str = "vie", timeout_s: float = 60.0, binary: str | None = None
    ) -> None:
        self.binary = binary or find_tesseract(lang)
        self.lang = lang
        self.timeout_s = timeout_s

    def run(self, images: list[np.ndarray], psm: int) -> str:
        """TSV output of tesseract over the images (one page each) with the given layout mode."""
        with tempfile.TemporaryDirectory(prefix="ocr-tess-") as tmp:
            names = []
            for i, img in enumerate(images):
                name = str(Path(tmp) / f"{i:05d}.png")
                cv2.imwrite(name, img)
                names.append(name)
            listing = Path(tmp) / "list.txt"
            listing.write_text("\n".join(names) + "\n", encoding="utf-8")
            cmd = [self.binary, str(listing), "stdout", "-l", self.lang, "--psm", str(psm), "tsv"]
            try:
                done = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=self.timeout_s, check=False
                )
            except subprocess.TimeoutExpired as exc:
                raise EngineTimeout(ENGINE, self.timeout_s) from exc
        if done.returncode != 0:
            raise EngineFailed(ENGINE, done.stderr.strip()[-300:])
        return done.stdout

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, mean word confidence in [0, 1]) per BGR line crop."""
        if not crops:
            return []
        pages = _parse_tsv(self.run(crops, psm=7))
        out = []
        for page in range(1, len(crops) + 1):
            words = pages.get(page, [])
            text = " ".join(w[1] for w in words)
            conf = float(np.mean([w[2] for w in words])) / 100.0 if words else 0.0
            out.append((text, conf))
        return out


class TesseractEngine(OcrEngine):
    """Tesseract as a whole engine: lines found by a given detector, or by tesseract (psm 6)."""

    def __init__(self, detector: TextDetector | None, recognizer: TesseractRecognizer) -> None:
        super().__init__(detector, recognizer, name=ENGINE)
        self.tesseract = recognizer

    def read(self, image_bgr: np.ndarray) -> list[TextBox]:
        """Every text line, in reading order; tesseract's own layout when there is no detector."""
        if self.detector is not None:
            return super().read(image_bgr)
        image = check_image(image_bgr)
        lines: dict[tuple[int, int, int], list[tuple[str, float, tuple[int, ...]]]] = {}
        for key, text, conf, box in _parse_tsv(self.tesseract.run([image], psm=6)).get(1, []):
            lines.setdefault(key, []).append((text, conf, box))
        out = []
        for key in sorted(lines):
            words = lines[key]
            x0 = min(b[0] for _, _, b in words)
            y0 = min(b[1] for _, _, b in words)
            x1 = max(b[0] + b[2] for _, _, b in words)
            y1 = max(b[1] + b[3] for _, _, b in words)
            quad = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
            conf = float(np.mean([c for _, c, _ in words])) / 100.0
            out.append(TextBox(quad, " ".join(t for t, _, _ in words), conf))
        return out
