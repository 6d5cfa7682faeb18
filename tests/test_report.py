"""Tests of the conformance report renderer (conformance/report.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conformance.report import embed_json, render_html, render_summary, write_html, write_json

HOSTILE = '<script>alert("x")</script> & </script><b>'


def sample_report() -> dict[str, Any]:
    """A report in the runner's shape: one failed, one passed, one not-claimed requirement."""
    return {
        "format": "strata-report/1",
        "harness_version": "0.1.0",
        "suite": {"digest": "ab" * 32, "spec_version": "0.1.0", "generator_version": "1"},
        "implementation": {"name": "toy-impl", "version": "9.9", "spec_version": "0.1.0",
                           "classes": ["Core"], "policies": {"drift_ms": 60000}},
        "command": "python -m toy --flag",
        "started": "2024-01-01T00:00:00Z",
        "duration_s": 3.25,
        "totals": {"passed": 1, "failed": 1, "acceptable": 0, "not_claimed": 1, "untested": 0},
        "classes": {
            "Core": {"claimed": True, "passed": 1, "failed": 1, "acceptable": 0,
                     "not_claimed": 0, "untested": 0},
            "Mesh": {"claimed": False, "passed": 0, "failed": 0, "acceptable": 0,
                     "not_claimed": 1, "untested": 0},
        },
        "requirements": [
            {"id": "CLK-006", "level": "MUST", "chapter": "05-clocks", "class": "Core",
             "text": f"Reject drift with `E_HLC_DRIFT` {HOSTILE}.", "verdict": "failed",
             "checks": [
                 {"kind": "vector", "name": "clocks/hlc.json#ok", "outcome": "passed",
                  "detail": None, "example": None},
                 {"kind": "property", "name": "clocks.drift_rejected", "outcome": "failed",
                  "detail": "expected E_HLC_DRIFT,\ngot ok", "example": "events=[1, 2] <i>"},
             ]},
            {"id": "CLK-003", "level": "MUST", "chapter": "05-clocks", "class": "Core",
             "text": "Ticks never go backwards.", "verdict": "passed",
             "checks": [{"kind": "vector", "name": "clocks/hlc.json#mono", "outcome": "passed",
                         "detail": None, "example": None}]},
            {"id": "MESH-001", "level": "MUST", "chapter": "09-mesh-coordination",
             "class": "Mesh", "text": "Sync converges.", "verdict": "not_claimed",
             "checks": [{"kind": "vector", "name": "mesh/sync.json#a",
                         "outcome": "not_claimed", "detail": None, "example": None}]},
        ],
        "cases": {"total": 3, "passed": 2, "failed": 0, "skipped": 1, "unaccounted": 0},
    }


def embedded(html: str) -> Any:
    """The JSON embedded in the page's report-data script element."""
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                      html, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


def test_html_escapes_text() -> None:
    """Hostile text appears only escaped, never as markup."""
    html = render_html(sample_report())
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp;" in html
    assert "example: events=[1, 2] &lt;i&gt;" in html
    assert html.count("</script>") == 2  # the data element and the inline script only


def test_embedded_json_parses_back() -> None:
    """The embedded report JSON parses back to the report itself."""
    report = sample_report()
    assert embedded(render_html(report)) == report
    assert json.loads(embed_json(report)) == report


def test_every_requirement_in_static_table() -> None:
    """Every requirement id has a server-rendered row, failed rows highlighted."""
    html = render_html(sample_report())
    body = html.split('<tbody id="req-body">', 1)[1].split("</tbody>", 1)[0]
    for req in sample_report()["requirements"]:
        assert f"<td>{req['id']}</td>" in body
    assert body.count('<tr class="failed">') == 1
    assert '<tr class="failed"><td>CLK-006</td>' in body


def test_page_is_standalone() -> None:
    """The page loads nothing from the network and carries the filters and class table."""
    html = render_html(sample_report())
    assert not re.search(r"\b(src|href)=", html)
    assert "http://" not in html and "https://" not in html
    for control in ("f-text", "f-verdict", "f-class", "f-chapter"):
        assert f'id="{control}"' in html
    assert "<td>Mesh</td><td>not claimed</td>" in html
    assert "<td>09-mesh-coordination</td>" in html


def test_write_json_and_html(tmp_path: Path) -> None:
    """Both writers produce files that read back."""
    report = sample_report()
    write_json(report, tmp_path / "r" / "report.json")
    write_html(report, tmp_path / "r" / "report.html")
    assert json.loads((tmp_path / "r" / "report.json").read_text("utf-8")) == report
    assert embedded((tmp_path / "r" / "report.html").read_text("utf-8")) == report


def test_summary_lists_failures() -> None:
    """The summary has a line per class, each failed requirement with its first failure, totals."""
    text = render_summary(sample_report())
    lines = text.splitlines()
    assert any(line.split()[:2] == ["Core", "claimed"] for line in lines)
    assert any(line.split()[:3] == ["Mesh", "not", "claimed"] for line in lines)
    assert ("  FAILED CLK-006 [MUST] property clocks.drift_rejected: "
            "expected E_HLC_DRIFT, got ok") in lines
    assert "example: events=[1, 2] <i>" in text
    assert "CLK-003" not in text
    assert "Totals: passed 1, failed 1" in text
    assert lines[-1] == "RESULT: FAILED"


def test_summary_of_a_passing_run() -> None:
    """Without failures the summary lists none and ends passed."""
    report = sample_report()
    report["requirements"] = report["requirements"][1:]
    report["totals"]["failed"] = 0
    text = render_summary(report)
    assert "FAILED" not in text
    assert text.splitlines()[-1] == "RESULT: passed"
