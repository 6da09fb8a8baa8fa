"""Style, script and Content-Security-Policy of the HTML report, all inline (no network).

The script is ours and static: it reads the lead table (``#attention-table``: one row per
lead; ``data-status`` lists the lead's statuses at its targets, ``data-target`` the targets it
did not reach, space-separated: target names and statuses have no spaces) from the DOM (never data
embedded in script) to sort, filter and count rows, and marks ``body[data-report-ready]``
when done. The page's CSP allows exactly this script by its sha256 and no other, so even a
value that escaped our escaping could not run; escaping stays the first line of defence.
URL fragment ``#q=text&outcome=needs%20attention&status=failed&target=x&sort=column:desc``
presets the table, so a
link can point at a filtered view.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["CSP", "SCRIPT", "STYLE"]

STYLE = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --band: #f5f7fa; --accent: #1e88e5; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { padding: 20px 32px 12px; border-bottom: 1px solid var(--line); background: var(--band); }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: var(--muted); }
nav { padding: 8px 32px; border-bottom: 1px solid var(--line); background: #fff; }
nav { position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; }
main { padding: 8px 32px 48px; max-width: 1400px; }
section { margin-top: 28px; }
h2 { font-size: 17px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
.banner { margin: 12px 0 0; padding: 8px 12px; border-radius: 4px; background: #fff3cd; color: #6b4e00; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px; min-width: 130px; }
.tile b { display: block; font-size: 22px; }
.tile span { color: var(--muted); font-size: 12px; }
.tile.bad b { color: #c62828; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
figure { margin: 0; }
figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--band); position: sticky; top: 38px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.text { max-width: 360px; overflow-wrap: anywhere; }
td.nowrap { white-space: nowrap; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: 12px; }
.status { padding: 1px 6px; border-radius: 3px; font-size: 12px; background: var(--band); }
.status-rejected, .status-vendor_rejected { background: #fdecea; color: #b71c1c; }
.status-failed { background: #eceff1; color: #263238; }
.controls { display: flex; gap: 12px; align-items: center; margin: 8px 0; }
.controls input { padding: 4px 8px; width: 280px; }
th button { font: inherit; font-weight: bold; border: 0; background: none; padding: 0; cursor: pointer; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
.note { color: var(--muted); }
td.lead-target { white-space: nowrap; font-size: 12px; }
td.lead-target .reasons, td.lead-target .vendor { color: var(--muted); white-space: normal; }
td.lead-target .vendor { display: inline-block; max-width: 220px; overflow-wrap: anywhere; }
td.lead-target .window { color: var(--muted); font-style: italic; }
.outcome { padding: 1px 6px; border-radius: 3px; font-size: 12px; background: var(--band); }
.outcome-bad { background: #fdecea; color: #b71c1c; }
.status-ineligible { background: #eeeeee; color: #424242; }
.status-accepted, .status-submitted, .status-already_sent { background: #e8f5e9; color: #1b5e20; }
a.run-link { white-space: nowrap; }
"""

SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("attention-table");
  if (!table) { document.body.setAttribute("data-report-ready", "1"); return; }
  var body = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var rows = Array.prototype.slice.call(body.rows);
  var query = document.getElementById("attention-filter");
  var selects = [["attention-outcome", "data-outcome", "outcome", true],
                 ["attention-status", "data-status", "status", false],
                 ["attention-target", "data-target", "target", false]].map(function (spec) {
    return {element: document.getElementById(spec[0]), attribute: spec[1], param: spec[2], exact: spec[3]};
  }).filter(function (select) { return select.element; });
  var shown = document.getElementById("attention-shown");

  function has(row, select) {
    var value = select.element.value, held = row.getAttribute(select.attribute) || "";
    return select.exact ? held === value : (" " + held + " ").indexOf(" " + value + " ") !== -1;
  }

  function apply() {
    var q = query.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (row) {
      var ok = (!q || row.textContent.toLowerCase().indexOf(q) !== -1) &&
        selects.every(function (select) {
          return !select.element.value || has(row, select);
        });
      row.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = String(n);
  }

  function sortBy(th, descending) {
    var index = heads.indexOf(th), numeric = th.getAttribute("data-type") === "number";
    var direction = descending ? -1 : 1;
    heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    rows.sort(function (a, b) {
      var x = a.cells[index].textContent, y = b.cells[index].textContent;
      return direction * (numeric ? Number(x) - Number(y) : x.localeCompare(y));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  heads.forEach(function (th) {
    var button = th.querySelector("button");
    if (button) {
      button.addEventListener("click", function () {
        sortBy(th, th.getAttribute("aria-sort") === "ascending");
      });
    }
  });
  query.addEventListener("input", apply);
  selects.forEach(function (select) { select.element.addEventListener("input", apply); });

  var preset = new URLSearchParams(window.location.hash.slice(1));
  if (preset.get("q")) { query.value = preset.get("q"); }
  selects.forEach(function (select) {
    if (preset.get(select.param)) { select.element.value = preset.get(select.param); }
  });
  if (preset.get("sort")) {
    var parts = preset.get("sort").split(":");
    heads.forEach(function (th) {
      if (th.getAttribute("data-key") === parts[0]) { sortBy(th, parts[1] === "desc"); }
    });
  }
  apply();
  document.body.setAttribute("data-report-ready", "1");
})();
"""

_SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")

CSP = (
    "default-src 'none'; "
    f"script-src 'sha256-{_SCRIPT_HASH}'; "
    "style-src 'unsafe-inline'; "
    "img-src data:; "
    "base-uri 'none'; "
    "form-action 'none'"
)
"""Only our script runs; styles are inline (matplotlib's SVG uses style attributes)."""
