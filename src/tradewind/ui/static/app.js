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
  if (response.redirected && new URL(response.url).pathname === "/login") {
    location.href = "/login?next=" + enc(location.pathname + location.search);  // session ended
    throw new Error("Your session ended: log in again");
  }
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
      else changed();
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

function initAll(root) {
  for (const node of root.querySelectorAll("[data-init]")) {
    for (const name of node.dataset.init.split(" ")) {
      if (INIT[name]) INIT[name](node);
    }
  }
}

/* Something changed by an action of this page: listeners refresh what they show. */
function changed() { document.dispatchEvent(new CustomEvent("tw:changed")); }

document.addEventListener("DOMContentLoaded", () => initAll(document));

/* Time zone: every <time datetime> shows its date in the zone picked in the top bar (kept in
   localStorage; the server's default_ui_timezone until then; "system" is the browser's zone),
   including the ones fetched later. Options whose text starts with a UTC date carry it in
   data-time-prefix. */
const TZ_KEY = "tw.tz";
function tzChoice() { return localStorage.getItem(TZ_KEY) || document.body.dataset.tz || "UTC"; }
function tzZone(choice) { return choice === "system" ? Intl.DateTimeFormat().resolvedOptions().timeZone : choice; }
function fmtTime(iso, zone) {
  const date = new Date(iso);
  if (isNaN(date)) return null;
  const parts = {};
  for (const part of new Intl.DateTimeFormat("en-CA", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).formatToParts(date)) parts[part.type] = part.value;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}
function showTimes(root) {
  const zone = tzZone(tzChoice());
  const nodes = root.matches && root.matches("time[datetime]") ? [root] : root.querySelectorAll("time[datetime]");
  for (const node of nodes) {
    const full = fmtTime(node.getAttribute("datetime"), zone);
    if (full === null) continue;
    const text = node.dataset.format === "short" ? full.slice(5, 16) : full;
    if (node.textContent !== text) node.textContent = text;
    node.title = zone + (zone === "UTC" ? "" : " · " + fmtTime(node.getAttribute("datetime"), "UTC") + " UTC");
  }
  for (const option of root.querySelectorAll ? root.querySelectorAll("option[data-time-prefix]") : []) {
    const text = fmtTime(option.dataset.timePrefix, zone);
    if (text !== null) option.textContent = text + option.textContent.slice(19);
  }
}
function initTimeZones() {
  const select = document.getElementById("tz-select");
  const clock = document.getElementById("tz-clock");
  if (select) {
    const own = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    select.replaceChildren(el("option", { value: "UTC" }, "UTC"), el("option", { value: "system" }, "Local (" + own + ")"));
    for (const zone of zones) if (zone !== "UTC") select.append(el("option", { value: zone }, zone));
    const choice = tzChoice();
    if (!Array.from(select.options).some((o) => o.value === choice)) select.append(el("option", { value: choice }, choice));
    select.value = choice;
    select.addEventListener("change", () => {
      localStorage.setItem(TZ_KEY, select.value);
      showTimes(document);
      tick();
    });
  }
  function tick() {
    if (clock) clock.textContent = (fmtTime(new Date().toISOString(), tzZone(tzChoice())) || "").slice(11, 16);
  }
  tick();
  setInterval(tick, 10000);
  showTimes(document);
  new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) if (node.nodeType === 1) showTimes(node);
    }
  }).observe(document.body, { childList: true, subtree: true });
}
document.addEventListener("DOMContentLoaded", initTimeZones);

/* A <select data-autosubmit> submits its form when changed (no inline handlers: the
   Content-Security-Policy allows no inline script). */
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field instanceof HTMLElement && field.matches("[data-autosubmit]") && field.form) field.form.submit();
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
      for (const [name, html] of Object.entries(info.cells)) {
        const cell = row.querySelector("td." + name);
        if (cell && cell.twHtml !== html) { cell.innerHTML = html; cell.twHtml = html; }
      }
    }
    if (live) live.classList.toggle("on", data.active);
    return data.active;
  }, 2000, 10000);
};

/* A form of a clear or mark action: "Preview" asks the API for a dry run and lists the task
   instances it would change; "Confirm" does it. data-fixed holds the body's fixed part. */
INIT.previewAction = (form) => {
  const preview = form.querySelector(".preview");
  const confirmButton = form.querySelector("[data-confirm-action]");
  const error = form.querySelector(".form-error");
  function body(dryRun) {
    const data = Object.assign({}, JSON.parse(form.dataset.fixed || "{}"), { dry_run: dryRun });
    for (const input of form.querySelectorAll("input[type=checkbox][name]")) data[input.name] = input.checked;
    for (const input of form.querySelectorAll("select[name], input[type=radio][name]:checked")) data[input.name] = input.value;
    return data;
  }
  function reset() { preview.classList.add("hidden"); confirmButton.classList.add("hidden"); error.classList.add("hidden"); }
  async function send(dryRun) {
    error.classList.add("hidden");
    try {
      const data = await api(form.dataset.method, form.dataset.path, body(dryRun));
      const items = (data && data.task_instances) || [];
      if (dryRun) {
        preview.replaceChildren(el("strong", { text: items.length + " task instance" + (items.length === 1 ? "" : "s") + " will change" }),
          el("ul", {}, ...items.slice(0, 200).map((ti) => el("li", {}, el("i", { class: "sq s-" + (ti.state || "none") }), " " + ti.task_id + (ti.map_index >= 0 ? " [" + ti.map_index + "]" : "") + " · " + ti.dag_run_id))));
        preview.classList.remove("hidden");
        confirmButton.classList.toggle("hidden", !items.length);
      } else {
        toast((form.dataset.done || "Done") + ": " + items.length + " task instance" + (items.length === 1 ? "" : "s"));
        reset();
        changed();
      }
    } catch (e) {
      error.textContent = e.message;
      error.classList.remove("hidden");
    }
  }
  for (const input of form.querySelectorAll("input, select")) input.addEventListener("change", reset);
  form.addEventListener("submit", (event) => { event.preventDefault(); send(true); });
  confirmButton.addEventListener("click", () => send(false));
};

/* The grid: group rows collapse, cells open task instances, run bars open the run panel,
   and the states of unfinished runs are polled and updated in place. */
INIT.grid = (layout) => {
  const dag = layout.dataset.dag;
  const runs = layout.dataset.runs;
  const wrap = document.getElementById("grid-wrap");
  const side = document.getElementById("side");
  const live = document.getElementById("live");
  const storeKey = "tw.collapsed." + dag;
  const collapsed = new Set(JSON.parse(localStorage.getItem(storeKey) || "[]"));
  let selected = layout.dataset.chosen || "";

  function runIds() { return Array.from(wrap.querySelectorAll("thead th[data-r]")).map((th) => th.dataset.r); }
  function applyGroups() {
    for (const row of wrap.querySelectorAll("tbody tr")) {
      const parents = row.dataset.p ? row.dataset.p.split(" ") : [];
      row.classList.toggle("hidden", parents.some((g) => collapsed.has(g)));
      const toggle = row.querySelector("button.gtoggle");
      if (toggle) toggle.textContent = collapsed.has(toggle.dataset.g) ? "▸" : "▾";
    }
    localStorage.setItem(storeKey, JSON.stringify(Array.from(collapsed)));
  }
  function markSelected() {
    for (const th of wrap.querySelectorAll("thead th[data-r]")) {
      th.querySelector(".runbar").classList.toggle("sel", th.dataset.r === selected);
    }
  }
  async function openRun(runId) {
    selected = runId;
    markSelected();
    const response = await fetch("/ui/dags/" + enc(dag) + "/runs/" + enc(runId) + "/panel", { credentials: "same-origin" });
    side.innerHTML = await response.text();
    initAll(side);
  }
  /* A cell opens its task instance in the side panel (its page is a link away). */
  async function openTask(runId, taskId) {
    selected = runId;
    markSelected();
    const path = "/ui/dags/" + enc(dag) + "/runs/" + enc(runId) + "/tasks/" + enc(taskId) + "/panel";
    const response = await fetch(path, { credentials: "same-origin" });
    side.innerHTML = await response.text();
    initAll(side);
  }
  async function reloadGrid() {
    const response = await fetch("/ui/dags/" + enc(dag) + "/grid?runs=" + runs, { credentials: "same-origin" });
    wrap.innerHTML = await response.text();
    applyGroups();
    markSelected();
  }
  wrap.addEventListener("click", (event) => {
    const toggle = event.target.closest("button.gtoggle");
    if (toggle) {
      if (collapsed.has(toggle.dataset.g)) collapsed.delete(toggle.dataset.g); else collapsed.add(toggle.dataset.g);
      applyGroups();
      return;
    }
    const bar = event.target.closest("thead th[data-r]");
    if (bar) { openRun(bar.dataset.r); return; }
    const cell = event.target.closest("tbody td");
    if (!cell || cell.classList.contains("nt") || cell.parentElement.classList.contains("group")) return;
    openTask(runIds()[cell.cellIndex - 1], cell.parentElement.dataset.t);
  });
  side.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-open-run]");
    if (link) { event.preventDefault(); openRun(link.dataset.openRun); }
  });
  wrap.addEventListener("mouseover", (event) => {
    const cell = event.target.closest("tbody td");
    if (!cell || cell.title) return;
    const state = Array.from(cell.classList).find((c) => c.startsWith("s-"));
    cell.title = cell.parentElement.dataset.t.replace(/^group:/, "") + "\n" + runIds()[cell.cellIndex - 1] + "\n" + (cell.dataset.m || (state ? state.slice(2) : "no task instance"));
  });
  document.getElementById("expand-all").addEventListener("click", () => { collapsed.clear(); applyGroups(); });
  document.getElementById("collapse-all").addEventListener("click", () => {
    for (const t of wrap.querySelectorAll("button.gtoggle[data-g]")) collapsed.add(t.dataset.g);
    applyGroups();
  });
  document.addEventListener("tw:changed", () => { reloadGrid(); if (selected) openRun(selected); });

  async function refresh() {
    // Runs shown as unfinished: their final task states come with their final run state.
    const watch = Array.from(wrap.querySelectorAll("thead th[data-r]"))
      .filter((th) => !th.querySelector(".runbar i.s-success, .runbar i.s-failed"))
      .map((th) => th.dataset.r);
    const query = "runs=" + runs + watch.map((r) => "&watch=" + enc(r)).join("");
    const data = await api("GET", "/ui/dags/" + enc(dag) + "/grid-state?" + query);
    const shown = runIds();
    if (data.runs.map((r) => r.run_id).join("\n") !== shown.join("\n")) {
      await reloadGrid();
    } else {
      const headers = wrap.querySelectorAll("thead th[data-r]");
      data.runs.forEach((run, index) => {
        const bar = headers[index].querySelector(".runbar");
        setState(bar.querySelector("i"), run.state);
        bar.querySelector("i").style.height = run.bar + "px";
        bar.title = run.title;
      });
      const rows = Array.from(wrap.querySelectorAll("tbody tr"));
      for (const [runId, states] of Object.entries(data.tasks)) {
        const column = shown.indexOf(runId) + 1;
        if (!column) continue;
        for (const row of rows) {
          const cell = row.cells[column];
          if (!cell || !(row.dataset.t in states)) continue;
          setState(cell, states[row.dataset.t]);
          const summary = (data.mapped[runId] || {})[row.dataset.t];
          if (summary) { cell.dataset.m = summary; cell.classList.add("mapped"); }
          cell.classList.remove("nt");
          cell.removeAttribute("title");
        }
      }
    }
    // The open run panel follows its run: fetched again when the run's state or dates change.
    const panel = document.getElementById("run-panel");
    const shownRun = panel && data.runs.find((run) => run.run_id === panel.dataset.run);
    if (shownRun && shownRun.run_id === selected && shownRun.mark !== panel.dataset.mark) openRun(selected);
    const taskPanel = document.getElementById("ti-panel");
    if (taskPanel) {
      const now = (data.tasks[taskPanel.dataset.run] || {})[taskPanel.dataset.task];
      const badge = taskPanel.querySelector(".badge");
      if (now !== undefined && badge && (now || "none") !== badge.textContent) openTask(taskPanel.dataset.run, taskPanel.dataset.task);
    }
    if (live) live.classList.toggle("on", data.active);
    return data.active;
  }
  applyGroups();
  if (selected) openRun(selected); else markSelected();
  poll(refresh, 2000, 10000);
};

/* Graph: the state stripes of the shown run follow the run while it is not finished. */
INIT.graph = (wrap) => {
  const dag = wrap.dataset.dag;
  const run = wrap.dataset.run;
  const live = document.getElementById("live");
  if (!run) return;
  poll(async () => {
    const data = await api("GET", "/ui/dags/" + enc(dag) + "/grid-state?runs=100&watch=" + enc(run));
    const states = data.tasks[run];
    if (!states) { if (live) live.classList.remove("on"); return false; }
    for (const node of wrap.querySelectorAll("g.node[data-t]")) {
      if (node.dataset.t in states) setState(node.querySelector("rect.stripe"), states[node.dataset.t]);
    }
    const info = data.runs.find((r) => r.run_id === run);
    const active = !!info && info.state !== "success" && info.state !== "failed";
    if (live) live.classList.toggle("on", active);
    return active;
  }, 2000, 10000);
};

/* Task instance page: what keeps a task from running, asked of the API and kept current. */
INIT.whyNot = (box) => {
  const list = box.querySelector("ul.deps");
  poll(async () => {
    const data = await api("GET", box.dataset.path);
    const items = data.dependencies.map((dep) => el("li", { "data-dep": dep.name }, el("strong", { text: dep.name }), ": " + dep.reason));
    list.replaceChildren(...(items.length ? items : [el("li", { class: "muted", text: "Nothing holds it back: it starts as soon as the scheduler queues it, or has started." })]));
    return true;
  }, 3000, 10000);
};

/* Gantt: while the run is not finished, the chart is fetched again and swapped in. */
INIT.gantt = (chart) => {
  if (!chart.dataset.active) return;
  poll(async () => {
    const response = await fetch(location.href, { credentials: "same-origin" });
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.querySelector(".gantt");
    if (!fresh) return false;
    chart.innerHTML = fresh.innerHTML;
    return !!fresh.dataset.active;
  }, 3000, 15000);
};

/* Trigger form: the params' fields and the raw conf make the run's conf; the API's answer
   (or its error) decides what happens next. */
function paramValue(input) {
  const kind = input.dataset.kind;
  if (kind === "boolean") return input.checked;
  const text = input.value.trim();
  if (text === "") return undefined;
  if (kind === "integer" || kind === "number") return Number(text);
  if (kind === "array" || kind === "object" || kind === "enum") {
    try { return JSON.parse(text); } catch (e) {
      if (kind === "enum") return text;
      throw new Error(input.dataset.param + ": not valid JSON (" + e.message + ")");
    }
  }
  return input.value;
}

INIT.triggerForm = (form) => {
  const dag = form.dataset.dag;
  const error = document.getElementById("trigger-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.classList.add("hidden");
    const submit = document.getElementById("trigger-submit");
    submit.disabled = true;
    try {
      const conf = {};
      for (const input of form.querySelectorAll("[data-param]")) {
        const value = paramValue(input);
        if (value !== undefined) conf[input.dataset.param] = value;
      }
      const raw = document.getElementById("conf").value.trim();
      if (raw) {
        let parsed;
        try { parsed = JSON.parse(raw); } catch (e) { throw new Error("Conf is not valid JSON: " + e.message); }
        if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("Conf must be a JSON object");
        Object.assign(conf, parsed);
      }
      const body = { conf };
      const date = document.getElementById("logical-date").value;
      if (date) body.logical_date = new Date(date + "Z").toISOString();
      const runId = document.getElementById("run-id").value.trim();
      if (runId) body.dag_run_id = runId;
      const unpause = document.getElementById("unpause");
      if (unpause && unpause.checked) await api("PATCH", "/api/v1/dags/" + enc(dag), { is_paused: false });
      const run = await api("POST", "/api/v1/dags/" + enc(dag) + "/dagRuns", body);
      location.href = "/dags/" + enc(dag) + "?run=" + enc(run.dag_run_id);
    } catch (e) {
      error.textContent = e.message;
      error.classList.remove("hidden");
    } finally {
      submit.disabled = false;
    }
  });
};

/* Task instance page: tabs, rendered fields, live logs; an action reloads the page. */
INIT.taskTabs = (box) => {
  const tabs = box.querySelectorAll(":scope > nav [data-tab]");
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) other.classList.toggle("on", other === tab);
      for (const pane of box.querySelectorAll(":scope > [data-pane]")) pane.classList.toggle("hidden", pane.dataset.pane !== tab.dataset.tab);
    });
  }
  if (document.querySelector("[data-init~=previewAction]")) document.addEventListener("tw:changed", () => setTimeout(() => location.reload(), 400));
};

INIT.renderedFields = async (pane) => {
  let fields = {};
  try { fields = (await api("GET", pane.dataset.path)).rendered_fields || {}; } catch (e) { fields = {}; }
  const names = Object.keys(fields);
  if (!names.length) {
    pane.replaceChildren(el("div", { class: "card empty", text: "Not rendered yet: the templates are rendered when a try runs." }));
    return;
  }
  pane.replaceChildren(el("div", { class: "card" }, el("table", { class: "kv" }, ...names.map((name) => {
    const value = fields[name];
    return el("tr", {}, el("th", { class: "mono", text: name }),
      el("td", {}, el("pre", { class: "stack", style: "margin:0", text: typeof value === "string" ? value : JSON.stringify(value, null, 1) })));
  }))));
};

/* The log viewer (INIT.logView) is in log.js, which the task page brings. */

/* Admin resource pages (variables, connections, pools, users): listed from the REST API,
   added and edited in a dialog, deleted after a confirmation. */
function cellText(value) {
  if (value === null || value === undefined) return "";
  if (value === true) return "yes";
  if (value === false) return "no";
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(value)) return value.slice(0, 19).replace("T", " ");
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

INIT.resource = (table) => {
  const spec = JSON.parse(table.dataset.spec);
  const dialog = document.getElementById("resource-dialog");
  const form = document.getElementById("resource-form");
  const error = document.getElementById("resource-error");
  const filter = document.getElementById("resource-filter");
  let items = [];
  let editing = null;

  function draw() {
    const text = filter.value.toLowerCase();
    const shown = items.filter((item) => !text || JSON.stringify(item).toLowerCase().includes(text));
    document.getElementById("resource-count").textContent = items.length + " in all";
    const body = table.tBodies[0];
    if (!shown.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: spec.columns.length + (spec.selectable ? 2 : 1), class: "empty", text: items.length ? "Nothing matches." : "None yet." })));
      return;
    }
    body.replaceChildren(...shown.map((item) => {
      const id = item[spec.id_field];
      const edit = el("button", { type: "button", class: "btn btn-small", text: "Edit" });
      edit.addEventListener("click", () => open(item));
      const actions = el("td", { class: "nowrap" }, edit, " ");
      if (!spec.protected.includes(id)) {
        const remove = el("button", { type: "button", class: "btn btn-small btn-danger", text: "Delete" });
        remove.addEventListener("click", () => destroy(id));
        actions.append(remove);
      }
      const row = el("tr", { "data-id": id }, ...spec.columns.map(([key]) => cell(item, key)), actions);
      if (spec.selectable) row.prepend(el("td", {}, el("input", { type: "checkbox", class: "row-select", "data-id": id, "aria-label": "Select " + id })));
      return row;
    }));
  }
  /* A value the API cut (`<key>_truncated`) ends in "…" and links to the whole of it. */
  function cell(item, key) {
    const td = el("td", { class: key === spec.id_field ? "mono" : "", text: cellText(item[key]) });
    if (item[key + "_truncated"]) {
      const whole = spec.api + "/" + enc(item[spec.id_field]) + "/" + key;
      td.append("… ", el("a", { href: whole, download: "", class: "small", text: "download all (" + item[key + "_size"] + " bytes)" }));
    }
    return td;
  }
  async function load() {
    try {
      items = (await api("GET", spec.api + "?limit=1000"))[spec.list_key] || [];
    } catch (e) {
      items = [];
      toast(e.message, "error");
    }
    draw();
  }
  function open(item) {
    editing = item;
    form.reset();
    error.classList.add("hidden");
    document.getElementById("resource-form-title").textContent = (item ? "Edit " : "Add ") + spec.singular;
    for (const input of form.querySelectorAll("[name]")) {
      const value = item ? item[input.name] : undefined;
      // A value shown cut cannot be edited here (it would be saved cut): it is left as it is.
      input.disabled = !!(item && item[input.name + "_truncated"]);
      if (input.disabled) { input.value = "(" + item[input.name + "_size"] + " bytes: too long to edit here; left as it is)"; continue; }
      if (input.type === "checkbox") input.checked = value === undefined ? true : !!value;
      else if (input.tagName === "SELECT" && value && !Array.from(input.options).some((o) => o.value === value)) {
        input.append(el("option", { value: value, text: value }));  // a value the list does not know
        input.value = value;
      }
      else if (input.type !== "password") input.value = value === undefined || value === null ? "" : (value === "***" ? "" : String(value));
      if (input.tagName === "SELECT" && input.selectedIndex < 0) input.selectedIndex = 0;
    }
    dialog.showModal();
  }
  async function destroy(id) {
    if (!confirm("Delete " + spec.singular + " " + id + "?")) return;
    try {
      await api("DELETE", spec.api + "/" + enc(id));
      toast("Deleted " + id);
      load();
    } catch (e) { toast(e.message, "error"); }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const input of form.querySelectorAll("[name]")) {
      if (input.disabled) continue;
      if (input.type === "checkbox") { body[input.name] = input.checked; continue; }
      const value = input.value;
      if (input.type === "password" && !value) continue;
      if (value === "") { if (editing && editing[input.name] !== null && editing[input.name] !== undefined) body[input.name] = null; continue; }
      body[input.name] = input.dataset.kind === "number" ? Number(value) : value;
    }
    try {
      if (editing) await api("PATCH", spec.api + "/" + enc(editing[spec.id_field]), body);
      else await api("POST", spec.api, body);
      dialog.close();
      toast("Saved " + (body[spec.id_field] || editing[spec.id_field]));
      load();
    } catch (e) {
      error.textContent = e.message;
      error.classList.remove("hidden");
    }
  });
  document.getElementById("resource-add").addEventListener("click", () => open(null));
  document.getElementById("resource-cancel").addEventListener("click", () => dialog.close());
  filter.addEventListener("input", draw);
  const selectAll = document.getElementById("resource-select-all");
  if (selectAll) selectAll.addEventListener("change", () => {
    for (const box of table.querySelectorAll("tbody input.row-select")) box.checked = selectAll.checked;
  });
  document.addEventListener("tw:changed", load);
  load();
};
