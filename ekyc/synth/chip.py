"""Synthetic CCCD chips: every LDS file of a made-up citizen, signed by a test PKI.

Deterministic from a seed. The result feeds the virtual card (``readers.vcard``)
and tests: a real EF.SOD over real data groups, DG2 in JPEG or JPEG2000, DG13 in
Vietnamese, DG14 (Chip Authentication), DG15 (Active Authentication), EF.CardAccess
(PACE), and the faults a verifier must catch (tampered data group, cloned chip).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image, ImageDraw, ImageFilter

from ekyc.cccd.dg13 import Dg13
from ekyc.cccd.id_number import PROVINCES
from ekyc.icao.com import Com
from ekyc.icao.dg1 import Dg1
from ekyc.icao.dg2 import Dg2
from ekyc.icao.dg14 import Dg14
from ekyc.icao.dg15 import Dg15
from ekyc.icao.mrz import encode_vn_td1
from ekyc.icao.sod import build_sod
from ekyc.synth.pki import PrivateKey, make_csca, make_ds, make_key
from readers.access_key import Can, MrzKey
from readers.ec import curve_by_id
from readers.files import CARD_ACCESS, COM, DATA_GROUPS, SOD, chip_file
from readers.security_infos import (
    CA_ECDH_AES_128,
    PACE_ECDH_GM_AES_128,
    PACE_ECDH_GM_AES_256,
    ActiveAuthInfo,
    ChipAuthInfo,
    ChipAuthPublicKey,
    PaceInfo,
    SecurityInfos,
    encode_security_infos,
)
from readers.vcard.card import CardProfile

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
MIDDLE = {
    "Nam": ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành"],
    "Nữ": ["Thị", "Ngọc", "Thanh", "Thu", "Mỹ", "Kim"],
}
GIVEN = {
    "Nam": ["An", "Bình", "Cường", "Dũng", "Hải", "Long", "Nam", "Phúc", "Quân", "Tuấn"],
    "Nữ": ["Hà", "Hạnh", "Hương", "Lan", "Mai", "Ngân", "Thảo", "Trang", "Yến", "Ánh"],
}
PLACES = [
    "Phường Hải Châu, Quận Hải Châu, Đà Nẵng",
    "Xã Hòa Tiến, Huyện Hòa Vang, Đà Nẵng",
    "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh",
    "Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội",
    "Xã Nghĩa Hòa, Huyện Tư Nghĩa, Quảng Ngãi",
    "Phường Vĩnh Ninh, TP. Huế, Thừa Thiên Huế",
]
ETHNICITIES = ["Kinh", "Kinh", "Kinh", "Tày", "Hoa", "Chăm", "Khmer"]
RELIGIONS = ["Không", "Không", "Phật giáo", "Công giáo"]

PortraitFormat = Literal["jpeg", "jp2"]
AaKind = Literal["rsa", "ec"]


@dataclass(frozen=True)
class Citizen:
    id_number: str
    full_name: str
    date_of_birth: dt.date
    sex: str  # "Nam" / "Nữ"
    place_of_origin: str
    place_of_residence: str
    date_of_issue: dt.date
    date_of_expiry: dt.date
    ethnicity: str = "Kinh"
    religion: str = "Không"
    nationality: str = "Việt Nam"
    identifying_features: str = "Nốt ruồi C:2cm trên trước mép phải"
    father_name: str = ""
    mother_name: str = ""
    spouse_name: str | None = None

    @property
    def can(self) -> Can:
        return Can(self.id_number[-6:])

    @property
    def mrz_key(self) -> MrzKey:
        return MrzKey(
            self.id_number[-9:], _yymmdd(self.date_of_birth), _yymmdd(self.date_of_expiry)
        )


def _yymmdd(d: dt.date) -> str:
    return d.strftime("%y%m%d")


def _vn(d: dt.date) -> str:
    return d.strftime("%d/%m/%Y")


def _name(rng: random.Random, sex: str) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"


def sample_citizen(seed: int = 0) -> Citizen:
    """A plausible citizen with a valid 12-digit number (province, sex/century, birth year)."""
    rng = random.Random(seed)
    sex = rng.choice(["Nam", "Nữ"])
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
    century = 0 if birth.year < 2000 else 2
    sex_digit = century + (0 if sex == "Nam" else 1)
    province = rng.choice(sorted(PROVINCES))
    id_number = f"{province}{sex_digit}{birth.year % 100:02d}{rng.randrange(10**6):06d}"
    issue = dt.date(2021, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 3))
    # CCCDs expire at ages 25, 40 and 60; a simple stand-in: 15 years after issue
    expiry = issue.replace(year=issue.year + 15)
    family = rng.choice(SURNAMES)
    return Citizen(
        id_number=id_number,
        full_name=f"{family} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}",
        date_of_birth=birth,
        sex=sex,
        place_of_origin=rng.choice(PLACES),
        place_of_residence=rng.choice(PLACES),
        date_of_issue=issue,
        date_of_expiry=expiry,
        ethnicity=rng.choice(ETHNICITIES),
        religion=rng.choice(RELIGIONS),
        father_name=f"{family} {rng.choice(MIDDLE['Nam'])} {rng.choice(GIVEN['Nam'])}",
        mother_name=_name(rng, "Nữ"),
        spouse_name=_name(rng, "Nữ" if sex == "Nam" else "Nam") if rng.random() < 0.5 else None,
    )


def synthetic_portrait(
    seed: int = 0, fmt: PortraitFormat = "jpeg", size: tuple[int, int] = (300, 400)
) -> bytes:
    """A face-like portrait (oval head, eyes, mouth, textured background) as JPEG or JPEG2000.

    Not a face a detector should trust: it exists to give DG2 realistic size and codecs.
    """
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(150, 230, size=3)
    noise = rng.normal(0, 10, size=(h, w, 3))
    background = np.clip(base + noise, 0, 255).astype(np.uint8)
    img = Image.fromarray(background, "RGB")
    d = ImageDraw.Draw(img)
    skin = tuple(int(v) for v in rng.integers(170, 225, size=3))
    d.ellipse([w * 0.25, h * 0.18, w * 0.75, h * 0.78], fill=skin)
    for ex in (0.38, 0.62):
        d.ellipse([w * ex - 18, h * 0.40 - 9, w * ex + 18, h * 0.40 + 9], fill=(60, 40, 30))
    d.line([w * 0.5, h * 0.45, w * 0.48, h * 0.56], fill=(120, 90, 80), width=4)
    d.arc([w * 0.40, h * 0.58, w * 0.60, h * 0.68], 10, 170, fill=(140, 50, 50), width=5)
    d.rectangle([w * 0.2, h * 0.82, w * 0.8, h], fill=(30, 40, 90))
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    out = io.BytesIO()
    if fmt == "jp2":
        img.save(out, "JPEG2000", quality_mode="rates", quality_layers=[20], irreversible=True)
    else:
        img.save(out, "JPEG", quality=90)
    return out.getvalue()


@dataclass
class TestPki:
    """A CSCA → Document Signer chain generated at test time (never a real one)."""

    csca_key: PrivateKey
    csca_cert: x509.Certificate
    ds_key: PrivateKey
    ds_cert: x509.Certificate

    @classmethod
    def generate(cls, seed: str = "vn-test", key_type: Literal["ec", "rsa"] = "ec") -> TestPki:
        csca_key, csca_cert = make_csca("VN", key_type=key_type, seed=f"{seed}-csca")
        ds_key, ds_cert = make_ds(csca_key, csca_cert, key_type=key_type, seed=f"{seed}-ds")
        return cls(csca_key, csca_cert, ds_key, ds_cert)


@dataclass
class SynthChip:
    citizen: Citizen
    files: dict[str, bytes]  # by name: EF.COM, DG1 … EF.SOD, EF.CardAccess
    profile: CardProfile
    pki: TestPki
    portrait: bytes
    aa_key: PrivateKey | None = None
    notes: list[str] = field(default_factory=list)


def _dg13(c: Citizen) -> Dg13:
    return Dg13(
        id_number=c.id_number,
        full_name=c.full_name,
        date_of_birth=_vn(c.date_of_birth),
        sex=c.sex,
        nationality=c.nationality,
        ethnicity=c.ethnicity,
        religion=c.religion,
        place_of_origin=c.place_of_origin,
        place_of_residence=c.place_of_residence,
        identifying_features=c.identifying_features,
        date_of_issue=_vn(c.date_of_issue),
        date_of_expiry=_vn(c.date_of_expiry),
        father_name=c.father_name,
        mother_name=c.mother_name,
        spouse_name=c.spouse_name,
    )


def _scalar(seed: str, n: int) -> int:
    return int.from_bytes(hashlib.sha512(seed.encode()).digest(), "big") % (n - 1) + 1


def build_chip(
    citizen: Citizen | None = None,
    pki: TestPki | None = None,
    *,
    seed: int = 0,
    portrait_format: PortraitFormat = "jpeg",
    pace: bool = True,
    aa: AaKind | None = "rsa",
    chip_auth: bool = True,
    tamper_dg: int | None = None,
    clone: bool = False,
    extended_length: bool = True,
    portrait: bytes | None = None,
) -> SynthChip:
    """Build every file of a CCCD chip and the profile that makes the virtual card serve it.

    ``portrait`` puts those JPEG/JPEG2000 bytes in DG2 (e.g. a real face photo for face
    matching tests) instead of the synthetic drawing.

    ``tamper_dg`` alters that data group after the SOD was signed (a forged chip);
    ``clone`` gives the card AA and CA keys that do not match DG15/DG14 (a copied chip).
    """
    c = citizen or sample_citizen(seed)
    pki = pki or TestPki.generate()
    family, _, given = c.full_name.partition(" ")
    mrz = encode_vn_td1(
        id_number=c.id_number,
        date_of_birth=_yymmdd(c.date_of_birth),
        date_of_expiry=_yymmdd(c.date_of_expiry),
        surname=family,
        given_names=given,
        sex="M" if c.sex == "Nam" else "F",
    )
    portrait = portrait if portrait is not None else synthetic_portrait(seed, portrait_format)
    dgs: dict[int, bytes] = {
        1: Dg1(mrz).encode(),
        2: Dg2.from_image_bytes(portrait).encode(),
        13: _dg13(c).encode(),
    }

    dg14_infos = SecurityInfos()
    ca_key: tuple[int, int] | None = None
    if chip_auth:
        curve = curve_by_id(12)
        d = _scalar(f"ca-{seed}", curve.n)
        dg14_infos.chip_auth.append(ChipAuthInfo(CA_ECDH_AES_128, 1))
        point = curve.encode_point(curve.mul_g(d))
        dg14_infos.chip_auth_keys.append(ChipAuthPublicKey.ec(curve, point))
        ca_key = (12, d)
    aa_key: PrivateKey | None = None
    if aa is not None:
        aa_key = (
            make_key("rsa", seed=f"aa-{seed}", rsa_bits=1024)
            if aa == "rsa"
            else make_key("ec", seed=f"aa-{seed}", curve="P-256")
        )
        dgs[15] = Dg15.from_public_key(aa_key.public_key()).encode()
        if isinstance(aa_key, ec.EllipticCurvePrivateKey):
            dg14_infos.active_auth.append(
                ActiveAuthInfo(signature_algorithm="0.4.0.127.0.7.1.1.4.1.3")
            )
    if dg14_infos.chip_auth or dg14_infos.active_auth:
        dgs[14] = Dg14.from_infos(dg14_infos).encode()

    sod = build_sod(dgs, hash_alg="sha256", ds_key=pki.ds_key, ds_cert=pki.ds_cert)
    notes = []
    if tamper_dg is not None:
        dgs[tamper_dg] = _tamper(dgs[tamper_dg])
        notes.append(f"DG{tamper_dg} altered after signing")
    card_key = aa_key
    if clone and aa_key is not None:
        card_key = (
            make_key("rsa", seed=f"clone-{seed}", rsa_bits=1024)
            if aa == "rsa"
            else make_key("ec", seed=f"clone-{seed}", curve="P-256")
        )
        notes.append("AA private key does not match DG15 (cloned chip)")
    if clone and ca_key is not None:  # a copy cannot hold the chip's CA key either
        ca_key = (ca_key[0], _scalar(f"clone-ca-{seed}", curve_by_id(ca_key[0]).n))
        notes.append("CA private key does not match DG14 (cloned chip)")

    files = {COM.name: Com.for_data_groups(sorted(dgs)).encode(), SOD.name: sod}
    files.update({DATA_GROUPS[n].name: content for n, content in dgs.items()})
    card_access = None
    if pace:
        card_access = SecurityInfos(
            pace=[PaceInfo(PACE_ECDH_GM_AES_128, 2, 12), PaceInfo(PACE_ECDH_GM_AES_256, 2, 13)]
        )
        files[CARD_ACCESS.name] = encode_security_infos(card_access)
    by_fid = {chip_file(name).fid: content for name, content in files.items()}
    profile = CardProfile(
        files=by_fid,
        mrz_key=c.mrz_key,
        can=c.can,
        security_infos=card_access,
        aa_key=card_key,
        ca_key=ca_key,
        extended_length=extended_length,
    )
    return SynthChip(c, files, profile, pki, portrait, aa_key, notes)


def _tamper(content: bytes) -> bytes:
    """Change one byte near the end (inside the value, so the file still parses)."""
    i = len(content) - 3
    return content[:i] + bytes([content[i] ^ 0x01]) + content[i + 1 :]
