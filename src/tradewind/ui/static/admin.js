/* tradewind UI: the extras of two Admin pages. Connections: "Test connection" tests the form's
   connection through the REST API and shows what it answered. Variables: export (all, or the
   ticked ones) as a JSON file, and import of such a file, with a report of what it did. */
"use strict";

/* The connection as the form has it (an empty password: the stored one, for the API). */
function connectionOfForm(form) {
  const body = {};
  for (const input of form.querySelectorAll("[name]")) {
    if (input.disabled || input.type === "checkbox") continue;
    const value = input.value;
    if (value === "") continue;
    body[input.name] = input.dataset.kind === "number" ? Number(value) : value;
  }
  return body;
}

INIT.connectionTest = (button) => {
  const result = document.getElementById("conn-test-result");
  const dialog = document.getElementById("resource-dialog");
  function show(ok, message) {
    result.textContent = (ok ? "✓ " : "✗ ") + message;
    result.classList.toggle("conn-test-ok", ok);
    result.classList.toggle("conn-test-failed", !ok);
    result.classList.remove("hidden");
  }
  dialog.addEventListener("close", () => result.classList.add("hidden"));
  document.getElementById("resource-add").addEventListener("click", () => result.classList.add("hidden"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.classList.add("hidden");
    try {
      const answer = await api("POST", "/api/v1/connections/test", connectionOfForm(button.form));
      show(answer.status, answer.message);
    } catch (e) {
      show(false, e.message);
    } finally {
      button.disabled = false;
    }
  });
};

/* A non-JSON API call (a file back, or a form sent); rejects with the API's "detail". */
async function apiRaw(path, options) {
  const headers = Object.assign({ "X-CSRF-Token": csrfToken() }, options.headers || {});
  const response = await fetch(path, Object.assign({ method: "POST", credentials: "same-origin" }, options, { headers }));
  if (!response.ok) {
    let detail = response.status + " " + response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return response;
}

INIT.variableFiles = (box) => {
  const report = document.getElementById("variables-import-report");
  const upload = document.getElementById("variables-import");
  function say(kind, ...lines) {
    report.replaceChildren(...lines);
    report.className = "card import-report " + kind;
  }
  const exportButton = document.getElementById("variables-export");
  // The button says what it exports: the ticked variables, or all of them.
  document.getElementById("resource-table").addEventListener("change", () => {
    const count = document.querySelectorAll("#resource-table input.row-select:checked").length;
    exportButton.textContent = count ? "Export " + count + " selected" : "Export";
  });
  exportButton.addEventListener("click", async () => {
    const ticked = Array.from(document.querySelectorAll("#resource-table input.row-select:checked")).map((b) => b.dataset.id);
    const options = {};
    if (ticked.length) options.body = JSON.stringify({ keys: ticked });
    if (ticked.length) options.headers = { "Content-Type": "application/json" };
    try {
      const response = await apiRaw("/api/v1/variables/export", options);
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: "variables.json", class: "hidden" });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      toast("Exported " + (ticked.length ? ticked.length + " variable" + (ticked.length === 1 ? "" : "s") : "all the variables"));
    } catch (e) {
      toast(e.message, "error");
    }
  });
  upload.addEventListener("change", async () => {
    const file = upload.files[0];
    if (!file) return;
    try {
      const body = await file.text();
      const response = await apiRaw("/api/v1/variables/import", { body, headers: { "Content-Type": "application/json" } });
      const done = await response.json();
      const summary = el("strong", { text: "Imported " + file.name + ": " + done.created + " created, " + done.updated + " updated, " + done.failed + " failed." });
      const failures = done.errors.map((f) => el("li", {}, el("code", { text: f.key || "(empty key)" }), ": " + f.error));
      say(done.failed ? "import-partial" : "import-ok", summary, ...(failures.length ? [el("ul", {}, ...failures)] : []));
      changed();
    } catch (e) {
      say("import-failed", el("strong", { text: "Could not import " + file.name + ": " }), e.message);
    } finally {
      upload.value = "";
    }
  });
};
