"""The op-log bench in a tiny configuration: it runs, and its crash check counts."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from reference import identifiers, oplog
from tools import bench_log


def test_bench_runs_and_loses_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """`bench_log --ops 200 --crash-trials 3` prints every section and reports zero lost."""
    code = bench_log.main(["--ops", "200", "--crash-trials", "3", "--scan", "150,300",
                           "--seed", "7"])
    out = capsys.readouterr().out
    assert code == 0, out
    for heading in ("ingest (200 ops", "ratio", "scan: OpLog.ops()", "crash: SIGKILL"):
        assert heading in out
    assert "acknowledged ops lost: 0; failed trials: 0" in out


def test_crash_trials_acknowledge_and_keep_ops(tmp_path: Path) -> None:
    """Killed children acknowledged ops, and every acknowledged op is found on reopening."""
    trials = bench_log.measure_crash(3, tmp_path, random.Random(3))
    assert len(trials) == 3
    assert trials[-1].acknowledged > 0  # the count is cumulative over the shared log file
    assert all(t.lost == 0 and t.partial == 0 and t.integrity == "ok" for t in trials)


def test_check_log_counts_a_lost_op(tmp_path: Path) -> None:
    """An acknowledged hash missing from the log is counted as lost (the check can fail)."""
    path = str(tmp_path / "log.db")
    ops = bench_log.take("tests/bench", 5)
    log = oplog.OpLog(path)
    for op in ops[:4]:
        log.append(op, bench_log.NOW_MS)
    log.close()
    acked = {bytes(identifiers.compute_op_hash(op)) for op in ops}
    lost, integrity, partial, stored = bench_log.check_log(path, acked)
    assert (lost, integrity, partial, stored) == (1, "ok", 0, 4)


def test_check_log_counts_a_partial_op(tmp_path: Path) -> None:
    """An op row whose record row is missing (half an append) is counted as partial."""
    path = str(tmp_path / "log.db")
    log = oplog.OpLog(path)
    for op in bench_log.take("tests/bench", 2):
        log.append(op, bench_log.NOW_MS)
    log.db.execute("DELETE FROM records")
    log.close()
    assert bench_log.check_log(path, set())[2] >= 1
