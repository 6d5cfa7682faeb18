"""The conformance report: JSON, a standalone HTML page, and the terminal summary.

The report dict (format `strata-report/1`) is produced by the runner; this
module only renders it. Like the rest of `conformance` it imports nothing
from `reference` or `tools`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from pathlib import Path
from typing import Any

VERDICTS = ("passed", "failed", "acceptable", "not_claimed", "untested")
_DETAIL_LIMIT = 300  # characters of a failure detail in the terminal summary


def write_json(report: Mapping[str, Any], path: Path) -> None:
    """Write `report` as indented UTF-8 JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")


def embed_json(report: Mapping[str, Any]) -> str:
    """`report` as JSON safe inside a <script> element (no `<`, `>` or `&` characters)."""
    text = json.dumps(report, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


# --- small accessors (the report comes from another process; be lenient) ------------------


def _requirements(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(report.get("requirements") or [])


def _chapter_counts(report: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for req in _requirements(report):
        row = counts.setdefault(str(req.get("chapter", "?")), dict.fromkeys(VERDICTS, 0))
        verdict = str(req.get("verdict", "untested"))
        row[verdict] = row.get(verdict, 0) + 1
    return dict(sorted(counts.items()))


def _first_failure(req: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((c for c in req.get("checks") or [] if c.get("outcome") == "failed"), None)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# --- HTML ---------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1b1b1b;background:#fff}
h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.15em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.3em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:0}
dl.meta dt{font-weight:600}dl.meta dd{margin:0}
tr.failed td{background:#fde2e2}tr.acceptable td{background:#fff6d6}
tr.not_claimed td,tr.untested td{color:#777}
.v-passed{color:#176f2c;font-weight:600}.v-failed{color:#b00020;font-weight:700}
.v-acceptable{color:#8a6100}.v-not_claimed,.v-untested,.v-skipped{color:#777}
ul.checks{margin:0;padding-left:1.1em}pre{white-space:pre-wrap;margin:.2em 0;
background:#f7f7f7;padding:.3em;font-size:12px;max-width:70em}
#filters{margin:.5em 0;display:flex;gap:.6em;flex-wrap:wrap}
#filters input{min-width:18em}code{font-size:12px}
"""

_JS = """
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var reqs = data.requirements || [];
  var body = document.getElementById("req-body");
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function checksCell(checks) {
    var td = el("td"), ul = el("ul", "checks");
    (checks || []).forEach(function (c) {
      var li = el("li");
      li.appendChild(el("span", "v-" + c.outcome, c.outcome));
      li.appendChild(document.createTextNode(" " + c.kind + " "));
      li.appendChild(el("code", null, c.name));
      if (c.detail) li.appendChild(el("pre", null, c.detail));
      if (c.example) li.appendChild(el("pre", null, "example: " + c.example));
      ul.appendChild(li);
    });
    td.appendChild(ul);
    return td;
  }
  var rows = reqs.map(function (r) {
    var tr = el("tr", r.verdict);
    tr.appendChild(el("td", null, r.id));
    tr.appendChild(el("td", null, r.level));
    tr.appendChild(el("td", null, r.chapter));
    tr.appendChild(el("td", null, r["class"]));
    tr.appendChild(el("td", "v-" + r.verdict, r.verdict));
    tr.appendChild(el("td", null, r.text));
    tr.appendChild(checksCell(r.checks));
    var hay = [r.id, r.level, r.chapter, r["class"], r.verdict, r.text].concat(
      (r.checks || []).map(function (c) {
        return [c.name, c.outcome, c.detail || "", c.example || ""].join(" ");
      })).join(" ").toLowerCase();
    return {tr: tr, r: r, hay: hay};
  });
  body.textContent = "";
  rows.forEach(function (x) { body.appendChild(x.tr); });
  function fill(id, key) {
    var sel = document.getElementById(id), seen = {};
    reqs.forEach(function (r) { seen[r[key]] = true; });
    Object.keys(seen).sort().forEach(function (v) {
      var o = el("option", null, v); o.value = v; sel.appendChild(o);
    });
  }
  fill("f-verdict", "verdict"); fill("f-class", "class"); fill("f-chapter", "chapter");
  var form = document.getElementById("filters");
  function apply() {
    var q = document.getElementById("f-text").value.toLowerCase().trim();
    var v = document.getElementById("f-verdict").value;
    var k = document.getElementById("f-class").value;
    var c = document.getElementById("f-chapter").value;
    var shown = 0;
    rows.forEach(function (x) {
      var ok = (!q || x.hay.indexOf(q) >= 0) && (!v || x.r.verdict === v) &&
               (!k || x.r["class"] === k) && (!c || x.r.chapter === c);
      x.tr.style.display = ok ? "" : "none";
      if (ok) shown++;
    });
    document.getElementById("f-count").textContent = shown + " of " + rows.length + " shown";
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); });
  form.hidden = false;
  // Presets from the address: report.html#verdict=failed&q=wire&class=Core&chapter=...
  var keys = {q: "f-text", verdict: "f-verdict", "class": "f-class", chapter: "f-chapter"};
  (location.hash || "").replace(/^#/, "").split("&").forEach(function (pair) {
    var kv = pair.split("="), id = keys[decodeURIComponent(kv[0] || "")];
    if (id && kv.length === 2) document.getElementById(id).value = decodeURIComponent(kv[1]);
  });
  apply();
})();
"""


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], numeric_from: int = 99) -> str:
    """A table of already-escaped cells; columns from `numeric_from` on are right-aligned."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="n">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _checks_html(checks: Iterable[Mapping[str, Any]]) -> str:
    items = []
    for c in checks:
        outcome = escape(_text(c.get("outcome")))
        item = (f'<li><span class="v-{outcome}">{outcome}</span> {escape(_text(c.get("kind")))} '
                f"<code>{escape(_text(c.get('name')))}</code>")
        if c.get("detail"):
            item += f"<pre>{escape(_text(c.get('detail')))}</pre>"
        if c.get("example"):
            item += f"<pre>example: {escape(_text(c.get('example')))}</pre>"
        items.append(item + "</li>")
    return f'<ul class="checks">{"".join(items)}</ul>'


def _requirement_rows(report: Mapping[str, Any]) -> str:
    rows = []
    for r in _requirements(report):
        verdict = escape(_text(r.get("verdict")))
        cells = [escape(_text(r.get(k))) for k in ("id", "level", "chapter", "class")]
        rows.append(
            f'<tr class="{verdict}">' + "".join(f"<td>{c}</td>" for c in cells)
            + f'<td class="v-{verdict}">{verdict}</td><td>{escape(_text(r.get("text")))}</td>'
            + f"<td>{_checks_html(r.get('checks') or [])}</td></tr>"
        )
    return "".join(rows)


def render_html(report: Mapping[str, Any]) -> str:
    """The whole standalone page (inline CSS and JS, no network access)."""
    impl = report.get("implementation") or {}
    suite = report.get("suite") or {}
    totals = report.get("totals") or {}
    cases = report.get("cases") or {}
    name = escape(_text(impl.get("name")) or "implementation")
    meta = [
        ("implementation", f"{name} {escape(_text(impl.get('version')))}"),
        ("classes claimed", escape(", ".join(map(str, impl.get("classes") or [])) or "none")),
        ("implementation spec version", escape(_text(impl.get("spec_version")))),
        ("suite digest", f"<code>{escape(_text(suite.get('digest')))}</code>"),
        ("suite spec version", escape(_text(suite.get("spec_version")))),
        ("generator version", escape(_text(suite.get("generator_version")))),
        ("harness version", escape(_text(report.get("harness_version")))),
        ("command", f"<code>{escape(_text(report.get('command')))}</code>"),
        ("started", escape(_text(report.get("started")))),
        ("duration", escape(f"{float(report.get('duration_s') or 0):.1f} s")),
    ]
    policies = impl.get("policies")
    if policies:
        meta.insert(3, ("policies", f"<code>{escape(json.dumps(policies, sort_keys=True))}</code>"))
    meta_html = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta)

    totals_html = _table(VERDICTS, [[escape(_text(totals.get(v, 0))) for v in VERDICTS]], 0)
    case_keys = ("total", "passed", "failed", "skipped", "unaccounted")
    cases_html = _table(case_keys, [[escape(_text(cases.get(k, 0))) for k in case_keys]], 0)
    classes = report.get("classes") or {}
    class_rows = [
        [escape(str(cls)), "claimed" if info.get("claimed") else "not claimed"]
        + [escape(_text(info.get(v, 0))) for v in VERDICTS]
        for cls, info in classes.items()
    ]
    classes_html = _table(("class", "claimed", *VERDICTS), class_rows, 2)
    chapter_rows = [[escape(ch)] + [str(counts.get(v, 0)) for v in VERDICTS]
                    for ch, counts in _chapter_counts(report).items()]
    chapters_html = _table(("chapter", *VERDICTS), chapter_rows, 1)

    failed = int(totals.get("failed", 0) or 0)
    verdict = "FAILED" if failed else "passed"
    title = f"Strata conformance: {name} ({verdict})"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{title}</h1>
<dl class="meta">{meta_html}</dl>
<h2>Requirements</h2>
{totals_html}
<h2>Vector cases</h2>
{cases_html}
<h2>By conformance class</h2>
{classes_html}
<h2>By chapter</h2>
{chapters_html}
<h2>Per requirement</h2>
<form id="filters" hidden>
<input id="f-text" type="search" placeholder="filter: id, text, check, detail">
<select id="f-verdict"><option value="">any verdict</option></select>
<select id="f-class"><option value="">any class</option></select>
<select id="f-chapter"><option value="">any chapter</option></select>
<span id="f-count"></span>
</form>
<table id="requirements">
<thead><tr><th>id</th><th>level</th><th>chapter</th><th>class</th><th>verdict</th><th>text</th>
<th>checks</th></tr></thead>
<tbody id="req-body">{_requirement_rows(report)}</tbody>
</table>
<script type="application/json" id="report-data">{embed_json(report)}</script>
<script>{_JS}</script>
</body>
</html>
"""


def write_html(report: Mapping[str, Any], path: Path) -> None:
    """Write the standalone HTML page of `report`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), "utf-8")


# --- terminal -----------------------------------------------------------------------------


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _DETAIL_LIMIT else line[:_DETAIL_LIMIT - 3] + "..."


def render_summary(report: Mapping[str, Any]) -> str:
    """The terminal summary: classes, each failed requirement with its first failure, totals."""
    impl = report.get("implementation") or {}
    suite = report.get("suite") or {}
    out = [f"Strata conformance: {_text(impl.get('name')) or 'implementation'} "
           f"{_text(impl.get('version'))} against spec {_text(suite.get('spec_version'))} "
           f"(suite {_text(suite.get('digest'))[:16]})"]
    for cls, info in (report.get("classes") or {}).items():
        claimed = "claimed" if info.get("claimed") else "not claimed"
        counts = ", ".join(f"{v.replace('_', ' ')} {info.get(v, 0)}" for v in VERDICTS
                           if info.get(v))
        out.append(f"  {cls:<12} {claimed:<12} {counts or 'no requirements'}")
    failed = [r for r in _requirements(report) if r.get("verdict") == "failed"]
    if failed:
        out.append(f"Failed requirements ({len(failed)}):")
    for req in failed:
        check = _first_failure(req)
        where = f"{_text(check.get('kind'))} {_text(check.get('name'))}" if check else "?"
        detail = _one_line(_text(check.get("detail"))) if check else ""
        out.append(f"  FAILED {_text(req.get('id'))} [{_text(req.get('level'))}] {where}"
                   + (f": {detail}" if detail else ""))
        if check and check.get("example"):
            out.append(f"         example: {_one_line(_text(check.get('example')))}")
    totals = report.get("totals") or {}
    cases = report.get("cases") or {}
    out.append("Totals: " + ", ".join(f"{v.replace('_', ' ')} {totals.get(v, 0)}"
                                      for v in VERDICTS)
               + f"; cases {cases.get('total', 0)} (passed {cases.get('passed', 0)}, "
                 f"failed {cases.get('failed', 0)}, skipped {cases.get('skipped', 0)}, "
                 f"unaccounted {cases.get('unaccounted', 0)}); "
                 f"{float(report.get('duration_s') or 0):.1f} s")
    out.append("RESULT: " + ("FAILED" if totals.get("failed") else "passed"))
    return "\n".join(out)
