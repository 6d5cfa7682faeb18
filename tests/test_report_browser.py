"""The HTML report opened in a real headless browser (Chromium), JavaScript and all."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.report import write_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Chromium (.ci/run), so there the test must run; elsewhere it needs the browser.
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                                reason="Chromium is not installed (CI installs it)")


def _report() -> dict[str, object]:
    def req(rid: str, verdict: str, cls: str) -> dict[str, object]:
        check = {"kind": "vector", "name": f"v#{rid.lower()}", "outcome": verdict,
                 "detail": "rejected with E_X" if verdict == "failed" else None,
                 "example": None}
        return {"id": rid, "level": "MUST", "chapter": "03-wire-format", "class": cls,
                "text": f"text of {rid} <b>not bold</b>", "verdict": verdict,
                "checks": [check]}

    reqs = [req("WIRE-001", "passed", "Core"), req("WIRE-002", "failed", "Core"),
            req("UCAN-001", "not_claimed", "Authority")]
    return {"format": "strata-report/1", "harness_version": "0", "suite": {
        "digest": "d" * 64, "spec_version": "0.1.0", "generator_version": "1"},
        "implementation": {"name": "impl", "version": "1", "spec_version": "0.1.0",
                           "classes": ["Core"], "policies": {}},
        "command": "impl", "started": "2026-11-21T00:00:00+00:00", "duration_s": 1.0,
        "totals": {"passed": 1, "failed": 1, "acceptable": 0, "not_claimed": 1, "untested": 0},
        "classes": {"Core": {"claimed": True, "passed": 1, "failed": 1, "acceptable": 0,
                             "not_claimed": 0, "untested": 0},
                    "Authority": {"claimed": False, "passed": 0, "failed": 0, "acceptable": 0,
                                  "not_claimed": 1, "untested": 0}},
        "requirements": reqs,
        "cases": {"total": 3, "passed": 1, "failed": 1, "acceptable": 0, "skipped": 0,
                  "not_claimed": 1, "unaccounted": 0}}


def _dom(url: str) -> str:
    assert CHROMIUM is not None, "CI must install Chromium"
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--user-data-dir=" + str(Path(url.split("#")[0][7:]).parent / "ud"),
         "--virtual-time-budget=2000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def _visible_rows(dom: str) -> list[str]:
    body = dom.split('id="req-body"', 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr([^>]*)>\s*<td[^>]*>([A-Z]+-\d{3})</td>", body)
    return [rid for attrs, rid in rows if "display: none" not in attrs]


def test_report_renders_and_filters_in_chromium(tmp_path: Path) -> None:
    """The script builds every row, escapes text, and the verdict filter hides passing rows."""
    page = tmp_path / "report.html"
    write_html(_report(), page)
    dom = _dom(page.as_uri())
    assert _visible_rows(dom) == ["WIRE-001", "WIRE-002", "UCAN-001"]
    assert "3 of 3 shown" in dom
    assert "&lt;b&gt;not bold&lt;/b&gt;" in dom and "<b>not bold</b>" not in dom
    failed = _dom(page.as_uri() + "#verdict=failed")
    assert _visible_rows(failed) == ["WIRE-002"]
    assert "1 of 3 shown" in failed
    text = _dom(page.as_uri() + "#q=ucan")
    assert _visible_rows(text) == ["UCAN-001"]
