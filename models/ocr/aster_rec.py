"""Vietnamese line recognition with asternet.onnx (CTC), run by our own ONNX Runtime code.

Only the model and vocabulary files of the `asterocr` wheel are read; the package itself is
never imported (see manifest.json and the supply-chain note in shared/research/models.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.ocr.assets import load_aster_vocab, load_model
from models.session import RuntimeOptions, create_session

MODEL_ID = "asternet-vi-rec"
HEIGHT = 32
STRIDE = 4  # CTC frames are 4 px wide: T = W / 4 + 1
MAX_WIDTH = 1020  # the positional table has 256 steps, so W / 4 + 1 <= 256
BLANK = 0
INK_DELTA = 48  # grey levels from the background that count as ink when looking for gaps
SPACE_GAP = 7  # a split gap at least this wide (px at height 32) was a space between words


@dataclass(frozen=True)
class Piece:
    """A slice of a line, ready for the network, with where it came from."""

    line: int
    image: np.ndarray  # (32, W, 3) uint8 RGB
    space_before: bool
    background: float


def to_height(crop_bgr: np.ndarray) -> np.ndarray:
    """The crop as RGB at height 32, aspect kept, width a multiple of 4 (at least 32)."""
    h, w = crop_bgr.shape[:2]
    tw = max(32, int(w * HEIGHT / max(h, 1)))
    tw = (tw + STRIDE - 1) // STRIDE * STRIDE
    interp = cv2.INTER_AREA if h > HEIGHT else cv2.INTER_LINEAR
    rgb = cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB) if crop_bgr.ndim == 3 else crop_bgr
    if rgb.ndim == 2:
        rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB)
    return cv2.resize(rgb, (tw, HEIGHT), interpolation=interp)


def background_level(line: np.ndarray) -> float:
    """The line's background grey level (median of its border pixels)."""
    grey = line.mean(axis=2)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    return float(np.median(border))


def split_points(line: np.ndarray, max_width: int = MAX_WIDTH) -> list[tuple[int, int]]:
    """Cut positions (x, gap width) so every piece is at most max_width, cut in ink-free gaps."""
    w = line.shape[1]
    ink = (np.abs(line.mean(axis=2) - background_level(line)) > INK_DELTA).sum(axis=0)
    cuts: list[tuple[int, int]] = []
    start = 0
    while w - start > max_width:
        lo, hi = start + max_width // 2, start + max_width - STRIDE
        window = ink[lo:hi]
        best_x, best_len = -1, 0
        run_start = None
        for i, v in enumerate(np.append(window, 1)):
            if v == 0 and run_start is None:
                run_start = i
            elif v != 0 and run_start is not None:
                if i - run_start > best_len:
                    best_x, best_len = lo + (run_start + i) // 2, i - run_start
                run_start = None
        if best_len == 0:  # no clean gap: cut at the column with the least ink
            best_x = lo + int(np.argmin(window))
        cut = best_x // STRIDE * STRIDE
        cuts.append((cut, best_len))
        start = cut
    return cuts


def ctc_greedy(log_probs: np.ndarray, vocab: list[str]) -> tuple[str, float]:
    """Best-path CTC decode of (T, C) log-probabilities, with the mean per-character probability."""
    best = log_probs.argmax(axis=1)
    peak = np.exp(log_probs.max(axis=1))
    chars: list[str] = []
    probs: list[float] = []
    prev = BLANK
    for idx, p in zip(best.tolist(), peak.tolist(), strict=True):
        if idx != BLANK and idx != prev:
            chars.append(vocab[idx])
            probs.append(p)
        elif idx != BLANK and idx == prev:
            probs[-1] = max(probs[-1], p)  # a repeated frame of the same character
        prev = idx
    if not probs:  # nothing read: confidence that the line is truly empty
        return "", float(peak.mean()) if peak.size else 0.0
    return "".join(chars), float(np.mean(probs))


def ctc_log_likelihood(log_probs: np.ndarray, labels: list[int]) -> float:
    """log P(labels | frames) summed over every CTC alignment (the forward algorithm), for
    (T, C) log-probabilities: how well the frames support a given reading, not just the best
    path's."""
    return float(ctc_log_likelihoods(log_probs, [labels])[0])


def ctc_log_likelihoods(log_probs: np.ndarray, readings: list[list[int]]) -> np.ndarray:
    """``ctc_log_likelihood`` of several readings at once: one pass over the frames."""
    size = 2 * max((len(r) for r in readings), default=0) + 1
    ext = np.zeros((len(readings), size), dtype=np.int64)  # blank, l1, blank, l2, …, blank
    ends = np.empty(len(readings), dtype=np.int64)
    for n, r in enumerate(readings):
        ext[n, 1 : 2 * len(r) : 2] = r
        ends[n] = 2 * len(r)
    # a step may skip the blank between two different labels, never between repeats
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != BLANK) & (ext[:, 2:] != ext[:, :-2])
    alpha = np.full(ext.shape, -np.inf)
    alpha[:, :2] = log_probs[0, ext[:, :2]]
    pad = np.full((len(readings), 2), -np.inf)
    for frame in log_probs[1:]:
        shifted = np.concatenate((pad, alpha), axis=1)
        step = np.logaddexp(alpha, shifted[:, 1:-1])
        alpha = np.where(skip, np.logaddexp(step, shifted[:, :-2]), step) + frame[ext]
    rows = np.arange(len(readings))
    last = alpha[rows, ends]
    before = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], -np.inf)
    out = np.logaddexp(last, before)
    too_long = np.array([len(r) > log_probs.shape[0] for r in readings])
    return np.where(too_long, -np.inf, out)


class AsterRecognizer:
    """Recognises Vietnamese line crops in width-bucketed batches; long lines are split."""

    def __init__(
        self,
        options: RuntimeOptions | None = None,
        model_path: Path | None = None,
        vocab_path: Path | None = None,
        *,
        batch_size: int = 16,
        bucket_px: int = 32,
    ) -> None:
        self.session = create_session(load_model(MODEL_ID, model_path), options or RuntimeOptions())
        self.input_name = self.session.get_inputs()[0].name
        self.vocab = load_aster_vocab(vocab_path)
        n_out = self.session.get_outputs()[0].shape[-1]
        if len(self.vocab) != n_out or self.vocab[BLANK] != "<blank>":
            raise ValueError(f"vocabulary of {len(self.vocab)} symbols for {n_out} outputs")
        self.batch_size = batch_size
        self.bucket_px = bucket_px

    def _pieces(self, crops: list[np.ndarray]) -> list[Piece]:
        pieces: list[Piece] = []
        for n, crop in enumerate(crops):
            line = to_height(crop)
            bg = background_level(line)
            start, space = 0, False
            for cut, gap in split_points(line):
                pieces.append(Piece(n, line[:, start:cut], space, bg))
                start, space = cut, gap >= SPACE_GAP
            pieces.append(Piece(n, line[:, start:], space, bg))
        return pieces

    def _run(self, batch: list[Piece]) -> list[tuple[str, float]]:
        width = max(p.image.shape[1] for p in batch)
        x = np.empty((len(batch), HEIGHT, width, 3), dtype=np.float32)
        for i, p in enumerate(batch):
            w = p.image.shape[1]
            x[i, :, :w] = p.image
            x[i, :, w:] = p.background  # pad with the line's own background, not white
        x = x.transpose(0, 3, 1, 2) * (2.0 / 255.0) - 1.0  # (x/255 - 0.5) / 0.5
        out = np.asarray(self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0])
        results = []
        for i, p in enumerate(batch):
            frames = p.image.shape[1] // STRIDE + 1  # ignore the frames of the padding
            results.append(ctc_greedy(out[:frames, i], self.vocab))
        return results

    def score(self, crop: np.ndarray, texts: list[str]) -> list[float] | None:
        """The log-likelihood of each reading of one line crop (``ctc_log_likelihood``), or None
        for a line too long for one pass (it would be split); characters outside the
        vocabulary make a reading impossible (-inf)."""
        line = to_height(crop)
        if split_points(line):
            return None
        log_probs = self._run_frames(Piece(0, line, False, background_level(line)))
        index = {c: i for i, c in enumerate(self.vocab)}
        readable = [all(c in index for c in t) for t in texts]
        labels = [
            [index[c] for c in t] if ok else [] for t, ok in zip(texts, readable, strict=True)
        ]
        scores = ctc_log_likelihoods(log_probs, labels)
        return [float(v) if ok else float("-inf") for v, ok in zip(scores, readable, strict=True)]

    def _run_frames(self, piece: Piece) -> np.ndarray:
        x = piece.image.astype(np.float32)[None].transpose(0, 3, 1, 2) * (2.0 / 255.0) - 1.0
        out = np.asarray(self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0])
        return out[: piece.image.shape[1] // STRIDE + 1, 0]

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """(text, confidence) per BGR line crop, batched by similar width."""
        pieces = self._pieces(crops)
        order = sorted(range(len(pieces)), key=lambda i: pieces[i].image.shape[1])
        decoded: dict[int, tuple[str, float]] = {}
        batch: list[int] = []
        for i in order:
            w = pieces[i].image.shape[1]
            first = pieces[batch[0]].image.shape[1] if batch else w
            if batch and (len(batch) == self.batch_size or w - first > self.bucket_px):
                decoded.update(zip(batch, self._run([pieces[j] for j in batch]), strict=True))
                batch = []
            batch.append(i)
        if batch:
            decoded.update(zip(batch, self._run([pieces[j] for j in batch]), strict=True))
        return _join(pieces, decoded, len(crops))


def _join(
    pieces: list[Piece], decoded: dict[int, tuple[str, float]], n_lines: int
) -> list[tuple[str, float]]:
    """Reassemble split lines: text joined (a space at word gaps), confidence length-weighted."""
    texts = [""] * n_lines
    confs: list[list[tuple[float, int]]] = [[] for _ in range(n_lines)]
    for i, p in enumerate(pieces):
        text, conf = decoded[i]
        if p.space_before:
            texts[p.line] = texts[p.line].rstrip() + " " + text.lstrip()
        else:
            texts[p.line] += text
        confs[p.line].append((conf, max(len(text), 1)))
    out = []
    for text, c in zip(texts, confs, strict=True):
        weight = sum(n for _, n in c)
        out.append((text.strip(), sum(v * n for v, n in c) / weight if weight else 0.0))
    return out
