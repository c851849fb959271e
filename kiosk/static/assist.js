/* Assistance on the citizen's screens (docs/accessibility.md): speech output, alert tones,
   high contrast and large text, for the one session they were chosen in.

   Speech: the page asks POST /api/v1/kiosk/speech for the parts of an utterance (a screen, a
   catalog text, a key or the code to spell, a date, a compartment's place) and plays the WAV
   that espeak-ng made on the device. A new screen interrupts what is being said; a key
   interrupts the key before it. `LOCKER.speech.log` is the list of what was asked to be said,
   in order, with its text and when it started to play (the tests and the benchmark read it).
   Physical keys: F1 speech on (when on: repeat), F2 slower, F3 faster, F4 speech off.

   Tones (Web Audio, no file): door opened, door to be closed, time running out, error —
   always sounded, with speech or without, beside what the screen shows.

   The choices live in the page address (?speech=on&rate=1&contrast=high&text=large): every
   link of the session keeps them, and the return to "/" at the end of the session drops them. */
"use strict";

(() => {
  const body = document.body;
  const root = document.documentElement;
  const lang = root.lang;
  const RATES = { min: -3, max: 3 };
  const state = {
    speech: body.dataset.speech === "on",
    rate: Number(body.dataset.rate || 0),
    contrast: root.classList.contains("high-contrast"),
    large: root.classList.contains("large-text"),
  };
  const log = [];
  const tones = [];
  const audio = new Audio();
  let generation = 0;
  let chain = Promise.resolve();
  let lastScreen = null;

  /* -- the session's choices --------------------------------------------------------------- */
  function query() {
    const keep = new URLSearchParams();
    if (state.speech) {
      keep.set("speech", "on");
      if (state.rate) keep.set("rate", String(state.rate));
    }
    if (state.contrast) keep.set("contrast", "high");
    if (state.large) keep.set("text", "large");
    const text = keep.toString();
    return text ? "&" + text : "";
  }

  function apply() {
    root.classList.toggle("high-contrast", state.contrast);
    root.classList.toggle("large-text", state.large);
    body.dataset.speech = state.speech ? "on" : "off";
    body.dataset.rate = String(state.rate);
    const keep = query();
    body.dataset.keep = keep;
    for (const link of document.querySelectorAll("a[data-base]")) link.href = link.dataset.base + keep;
    if (body.dataset.home) body.dataset.home = body.dataset.home.split("&")[0] + keep;
    const pressed = { "speech-toggle": state.speech, "contrast-toggle": state.contrast, "large-toggle": state.large };
    for (const [id, on] of Object.entries(pressed)) {
      const button = document.getElementById(id);
      if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    const controls = document.getElementById("speech-controls");
    if (controls) controls.hidden = !state.speech;
    document.dispatchEvent(new CustomEvent("assist-changed", { detail: { ...state } }));
  }

  /* -- speech ------------------------------------------------------------------------------- */
  async function fetchSpeech(parts) {
    const response = await fetch("/api/v1/kiosk/speech", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "audio/wav" },
      body: JSON.stringify({ lang, rate: state.rate, parts }),
    });
    if (!response.ok) throw new Error("speech " + response.status);
    return {
      text: decodeURIComponent(response.headers.get("X-Utterance") || ""),
      cache: response.headers.get("X-Speech-Cache"),
      blob: await response.blob(),
    };
  }

  function play(blob, entry) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(blob);
      const done = () => {
        URL.revokeObjectURL(url);
        audio.onplaying = audio.onended = audio.onpause = audio.onerror = null;
        resolve();
      };
      audio.onplaying = () => {
        entry.playing = performance.now();
        body.dataset.speaking = String(log.indexOf(entry));
      };
      audio.onended = audio.onpause = audio.onerror = done;
      audio.src = url;
      audio.play().catch(done);
    });
  }

  /* Say `parts`; by default it interrupts what is being said. {screen: true} remembers it for
     "repeat". Returns a promise that settles when it has been said (or skipped). */
  function say(parts, options) {
    const opts = options || {};
    if (opts.screen) lastScreen = parts;
    if (!state.speech) return Promise.resolve();
    if (opts.interrupt !== false) {
      generation += 1;
      audio.pause();
    }
    const mine = generation;
    const entry = { parts, text: null, asked: performance.now(), playing: null, cache: null };
    log.push(entry);
    const fetched = fetchSpeech(parts);
    chain = chain.then(async () => {
      let got;
      try {
        got = await fetched;
      } catch (err) {
        entry.text = "";
        entry.failed = true;
        return;
      }
      entry.text = got.text;
      entry.cache = got.cache;
      if (mine === generation) await play(got.blob, entry);
    });
    return chain;
  }

  function screen(name, values, before) {
    return say([...(before || []), { screen: name, values: values || {} }], { screen: true });
  }

  function repeat() {
    if (lastScreen) say(lastScreen);
  }

  function changeRate(step) {
    const rate = Math.max(RATES.min, Math.min(RATES.max, state.rate + step));
    if (rate === state.rate) return;
    state.rate = rate;
    apply();
    say([{ key: step < 0 ? "speech_slower" : "speech_faster" }, ...(lastScreen || [])].slice(0, 8));
  }

  function on() {
    if (state.speech) {
      repeat();
      return;
    }
    state.speech = true;
    apply();
    repeat();
  }

  function off() {
    if (!state.speech) return;
    say([{ key: "speech_off" }]).then(() => {
      state.speech = false;
      apply();
    });
  }

  /* -- tones -------------------------------------------------------------------------------- */
  const TONES = {
    opened: [[660, 0.12], [880, 0.2]],
    close: [[880, 0.15], [0, 0.1], [880, 0.15], [0, 0.1], [880, 0.15]],
    warning: [[988, 0.1], [0, 0.08], [988, 0.1]],
    error: [[247, 0.2], [196, 0.3]],
  };
  let context = null;

  function tone(kind) {
    tones.push(kind);
    body.dataset.tone = kind;
    try {
      context = context || new AudioContext();
    } catch (err) {
      return;
    }
    let at = context.currentTime + 0.02;
    for (const [hertz, seconds] of TONES[kind]) {
      if (hertz) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.frequency.value = hertz;
        gain.gain.setValueAtTime(0.25, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + seconds);
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(at);
        oscillator.stop(at + seconds);
      }
      at += seconds;
    }
  }

  /* -- controls ----------------------------------------------------------------------------- */
  const KEYS = { F1: on, F2: () => changeRate(-1), F3: () => changeRate(1), F4: off };
  document.addEventListener("keydown", (event) => {
    const action = KEYS[event.key];
    if (!action || event.ctrlKey || event.altKey || event.metaKey) return;
    event.preventDefault();
    action();
  }, true);
  const BUTTONS = { repeat, slower: () => changeRate(-1), faster: () => changeRate(1), off };
  for (const button of document.querySelectorAll("button[data-speech]")) {
    button.addEventListener("click", () => BUTTONS[button.dataset.speech]());
  }
  const toggles = {
    "speech-toggle": () => (state.speech ? off() : on()),
    "contrast-toggle": () => { state.contrast = !state.contrast; apply(); },
    "large-toggle": () => { state.large = !state.large; apply(); },
  };
  for (const [id, action] of Object.entries(toggles)) {
    const button = document.getElementById(id);
    if (button) button.addEventListener("click", action);
  }
  /* Where the layout says the top of the screen is out of a seated user's reach, the page
     starts below that band, so every control is within reach. */
  if (body.dataset.reachBand) body.style.setProperty("--reach-band", body.dataset.reachBand + "vh");
  apply();

  LOCKER.speech = {
    say, screen, repeat, tone, log, tones, state,
    get on() { return state.speech; },
    get active() { return state.speech || state.contrast || state.large; },
  };
})();
