/* Shared by every screen: messages of the page's language, JSON calls, the idle timer. */
"use strict";

const LOCKER = (() => {
  const messages = JSON.parse(document.getElementById("messages").textContent);

  /* The message `key` with {placeholders} filled from `values`. */
  function t(key, values) {
    const text = messages[key] || key;
    return text.replace(/\{(\w+)\}/g, (all, name) =>
      values && name in values ? String(values[name]) : all);
  }

  /* One JSON call; never throws: {ok, status, data, retryAfter}. */
  async function call(method, url, body, headers) {
    const init = { method, headers: Object.assign({ Accept: "application/json" }, headers || {}) };
    if (body instanceof Blob) {
      init.body = body;
      init.headers["Content-Type"] = body.type;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    try {
      const response = await fetch(url, init);
      let data = {};
      if (response.status !== 204) {
        try { data = await response.json(); } catch (err) { data = {}; }
      }
      return {
        ok: response.ok,
        status: response.status,
        data,
        retryAfter: Number(response.headers.get("Retry-After") || 0),
      };
    } catch (err) {
      return { ok: false, status: 0, data: { error: "network", detail: String(err) }, retryAfter: 0 };
    }
  }

  /* Calls `onTimeout` after `seconds` without a touch or key press; warns before, in the
     #idle dialog, with a button that gives the full time again (WCAG 2.2.1). */
  function idleTimer(seconds, onTimeout, textKey) {
    const dialog = document.getElementById("idle");
    const text = document.getElementById("idle-text");
    const warnFor = Math.max(5, Math.min(30, Math.floor(seconds / 3)));
    let deadline = 0;
    let tick = null;

    function restart() {
      deadline = Date.now() + seconds * 1000;
      if (dialog.open) dialog.close();
    }
    function check() {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      if (left <= 0) {
        clearInterval(tick);
        onTimeout();
      } else if (left <= warnFor) {
        text.textContent = t(textKey || "idle_text", { seconds: left });
        if (!dialog.open) {
          dialog.showModal();
          document.getElementById("idle-extend").focus();
        }
      }
    }
    document.getElementById("idle-extend").addEventListener("click", restart);
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); restart(); });
    for (const kind of ["pointerdown", "keydown", "input"]) {
      document.addEventListener(kind, () => { if (!dialog.open) restart(); }, true);
    }
    restart();
    tick = setInterval(check, 1000);
    return { restart };
  }

  function show(element, visible) {
    element.hidden = !visible;
  }

  return { t, call, idleTimer, show };
})();
