/* Browse pages (DAG runs, task instances): select rows, then clear, mark or delete them
   through the REST API, one call per run (or per run's task instances), then reload. */
"use strict";

const BROWSE_NOUNS = { runs: "run", instances: "task instance" };
const BROWSE_FLASH = "tw-browse-flash";

function browseRunPath(row) {
  return "/api/v1/dags/" + enc(row.dag) + "/dagRuns/" + enc(row.run);
}

function browseTaskPath(row) {
  const path = browseRunPath(row) + "/taskInstances/" + enc(row.task);
  return Number(row.map) >= 0 ? path + "/" + row.map : path;
}

/* The calls an action makes for the rows picked: a list of functions that each return a promise. */
const BROWSE_CALLS = {
  runs: {
    clear: (rows) => rows.map((r) => () => api("POST", browseRunPath(r) + "/clear", { dry_run: false })),
    success: (rows) => rows.map((r) => () => api("PATCH", browseRunPath(r), { state: "success" })),
    failed: (rows) => rows.map((r) => () => api("PATCH", browseRunPath(r), { state: "failed" })),
    delete: (rows) => rows.map((r) => () => api("DELETE", browseRunPath(r))),
  },
  instances: {
    clear: (rows) => {
      const byRun = new Map();
      for (const r of rows) {
        const key = JSON.stringify([r.dag, r.run]);
        if (!byRun.has(key)) byRun.set(key, []);
        byRun.get(key).push(Number(r.map) >= 0 ? [r.task, Number(r.map)] : r.task);
      }
      return Array.from(byRun, ([key, tasks]) => {
        const [dag, run] = JSON.parse(key);
        const body = { dag_run_id: run, task_ids: tasks, only_failed: false, dry_run: false };
        return () => api("POST", "/api/v1/dags/" + enc(dag) + "/clearTaskInstances", body);
      });
    },
    success: (rows) => rows.map((r) => () => api("PATCH", browseTaskPath(r), { new_state: "success", dry_run: false })),
    failed: (rows) => rows.map((r) => () => api("PATCH", browseTaskPath(r), { new_state: "failed", dry_run: false })),
  },
};

INIT.browseBulk = (bar) => {
  const table = document.getElementById("browse-table");
  if (!table) return;
  const kind = bar.dataset.kind;
  const noun = BROWSE_NOUNS[kind] || "row";
  const count = bar.querySelector(".bulk-count");
  const all = table.querySelector("input.pick-all");
  const boxes = () => Array.from(table.querySelectorAll("tbody input.pick-row"));
  const picked = () => boxes().filter((b) => b.checked).map((b) => b.closest("tr").dataset);

  function refresh() {
    const n = picked().length;
    bar.hidden = n === 0;
    count.textContent = n + " " + noun + (n === 1 ? "" : "s") + " selected";
    if (all) {
      all.checked = n > 0 && n === boxes().length;
      all.indeterminate = n > 0 && n < boxes().length;
    }
  }

  table.addEventListener("change", (event) => {
    if (event.target === all) for (const box of boxes()) box.checked = all.checked;
    refresh();
  });

  for (const button of bar.querySelectorAll("button[data-action]")) {
    button.addEventListener("click", async () => {
      const rows = picked();
      const what = button.textContent.trim().toLowerCase();
      const many = rows.length + " " + noun + (rows.length === 1 ? "" : "s");
      const warning = button.dataset.action === "delete" ? " This cannot be undone." : "";
      if (!rows.length || !confirm(button.textContent.trim() + ": " + many + "?" + warning)) return;
      for (const other of bar.querySelectorAll("button")) other.disabled = true;
      const failures = [];
      for (const call of BROWSE_CALLS[kind][button.dataset.action](rows)) {
        try { await call(); } catch (e) { failures.push(e.message); }
      }
      const message = failures.length
        ? what + ": " + failures.length + " of the calls failed: " + failures[0]
        : what + ": done for " + many;
      sessionStorage.setItem(BROWSE_FLASH, JSON.stringify({ message, error: failures.length > 0 }));
      location.reload();
    });
  }
  refresh();
};

document.addEventListener("DOMContentLoaded", () => {
  const flash = sessionStorage.getItem(BROWSE_FLASH);
  if (!flash) return;
  sessionStorage.removeItem(BROWSE_FLASH);
  const { message, error } = JSON.parse(flash);
  toast(message.charAt(0).toUpperCase() + message.slice(1), error ? "error" : undefined);
});
