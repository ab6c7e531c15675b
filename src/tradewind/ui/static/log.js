/* tradewind UI: the log viewer of the task instance page. The log of the chosen try is read
   from the REST API by byte offset and followed while the try runs; lines are coloured by
   their level (tracebacks as errors); long lines wrap or scroll (remembered); the view follows
   the end while the user stays at the bottom; each try downloads whole as a file. */
"use strict";

const LEVEL_NAMES = { CRITICAL: "critical", FATAL: "critical", ERROR: "error", WARNING: "warning", WARN: "warning", INFO: "info", DEBUG: "debug" };
// A record's header: "[when] {file.py:12} LEVEL - ...", "LEVEL:name:...", "... - name - LEVEL - ...".
const LEVEL_PATTERNS = [
  /^\[[^\]]*\]\s+(?:\{[^}]*\}\s+)?(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG)\b/,
  /^(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG)(?::|\s+-\s)/,
  /^\S[^\n]{0,60}?\s-\s(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG)\s-\s/,
];
const WRAP_KEY = "tw.log.wrap";

function levelOf(line) {
  for (const pattern of LEVEL_PATTERNS) {
    const found = pattern.exec(line);
    if (found) return LEVEL_NAMES[found[1]];
  }
  return null;
}

/* Classifies lines one after the other: a traceback (and the lines after it up to the next
   log record) takes the error colour. */
function lineClassifier() {
  let inTraceback = false;
  return (line) => {
    const level = levelOf(line);
    if (line.startsWith("Traceback (most recent call last)")) inTraceback = true;
    else if (level) inTraceback = false;
    if (inTraceback) return "ll ll-error ll-trace";
    return level ? "ll ll-" + level : "ll";
  };
}

INIT.logView = (pre) => {
  const status = document.getElementById("log-status");
  const download = document.getElementById("log-download");
  const wrap = document.getElementById("log-wrap");
  const followBox = document.getElementById("log-follow");
  let generation = 0;

  function atBottom() { return pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4; }
  function toEnd() { pre.scrollTop = pre.scrollHeight; }

  /* Follow: unchecked when the user scrolls up, checked again when they reach the end (the
     viewer's own scrolling goes to the end, so it leaves it checked). */
  pre.addEventListener("scroll", () => {
    const bottom = atBottom();
    if (followBox.checked !== bottom) followBox.checked = bottom;
  });
  followBox.addEventListener("change", () => { if (followBox.checked) toEnd(); });

  function setWrap(on) {
    pre.classList.toggle("log-nowrap", !on);
    wrap.checked = on;
  }
  setWrap(localStorage.getItem(WRAP_KEY) !== "0");
  wrap.addEventListener("change", () => {
    localStorage.setItem(WRAP_KEY, wrap.checked ? "1" : "0");
    setWrap(wrap.checked);
  });

  /* Appends text to the log as lines, one span each; the last line may be incomplete: it is
     redrawn when the rest of it comes. */
  function writer() {
    const classify = lineClassifier();
    let partial = "";
    let partialNode = null;
    return (content) => {
      if (partialNode) partialNode.remove();
      const lines = (partial + content).split("\n");
      partial = lines.pop();
      const fragment = document.createDocumentFragment();
      for (const line of lines) fragment.append(el("span", { class: classify(line), text: line + "\n" }));
      partialNode = null;
      if (partial) {
        // Classified for now by its level alone; again as a whole line when it ends.
        const probe = levelOf(partial);
        partialNode = el("span", { class: probe ? "ll ll-" + probe : "ll", text: partial });
        fragment.append(partialNode);
      }
      pre.append(fragment);
    };
  }

  async function follow(tryNumber) {
    const mine = ++generation;
    const write = writer();
    let offset = 0;
    let followed = false;
    pre.replaceChildren();
    status.textContent = "Loading…";
    const query = pre.dataset.query || "";
    download.href = pre.dataset.path + tryNumber + "/download" + (query ? "?" + query.slice(1) : "");
    for (;;) {
      if (mine !== generation) return;
      let data;
      try {
        data = await api("GET", pre.dataset.path + tryNumber + "?offset=" + offset + query);
      } catch (e) {
        status.textContent = e.message;
        return;
      }
      if (mine !== generation) return;
      if (data.content) {
        write(data.content);
        if (followBox.checked) toEnd();
      }
      const moved = data.offset !== offset;
      offset = data.offset;
      // The log is on a worker that does not answer: say so, and go on asking.
      const note = data.note ? data.note + ". " : "";
      if (data.end_of_log) {
        pre.dataset.state = "ended";
        status.textContent = note + "End of log (" + offset + " bytes).";
        if (followed) setTimeout(() => location.reload(), 1000);  // the try finished: new states
        return;
      }
      followed = true;
      pre.dataset.state = "following";
      status.textContent = note + "Following the log… (" + offset + " bytes)";
      if (!moved) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  const tabs = document.querySelectorAll("#try-tabs [data-try]");
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) other.classList.toggle("on", other === tab);
      follow(tab.dataset.try);
    });
  }
  follow(pre.dataset.try);
};
