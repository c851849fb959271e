// The /sim page: draws the simulated bank from /sim/state and the inbox from /sim/messages,
// once a second, and sends what the buttons say to the /sim endpoints. No inline code (CSP).
"use strict";

(function () {
  const list = document.getElementById("compartments");
  const template = document.getElementById("compartment-template");
  const status = document.getElementById("status");
  const clock = document.getElementById("clock");
  const inbox = document.getElementById("inbox");
  const inboxCount = document.getElementById("inbox-count");
  const activeFaults = document.getElementById("active-faults");
  const faultForm = document.getElementById("fault-form");
  const cards = new Map();
  let seenMessages = -1;

  function say(text) {
    status.textContent = text;
  }

  async function call(path, body) {
    const answer = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await answer.json().catch(() => ({}));
    if (!answer.ok) {
      throw new Error(data.detail || answer.statusText);
    }
    return data;
  }

  async function act(description, path, body) {
    try {
      const data = await call(path, body);
      say(description + ": done.");
      if (data.compartments) {
        drawBank(data);
      }
      return data;
    } catch (error) {
      say(description + ": " + error.message);
      return null;
    }
  }

  function card(label) {
    let item = cards.get(label);
    if (item) {
      return item;
    }
    item = template.content.firstElementChild.cloneNode(true);
    item.dataset.label = label;
    item.querySelector(".label").textContent = label;
    item.setAttribute("aria-label", "Compartment " + label);
    item.querySelectorAll("button").forEach((button) => {
      const what = button.dataset.act || button.dataset.fault;
      button.setAttribute("aria-label", button.textContent + " " + label);
      button.addEventListener("click", () => press(label, button, what));
    });
    cards.set(label, item);
    return item;
  }

  function press(label, button, what) {
    const base = "/sim/compartments/" + encodeURIComponent(label) + "/";
    if (button.dataset.act === "item") {
      const present = button.dataset.present === "true";
      act((present ? "Put a document in " : "Took the document out of ") + label, base + "item", {
        present: present,
      });
    } else if (button.dataset.act) {
      act(button.textContent + " " + label, base + what);
    } else {
      const on = button.getAttribute("aria-pressed") !== "true";
      act((on ? "" : "Undo ") + button.textContent + " " + label, "/sim/faults", {
        kind: what,
        target: label,
        on: on,
      });
    }
  }

  function drawBank(state) {
    if (list.dataset.drawn !== "true") {
      list.replaceChildren();
      list.dataset.drawn = "true";
    }
    state.compartments.forEach((c) => {
      const item = card(c.label);
      const open = c.door === "open";
      item.className = "compartment door-" + c.door + (c.faults.length ? " faulty" : "");
      item.querySelector(".door").textContent = open ? "open" : "closed";
      item.querySelector(".lock").textContent = c.locked ? "locked" : "released";
      item.querySelector(".item").textContent = c.item ? "inside" : "none";
      item.querySelector(".pulses").textContent = String(c.pulses);
      item.querySelector(".controller").textContent = c.controller || "—";
      item.querySelector(".faults").textContent = c.faults.length
        ? "Faults: " + c.faults.join(", ")
        : "";
      item.querySelector('[data-act="close"]').disabled = !open;
      item.querySelector('[data-present="true"]').disabled = !open || c.item;
      item.querySelector('[data-present="false"]').disabled = !open || !c.item;
      item.querySelector('[data-fault="jam"]').setAttribute(
        "aria-pressed", String(c.faults.includes("jammed")));
      item.querySelector('[data-fault="left_open"]').setAttribute(
        "aria-pressed", String(c.faults.includes("left_open")));
      if (!item.isConnected) {
        list.appendChild(item);
      }
    });
    if (state.clock) {
      clock.textContent = state.clock;
      clock.setAttribute("datetime", state.clock);
    }
    const faults = [];
    state.compartments.forEach((c) => c.faults.forEach((f) => faults.push(c.label + ": " + f)));
    (state.boards || []).forEach((b) => b.faults.forEach((f) => faults.push("board " + b.board + ": " + f)));
    (state.buses || []).forEach((b) => b.silent && faults.push("bus " + b.bus + ": silence"));
    (state.message_faults || []).forEach((f) => faults.push(f));
    activeFaults.replaceChildren(...(faults.length ? faults : ["none"]).map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
  }

  function drawInbox(messages) {
    if (messages.length === seenMessages) {
      return;
    }
    seenMessages = messages.length;
    inboxCount.textContent = "(" + messages.length + ")";
    inbox.replaceChildren(...messages.slice().reverse().map((m) => {
      const li = document.createElement("li");
      li.className = "message " + m.channel;
      const head = document.createElement("p");
      head.className = "head";
      head.textContent = (m.channel === "sms" ? "SMS" : "E-mail") + " to " + m.to;
      li.appendChild(head);
      if (m.code) {
        const code = document.createElement("p");
        code.className = "code";
        code.textContent = "Code: ";
        const value = document.createElement("strong");
        value.textContent = m.code;
        code.appendChild(value);
        li.appendChild(code);
      }
      const body = document.createElement("pre");
      body.textContent = m.body;
      li.appendChild(body);
      return li;
    }));
  }

  async function refresh() {
    try {
      const [state, messages] = await Promise.all([
        fetch("/sim/state").then((r) => r.json()),
        fetch("/sim/messages").then((r) => r.json()),
      ]);
      drawBank(state);
      drawInbox(messages);
    } catch (error) {
      say("The controller does not answer: " + error.message);
    }
  }

  document.querySelectorAll("[data-advance]").forEach((button) => {
    button.addEventListener("click", async () => {
      const data = await act("Clock " + button.textContent, "/sim/clock/advance", {
        seconds: Number(button.dataset.advance),
      });
      if (data) {
        say("Clock now " + data.now + "; expired " + data.expired.length +
          ", reminded " + data.reminded.length + ".");
      }
    });
  });

  let pressed = null;
  faultForm.addEventListener("click", (event) => {
    if (event.target instanceof HTMLButtonElement) {
      pressed = event.target;
    }
  });
  faultForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const on = pressed ? pressed.value === "true" : true;
    const kind = faultForm.elements.kind.value;
    const target = faultForm.elements.target.value;
    act((on ? "Inject " : "Clear ") + kind + (target ? " on " + target : ""), "/sim/faults", {
      kind: kind,
      target: target,
      on: on,
    });
  });

  refresh();
  setInterval(refresh, 1000);
})();
