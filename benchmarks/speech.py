"""Speech output: a screen change to the first audio sample playing, in Chromium against
``locker serve`` (its own process, espeak-ng behind ``/api/v1/kiosk/speech``), cached and
uncached; and espeak-ng's synthesis time per utterance on its own.

"Screen change" is the call every step of the pickup page makes when it shows itself
(``LOCKER.speech.screen(name, values)``); "playing" is the audio element's ``playing`` event
for that utterance, both from the page's own log (``LOCKER.speech.log``). Uncached: each
utterance is new to the server (an inactivity countdown or a lockout of minutes it has not
said yet); cached: the same utterances asked again. The browser is Debian's Chromium,
headless, started as the kiosk's is (``--autoplay-policy=no-user-gesture-required``).
"""

from __future__ import annotations

from datetime import date
from functools import partial

from playwright.sync_api import sync_playwright

from benchmarks.harness import Benchmark, Figure, latency_figures, timed
from benchmarks.served import served
from kiosk.speech.engine import Espeak
from kiosk.speech.service import SpeechService
from kiosk.speech.utterances import SCREENS, Part, compose
from locker.i18n import catalog, languages

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]
TARGET_CACHED_P99_MS = 300.0


def _screens(samples: int) -> list[tuple[str, dict[str, str | int]]]:
    """``samples`` screen changes, each with a text the server has not synthesised before:
    the inactivity warning and the too-many-tries error, each with its own number."""
    return [
        ("idle", {"seconds": 1000 + n})
        if n % 2
        else ("error", {"error": "err_rate_limited", "minutes": 1000 + n})
        for n in range(samples)
    ]


def _screen_to_playing(samples: int) -> tuple[list[float], list[float]]:
    """(uncached, cached) seconds from the screen change to the first sample playing."""
    with served() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(server.base + "/pickup?speech=on")
            page.wait_for_function("() => LOCKER.speech.log.some((e) => e.playing !== null)")
            seconds: dict[str, list[float]] = {"uncached": [], "cached": []}
            for kind, found in seconds.items():
                for name, values in _screens(samples):
                    latency = page.evaluate(
                        """async ([name, values]) => {
                            const before = LOCKER.speech.log.length;
                            LOCKER.speech.screen(name, values);
                            const entry = LOCKER.speech.log[before];
                            while (entry.playing === null && !entry.failed) {
                                await new Promise((r) => setTimeout(r, 2));
                            }
                            return [entry.playing - entry.asked, entry.cache];
                        }""",
                        [name, values],
                    )
                    wanted = "miss" if kind == "uncached" else "hit"
                    assert latency[1] == wanted, f"{kind} utterance was a cache {latency[1]}"
                    found.append(latency[0] / 1000)
            return seconds["uncached"], seconds["cached"]
        finally:
            browser.close()


def _synthesis(samples: int) -> tuple[list[float], list[float]]:
    """espeak-ng per utterance (every screen, the code, a date, a key; both languages), and
    the same utterances answered from the cache."""
    service = SpeechService(Espeak(), 160, 64 * 1024 * 1024)
    values: dict[str, str | int] = {"label": "A09", "seconds": 20, "error": "err_code_invalid"}
    utterances = [[Part(screen=screen, values=values)] for screen in SCREENS]
    utterances += [[Part(spell="K7M4Q-X9T2B")], [Part(date=date(1990, 5, 17))], [Part(spell="K")]]
    work = [(catalog(lang), parts) for lang in languages() for parts in utterances]
    texts = [(texts.code, compose(texts, parts, [])) for texts, parts in work]
    uncached: list[float] = []
    for n in range(samples):
        code, text = texts[n % len(texts)]
        uncached += timed(partial(service.engine.synthesise, text, code, 160), 1)
    public = [(texts.code, parts) for texts, parts in work if not any(p.private for p in parts)]
    for code, parts in public[:samples]:  # the ones timed below, answered from the cache
        service.speak(code, parts, [])
    cached: list[float] = []
    for n in range(samples):
        code, parts = public[n % len(public)]
        cached += timed(partial(service.speak, code, parts, []), 1)
    return uncached, cached


def run(samples: int) -> list[Figure]:
    uncached, cached = _screen_to_playing(samples)
    synthesis, from_cache = _synthesis(samples)
    return [
        *latency_figures(
            "screen_to_audio_cached",
            "screen change -> first audio sample playing, cached",
            cached,
            target_p99_ms=TARGET_CACHED_P99_MS,
        ),
        *latency_figures(
            "screen_to_audio_uncached",
            "screen change -> first audio sample playing, synthesised now",
            uncached,
        ),
        *latency_figures("synthesis", "espeak-ng per utterance (WAV)", synthesis),
        *latency_figures("synthesis_cached", "utterance from the cache", from_cache),
    ]


BENCHMARK = Benchmark(
    title="speech output: screen change to audio playing (Chromium, locker serve), synthesis",
    run=run,
    full={"samples": 60},
    smoke={"samples": 1},
)
