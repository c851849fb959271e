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
  events.addEventListener("open", () => {
    if (connected) resync();
    connected = true;
    body.dataset.stream = "ready";
  });
  for (const kind of ["delivery_stored", "delivery_returned", "alarm"]) {
    events.addEventListener(kind, (event) => dispatch(kind, JSON.parse(event.data)));
  }
  window.addEventListener("pagehide", () => events.close());

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
      let text = t("loading_open", { label, reference: delivery.reference });
      const fellBack = answer.data.needs_accessible && !answer.data.within_reach;
      if (answer.data.needs_accessible) {
        text += " " + t(fellBack ? "loading_out_of_reach" : "loading_in_reach", { label });
      }
      body.dataset.reach = answer.data.needs_accessible ? String(answer.data.within_reach) : "";
      say(message, text, fellBack);
      newForm.hidden = true;
      findForm.reset();
      $("reference").focus();
    }

    on("delivery_stored", (data) => {
      const loaded = pending[data.delivery_id];
      if (!loaded) return;
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
  const taking = {};
  for (const button of document.querySelectorAll("[data-retrieve]")) {
    button.addEventListener("click", async () => {
      const answer = await change("POST", "/api/v1/deliveries/" + button.dataset.retrieve + "/retrieve");
      const message = $("retrieval-message");
      if (!answer.ok) {
        const fault = t("retrieval_fault", { label: button.dataset.label });
        say(message, failure(answer, { hardware_fault: fault }), true);
        return;
      }
      const reference = button.dataset.reference;
      taking[button.dataset.retrieve] = { reference, button, label: answer.data.compartment };
      watchFor(button.dataset.retrieve, "returned");
      button.disabled = true;
      say(message, t("retrieval_open", { label: answer.data.compartment, reference }));
    });
  }
  onLockFault(taking, (found) => {
    say($("retrieval-message"), t("retrieval_fault", { label: found.label }), true);
  });
  on("delivery_returned", (data) => {
    const found = taking[data.delivery_id];
    if (!found) return;
    say($("retrieval-message"), t("retrieval_done", { reference: found.reference }));
    found.button.closest("tr").remove();
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
      } else {
        shown.hidden = true;
        say($("key-message"), failure(answer), true);
      }
    });
  }

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
