"""`python -m tools.bench_log`: throughput, scan cost and crash safety of the reference op log.

Three measurements of reference/oplog.py (spec/01-data-model.md section 4.5):

- ingest: N signed ops (IngestEvidence, and AssertClaim citing earlier evidence)
  appended to a file-backed log, as a ratio to a bare loop that only verifies
  the same signatures (`signatures.verify_op` on envelopes decoded beforehand),
  measured in the same run; then a cProfile of the append loop;
- scan: `OpLog.ops()` full iteration time and tracemalloc peak for logs of
  several sizes, each generated once into a temporary file;
- crash: a child process appends and prints each acknowledged op hash; the
  parent kills it with SIGKILL at a random moment, reopens the log and checks
  that every acknowledged op is there, `PRAGMA integrity_check` passes and no op
  is partially present (DM-033).

Exit status is nonzero only when a crash trial fails.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import attrs

from reference import identifiers, operations, oplog, projections, signatures, wire_format
from reference.identifiers import IdKind
from tools.vectorgen._ops import BASE_MS, OpFactory

NOW_MS = BASE_MS + 10**9  # later than every op generated here; nothing is held for drift
EVIDENCE_SHARE = 3  # one op in 3 ingests evidence; the others assert claims citing 1 to 3


# --- workload -----------------------------------------------------------------------------


def generate_ops(label: str, seed: int = 0) -> Iterator[bytes]:
    """An endless, deterministic stream of signed ops: evidence, and claims citing it."""
    f = OpFactory(label)
    rng = random.Random(seed)
    evidence: list[bytes] = []
    i = 0
    while True:
        if i % EVIDENCE_SHARE == 0 or not evidence:
            ev = f.new_id(IdKind.EVIDENCE)
            evidence.append(ev)
            yield f.op({"type": "IngestEvidence", "evidence": ev,
                        "hash": identifiers.compute_content_hash(ev), "anchor": ev.hex(),
                        "source_type": "bench", "metadata": {"n": i}})
        else:
            cited = sorted(set(rng.sample(evidence, min(len(evidence), rng.randint(1, 3)))))
            yield f.op({"type": "AssertClaim", "claim": f.new_id(IdKind.CLAIM),
                        "subject": None, "predicate": "mentions", "object": i,
                        "supports": cited})
        i += 1


def take(label: str, n: int) -> list[bytes]:
    stream = generate_ops(label)
    return [next(stream) for _ in range(n)]


# --- ingest throughput --------------------------------------------------------------------


@attrs.frozen
class Ingest:
    ops: int
    append_s: float
    verify_s: float
    append_cpu_s: float  # process CPU time: less sensitive to other load on the machine
    verify_cpu_s: float
    profile: str

    @property
    def append_rate(self) -> float:
        return self.ops / self.append_s

    @property
    def verify_rate(self) -> float:
        return self.ops / self.verify_s

    @property
    def ratio(self) -> float:
        return self.verify_s / self.append_s

    @property
    def cpu_ratio(self) -> float:
        return self.verify_cpu_s / self.append_cpu_s


def append_all(path: str, data: list[bytes]) -> tuple[float, float]:
    """Append every op to a fresh file-backed log; (wall, CPU) seconds taken."""
    log = oplog.OpLog(path)
    t0, c0 = time.perf_counter(), time.process_time()
    for op in data:
        log.append(op, NOW_MS)
    elapsed = time.perf_counter() - t0, time.process_time() - c0
    log.close()
    return elapsed


def measure_ingest(n: int, tmp: Path, top: int = 15) -> Ingest:
    """Append rate of N ops against a bare signature-verification loop over the same ops."""
    data = take("bench/ingest", n)
    envelopes = [wire_format.decode_envelope(op) for op in data]
    t0, c0 = time.perf_counter(), time.process_time()
    for env in envelopes:
        signatures.verify_op(env)
    verify_s, verify_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    append_s, append_cpu_s = append_all(str(tmp / "ingest.db"), data)
    profiler = cProfile.Profile()
    profiler.enable()
    append_all(str(tmp / "profile.db"), data)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return Ingest(n, append_s, verify_s, append_cpu_s, verify_cpu_s, out.getvalue())


# --- scan cost ----------------------------------------------------------------------------


@attrs.frozen
class Scan:
    ops: int
    build_s: float
    iterate_s: float
    iterate_cpu_s: float
    rows_s: float  # the same SELECT without decoding: SQLite's share of iterate_s
    peak_bytes: int
    file_bytes: int
    rebuild_s: float  # spec/10: a full projection rebuild from the log
    rebuild_peak_bytes: int


def measure_scan(n: int, tmp: Path) -> Scan:
    """Build an N-op log file once, then time and trace one full `ops()` iteration."""
    path = str(tmp / f"scan-{n}.db")
    log = oplog.OpLog(path)
    t0 = time.perf_counter()
    for op in take(f"bench/scan/{n}", n):
        log.append(op, NOW_MS)
    build_s = time.perf_counter() - t0
    log.close()
    log = oplog.OpLog(path)
    t0, c0 = time.perf_counter(), time.process_time()
    count = sum(1 for _ in log.ops())
    iterate_s, iterate_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    t0 = time.perf_counter()
    for _ in log.db.execute(
            "SELECT data FROM ops WHERE quarantined = 0 ORDER BY wall, logical, node"):
        pass
    rows_s = time.perf_counter() - t0
    tracemalloc.start()
    sum(1 for _ in log.ops())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    t0 = time.perf_counter()
    rebuilt = projections.rebuild(log.ops())
    rebuild_s = time.perf_counter() - t0
    tracemalloc.start()  # a second rebuild for memory: tracing slows it several-fold
    projections.rebuild(log.ops())
    rebuild_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    log.close()
    if count != n or rebuilt is None:
        raise RuntimeError(f"ops() gave {count} ops, {n} were appended")
    return Scan(n, build_s, iterate_s, iterate_cpu_s, rows_s, peak, os.path.getsize(path),
                rebuild_s, rebuild_peak)


# --- crash safety -------------------------------------------------------------------------


def crash_child(path: str, label: str) -> None:
    """Append ops forever, printing each op's hash once append has returned."""
    log = oplog.OpLog(path)
    print("ready", flush=True)
    for op in generate_ops(label):
        result = log.append(op, NOW_MS)
        print(result.hash.hex(), flush=True)


@attrs.frozen
class Trial:
    delay_s: float
    acknowledged: int
    lost: int
    integrity: str
    partial: int

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.integrity == "ok" and self.partial == 0


def check_log(path: str, acknowledged: set[bytes]) -> tuple[int, str, int, int]:
    """Reopen the log: acknowledged ops lost, integrity_check verdict, partial ops, ops stored."""
    log = oplog.OpLog(path)
    integrity = ",".join(r[0] for r in log.db.execute("PRAGMA integrity_check"))
    stored = {bytes(r[0]) for r in log.db.execute(
        "SELECT hash FROM ops UNION SELECT hash FROM held")}
    partial = 0
    for op_hash, data in log.db.execute("SELECT hash, data FROM ops"):
        try:
            op = oplog.decode_op(data)  # envelope, signature and payload all verify
        except Exception:  # noqa: BLE001 -- any failure to decode is a partial op
            partial += 1
            continue
        created = operations.get_created_record(op.payload)
        if op.hash != op_hash or (created is not None and log.get_creation(created) is None):
            partial += 1  # the op without the record its transaction also wrote
    log.close()
    return len(acknowledged - stored), integrity, partial, len(stored)


def _drain(stream: IO[str], into: list[str]) -> None:
    into.append(stream.read())


def measure_crash(trials: int, tmp: Path, rng: random.Random) -> list[Trial]:
    """K trials on one log file: start a child, SIGKILL it at a random moment, reopen, check."""
    path = str(tmp / "crash.db")
    acknowledged: set[bytes] = set()
    out: list[Trial] = []
    for k in range(trials):
        child = subprocess.Popen(
            [sys.executable, "-m", "tools.bench_log", "--crash-child", path,
             "--label", f"bench/crash/{k}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        stdout = child.stdout
        if stdout is None or stdout.readline().strip() != "ready":
            raise RuntimeError("crash child did not start")
        chunks: list[str] = []
        reader = threading.Thread(target=_drain, args=(stdout, chunks), daemon=True)
        reader.start()  # drain the pipe so the child never blocks on a full one
        delay = rng.uniform(0.0, 0.6)
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
        reader.join()
        # Only complete lines are acknowledgements: a hash cut short was never printed whole.
        for line in "".join(chunks).split("\n")[:-1]:
            acknowledged.add(bytes.fromhex(line))
        lost, integrity, partial, _ = check_log(path, acknowledged)
        out.append(Trial(delay, len(acknowledged), lost, integrity, partial))
    return out


# --- report -------------------------------------------------------------------------------


def print_ingest(ingest: Ingest) -> None:
    print(f"ingest ({ingest.ops} ops, file-backed, WAL)")
    print(f"  append            {ingest.append_rate:10.0f} ops/s  ({ingest.append_s:.2f} s)")
    print(f"  verify_op only    {ingest.verify_rate:10.0f} ops/s  ({ingest.verify_s:.2f} s)")
    print(f"  ratio             {ingest.ratio:10.3f}        (goal >= 0.5; wall clock)")
    print(f"  ratio (CPU time)  {ingest.cpu_ratio:10.3f}        (append "
          f"{ingest.append_cpu_s:.2f} s, verify {ingest.verify_cpu_s:.2f} s of process CPU)")
    print("  profile of the append loop (top by own time):")
    for line in ingest.profile.splitlines():
        if line.strip():
            print("   " + line)
    sys.stdout.flush()


def print_scan_header() -> None:
    print("scan: OpLog.ops() full iteration (build = generate, sign and append)")
    print(f"  {'ops':>8} {'build s':>9} {'iterate s':>10} {'us/op':>7} {'cpu us/op':>10} "
          f"{'sqlite us/op':>13} {'peak KiB':>9} {'file MiB':>9} {'rebuild s':>10} "
          f"{'rebuild MiB':>12}")


def print_scan(s: Scan) -> None:
    print(f"  {s.ops:8d} {s.build_s:9.2f} {s.iterate_s:10.3f} {s.iterate_s / s.ops * 1e6:7.0f} "
          f"{s.iterate_cpu_s / s.ops * 1e6:10.0f} {s.rows_s / s.ops * 1e6:13.1f} "
          f"{s.peak_bytes / 1024:9.1f} {s.file_bytes / 2**20:9.2f} {s.rebuild_s:10.2f} "
          f"{s.rebuild_peak_bytes / 2**20:12.1f}", flush=True)


def print_trials(trials: list[Trial]) -> None:
    print("crash: SIGKILL during appends, then reopen (one log file across trials)")
    print(f"  {'trial':>5} {'delay s':>8} {'acked':>6} {'lost':>5} {'partial':>8} integrity")
    for k, t in enumerate(trials):
        print(f"  {k:5d} {t.delay_s:8.3f} {t.acknowledged:6d} {t.lost:5d} {t.partial:8d} "
              f"{t.integrity}")
    lost = max((t.lost for t in trials), default=0)
    print(f"  acknowledged ops lost: {lost}; failed trials: {sum(not t.ok for t in trials)}",
          flush=True)


def scan_sizes(requested: list[int], tmp: Path, budget_s: float) -> list[Scan]:
    """Measure each size; a size whose build would exceed `budget_s` at the rate measured so
    far is halved until it fits (the issue: 100k, or 50k when 100k takes over ~3 minutes)."""
    print_scan_header()
    out: list[Scan] = []
    for n in requested:
        if out:
            rate = out[-1].ops / out[-1].build_s
            while n / rate > budget_s and n > out[-1].ops:
                print(f"  ({n} ops would take ~{n / rate:.0f} s to build at {rate:.0f} ops/s; "
                      f"using {n // 2})")
                n //= 2
        out.append(measure_scan(n, tmp))
        print_scan(out[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_log", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=5_000, help="ops appended for the ingest rate")
    parser.add_argument("--crash-trials", type=int, default=20, help="SIGKILL trials")
    parser.add_argument("--scan", default="10000,100000",
                        help="comma-separated log sizes for the ops() scan ('' to skip)")
    parser.add_argument("--budget", type=float, default=180.0,
                        help="seconds a scan log may take to build before its size is halved")
    parser.add_argument("--seed", type=int, default=None, help="seed of the kill delays")
    parser.add_argument("--crash-child", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="bench/crash", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.crash_child:
        crash_child(args.crash_child, args.label)
        return 0
    seed = args.seed if args.seed is not None else int(time.time())
    print(f"kill-delay seed: {seed}", flush=True)
    with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        if args.ops > 0:
            print_ingest(measure_ingest(args.ops, tmp))
        sizes = [int(n) for n in args.scan.split(",") if n.strip()]
        if sizes:
            scan_sizes(sizes, tmp, args.budget)
        trials = measure_crash(args.crash_trials, tmp, random.Random(seed))
        print_trials(trials)
    return 0 if all(t.ok for t in trials) else 1


if __name__ == "__main__":
    sys.exit(main())
