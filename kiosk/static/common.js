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
  function has(key) {
    return Object.prototype.hasOwnProperty.call(messages, key);
  }

  /* An API error in the page's language, never its English `detail`: the catalog text of
     `err_<error>`, or for bad input of the field (`field_<field>`) and its reason
     (`reason_<reason>`, the core's or pydantic's code); an unknown code says so generically. */
  function explain(answer) {
    const data = answer.data || {};
    const facts = Object.assign({}, data);
    if (data.reason && has("err_" + data.reason)) return t("err_" + data.reason, facts);
    if (data.field && (data.error === "invalid_input" || data.error === "validation_error")) {
      const fieldKey = "field_" + data.field.replace(/\.\d+/g, "");
      const field = has(fieldKey) ? t(fieldKey) : t("field_unknown");
      const code = /^date_/.test(data.reason || "") ? "date_invalid" : data.reason;
      const reason = has("reason_" + code) ? t("reason_" + code, facts) : t("reason_invalid");
      return t("error_field", { field, reason });
    }
    if (data.error && has("err_" + data.error)) return t("err_" + data.error, facts);
    return t("error_unknown", { status: answer.status });
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
     #idle dialog, with a button that gives the full time again (WCAG 2.2.1). On the citizen's
     screens (LOCKER.speech) the warning is also sounded and said, and any key extends. */
  function idleTimer(seconds, onTimeout, textKey) {
    const dialog = document.getElementById("idle");
    const text = document.getElementById("idle-text");
    const warnFor = Math.max(5, Math.min(30, Math.floor(seconds / 3)));
    let deadline = 0;
    let tick = null;

    function restart() {
      deadline = Date.now() + seconds * 1000;
      if (dialog.open) {
        dialog.close();
        if (LOCKER.speech) LOCKER.speech.say([{ key: "speech_extended" }]);
      }
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
          if (LOCKER.speech) {
            LOCKER.speech.tone("warning");
            LOCKER.speech.say([{ screen: "idle", values: { seconds: left } }]);
          }
        }
      }
    }
    document.getElementById("idle-extend").addEventListener("click", restart);
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); restart(); });
    for (const kind of ["pointerdown", "keydown", "input"]) {
      document.addEventListener(kind, (event) => {
        if (!dialog.open) {
          restart();
        } else if (kind === "keydown" && LOCKER.speech) {
          event.preventDefault();  // the key that asks for more time does nothing else
          event.stopPropagation();
          restart();
        }
      }, true);
    }
    restart();
    tick = setInterval(check, 1000);
    return { restart };
  }

  function show(element, visible) {
    element.hidden = !visible;
  }

  return { t, has, explain, call, idleTimer, show };
})();
