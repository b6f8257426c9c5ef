"""PACE ECDH-GM: the ICAO 9303-11 worked example step by step, then terminal vs PaceCard."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from readers.access_key import Can, MrzKey
from readers.apdu import CommandAPDU, ResponseAPDU
from readers.crypto import Algorithm, SessionKeys
from readers.ec import curve_by_id
from readers.errors import AccessDenied, CardError, ProtocolError
from readers.loopback import LoopbackTransport
from readers.pace import (
    auth_token,
    choose_pace_info,
    decrypt_nonce,
    map_generator,
    password_key,
    perform_pace,
)
from readers.security_infos import (
    ID_PACE,
    PACE_ECDH_GM_3DES,
    PACE_ECDH_GM_AES_128,
    PACE_ECDH_GM_AES_192,
    PACE_ECDH_GM_AES_256,
    PaceInfo,
    SecurityInfos,
    encode_security_infos,
)
from readers.sm import SecureMessaging
from readers.vcard.chip_auth_card import ChipAuthCard
from readers.vcard.pace_card import PaceCard

H = bytes.fromhex
ICAO_MRZ = MrzKey("T22000129", "640812", "101031")
ICAO_INFO = PaceInfo(PACE_ECDH_GM_AES_128, 2, 13)
K_PI = H("89DED1B26624EC1E634C1989302849DD")
Z = H("95A3A016522EE98D01E76CB6B98B42C3")
S = H("3F00C4D39D153F2B2A214A078D899B22")
T_MAP = H("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99")
T_MAP_PK = H(
    "047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E"
    "544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D"
)
C_MAP = H("498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560")
C_MAP_PK = H(
    "04824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57"
    "30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54"
)
H_POINT = H(
    "0460332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5"
    "0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181"
)
G_MAPPED = H(
    "048CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2"
    "8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522"
)
T_EPH = H("A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595")
T_EPH_PK = H(
    "042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C"
    "3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462"
)
C_EPH = H("107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A")
C_EPH_PK = H(
    "049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB"
    "7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094"
)
SHARED_K = H("28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925")
K_ENC = H("F5F0E35C0D7161EE6724EE513A0D9A7F")
K_MAC = H("FE251C7858B356B24514B3BD5F4297D1")
T_IFD = H("C2B0BD78D94BA866")
T_IC = H("3ABB9674BCE93C08")


def scripted_rng(*chunks: bytes) -> Callable[[int], bytes]:
    """An rng that hands out exactly these byte strings, in order."""
    queue = list(chunks)

    def rng(n: int) -> bytes:
        chunk = queue.pop(0)
        assert len(chunk) == n, f"asked for {n} bytes, scripted {len(chunk)}"
        return chunk

    return rng


class ScriptedCard:
    """Answers each command with the next canned response and records the commands."""

    def __init__(self, responses: list[bytes]) -> None:
        self.responses = list(responses)
        self.commands: list[CommandAPDU] = []

    def __call__(self, raw: bytes) -> bytes:
        self.commands.append(CommandAPDU.decode(raw))
        return self.responses.pop(0)


class MiniCard:
    """A minimal chip: PACE (+ CA under SM) and one readable file, to drive the terminal."""

    def __init__(
        self, pace: PaceCard, ca: ChipAuthCard | None = None, content: bytes = b""
    ) -> None:
        self.pace, self.ca, self.content = pace, ca, content
        self.session: SecureMessaging | None = None
        self.plain_commands: list[CommandAPDU] = []

    def __call__(self, raw: bytes) -> bytes:
        cmd = CommandAPDU.decode(raw)
        if cmd.cla & 0x0C:
            assert self.session is not None
            resp = self.session.protect_response(
                self._dispatch(self.session.unprotect_command(cmd))
            )
            if self.ca is not None and self.ca.new_session is not None:
                self.session, self.ca.new_session = self.ca.new_session, None
            return resp.encode()
        self.session = None
        return self._dispatch(cmd).encode()

    def _dispatch(self, cmd: CommandAPDU) -> ResponseAPDU:
        self.plain_commands.append(cmd)
        if cmd.ins == 0xB0:
            if self.session is None:
                return ResponseAPDU(b"", 0x6982)
            off = (cmd.p1 << 8) | cmd.p2
            return ResponseAPDU(self.content[off : off + (cmd.le or 0)], 0x9000)
        for handler in (self.pace, self.ca if self.session else None):
            resp = handler.process(cmd) if handler is not None else None
            if resp is not None:
                if handler is self.pace and self.pace.session is not None:
                    self.session, self.pace.session = self.pace.session, None
                return resp
        return ResponseAPDU(b"", 0x6D00)


# -- the ICAO worked example -------------------------------------------------------------------


def test_icao_password_key_and_nonce() -> None:
    assert ICAO_MRZ.pace_password == H("7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD")
    assert password_key(ICAO_MRZ, Algorithm.AES128) == K_PI
    assert decrypt_nonce(K_PI, Algorithm.AES128, Z) == S


def test_icao_mapping_and_key_agreement() -> None:
    curve = curve_by_id(13)
    t_map = int.from_bytes(T_MAP, "big")
    assert curve.encode_point(curve.mul_g(t_map)) == T_MAP_PK
    assert curve.encode_point(curve.mul_g(int.from_bytes(C_MAP, "big"))) == C_MAP_PK
    h_point = curve.mul(t_map, curve.decode_point(C_MAP_PK))
    assert curve.encode_point(h_point) == H_POINT
    mapped = map_generator(curve, S, h_point)
    assert curve.encode_point(mapped.g) == G_MAPPED
    assert mapped.encode_point(mapped.mul_g(int.from_bytes(T_EPH, "big"))) == T_EPH_PK
    chip_eph = mapped.decode_point(C_EPH_PK)
    shared = mapped.encode_x(mapped.mul(int.from_bytes(T_EPH, "big"), chip_eph))
    assert shared == SHARED_K
    keys = SessionKeys.derive(shared, Algorithm.AES128)
    assert (keys.k_enc, keys.k_mac) == (K_ENC, K_MAC)
    assert auth_token(keys, ICAO_INFO.oid_bytes, C_EPH_PK) == T_IFD
    assert auth_token(keys, ICAO_INFO.oid_bytes, T_EPH_PK) == T_IC


def test_icao_example_terminal_apdus() -> None:
    card = ScriptedCard(
        [
            H("9000"),
            H("7C128010") + Z + H("9000"),
            H("7C438241") + C_MAP_PK + H("9000"),
            H("7C438441") + C_EPH_PK + H("9000"),
            H("7C0A8608") + T_IC + H("9000"),
        ]
    )
    rng = scripted_rng(T_MAP, T_EPH)
    channel = perform_pace(LoopbackTransport(card), ICAO_MRZ, SecurityInfos(pace=[ICAO_INFO]), rng)
    mse, ga1, ga2, ga3, ga4 = card.commands
    assert (mse.cla, mse.ins, mse.p1, mse.p2) == (0x00, 0x22, 0xC1, 0xA4)
    assert mse.data == H("800A04007F00070202040202830101")  # one parameter set: no tag 84
    assert [c.cla for c in (ga1, ga2, ga3, ga4)] == [0x10, 0x10, 0x10, 0x00]
    assert all(c.ins == 0x86 for c in (ga1, ga2, ga3, ga4))
    assert ga1.data == H("7C00")
    assert ga2.data == H("7C438141") + T_MAP_PK
    assert ga3.data == H("7C438341") + T_EPH_PK
    assert ga4.data == H("7C0A8508") + T_IFD
    assert channel.sm.keys == SessionKeys(Algorithm.AES128, K_ENC, K_MAC)
    assert channel.sm.ssc == bytes(16)


def test_icao_example_card_side() -> None:
    card = PaceCard([ICAO_MRZ], [ICAO_INFO], rng=scripted_rng(S, C_MAP, C_EPH))
    answers = [
        card.process(CommandAPDU(0x00, 0x22, 0xC1, 0xA4, H("800A04007F00070202040202830101"))),
        card.process(CommandAPDU(0x10, 0x86, 0, 0, H("7C00"), 256)),
        card.process(CommandAPDU(0x10, 0x86, 0, 0, H("7C438141") + T_MAP_PK, 256)),
        card.process(CommandAPDU(0x10, 0x86, 0, 0, H("7C438341") + T_EPH_PK, 256)),
        card.process(CommandAPDU(0x00, 0x86, 0, 0, H("7C0A8508") + T_IFD, 256)),
    ]
    assert all(a is not None and a.sw == 0x9000 for a in answers)
    assert [a.data for a in answers if a is not None] == [
        b"",
        H("7C128010") + Z,
        H("7C438241") + C_MAP_PK,
        H("7C438441") + C_EPH_PK,
        H("7C0A8608") + T_IC,
    ]
    assert card.session is not None and card.session.keys.k_mac == K_MAC


# -- terminal vs virtual card ------------------------------------------------------------------

CAN = Can("123456")
MRZ = MrzKey("090123456", "900101", "300101")


class Recorder:
    """A transport wrapper keeping every command sent."""

    def __init__(self, inner: LoopbackTransport) -> None:
        self.inner = inner
        self.extended_length = inner.extended_length
        self.commands: list[CommandAPDU] = []

    def transmit(self, command: CommandAPDU) -> ResponseAPDU:
        self.commands.append(command)
        return self.inner.transmit(command)


def _read4(channel: object) -> ResponseAPDU:
    return channel.transmit(CommandAPDU(0x00, 0xB0, 0, 0, b"", 4))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("oid", "param_id", "alg"),
    [
        (PACE_ECDH_GM_AES_128, 12, Algorithm.AES128),
        (PACE_ECDH_GM_AES_192, 13, Algorithm.AES192),
        (PACE_ECDH_GM_AES_256, 15, Algorithm.AES256),
        (PACE_ECDH_GM_AES_256, 17, Algorithm.AES256),
        (PACE_ECDH_GM_AES_128, 18, Algorithm.AES128),
        (PACE_ECDH_GM_3DES, 12, Algorithm.TDES),
    ],
)
@pytest.mark.parametrize("key", [CAN, MRZ], ids=["CAN", "MRZ"])
def test_pace_against_virtual_card(
    oid: str, param_id: int, alg: Algorithm, key: Can | MrzKey
) -> None:
    info = PaceInfo(oid, 2, param_id)
    card = MiniCard(PaceCard([CAN, MRZ], [info]), content=b"\x60\x14\x5f\x01")
    channel = perform_pace(
        LoopbackTransport(card), key, encode_security_infos(SecurityInfos([info]))
    )
    assert channel.sm.keys.alg is alg
    assert card.session is not None and card.session.keys == channel.sm.keys
    mse = card.plain_commands[0]
    assert mse.data[-3:] == bytes([0x83, 1, key.pace_password_ref])
    resp = _read4(channel)
    assert (resp.data, resp.sw) == (b"\x60\x14\x5f\x01", 0x9000)


def test_several_parameter_sets_send_tag_84() -> None:
    offered = [
        PaceInfo(PACE_ECDH_GM_AES_128, 2, 12),
        PaceInfo(PACE_ECDH_GM_AES_256, 2, 15),
        PaceInfo(PACE_ECDH_GM_AES_128, 2, 13),
        PaceInfo(f"{ID_PACE}.1.2", 2, 2),  # DH-GM: not supported, must be skipped
    ]
    assert choose_pace_info(offered) == offered[1]
    card = MiniCard(PaceCard([CAN], offered))
    rec = Recorder(LoopbackTransport(card))
    channel = perform_pace(rec, CAN, SecurityInfos(pace=offered))
    assert rec.commands[0].data.endswith(H("84010F"))
    assert channel.sm.keys.alg is Algorithm.AES256


def test_card_refuses_ambiguous_set_at_without_84() -> None:
    offered = [PaceInfo(PACE_ECDH_GM_AES_128, 2, 12), PaceInfo(PACE_ECDH_GM_AES_128, 2, 13)]
    card = PaceCard([CAN], offered)
    resp = card.process(CommandAPDU(0x00, 0x22, 0xC1, 0xA4, H("800A04007F00070202040202830102")))
    assert resp is not None and resp.sw == 0x6A88


def test_wrong_can_is_access_denied() -> None:
    pace_card = PaceCard([Can("654321")], [PaceInfo(PACE_ECDH_GM_AES_128, 2, 12)])
    transport = LoopbackTransport(MiniCard(pace_card))
    with pytest.raises(AccessDenied) as err:
        perform_pace(transport, CAN, SecurityInfos(pace=[PaceInfo(PACE_ECDH_GM_AES_128, 2, 12)]))
    assert err.value.key == "CAN"
    assert pace_card.failures == 1
    assert pace_card.session is None


def test_wrong_mrz_key_is_access_denied_mrz() -> None:
    info = PaceInfo(PACE_ECDH_GM_AES_256, 2, 13)
    transport = LoopbackTransport(MiniCard(PaceCard([MRZ], [info])))
    other = MrzKey("090123456", "900102", "300101")
    with pytest.raises(AccessDenied) as err:
        perform_pace(transport, other, SecurityInfos(pace=[info]))
    assert err.value.key == "MRZ"


class Tamper:
    """Passes APDUs to a card, rewriting the response to the n-th command."""

    def __init__(self, card: Callable[[bytes], bytes], index: int, edit: Callable[[bytes], bytes]):
        self.card, self.index, self.edit, self.count = card, index, edit, 0

    def __call__(self, raw: bytes) -> bytes:
        resp = self.card(raw)
        self.count += 1
        return self.edit(resp) if self.count == self.index else resp


INFO_256 = PaceInfo(PACE_ECDH_GM_AES_128, 2, 12)


def _run_tampered(index: int, edit: Callable[[bytes], bytes]) -> None:
    card = Tamper(MiniCard(PaceCard([CAN], [INFO_256])), index, edit)
    perform_pace(LoopbackTransport(card), CAN, SecurityInfos(pace=[INFO_256]))


def test_bad_chip_token_is_access_denied() -> None:
    def flip(resp: bytes) -> bytes:  # last byte of the token, before the status word
        return resp[:-3] + bytes([resp[-3] ^ 1]) + resp[-2:]

    with pytest.raises(AccessDenied):
        _run_tampered(5, flip)


def test_malformed_nonce_answer_is_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        _run_tampered(2, lambda resp: H("7C038101009000"))


def test_chip_mapping_point_off_curve_is_protocol_error() -> None:
    def corrupt(resp: bytes) -> bytes:
        return resp[:-4] + bytes([resp[-4] ^ 1]) + resp[-3:]

    with pytest.raises(ProtocolError):
        _run_tampered(3, corrupt)


def test_card_error_before_tokens_is_card_error() -> None:
    with pytest.raises(CardError) as err:
        _run_tampered(2, lambda resp: H("6A80"))
    assert err.value.sw == 0x6A80


def test_refusal_sw_at_token_step_is_access_denied() -> None:
    with pytest.raises(AccessDenied):
        _run_tampered(5, lambda resp: H("63C2"))


def test_no_supported_pace_is_protocol_error() -> None:
    infos = SecurityInfos(pace=[PaceInfo(f"{ID_PACE}.1.2", 2, 2)])
    with pytest.raises(ProtocolError):
        perform_pace(LoopbackTransport(lambda raw: H("9000")), CAN, infos)


def test_random_runs_agree() -> None:
    for _ in range(3):
        info = PaceInfo(PACE_ECDH_GM_AES_128, 2, 13)
        card = MiniCard(PaceCard([CAN], [info], rng=os.urandom))
        channel = perform_pace(LoopbackTransport(card), CAN, SecurityInfos(pace=[info]))
        assert _read4(channel).sw == 0x9000
