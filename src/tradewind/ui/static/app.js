/* tradewind UI: small helpers, live updates and actions. No framework, no build step.
   Elements ask for behaviour with data-init="name"; INIT[name](element) sets it up. */
"use strict";

const INIT = {};

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

/* Call the REST API; resolves to the JSON answer, rejects with the API's "detail". */
async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { "Accept": "application/json" } };
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  if (response.status === 204) return null;
  let data = null;
  try { data = await response.json(); } catch (e) { data = null; }
  if (!response.ok) {
    const detail = data && data.detail ? data.detail : response.status + " " + response.statusText;
    const error = new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
    error.status = response.status;
    throw error;
  }
  return data;
}

function toast(message, kind) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = document.createElement("div");
  item.className = "toast" + (kind ? " " + kind : "");
  item.textContent = message;
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 7000 : 3500);
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function setState(node, state) {
  for (const name of Array.from(node.classList)) if (name.startsWith("s-")) node.classList.remove(name);
  node.classList.add("s-" + (state || "none"));
}

function enc(value) { return encodeURIComponent(value); }

/* Run fn() every `fast` ms while it reports activity (true), every `slow` ms otherwise;
   paused while the tab is hidden. */
function poll(fn, fast, slow) {
  let timer = null;
  let busy = true;
  async function tick() {
    timer = null;
    if (document.visibilityState === "visible") {
      try { busy = await fn(); } catch (e) { busy = false; }
    }
    timer = setTimeout(tick, busy ? fast : slow);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && timer !== null) {
      clearTimeout(timer);
      tick();
    }
  });
  timer = setTimeout(tick, fast);
}

/* A button with data-confirm asks first; with data-api-method/data-api-path it calls the API. */
INIT.apiButton = (button) => {
  button.addEventListener("click", async () => {
    if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
    button.disabled = true;
    try {
      const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
      await api(button.dataset.method, button.dataset.path, body);
      toast(button.dataset.done || "Done");
      if (button.dataset.go) location.href = button.dataset.go;
      else setTimeout(() => location.reload(), 300);
    } catch (e) {
      toast(e.message, "error");
    } finally {
      button.disabled = false;
    }
  });
};

/* A pause switch: PATCH /dags/{id} {"is_paused"}; the switch shows "active" (checked). */
INIT.pauseToggle = (input) => {
  input.addEventListener("change", async () => {
    input.disabled = true;
    try {
      const dag = await api("PATCH", "/api/v1/dags/" + enc(input.dataset.dag), { is_paused: !input.checked });
      input.checked = !dag.is_paused;
      toast((dag.is_paused ? "Paused " : "Unpaused ") + dag.dag_id);
    } catch (e) {
      input.checked = !input.checked;
      toast(e.message, "error");
    } finally {
      input.disabled = false;
    }
  });
};

document.addEventListener("DOMContentLoaded", () => {
  for (const node of document.querySelectorAll("[data-init]")) {
    for (const name of node.dataset.init.split(" ")) {
      if (INIT[name]) INIT[name](node);
    }
  }
});

/* DAG list: keep the run dots and pause switches current. */
INIT.dagList = (table) => {
  const rows = Array.from(table.querySelectorAll("tr[data-dag]"));
  if (!rows.length) return;
  const query = rows.map((row) => "dag_id=" + enc(row.dataset.dag)).join("&");
  const live = document.getElementById("live");
  poll(async () => {
    const data = await api("GET", "/ui/dag-states?" + query);
    for (const row of rows) {
      const info = data.dags[row.dataset.dag];
      if (!info) continue;
      const toggle = row.querySelector("input[data-init~=pauseToggle]");
      if (toggle && !toggle.disabled && document.activeElement !== toggle) toggle.checked = !info.paused;
      const dots = row.querySelector("td.dots");
      const base = "/dags/" + enc(row.dataset.dag) + "?run=";
      dots.replaceChildren(...(info.runs.length ? info.runs.map((run) =>
        el("a", { class: "dot s-" + run.state, title: run.run_id + ": " + run.state, href: base + enc(run.run_id) })
      ) : [el("span", { class: "muted small", text: "no runs" })]));
    }
    if (live) live.classList.toggle("on", data.active);
    return data.active;
  }, 2000, 10000);
};
