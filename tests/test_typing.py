"""The reference's typed ids are enforced by mypy --strict (spec/04 section 1, ID-001)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mypy_strict_reference() -> None:
    """mypy --strict passes on the reference package."""
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "reference"], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]


def test_mypy_catches_id_confusion(tmp_path: Path) -> None:
    """Passing an EvidenceId where an OpId is expected is a type error."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from reference.identifiers import EvidenceId, OpId\n"
        "def use(op: OpId) -> None: ...\n"
        "use(EvidenceId(b'x'))\n"
    )
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", str(probe)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "incompatible type" in done.stdout, done.stdout
