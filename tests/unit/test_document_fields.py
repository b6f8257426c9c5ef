"""read_card plumbing with a stand-in OCR (ground truth by box), MRZ repair, QR decoding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from ekyc.cccd.layouts import LAYOUTS
from ekyc.document.fields import read_card, repair_mrz_line
from ekyc.icao.mrz import encode_vn_td1, parse_mrz
from ekyc.synth import degrade
from ekyc.synth.card import RenderedCard, render_card
from ekyc.synth.chip import sample_citizen


@dataclass(frozen=True)
class _Box:
    text: str
    confidence: float


class _TruthOcr:
    """Answers each quad with the text the renderer printed in that layout box."""

    def __init__(self, card: RenderedCard, mrz_noise: dict[int, str] | None = None) -> None:
        self.by_box: dict[tuple[int, int], str] = {}
        layout = LAYOUTS[(card.model, card.side)]
        for f in layout.fields:
            value = card.fields.get(f.name, "")
            parts = [card.fields.get(f"{f.name}.{i + 1}") for i in range(len(f.lines))]
            texts = parts if any(parts) else [value] + [""] * (len(f.lines) - 1)
            for box, text in zip(f.lines, texts, strict=True):
                self.by_box[(box[0], box[1])] = text or ""
        if layout.mrz is not None and card.mrz is not None:
            for i, (box, line) in enumerate(zip(layout.mrz, card.mrz.split("\n"), strict=True)):
                self.by_box[(box[0], box[1])] = (mrz_noise or {}).get(i, line)

    def read_lines(self, image_bgr: np.ndarray, quads: list[np.ndarray]) -> list[_Box]:
        return [_Box(self.by_box.get((int(q[0][0]), int(q[0][1])), ""), 0.99) for q in quads]


def test_front_fields_and_qr_from_photo() -> None:
    card = render_card(sample_citizen(3), "front", "cccd2021", 3)
    r = read_card(degrade.phone_photo(card.image_bgr, 3), _TruthOcr(card))
    assert (r.model, r.side) == ("cccd2021", "front")
    assert r.fields["id_number"] == card.fields["id_number"]
    assert r.fields["full_name"] == card.fields["full_name"]
    assert r.qr_text == card.qr_payload
    assert r.qr is not None and r.qr.id_number == card.fields["id_number"]


def test_back_mrz_parsed_and_checked() -> None:
    card = render_card(sample_citizen(4), "back", "cancuoc2024", 4)
    r = read_card(card.image_bgr, _TruthOcr(card))
    assert r.mrz is not None and r.mrz.valid
    assert r.mrz_text == card.mrz


def test_mrz_lookalikes_fixed_by_position() -> None:
    mrz = encode_vn_td1(
        id_number="001090123456",
        date_of_birth="900201",
        date_of_expiry="300201",
        surname="Nguyen",
        given_names="Van Oanh",
        sex="M",
    )
    l1, l2, l3 = mrz.lines
    noisy = [l1.replace("0", "O"), l2.replace("1", "I"), l3.replace("O", "0")]
    fixed = [repair_mrz_line(t, i) for i, t in enumerate(noisy)]
    assert fixed == list(mrz.lines)
    assert parse_mrz("\n".join(fixed)).valid


@pytest.mark.parametrize("pos", range(5, 14))
def test_wrong_digit_never_passes(pos: int) -> None:
    mrz = encode_vn_td1(
        id_number="001090123456", date_of_birth="900201", date_of_expiry="300201", surname="A"
    )
    l1 = mrz.lines[0]
    wrong = l1[:pos] + str((int(l1[pos]) + 3) % 10) + l1[pos + 1 :]
    fixed = repair_mrz_line(wrong, 0)
    assert not parse_mrz("\n".join([fixed, *mrz.lines[1:]])).valid
