/* Graph page: zoom and pan. The wheel zooms around the cursor, a drag pans, the toolbar's
   buttons (and + - 0 and the arrow keys) zoom around the middle, fit the graph in view, pan. The server draws the graph
   at its natural size; here the SVG fills its frame and the drawing moves inside it (the
   transform of g.viewport). */
"use strict";

INIT.graphZoom = (wrap) => {
  const svg = wrap.querySelector("svg.graph");
  const view = svg ? svg.querySelector("g.viewport") : null;
  if (!view) return;
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  const MIN = 0.05;
  const MAX = 4;
  let k = 1;
  let tx = 0;
  let ty = 0;

  wrap.classList.add("zoomable");
  svg.removeAttribute("viewBox");
  svg.setAttribute("width", "100%");
  svg.setAttribute("height", "100%");
  wrap.style.height = Math.max(240, Math.min(height + 2, window.innerHeight - 215)) + "px";

  function apply() {
    view.setAttribute("transform", "translate(" + tx.toFixed(2) + " " + ty.toFixed(2) + ") scale(" + k.toFixed(4) + ")");
  }
  function fit() {
    const w = svg.clientWidth;
    const h = svg.clientHeight;
    k = Math.max(MIN, Math.min(1, w / width, h / height));
    tx = (w - width * k) / 2;
    ty = (h - height * k) / 2;
    apply();
  }
  /* Zoom by `factor`, the point (x, y) of the frame staying where it is. */
  function zoomAt(x, y, factor) {
    const next = Math.max(MIN, Math.min(MAX, k * factor));
    tx = x - (x - tx) * next / k;
    ty = y - (y - ty) * next / k;
    k = next;
    apply();
  }
  function middle(factor) { zoomAt(svg.clientWidth / 2, svg.clientHeight / 2, factor); }

  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = svg.getBoundingClientRect();
    const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
    zoomAt(event.clientX - box.left, event.clientY - box.top, Math.exp(-delta * 0.0015));
  }, { passive: false });

  let drag = null;
  let dragged = false;
  svg.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    drag = { x: event.clientX, y: event.clientY, tx, ty, id: event.pointerId };
    dragged = false;
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.id) return;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (!dragged && Math.hypot(dx, dy) < 4) return;  // a click, not a drag (yet)
    if (!dragged) { dragged = true; svg.setPointerCapture(drag.id); svg.classList.add("panning"); }
    tx = drag.tx + dx;
    ty = drag.ty + dy;
    apply();
  });
  function stop() { drag = null; svg.classList.remove("panning"); }
  svg.addEventListener("pointerup", stop);
  svg.addEventListener("pointercancel", stop);
  // A drag that starts on a node pans too (no dragging of its link away), and does not
  // follow the link where it ends.
  svg.addEventListener("dragstart", (event) => event.preventDefault());
  svg.addEventListener("click", (event) => {
    if (dragged) { event.preventDefault(); event.stopPropagation(); dragged = false; }
  }, true);

  // From the keyboard, the graph focused: + and - zoom, 0 fits, the arrows pan.
  svg.setAttribute("tabindex", "0");
  svg.addEventListener("keydown", (event) => {
    const step = { ArrowLeft: [60, 0], ArrowRight: [-60, 0], ArrowUp: [0, 60], ArrowDown: [0, -60] }[event.key];
    if (step) { tx += step[0]; ty += step[1]; apply(); }
    else if (event.key === "+" || event.key === "=") middle(1.25);
    else if (event.key === "-") middle(1 / 1.25);
    else if (event.key === "0") fit();
    else return;
    event.preventDefault();
  });

  const zoomIn = document.getElementById("graph-zoom-in");
  const zoomOut = document.getElementById("graph-zoom-out");
  const fitButton = document.getElementById("graph-fit");
  if (zoomIn) zoomIn.addEventListener("click", () => middle(1.25));
  if (zoomOut) zoomOut.addEventListener("click", () => middle(1 / 1.25));
  if (fitButton) fitButton.addEventListener("click", fit);
  fit();
};
