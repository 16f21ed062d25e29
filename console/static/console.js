// 民微工作台: small enhancements only; every page works without this file.
"use strict";

// Counts beside the list's filter options arrive after the list itself.
function loadFacets() {
  const side = document.querySelector("[data-facets]");
  if (!side) return;
  fetch(side.dataset.facets, { credentials: "same-origin", headers: { "Accept": "text/html" } })
    .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
    .then((html) => { side.innerHTML = html; side.dataset.loaded = "1"; })
    .catch(() => { side.dataset.loaded = "error"; });
}

// 待复核: one keystroke per decision. j/k move, y confirm, n not a demand, 1-3 model guesses,
// c focuses the category list (Enter then submits the change).
function reviewKeys() {
  const rows = Array.from(document.querySelectorAll("[data-row]"));
  if (!rows.length) return;
  let current = 0;
  const focus = (i) => {
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach((r, k) => r.classList.toggle("current", k === current));
    rows[current].focus({ preventScroll: false });
  };
  rows.forEach((row, i) => row.addEventListener("focusin", () => { current = i; rows.forEach((r, k) => r.classList.toggle("current", k === i)); }));
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const target = e.target;
    if (target instanceof HTMLSelectElement) {
      if (e.key === "Enter" && target.value) {
        e.preventDefault();
        target.form.querySelector("[data-submit-category]").click();
      }
      return;
    }
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
    const row = rows[current];
    if (e.key === "j") { e.preventDefault(); focus(current + 1); return; }
    if (e.key === "k") { e.preventDefault(); focus(current - 1); return; }
    const control = row.querySelector(`[data-key="${CSS.escape(e.key)}"]`);
    if (!control) return;
    e.preventDefault();
    if (control instanceof HTMLSelectElement) control.focus();
    else control.click();
  });
  focus(0);
}

document.addEventListener("DOMContentLoaded", () => {
  loadFacets();
  reviewKeys();
  document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
  document.querySelectorAll("[data-back]").forEach((a) => a.addEventListener("click", (e) => {
    if (history.length > 1) { e.preventDefault(); history.back(); }
  }));
});
