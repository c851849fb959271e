/* The pickup screen: camera or typed code, date of birth on the keypad, receipt confirmation,
   the open compartment on the picture of the bank, done. Plain-language errors by error code. */
"use strict";

(() => {
  const { t, call, idleTimer, speech } = LOCKER;
  const CLOSE_REMINDER_MS = 30000;
  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const SCAN_EVERY_MS = 300;
  const codeField = $("code");
  const state = {
    code: "", typed: false, dob: null, label: null, scanning: false, stream: null, busy: false,
    reminder: null,
  };

  /* -- steps ------------------------------------------------------------------------- */
  /* Show step `name` and say it: `values` fill its spoken text (the label, the error),
     `before` is said first (the date of birth read back before the confirmation). */
  function step(name, values, before) {
    for (const section of document.querySelectorAll(".step")) {
      section.hidden = section.id !== "step-" + name;
    }
    body.dataset.step = name;
    if (name === "scan") startCamera(); else stopCamera();
    const heading = document.querySelector("#step-" + name + " h1");
    if (name === "scan") $("code").focus(); else if (heading) heading.focus();
    speech.screen(name, values, before);
  }

  /* A mistake in a field: shown under it, sounded, and said. */
  function fieldError(id, key, values) {
    $(id).textContent = t(key, values);
    speech.tone("error");
    speech.say([{ key, values: values || {} }]);
  }

  function restart() {
    clearTimeout(state.reminder);
    Object.assign(state, { code: "", dob: null, label: null });
    clearSteps();
    $("code").value = "";
    step("scan");
  }

  /* "Try again" after an error: back to the code step with the typed code kept (to correct a
     typo); a scanned QR payload is not shown in the field. */
  function retry() {
    Object.assign(state, { dob: null, label: null });
    clearSteps();
    $("code").value = state.typed ? state.code : "";
    step("scan");
  }

  function clearSteps() {
    $("dob").value = "";
    $("code-error").textContent = "";
    $("dob-error").textContent = "";
    $("error-text").textContent = "";
    for (const cell of document.querySelectorAll(".cell.open")) cell.classList.remove("open");
  }

  /* Back to the welcome screen in the default language: nothing stays on screen. */
  function home() {
    stopCamera();
    window.location.replace(body.dataset.reset || "/");
  }

  /* -- the code ---------------------------------------------------------------------- */
  /* The message for a refused pickup: its catalog key and values (shown and said). */
  function errorMessage(answer) {
    switch (answer.data.error) {
      case "code_invalid":
      case "validation_error":
        return { error: "err_code_invalid" };
      case "expired":
        return { error: "err_expired" };
      case "rate_limited": {
        const seconds = answer.retryAfter || 60;
        if (seconds < 90) return { error: "err_rate_limited_seconds", seconds };
        const minutes = Math.round(seconds / 60);
        return minutes === 1 ? { error: "err_rate_limited_one" } : { error: "err_rate_limited", minutes };
      }
      case "code_used":
        return { error: "err_code_used" };
      case "code_revoked":
        return { error: "err_code_revoked" };
      case "not_a_kiosk":
        return { error: "err_not_a_kiosk" };
      case "wrong_locker":
        return { error: "err_wrong_locker" };
      case "already_open":
        return { error: "err_already_open" };
      case "hardware_fault":
      case "hardware_unavailable":
        return { error: "err_hardware" };
      default:
        return { error: "err_network" };
    }
  }

  /* A typed code of the right form (as the server reads it: any case, separators and the
     look-alikes O, I, L allowed; twelve characters, or ten for a code issued before the
     upgrade), or a QR payload; anything else is explained at once. */
  function plausible(typed) {
    if (/^LOCKER\d*:/i.test(typed)) return true;
    const bare = typed.toUpperCase().replace(/[\s\-_.·/]+/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
    const lengths = [Number(codeField.dataset.length), Number(codeField.dataset.legacyLength)];
    return lengths.includes(bare.length) && /^[0-9A-HJKMNP-TV-Z]+$/.test(bare);
  }

  /* One pickup call; `verifyOnly` checks code and date of birth and opens nothing. */
  async function submit(verifyOnly) {
    if (state.busy) return;  // a second Enter or tap while the first is on its way
    state.busy = true;
    $("busy").textContent = t("checking");
    const request = { code: state.code };
    if (state.dob) request.date_of_birth = state.dob;
    if (verifyOnly) request.verify_only = true;
    const answer = await call("POST", "/api/v1/pickup", request);
    state.busy = false;
    $("busy").textContent = "";
    if (answer.ok && answer.data.verified) {
      step("confirm", {}, [{ date: state.dob }]);
    } else if (answer.ok) {
      opened(answer.data.compartment);
    } else if (answer.status === 428 && !state.dob) {
      step("dob");
    } else if (answer.data.error === "date_of_birth_wrong") {
      /* The code is right: stay on the date, emptied, and say how many tries are left. */
      state.dob = null;
      const tries = Number(answer.data.tries_left || 0);
      showDigits("");
      fieldError("dob-error", tries === 1 ? "dob_wrong_one" : "dob_wrong", { tries });
      $("dob").focus();
    } else {
      state.dob = null;
      const message = errorMessage(answer);
      $("error-text").textContent = t(message.error, message);
      body.dataset.error = answer.data.error || "network";
      speech.tone("error");
      step("error", message);
    }
  }

  $("code-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const typed = $("code").value.trim();
    if (!typed) {
      fieldError("code-error", "code_empty");
      return;
    }
    if (!plausible(typed)) {
      fieldError("code-error", "code_format");
      codeField.focus();
      return;
    }
    $("code-error").textContent = "";
    state.code = typed;
    state.typed = true;
    readBack(typed);
    submit();
  });

  /* The typed code said back in its groups while it is checked (a QR code is not spelled). */
  function readBack(code) {
    const parts = /^LOCKER\d*:/i.test(code) ? [] : [{ spell: code }];
    speech.say([...parts, { key: "checking" }]);
  }

  /* Each key said as it is pressed, on the screen's keys or typed on a keyboard. */
  function echo(field) {
    field.addEventListener("input", (event) => {
      if (event.inputType && event.inputType.startsWith("delete")) speech.say([{ spell: "back" }]);
      else if (event.data && event.data.trim()) speech.say([{ spell: event.data.slice(-1) }]);
    });
  }
  echo(codeField);
  echo($("dob"));

  /* -- date of birth on the keypad ----------------------------------------------------- */
  function digits() {
    return $("dob").value.replace(/\D/g, "").slice(0, 8);
  }
  function showDigits(value) {
    const parts = [value.slice(0, 2), value.slice(2, 4), value.slice(4, 8)].filter(Boolean);
    $("dob").value = parts.join(".");
  }
  /* "17051990" → "1990-05-17", or null if that day does not exist. */
  function isoDate(value) {
    if (value.length !== 8) return null;
    const day = Number(value.slice(0, 2));
    const month = Number(value.slice(2, 4));
    const year = Number(value.slice(4, 8));
    const date = new Date(Date.UTC(year, month - 1, day));
    const real = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1
      && date.getUTCDate() === day && year > 1900;
    return real ? date.toISOString().slice(0, 10) : null;
  }

  /* On-screen keys type into their field without taking the focus from it (a USB scanner
     keeps typing into the field), `back` and `clear` included. */
  function keys(container, apply) {
    for (const key of container.querySelectorAll("[data-key]")) {
      key.addEventListener("pointerdown", (event) => event.preventDefault());
      key.addEventListener("click", () => apply(key.dataset.key));
    }
  }

  keys($("dob-keys"), (which) => {
    const value = digits();
    if (which === "back") showDigits(value.slice(0, -1));
    else if (which === "clear") showDigits("");
    else showDigits((value + which).slice(0, 8));
    speech.say([{ spell: which }]);
  });

  keys($("code-keys"), (which) => {
    const group = Number(codeField.dataset.group);
    const length = Number(codeField.dataset.length);
    let value = codeField.value.toUpperCase();
    const bare = value.replace(/[^0-9A-Z]/g, "");
    if (which === "back") value = value.slice(0, -1).replace(/-$/, "");
    else if (which === "clear") value = "";
    else if (bare.length < length) {
      if (bare.length > 0 && bare.length % group === 0 && !value.endsWith("-")) value += "-";
      value += which;
    }
    codeField.value = value;
    $("code-error").textContent = "";
    speech.say([{ spell: which }]);
  });

  /* A scanner or a physical keyboard types wherever the focus is: keys typed outside a
     field go into the step's field (the code, or the digits of the date of birth), Backspace
     deletes there and Enter submits it. */
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const inField = target instanceof HTMLInputElement;
    const field = { scan: codeField, dob: $("dob") }[body.dataset.step];
    if (!field || inField || event.ctrlKey || event.altKey || event.metaKey) return;
    const onButton = target instanceof HTMLButtonElement || target instanceof HTMLAnchorElement;
    if (event.key === "Enter" && !onButton) {
      event.preventDefault();
      field.form.requestSubmit();
    } else if (event.key === "Backspace") {
      event.preventDefault();
      field.focus();
      field.value = field.value.slice(0, -1);
      field.dispatchEvent(new Event("input"));
      speech.say([{ spell: "back" }]);
    } else if (event.key.length === 1 && event.key !== " ") {
      if (field.id === "dob" && !/\d/.test(event.key)) return;
      event.preventDefault();
      field.focus();
      field.value += event.key;
      field.dispatchEvent(new Event("input"));
      speech.say([{ spell: event.key }]);
    }
  });
  $("dob").addEventListener("input", () => showDigits(digits()));
  $("dob-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const iso = isoDate(digits());
    if (!iso) {
      fieldError("dob-error", "dob_invalid");
      $("dob").focus();
      return;
    }
    $("dob-error").textContent = "";
    state.dob = iso;
    submit(true);
  });
  $("confirm").addEventListener("click", () => submit(false));

  /* -- the compartment is open ----------------------------------------------------------- */
  function opened(label) {
    state.label = label;
    $("open-heading").textContent = t("open_heading", { label });
    $("bank").setAttribute("aria-label", t("bank_label", { label }));
    for (const cell of document.querySelectorAll(".cell")) {
      cell.classList.toggle("open", cell.dataset.label === label);
    }
    $("close-reminder").textContent = "";
    speech.tone("opened");
    step("open", { label });
    remindToClose(label);
  }

  /* A door left open: shown, sounded and said again every half minute until it closes. */
  function remindToClose(label) {
    clearTimeout(state.reminder);
    state.reminder = setTimeout(() => {
      if (body.dataset.step !== "open" || state.label !== label) return;
      $("close-reminder").textContent = t("speech_close_door", { label });
      speech.tone("close");
      speech.say([{ key: "speech_close_door", values: { label } }]);
      remindToClose(label);
    }, CLOSE_REMINDER_MS);
  }

  function done() {
    clearTimeout(state.reminder);
    state.label = null;
    step("done");
    setTimeout(home, 10000);
  }

  /* The door closing (the core's event) ends the pickup by itself. */
  const events = new EventSource("/api/v1/kiosk/stream");
  events.addEventListener("ready", () => { body.dataset.stream = "ready"; });
  events.addEventListener("closed", (event) => {
    const data = JSON.parse(event.data);
    if (body.dataset.step === "open" && data.compartment === state.label) done();
  });
  window.addEventListener("pagehide", () => events.close());

  /* -- the camera -------------------------------------------------------------------------- */
  const canvas = document.createElement("canvas");

  async function startCamera() {
    if (state.stream || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      if (!state.stream) cameraUnavailable();
      return;
    }
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false,
      });
    } catch (err) {
      cameraUnavailable();
      return;
    }
    if (body.dataset.step !== "scan") {
      stopCamera();
      return;
    }
    $("camera").srcObject = state.stream;
    body.dataset.camera = "on";
    state.scanning = true;
    setTimeout(scanFrame, SCAN_EVERY_MS);
  }

  function cameraUnavailable() {
    $("camera").hidden = true;
    $("camera-status").textContent = t("camera_unavailable");
    body.dataset.camera = "off";
    speech.say([{ key: "camera_unavailable" }], { interrupt: false });
  }

  function stopCamera() {
    state.scanning = false;
    if (state.stream) {
      for (const track of state.stream.getTracks()) track.stop();
      state.stream = null;
      $("camera").srcObject = null;
    }
  }

  async function scanFrame() {
    if (!state.scanning) return;
    const video = $("camera");
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext("2d").drawImage(video, 0, 0);
      const frame = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      const answer = frame ? await call("POST", "/api/v1/scan", frame) : { ok: false };
      const code = answer.ok ? answer.data.codes.find(plausible) : undefined;
      if (state.scanning && code) {  // other QR codes in view (a poster, a ticket) are ignored
        stopCamera();
        state.code = code;
        state.typed = false;
        submit();
        return;
      }
    }
    if (state.scanning) setTimeout(scanFrame, SCAN_EVERY_MS);
  }

  /* -- wiring ----------------------------------------------------------------------------- */
  for (const button of document.querySelectorAll("[data-action=restart]")) {
    button.addEventListener("click", restart);
  }
  for (const button of document.querySelectorAll("[data-action=retry]")) {
    button.addEventListener("click", retry);
  }
  for (const button of document.querySelectorAll("[data-action=done]")) {
    button.addEventListener("click", done);
  }
  idleTimer(Number(body.dataset.idle || 60), home);
  step("scan");
})();
