"""The `strata` command line: one entry per routine task (DESIGN section 7)."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "vectors"
REFERENCE_COMMAND = f"{shlex.quote(sys.executable)} -m reference.adapter"


def _progress(done: int, total: int, label: str) -> None:
    """A one-line progress indicator on stderr."""
    width = 30
    filled = width * done // max(total, 1)
    line = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:50]:<50}"
    if sys.stderr.isatty():
        sys.stderr.write(line)
        if done == total:
            sys.stderr.write("\n")
    elif done == total or done % 100 == 0:
        sys.stderr.write(line.strip("\r") + "\n")
    sys.stderr.flush()


def cmd_conform(args: argparse.Namespace) -> int:
    """Run the suite against an implementation; write JSON and HTML reports."""
    from conformance.report import render_summary, write_html, write_json
    from conformance.runner import Run, SuiteError, is_conforming, load_suite

    try:
        suite = load_suite(Path(args.suite))
    except SuiteError as exc:
        print(f"strata conform: refusing the suite: {exc}", file=sys.stderr)
        return 2
    if args.controls:
        return _run_controls(suite, args)
    if args.diff_fuzz:
        return _run_difffuzz(suite, args)
    report = Run(args.impl, suite, args.examples, None if args.quiet else _progress).execute()
    out = Path(args.report_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out / "report.json")
    write_html(report, out / "report.html")
    print(render_summary(report))
    print(f"reports: {out / 'report.json'}, {out / 'report.html'}")
    return 0 if is_conforming(report) else 1


def _run_controls(suite: object, args: argparse.Namespace) -> int:
    """Run every negative control; each must be failed by this harness build."""
    from conformance.runner import Run, Suite, is_conforming
    from tools.controls import command_for, load_all

    assert isinstance(suite, Suite)
    survivors = []
    for name, control in sorted(load_all().items()):
        t0 = time.perf_counter()
        report = Run(command_for(name), suite, args.examples, shrink=False).execute()
        failed = [r["id"] for r in report["requirements"] if r["verdict"] == "failed"]
        verdict = "rejected" if not is_conforming(report) else "SURVIVED"
        if verdict == "rejected" and control.requirement not in failed:
            verdict = "off-target"  # rejected, but not on the requirement it breaks
        print(f"{verdict:9} {name:32} breaks {control.requirement:9} "
              f"failed: {', '.join(failed[:6]) or '-'} ({time.perf_counter() - t0:.1f}s)")
        if verdict != "rejected":
            survivors.append(name)
    print(f"controls: {len(load_all()) - len(survivors)} rejected on their requirement, "
          f"{len(survivors)} survived or off target")
    return 1 if survivors else 0


def _run_difffuzz(suite: object, args: argparse.Namespace) -> int:
    """Fuzz the implementation against the reference; write candidate vectors."""
    from conformance.difffuzz import run_difffuzz
    from conformance.runner import Suite

    assert isinstance(suite, Suite)
    out = Path(args.report_dir) / "candidates"
    written = run_difffuzz(args.impl, REFERENCE_COMMAND, suite, args.examples, out)
    for path in written:
        print(f"disagreement: candidate vector written to {path}")
    print(f"differential fuzzing: {len(written)} of {len(suite.files)} vector files disagree")
    return 1 if written else 0


def cmd_vectors(args: argparse.Namespace) -> int:
    """Generate, check or diff golden vectors."""
    from tools import vectors

    if args.action == "generate":
        paths = vectors.generate_into(Path(args.out))
        print(f"wrote {len(paths)} files under {args.out}")
        return 0
    if args.action == "check":
        return vectors.check(Path(args.out))
    return vectors.diff(Path(args.old), Path(args.new))


def cmd_spec(args: argparse.Namespace) -> int:
    """Spec-author tools: lint, trace, prove, mutants, diff."""
    if args.action == "lint":
        from tools.spec import main_lint

        return main_lint(ROOT)
    if args.action == "prove":
        from tools.prove import main_prove

        return main_prove(ROOT, args.verbose)
    if args.action == "mutants":
        from tools.mutants import main_mutants

        return main_mutants(ROOT, shard=args.shard, full=args.full, workers=args.workers,
                            out=Path(args.out) if args.out else None,
                            requirement=args.requirement, threshold=args.threshold,
                            recheck=args.recheck)
    if args.action == "diff":
        from tools.specdiff import main_specdiff

        return main_specdiff(ROOT, args.old, args.new)
    from tools.trace import main_trace

    return main_trace(ROOT, args.verbose)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="strata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    conform = sub.add_parser("conform", help="judge an implementation through the driver protocol")
    conform.add_argument("--impl", default=REFERENCE_COMMAND,
                         help="command that starts the implementation (default: the reference)")
    conform.add_argument("--suite", default=str(VECTORS), help="suite directory (vectors/)")
    conform.add_argument("--examples", type=int, default=25,
                         help="hypothesis examples per property check")
    conform.add_argument("--report-dir", default="reports", help="where report.json/.html go")
    conform.add_argument("--controls", action="store_true",
                         help="run the negative controls instead; each must fail")
    conform.add_argument("--diff-fuzz", action="store_true",
                         help="fuzz --impl against the reference; write candidate vectors")
    conform.add_argument("--quiet", action="store_true", help="no progress indicator")
    conform.set_defaults(func=cmd_conform)

    vec = sub.add_parser("vectors", help="generate, check or diff golden vectors")
    vsub = vec.add_subparsers(dest="action", required=True)
    gen = vsub.add_parser("generate", help="regenerate every vector file from the reference")
    gen.add_argument("--out", default=str(VECTORS))
    chk = vsub.add_parser("check", help="prove the checked-in vectors equal a fresh generation")
    chk.add_argument("--out", default=str(VECTORS))
    dif = vsub.add_parser("diff", help="which cases differ between two vector folders")
    dif.add_argument("old")
    dif.add_argument("new")
    vec.set_defaults(func=cmd_vectors)

    sub.add_parser("node", help="run a mesh node: init | run | sync | status (spec/09)")

    spec = sub.add_parser("spec", help="spec-author tools")
    ssub = spec.add_subparsers(dest="action", required=True)
    ssub.add_parser("lint", help="every MUST/SHOULD sentence carries a unique id")
    tr = ssub.add_parser("trace", help="id -> reference sites -> checks; fails on gaps")
    tr.add_argument("--verbose", action="store_true", help="print the whole matrix")
    pr = ssub.add_parser("prove", help="z3 proves every invariant of every FSM table in spec/")
    pr.add_argument("--verbose", action="store_true")
    mu = ssub.add_parser("mutants", help="mutation score per requirement (quick by default)")
    mu.add_argument("--full", action="store_true", help="every mutant, not a sample (long)")
    mu.add_argument("--shard", help="run shard i of n, as i/n")
    mu.add_argument("--workers", type=int, default=2)
    mu.add_argument("--requirement", help="only this requirement id")
    mu.add_argument("--out", help="write the JSON report here")
    mu.add_argument("--threshold", type=float, default=0.9, help="minimum overall kill score")
    mu.add_argument("--recheck", action="store_true",
                    help="run each survivor against the whole suite too")
    df = ssub.add_parser("diff", help="what changed between two revisions or folders")
    df.add_argument("old")
    df.add_argument("new")
    spec.set_defaults(func=cmd_spec)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `strata` console script."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["node"]:  # `strata node init|run|sync|status ...` (spec/09)
        from tools.node import main_node

        return main_node(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
