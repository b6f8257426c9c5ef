"""Fuzzing every LDS/CCCD parser: random bytes and mutated valid files.

Only ``MalformedData`` or ``UnsupportedData`` may come out, and every call returns fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from ekyc.cccd.dg13 import Dg13, parse_dg13
from ekyc.errors import MalformedData, UnsupportedData
from ekyc.icao.com import Com, parse_com
from ekyc.icao.dg1 import Dg1, parse_dg1
from ekyc.icao.dg2 import Dg2, parse_dg2
from ekyc.icao.dg14 import parse_dg14
from ekyc.icao.dg15 import Dg15, parse_dg15
from ekyc.icao.mrz import encode_vn_td1, parse_mrz
from readers import tlv

T = TypeVar("T")
EXPECTED = (MalformedData, UnsupportedData)
SLOW = 0.5  # seconds; a parser that takes this long on a few hundred bytes is looping
FUZZ = settings(
    max_examples=300,
    deadline=timedelta(milliseconds=500),
    suppress_health_check=[HealthCheck.too_slow],
)


def tiny_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 60, 30)).save(out, format="JPEG", quality=50)
    return out.getvalue()


def tiny_jp2() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 60, 30)).save(out, format="JPEG2000")
    return out.getvalue()


MRZ = encode_vn_td1(
    id_number="001090123456",
    date_of_birth="900101",
    date_of_expiry="300101",
    surname="NGUYEN",
    given_names="VAN A",
    sex="M",
)
SAMPLES: dict[str, tuple[Callable[[bytes], object], bytes]] = {
    "EF.COM": (parse_com, Com.for_data_groups([1, 2, 13, 14, 15]).encode()),
    "DG1": (parse_dg1, Dg1(MRZ).encode()),
    "DG2": (parse_dg2, Dg2.from_image_bytes(tiny_jpeg()).encode()),
    "DG13": (
        parse_dg13,
        Dg13(
            id_number="001090123456",
            full_name="Nguyễn Văn A",
            date_of_birth="01/01/1990",
            father_name="B",
            mother_name="C",
            unknown={16: "X"},
        ).encode(),
    ),
    "DG14": (
        parse_dg14,
        tlv.encode(0x6E, bytes.fromhex("31143012060A04007F0007020204020402010202010D")),
    ),
    "DG15-EC": (
        parse_dg15,
        Dg15.from_public_key(
            ec.generate_private_key(ec.BrainpoolP256R1()).public_key(), explicit=True
        ).encode(),
    ),
    "DG15-RSA": (
        parse_dg15,
        Dg15.from_public_key(rsa.generate_private_key(65537, 1024).public_key()).encode(),
    ),
}
NAMES = sorted(SAMPLES)


def run(parser: Callable[[T], object], data: T) -> None:
    start = time.perf_counter()
    with contextlib.suppress(*EXPECTED):
        parser(data)
    assert time.perf_counter() - start < SLOW


@st.composite
def mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """A valid file with one fault: truncation, flipped bytes, a huge length, an insertion."""
    data = bytearray(sample)
    kind = draw(st.sampled_from(["truncate", "flip", "huge", "insert", "set"]))
    pos = draw(st.integers(0, len(data) - 1))
    if kind == "truncate":
        return bytes(data[:pos])
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= draw(st.integers(1, 255))
        return bytes(data)
    if kind == "huge":
        length = draw(
            st.sampled_from([b"\x84\xff\xff\xff\xff", b"\x83\x7f\xff\xff", b"\x80", b"\xff"])
        )
        return bytes(data[:pos] + length + data[pos + 1 :])
    if kind == "insert":
        return bytes(data[:pos] + draw(st.binary(min_size=1, max_size=8)) + data[pos:])
    data[pos] = draw(st.integers(0, 255))
    return bytes(data)


def test_samples_are_valid() -> None:
    for parser, data in SAMPLES.values():
        parser(data)


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(name: str, data: bytes) -> None:
    parser, sample = SAMPLES[name]
    run(parser, data)
    run(parser, sample[:2] + data)  # the right outer tag, then noise


@pytest.mark.parametrize("name", NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_files(name: str, data: st.DataObject) -> None:
    parser, sample = SAMPLES[name]
    run(parser, data.draw(mutated(sample)))


@FUZZ
@given(text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<\n é", max_size=100))
def test_mrz_text(text: str) -> None:
    run(parse_mrz, text.encode("utf-8"))
    run(parse_mrz, text)


@FUZZ
@given(data=st.data())
def test_mrz_mutations(data: st.DataObject) -> None:
    run(parse_mrz, data.draw(mutated(MRZ.encode())))


@pytest.mark.parametrize("image", [tiny_jpeg(), tiny_jp2()], ids=["jpeg", "jp2"])
@settings(max_examples=100, deadline=timedelta(seconds=1))
@given(data=st.data())
def test_portrait_decoding(image: bytes, data: st.DataObject) -> None:
    dg2 = Dg2.from_image_bytes(image)
    face = dg2.portrait
    broken = data.draw(mutated(image))
    start = time.perf_counter()
    with contextlib.suppress(*EXPECTED):
        dataclasses.replace(face, image=broken).to_image()
    assert time.perf_counter() - start < 1.0
