/* The clerk screens: sign-in, loading with live "stored", taking back, technician actions,
   accounts and keys. Every change goes through the JSON API with the session's CSRF token. */
"use strict";

(() => {
  const { t, explain, call, idleTimer } = LOCKER;
  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const lang = body.dataset.lang || "de";

  /* A state-changing call with the CSRF token of the session. */
  function change(method, url, data) {
    return call(method, url, data, { "X-CSRF-Token": body.dataset.csrf || "" });
  }

  function say(element, text, bad) {
    element.textContent = text;
    element.classList.toggle("bad", Boolean(bad));
  }

  /* What went wrong, in the screen's language (never the API's English `detail`); `special`
     maps further error codes to messages of the calling screen. */
  function failure(answer, special) {
    const code = answer.data.error;
    if (special && special[code]) return special[code];
    if (answer.status === 403) return t("forbidden");
    if (code === "hardware_unavailable") return t("staff_hardware_unavailable");
    if (code === "no_compartment_free") return t("staff_no_compartment_free");
    return explain(answer);
  }

  /* Bad input: mark the form's field the API named (`recipient.phone` → name="phone"), say
     what is wrong right under it (the status line may be off a small screen) and put the
     cursor there, so the clerk sees where. */
  function markField(form, answer, text) {
    for (const field of form.querySelectorAll("[aria-invalid]")) {
      field.removeAttribute("aria-invalid");
      field.removeAttribute("aria-describedby");
    }
    for (const old of form.querySelectorAll(".field-error")) old.remove();
    if (!answer) return;
    const named = (answer.data.field || "").split(".").pop();
    const field = named && form.querySelector(`[name="${named}"]`);
    if (!field) return;
    const note = document.createElement("p");
    note.className = "field-error";
    note.id = field.id + "-error";
    note.textContent = text;
    field.after(note);
    field.setAttribute("aria-invalid", "true");
    field.setAttribute("aria-describedby", note.id);
    field.focus();
  }

  /* A date as the clerk types it (17.05.1990, 17/05/1990, 17051990, 1990-05-17) → ISO; what
     cannot be read is sent as typed, and the API's answer says what is wrong in the catalog. */
  function isoDate(text) {
    const value = (text || "").trim();
    let parts = value.split(/[.\/\-\s]+/);
    if (parts.length === 1 && /^\d{8}$/.test(value)) {
      parts = [value.slice(0, 2), value.slice(2, 4), value.slice(4)];
    }
    if (parts.length !== 3 || !parts.every((p) => /^\d+$/.test(p))) return value || undefined;
    const [day, month, year] = parts[0].length === 4 ? [parts[2], parts[1], parts[0]] : parts;
    if (year.length !== 4) return value;
    return `${year}-${month.padStart(2, "0")}-${day.padStart(2, "0")}`;
  }

  function formData(form) {
    const data = {};
    for (const [name, value] of new FormData(form)) {
      if (name === "roles") (data.roles = data.roles || []).push(value);
      else if (value !== "") data[name] = value;
    }
    return data;
  }

  /* -- sign-in ------------------------------------------------------------------------ */
  const signIn = $("sign-in");
  if (signIn) {
    signIn.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await call("POST", "/api/v1/session", formData(signIn));
      if (answer.ok) {
        window.location.assign(signIn.dataset.next);
      } else if (answer.status === 429) {
        const minutes = Math.max(1, Math.round(answer.retryAfter / 60));
        say($("sign-in-error"), t("sign_in_locked", { minutes }), true);
      } else {
        say($("sign-in-error"), t("sign_in_failed"), true);
        $("password").value = "";
        $("password").focus();
      }
    });
    return;
  }

  /* -- signed in: sign-out by hand or after inactivity, keep-alive on activity ------------ */
  async function signOut() {
    await call("DELETE", "/api/v1/session");
    window.location.replace("/clerk?lang=" + lang);
  }
  $("sign-out").addEventListener("click", signOut);
  idleTimer(Number(body.dataset.idle || 300), signOut, "staff_idle_text");
  let lastPing = Date.now();
  document.addEventListener("pointerdown", ping, true);
  document.addEventListener("keydown", ping, true);
  function ping() {
    if (Date.now() - lastPing > 60000) {
      lastPing = Date.now();
      call("GET", "/clerk/ping");
    }
  }

  /* Live events of the core, by kind. */
  const handlers = {};
  function on(kind, handler) {
    (handlers[kind] = handlers[kind] || []).push(handler);
  }
  function dispatch(kind, data) {
    for (const handler of handlers[kind] || []) handler(data);
  }
  /* What may have happened while the stream was reconnecting: ask for each delivery awaited. */
  const awaited = {};
  function watchFor(deliveryId, state) {
    awaited[deliveryId] = state;
  }
  async function resync() {
    for (const [deliveryId, state] of Object.entries(awaited)) {
      const answer = await call("GET", "/api/v1/deliveries/" + deliveryId);
      if (answer.ok && answer.data.state === state && awaited[deliveryId] === state) {
        dispatch("delivery_" + state, { delivery_id: deliveryId, compartment: answer.data.compartment });
      }
    }
  }
  /* A door that did not open after its unlock: `report` each entry of `waiting` (delivery id →
     {label, ...}) for that compartment, and stop waiting for it. */
  function onLockFault(waiting, report) {
    on("alarm", (data) => {
      if (data.data.why !== "lock_fault") return;
      for (const [deliveryId, entry] of Object.entries(waiting)) {
        if (entry.label !== data.compartment) continue;
        delete waiting[deliveryId];
        delete awaited[deliveryId];
        report(entry);
      }
    });
  }
  on("delivery_stored", (data) => { delete awaited[data.delivery_id]; });
  on("delivery_returned", (data) => { delete awaited[data.delivery_id]; });
  const events = new EventSource("/api/v1/stream");
  let connected = false;
  events.addEventListener("ready", () => {
    if (connected) { resync(); refreshSoon(); }
    connected = true;
    body.dataset.stream = "ready";
  });
  for (const kind of ["delivery_stored", "delivery_returned", "alarm", "loading_unconfirmed"]) {
    events.addEventListener(kind, (event) => dispatch(kind, JSON.parse(event.data)));
  }
  window.addEventListener("pagehide", () => events.close());

  /* Live regions ([data-live]: the alarm bar, the compartments, the lists): whenever the core
     reports a change, this page is fetched again and each region swapped for its fresh copy,
     so what a clerk sees is never older than the last event. A region holding a field that is
     being typed in waits until the field is left. */
  const CHANGES = [
    "alarm", "alarm_changed", "board_offline", "board_online", "compartment_changed",
    "compartment_closed", "compartment_unlocked", "door_opened", "door_closed",
    "delivery_announced", "delivery_loading", "delivery_stored", "delivery_collecting",
    "delivery_collected", "delivery_expired", "delivery_cancelled", "delivery_retrieving",
    "delivery_returned", "delivery_changed",
  ];
  let refreshTimer = null;
  let heldBack = false;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 200);
  }
  function typingIn(region) {
    const active = document.activeElement;
    return region.contains(active) && "value" in active && active.value !== "";
  }
  async function refresh() {
    let response = null;
    try { response = await fetch(window.location.href, { headers: { Accept: "text/html" } }); }
    catch (err) { return; }
    if (!response.ok || response.redirected) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const region of document.querySelectorAll("[data-live]")) {
      const copy = fresh.getElementById(region.id);
      if (!copy) continue;
      if (typingIn(region)) { heldBack = true; continue; }
      region.className = copy.className;
      region.innerHTML = copy.innerHTML;
    }
    body.dataset.refreshed = String(Number(body.dataset.refreshed || 0) + 1);
  }
  document.addEventListener("focusout", () => {
    if (heldBack) { heldBack = false; refreshSoon(); }
  });
  for (const kind of CHANGES) events.addEventListener(kind, refreshSoon);

  /* -- loading ----------------------------------------------------------------------------- */
  const findForm = $("find-form");
  if (findForm) {
    const message = $("load-message");
    const newForm = $("new-form");
    const pending = {};

    async function load(delivery) {
      const answer = await change("POST", "/api/v1/deliveries/" + delivery.id + "/load");
      if (!answer.ok) {
        const fault = t("loading_fault", { reference: delivery.reference });
        say(message, failure(answer, { hardware_fault: fault }), true);
        $("reference").value = delivery.reference;
        newForm.hidden = true;
        return;
      }
      const label = answer.data.compartment;
      pending[delivery.id] = { reference: delivery.reference, label };
      watchFor(delivery.id, "stored");
      body.dataset.loading = label;
      let text = whereItGoes(answer.data, delivery.reference);
      const fellBack = answer.data.needs_accessible && !answer.data.within_reach;
      if (answer.data.needs_accessible) {
        text += " " + t(fellBack ? "loading_out_of_reach" : "loading_in_reach", { label });
      }
      body.dataset.reach = answer.data.needs_accessible ? String(answer.data.within_reach) : "";
      say(message, text, fellBack);
      if (answer.data.witness_needed) askWitness(delivery.id, label);
      newForm.hidden = true;
      findForm.reset();
      $("reference").focus();
    }

    /* Which compartment is open, and why that one: the ones that did not open, and why a
       larger size when the right one could not be used. */
    function whereItGoes(answer, reference) {
      const parts = (answer.skipped || []).map((skipped) =>
        t("loading_skipped", { label: skipped.compartment, why: t("why_" + skipped.reason) }));
      if (answer.size && answer.requested_size && answer.size !== answer.requested_size) {
        const why = Object.entries(answer.unusable || {})
          .map(([reason, count]) => t("unusable_" + reason, { count })).join(", ");
        parts.push(t("loading_larger", { wanted: answer.requested_size, size: answer.size, why }));
      }
      parts.push(t("loading_open", { label: answer.compartment, reference }));
      return parts.join(" ");
    }

    /* Four-eyes loading: a second person confirms while the door is open; a door closed
       before that stores nothing, and the compartment can be opened again. */
    const witnessForm = $("witness-form");
    const reopenButton = $("reopen");
    function askWitness(deliveryId, label) {
      witnessForm.dataset.delivery = deliveryId;
      witnessForm.dataset.label = label;
      $("witness-text").textContent = t("witness_text", { label });
      witnessForm.hidden = false;
      reopenButton.hidden = true;
      $("witness-username").focus();
    }
    witnessForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const deliveryId = witnessForm.dataset.delivery;
      const label = witnessForm.dataset.label;
      const answer = await change("POST", `/api/v1/deliveries/${deliveryId}/confirm-loading`, {
        username: $("witness-username").value.trim(),
        password: $("witness-password").value,
      });
      $("witness-password").value = "";
      if (!answer.ok) {
        const special = {
          validation_error: t("witness_wrong"), invalid_input: t("witness_wrong"),
          second_person_required: t("witness_same"), forbidden: t("witness_not_clerk"),
          illegal_transition: t("witness_closed"), unauthenticated: t("witness_wrong"),
        };
        say(message, failure(answer, special), true);
        return;
      }
      const name = $("witness-username").value.trim();
      witnessForm.reset();
      witnessForm.hidden = true;
      say(message, t("witness_ok", { name, label }));
      $("reference").focus();
    });
    on("loading_unconfirmed", (data) => {
      const loaded = pending[data.delivery_id];
      if (!loaded) return;
      witnessForm.hidden = true;
      say(message, t("witness_missing", loaded), true);
      reopenButton.textContent = t("reopen_button", { label: loaded.label });
      reopenButton.dataset.delivery = data.delivery_id;
      reopenButton.hidden = false;
      reopenButton.focus();
    });
    reopenButton.addEventListener("click", async () => {
      const deliveryId = reopenButton.dataset.delivery;
      const answer = await change("POST", `/api/v1/deliveries/${deliveryId}/reopen`);
      if (!answer.ok) {
        say(message, failure(answer, { hardware_fault: t("loading_fault", pending[deliveryId]) }), true);
        return;
      }
      const loaded = pending[deliveryId];
      say(message, t("loading_open", { label: answer.data.compartment, reference: loaded.reference }));
      askWitness(deliveryId, answer.data.compartment);
    });

    on("delivery_stored", (data) => {
      const loaded = pending[data.delivery_id];
      if (!loaded) return;
      witnessForm.hidden = true;
      reopenButton.hidden = true;
      delete pending[data.delivery_id];
      const text = t("loading_stored", loaded);
      say(message, text);
      const item = document.createElement("li");
      item.textContent = text;
      $("loaded").prepend(item);
      body.dataset.stored = (Number(body.dataset.stored || 0) + 1).toString();
    });

    /* The lock did not open: the core put the delivery back to "announced". */
    onLockFault(pending, (loaded) => {
      say(message, t("loading_fault", loaded), true);
      $("reference").value = loaded.reference;
      $("reference").focus();
    });

    /* A reference that exists already: where the document is, or what became of it. */
    function whereIs(delivery) {
      const reference = delivery.reference;
      if (delivery.compartment && ["loading", "stored", "collecting", "retrieving", "expired"].includes(delivery.state)) {
        return t("load_duplicate_in", { reference, label: delivery.compartment });
      }
      return t("load_duplicate_state", { reference, state: t("dstate_" + delivery.state) });
    }

    /* The reference is looked up the moment it is entered (Enter, or the scanner's Enter):
       announced → load it; any other state → say at once where it is; unknown → announce. */
    findForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reference = $("reference").value.trim();
      if (!reference) return;
      const answer = await call("GET", "/api/v1/deliveries?reference=" + encodeURIComponent(reference));
      const found = answer.ok ? answer.data.find((d) => d.reference === reference) : null;
      if (!answer.ok) {
        say(message, failure(answer), true);
      } else if (found && found.state === "announced") {
        await load(found);
      } else if (found) {
        say(message, whereIs(found), true);
        newForm.hidden = true;
        $("reference").select();
      } else {
        say(message, "");
        newForm.hidden = false;
        $("name").focus();
      }
    });

    newForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = formData(newForm);
      const announced = await change("POST", "/api/v1/deliveries", {
        reference: $("reference").value.trim(),
        document_type: data.document_type,
        size: data.size,
        recipient: {
          name: data.name || "",
          phone: data.phone,
          email: data.email,
          locale: data.locale,
          date_of_birth: isoDate(data.date_of_birth),
          needs_accessible: data.needs_accessible === "yes",
        },
      });
      if (!announced.ok) {
        const exists = announced.data.reason === "reference_exists";
        const text = exists ? whereIs(announced.data) : failure(announced);
        say(message, text, true);
        markField(newForm, announced, text);
        return;
      }
      markField(newForm, null);
      newForm.reset();
      await load(announced.data);
    });
  }

  /* -- taking back -------------------------------------------------------------------------- */
  /* (Delegated: the list is a live region whose rows are replaced as things change.) */
  const taking = {};
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-retrieve]");
    if (!button) return;
    const answer = await change("POST", "/api/v1/deliveries/" + button.dataset.retrieve + "/retrieve");
    const message = $("retrieval-message");
    if (!answer.ok) {
      const fault = t("retrieval_fault", { label: button.dataset.label });
      say(message, failure(answer, { hardware_fault: fault }), true);
      return;
    }
    const reference = button.dataset.reference;
    taking[button.dataset.retrieve] = { reference, label: answer.data.compartment };
    watchFor(button.dataset.retrieve, "returned");
    button.disabled = true;
    say(message, t("retrieval_open", { label: answer.data.compartment, reference }));
  });
  onLockFault(taking, (found) => {
    say($("retrieval-message"), t("retrieval_fault", { label: found.label }), true);
  });
  on("delivery_returned", (data) => {
    const found = taking[data.delivery_id];
    if (!found) return;
    delete taking[data.delivery_id];
    say($("retrieval-message"), t("retrieval_done", { reference: found.reference }));
    refreshSoon();
  });

  /* -- alarms: acknowledge with a note (delegated, the list is live) ------------------------ */
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-ack]");
    if (!form) return;
    event.preventDefault();
    const field = form.querySelector("input[name=note]");
    const message = $("alarm-message");
    const note = field.value.trim();
    if (!note) {
      say(message, t("alarm_note_missing"), true);
      field.focus();
      return;
    }
    const answer = await change("POST", `/api/v1/alarms/${form.dataset.ack}/acknowledge`, { note });
    if (answer.ok) {
      field.value = "";
      field.blur();
      say(message, t("alarm_acknowledged_msg", { kind: form.dataset.kind, place: form.dataset.place }));
      message.focus();
      refreshSoon();
    } else {
      const special = { illegal_transition: t("alarm_not_open"), validation_error: t("alarm_note_missing") };
      say(message, failure(answer, special), true);
    }
  });

  /* -- technician ---------------------------------------------------------------------------- */
  const technician = $("technician");
  if (technician) {
    const requests = {
      open: (reason) => ["open", { reason }],
      out: (reason) => ["service", { out_of_service: true, reason }],
      in: (reason) => ["service", { out_of_service: false, reason }],
      inside: () => ["clear-fault", { document_inside: true }],
      empty: () => ["clear-fault", { document_inside: false }],
    };
    for (const button of technician.querySelectorAll("[data-tech]")) {
      button.addEventListener("click", async () => {
        const label = $("label").value;
        const [action, data] = requests[button.dataset.tech]($("reason").value.trim());
        const answer = await change("POST", "/api/v1/compartments/" + label + "/" + action, data);
        if (answer.ok) window.location.reload();
        else say($("technician-message"), failure(answer), true);
      });
    }
  }

  /* -- accounts and keys ---------------------------------------------------------------------- */
  const userForm = $("user-form");
  if (userForm) {
    userForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await change("POST", "/api/v1/staff", formData(userForm));
      if (answer.ok) {
        say($("user-message"), t("user_created", { name: answer.data.username }));
        userForm.reset();
        refreshSoon();
      } else {
        say($("user-message"), failure(answer), true);
      }
    });
    const keyForm = $("key-form");
    keyForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const answer = await change("POST", "/api/v1/api-keys", formData(keyForm));
      const shown = $("new-key");
      if (answer.ok) {
        say($("key-message"), t("key_created", { name: answer.data.name }));
        shown.textContent = answer.data.key;
        shown.hidden = false;
        keyForm.reset();
        refreshSoon();
      } else {
        shown.hidden = true;
        say($("key-message"), failure(answer), true);
      }
    });
  }

  /* -- one delivery: new code, contact, longer period, cancel ------------------------------- */
  const resendButton = $("resend");
  const contactForm = $("contact-form");
  const extendForm = $("extend-form");
  const cancelButton = $("cancel-delivery");
  const deliveryId = (window.location.pathname.match(/^\/clerk\/deliveries\/([^/]+)$/) || [])[1];
  if (deliveryId) {
    const url = "/api/v1/deliveries/" + deliveryId;
    const message = $("delivery-message");
    const reference = document.querySelector("h1").dataset.reference || "";
    const byField = {
      "recipient.phone": t("bad_phone"), phone: t("bad_phone"),
      "recipient.email": t("bad_email"), email: t("bad_email"),
      recipient: t("need_contact"),
    };
    const wrong = (answer, special) => {
      const field = byField[answer.data.field];
      if (field) return field;
      return failure(answer, Object.assign({ illegal_transition: t("not_now") }, special || {}));
    };
    const done = (text) => { say(message, text); message.focus(); refreshSoon(); };
    if (resendButton) {
      resendButton.addEventListener("click", async () => {
        if (!window.confirm(t("resend_confirm"))) return;
        const answer = await change("POST", url + "/resend");
        if (answer.ok) done(t("resend_done"));
        else say(message, wrong(answer), true);
      });
    }
    if (contactForm) {
      contactForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        const data = {
          phone: $("contact-phone").value.trim() || null,
          email: $("contact-email").value.trim() || null,
          locale: $("contact-locale").value,
        };
        const before = await call("GET", url);
        const answer = await change("POST", url + "/contact", data);
        if (!answer.ok) { say(message, wrong(answer), true); return; }
        const codes = (list) => list.filter((n) => n.kind === "stored").length;
        const resent = before.ok && codes(answer.data.notifications) > codes(before.data.notifications);
        done(t(resent ? "contact_saved_resent" : "contact_saved"));
      });
    }
    if (extendForm) {
      extendForm.addEventListener("submit", async (event) => {
        event.preventDefault();
        const days = Number($("extend-days").value);
        if (!Number.isInteger(days) || days < 1) { say(message, t("extend_bad_days"), true); return; }
        const answer = await change("POST", url + "/extend", { days });
        const tooLong = t("extend_too_long", { limit: extendForm.dataset.limit });
        if (answer.ok) {
          const until = new Date(answer.data.expires_at).toLocaleString(lang);
          done(t("extend_done", { until }));
        } else {
          say(message, answer.data.field === "days" ? tooLong : wrong(answer), true);
        }
      });
    }
    if (cancelButton) {
      cancelButton.addEventListener("click", async () => {
        if (!window.confirm(t("cancel_confirm", { reference }))) return;
        const answer = await change("POST", url + "/cancel");
        if (!answer.ok) { say(message, wrong(answer), true); return; }
        const label = answer.data.compartment;
        done(label ? t("cancel_take_back", { label }) : t("cancel_done"));
        for (const gone of [resendButton, contactForm, extendForm, cancelButton]) if (gone) gone.hidden = true;
      });
    }
  }

  /* Accounts and keys (admin): disable/enable, new password (shown once), delete, revoke.
     Delegated: the tables are live regions. */
  const ACCOUNT_DONE = {
    disable: "account_disabled_msg", enable: "account_enabled_msg", delete: "account_deleted_msg",
  };
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-account], [data-revoke]");
    if (!button) return;
    const message = $("staff-message");
    const shown = $("reset-password");
    shown.hidden = true;
    const name = button.dataset.name || button.dataset.revoke;
    const special = {
      illegal_transition: t("last_admin"), not_found: t("gone_reload"), conflict: t("key_already_revoked"),
    };
    if (button.dataset.revoke !== undefined) {
      if (!window.confirm(t("confirm_revoke_key", { name }))) return;
      const answer = await change("DELETE", "/api/v1/api-keys/" + encodeURIComponent(name));
      if (answer.ok) say(message, t("key_revoked_msg", { name }));
      else say(message, failure(answer, special), true);
      refreshSoon();
      return;
    }
    const action = button.dataset.account;
    const url = "/api/v1/staff/" + encodeURIComponent(name);
    if (action === "delete" && !window.confirm(t("confirm_delete_account", { name }))) return;
    const answer = action === "delete"
      ? await change("DELETE", url)
      : await change("POST", url + "/" + action);
    if (!answer.ok) {
      say(message, failure(answer, special), true);
    } else if (action === "reset-password") {
      say(message, t("account_reset_msg", { name }));
      shown.textContent = answer.data.password;
      shown.hidden = false;
    } else {
      say(message, t(ACCOUNT_DONE[action], { name }));
    }
    message.focus();
    refreshSoon();
  });

  /* Webhooks (admin): create (the secret shown once), new secret, delete, send again. */
  const webhookForm = $("webhook-form");
  if (webhookForm) {
    const secret = $("webhook-secret");
    const showSecret = (text, value) => {
      say($("webhook-message"), text);
      secret.textContent = value;
      secret.hidden = false;
    };
    webhookForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = { url: $("webhook-url").value.trim(), events: [] };
      for (const box of webhookForm.querySelectorAll("input[name=events]:checked")) {
        data.events.push(box.value);
      }
      const answer = await change("POST", "/api/v1/webhooks", data);
      if (answer.ok) showSecret(t("webhook_created"), answer.data.secret);
      else { secret.hidden = true; say($("webhook-message"), failure(answer), true); }
    });
    for (const button of document.querySelectorAll("[data-rotate]")) {
      button.addEventListener("click", async () => {
        const answer = await change("POST", `/api/v1/webhooks/${button.dataset.rotate}/rotate`);
        if (answer.ok) showSecret(t("webhook_rotated", { url: button.dataset.url }), answer.data.secret);
        else say($("webhook-message"), failure(answer), true);
      });
    }
    for (const button of document.querySelectorAll("[data-delete-webhook]")) {
      button.addEventListener("click", async () => {
        if (!window.confirm(t("webhook_confirm_delete", { url: button.dataset.url }))) return;
        const answer = await change("DELETE", `/api/v1/webhooks/${button.dataset.deleteWebhook}`);
        if (answer.ok) window.location.reload();
        else say($("webhook-message"), failure(answer), true);
      });
    }
    for (const button of document.querySelectorAll("[data-redeliver]")) {
      button.addEventListener("click", async () => {
        const id = button.dataset.redeliver;
        const answer = await change("POST", `/api/v1/webhooks/messages/${id}/redeliver`);
        if (answer.ok) { say($("redeliver-message"), t("webhook_redelivered", { id })); button.disabled = true; }
        else say($("redeliver-message"), failure(answer), true);
      });
    }
  }
})();
