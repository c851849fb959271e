"""Speech output: every screen in both languages has its spoken text, and espeak-ng turns it
into audio that is not silent and lasts as long as speech of that length should; the endpoint
serves it to the kiosk alone, from the cache where the text is the same for everyone."""

from __future__ import annotations

import io
import math
import struct
import wave
from collections.abc import Iterator
from datetime import date
from urllib.parse import unquote

import pytest

from hardware.layout import load_packaged_layout
from kiosk.speech.engine import Espeak
from kiosk.speech.service import SpeechService
from kiosk.speech.utterances import ERRORS, SCREENS, Part, UnknownText, compose
from locker.i18n import catalog, languages, read

from .conftest import running_stack

SPECS = [c.spec for c in load_packaged_layout("simulator", "layouts/demo.toml").compartments]
VALUES = {"label": "A09", "seconds": 20, "minutes": 3, "error": "err_code_invalid"}
WPM = 160


def measure(wav: bytes) -> tuple[float, float]:
    """(seconds, RMS as a share of full scale) of 16-bit mono PCM, decoded with the stdlib."""
    with wave.open(io.BytesIO(wav)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        frames = audio.readframes(audio.getnframes())
        seconds = audio.getnframes() / audio.getframerate()
    samples = struct.unpack(f"<{len(frames) // 2}h", frames)
    rms = math.sqrt(sum(s * s for s in samples) / max(1, len(samples))) / 32768
    return seconds, rms


def utterances() -> Iterator[tuple[str, str, list[Part]]]:
    """Every screen, every error screen, a key, the code, a date and a place, per language."""
    for lang in languages():
        for screen in SCREENS:
            yield lang, screen, [Part(screen=screen, values=VALUES)]
        for error in ERRORS:
            yield lang, error, [Part(screen="error", values=VALUES | {"error": error})]
        yield lang, "key", [Part(spell="K")]
        yield lang, "code", [Part(spell="K7M4-Q9XT-2BHD")]
        yield lang, "date", [Part(date=date(1990, 5, 17))]
        yield lang, "place", [Part(place="A09")]


@pytest.fixture(scope="module")
def spoken() -> dict[tuple[str, str], tuple[str, bytes]]:
    """Each utterance synthesised once for the whole module."""
    service = SpeechService(Espeak(), WPM, 64 * 1024 * 1024)
    return {
        (lang, name): (said.text, said.wav)
        for lang, name, parts in utterances()
        for said in [service.speak(lang, parts, SPECS)]
    }


def test_every_screen_text_exists_in_both_languages() -> None:
    keys = {key for pieces in SCREENS.values() for key in pieces if not key.startswith("{")}
    keys |= set(ERRORS) | {k for k in read("en")[1] if k.startswith("speech_")}
    for lang in languages():
        own = read(lang)[1]
        assert sorted(keys - own.keys()) == [], lang


@pytest.mark.parametrize(("lang", "name"), [(lang, name) for lang, name, _ in utterances()])
def test_spoken_audio_is_not_silent_and_as_long_as_its_text(
    spoken: dict[tuple[str, str], tuple[str, bytes]], lang: str, name: str
) -> None:
    text, wav = spoken[(lang, name)]
    seconds, rms = measure(wav)
    assert rms > 0.02, f"{lang} {name}: silent (RMS {rms:.4f})"
    words = max(1, len(text.split()))
    # 160 words a minute is 0.375 s a word; allow for long German words and pauses.
    assert 0.15 * words <= seconds <= 1.2 * words + 0.5, f"{lang} {name}: {seconds:.2f} s"


def test_the_place_of_a_compartment_is_said_from_the_layout() -> None:
    de, en = catalog("de"), catalog("en")
    assert compose(de, [Part(place="B05")], SPECS) == (
        "Fach B05: dritte Reihe von unten, drittes von links."
    )
    assert compose(en, [Part(place="G03")], SPECS) == (
        "Compartment G03: second row from the bottom, fifth from the left."
    )


def test_the_code_is_read_back_in_groups_and_keys_by_name() -> None:
    de = catalog("de")
    assert compose(de, [Part(spell="k7m4q-x9t2b")], SPECS) == "Ihr Code: K 7 M 4 Q, X 9 T 2 B."
    assert compose(de, [Part(spell="back")], SPECS) == "Letzte Ziffer löschen"
    assert compose(de, [Part(date=date(1990, 5, 17))], SPECS) == "Geburtsdatum: 17. Mai 1990."


def test_only_screen_texts_are_spoken() -> None:
    with pytest.raises(UnknownText):
        compose(catalog("de"), [Part(key="msg_stored_sms")], SPECS)
    with pytest.raises(UnknownText):
        compose(catalog("de"), [Part(screen="nowhere")], SPECS)


def test_faster_is_shorter(spoken: dict[tuple[str, str], tuple[str, bytes]]) -> None:
    service = SpeechService(Espeak(), WPM, 0)
    parts = [Part(screen="done")]
    normal = measure(service.speak("de", parts, SPECS).wav)[0]
    faster = measure(service.speak("de", parts, SPECS, 2).wav)[0]
    slower = measure(service.speak("de", parts, SPECS, -2).wav)[0]
    assert slower > normal * 1.2 and faster < normal / 1.2


def test_the_endpoint_serves_wav_from_the_cache_but_never_a_code(tmp_path) -> None:
    with running_stack(tmp_path) as stack:
        ask = {"lang": "en", "parts": [{"screen": "open", "values": {"label": "A09"}}]}
        first = stack.client.post("/api/v1/kiosk/speech", json=ask)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "audio/wav"
        assert unquote(first.headers["x-utterance"]).startswith(
            "Compartment A09 is open. Compartment A09: fifth row from the bottom, first from"
        )
        assert measure(first.content)[1] > 0.02
        again = stack.client.post("/api/v1/kiosk/speech", json=ask)
        assert (first.headers["x-speech-cache"], again.headers["x-speech-cache"]) == (
            "miss",
            "hit",
        )
        assert again.content == first.content
        code = {"lang": "de", "parts": [{"spell": "K7M4Q-X9T2B"}]}
        for _ in range(2):
            assert (
                stack.client.post("/api/v1/kiosk/speech", json=code).headers["x-speech-cache"]
                == "miss"
            )
        wrong = stack.client.post(
            "/api/v1/kiosk/speech", json={"parts": [{"key": "msg_stored_sms"}]}
        )
        assert (wrong.status_code, wrong.json()["error"]) == (422, "invalid_input")
        both = stack.client.post(
            "/api/v1/kiosk/speech", json={"parts": [{"screen": "done", "spell": "K"}]}
        )
        assert both.status_code == 422


def test_speech_is_for_the_kiosk_alone_and_missing_espeak_is_a_clear_503(tmp_path) -> None:
    elsewhere = {
        "security": {"kiosk_addresses": ["10.9.9.9"]},
        "kiosk": {"speech_program": "/nonexistent/espeak-ng"},
    }
    with running_stack(tmp_path, **elsewhere) as stack:
        answer = stack.client.post("/api/v1/kiosk/speech", json={"parts": [{"screen": "done"}]})
        assert (answer.status_code, answer.json()["error"]) == (403, "not_a_kiosk")
    with running_stack(tmp_path / "2", kiosk={"speech_program": "/nonexistent/espeak-ng"}) as stack:
        answer = stack.client.post("/api/v1/kiosk/speech", json={"parts": [{"screen": "done"}]})
        assert (answer.status_code, answer.json()["error"]) == (503, "speech_unavailable")
