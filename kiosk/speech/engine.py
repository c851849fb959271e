"""espeak-ng, Debian's speech synthesiser, run on the device: text in, a WAV file out.

The text goes to the program on stdin (never on the command line, where a leading ``-`` would
be an option); the voice and the rate are chosen by us. With ``--stdout`` espeak-ng streams
and leaves the RIFF and data sizes at ``0x7fffffff``; :func:`sized_wav` writes the real ones
so every decoder (the browser's, Python's ``wave``) reads the file whole.
"""

from __future__ import annotations

import shutil
import struct
import subprocess

VOICES = {"de": "de", "en": "en-gb"}
"""espeak-ng voice for each catalog language; another language speaks with its own code."""


class SpeechUnavailable(RuntimeError):
    """The synthesiser is missing or failed; the screen still shows everything."""


class Espeak:
    """One call of ``espeak-ng`` per utterance (about 10–60 ms on a Pi 4 for a sentence)."""

    def __init__(self, program: str = "espeak-ng", timeout_s: float = 10.0) -> None:
        self.program = program
        self.timeout_s = timeout_s

    def available(self) -> bool:
        return shutil.which(self.program) is not None

    def synthesise(self, text: str, language: str, wpm: int) -> bytes:
        """The WAV (16-bit mono PCM) of ``text`` spoken in ``language`` at ``wpm`` words/min."""
        voice = VOICES.get(language, language)
        command = [self.program, "-v", voice, "-s", str(wpm), "-b", "1", "--stdout"]
        try:
            done = subprocess.run(  # noqa: S603 - fixed program, text on stdin
                command,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise SpeechUnavailable(f"{self.program} could not run: {err}") from None
        if done.returncode != 0 or not done.stdout.startswith(b"RIFF"):
            problem = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
            raise SpeechUnavailable(f"{self.program} failed: {problem}")
        return sized_wav(done.stdout)


def sized_wav(data: bytes) -> bytes:
    """``data`` with the RIFF size and the ``data`` chunk's size set to what is really there."""
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = data[offset : offset + 4], struct.unpack_from("<I", data, offset + 4)[0]
        if chunk == b"data":
            real = len(data) - offset - 8
            fixed = bytearray(data)
            struct.pack_into("<I", fixed, 4, len(data) - 8)
            struct.pack_into("<I", fixed, offset + 4, real - real % 2)
            return bytes(fixed[: offset + 8 + real - real % 2])
        offset += 8 + size + size % 2
    raise SpeechUnavailable("the synthesiser wrote a WAV file without audio data")
