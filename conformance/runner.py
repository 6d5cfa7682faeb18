"""A conformance run: vectors and property checks against one implementation (spec/16 section 6).

Every vector case ends with exactly one outcome (passed, failed, acceptable,
skipped with a reason, not claimed); a case left without one is counted as
unaccounted and fails the run. Verdicts are then given per requirement.
"""

from __future__ import annotations

import datetime
import json
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import blake3
from hypothesis import HealthCheck, Phase, given, settings

from conformance import HARNESS_VERSION
from conformance.driver import Driver, DriverError, Response
from conformance.suites import Impl, PropertyCheck, load_all

Progress = Callable[[int, int, str], None]


class SuiteError(Exception):
    """The suite on disk is inconsistent (a file changed, or versions are mixed)."""


@attrs.define
class Outcome:
    """The result of one check: a vector case, a property check or a register entry."""

    kind: str  # vector | property | register
    name: str
    requirements: tuple[str, ...]
    outcome: str  # passed | failed | acceptable | skipped | not_claimed
    detail: str | None = None
    example: str | None = None


@attrs.frozen
class Suite:
    """The vectors, catalogue and manifest of one suite directory."""

    root: Path
    manifest: dict[str, Any]
    catalogue: dict[str, Any]
    files: tuple[tuple[str, dict[str, Any]], ...]
    digest: str

    @property
    def chapter_class(self) -> dict[str, str]:
        return {r["chapter"]: r["class"] for r in self.catalogue["requirements"]}

    @property
    def requirement_class(self) -> dict[str, str]:
        return {r["id"]: r["class"] for r in self.catalogue["requirements"]}


def load_suite(root: Path) -> Suite:
    """Load and verify a suite: every file listed in the manifest, hashes and versions agree.

    [CONF-008] a suite with an edited, unlisted or missing file, or mixed spec
    versions, is refused.
    """
    manifest_path = root / "manifest.json"
    if not manifest_path.exists():
        raise SuiteError(f"{manifest_path} is missing")
    manifest_bytes = manifest_path.read_bytes()
    manifest = json.loads(manifest_bytes)
    spec_version = manifest["spec_version"]
    listed = manifest["files"]
    on_disk = {
        p.relative_to(root).as_posix() for p in root.rglob("*.json")
        if p.name != "manifest.json" and "schemas" not in p.parts
    }
    if on_disk != set(listed):
        raise SuiteError(
            f"suite files differ from the manifest: unlisted {sorted(on_disk - set(listed))}, "
            f"missing {sorted(set(listed) - on_disk)}"
        )
    files = []
    for rel, digest in sorted(listed.items()):
        data = (root / rel).read_bytes()
        if blake3.blake3(data).hexdigest() != digest:
            raise SuiteError(f"{rel} does not match its manifest hash (edited by hand?)")
        doc = json.loads(data)
        if doc.get("spec_version") != spec_version:
            raise SuiteError(
                f"{rel} is for spec {doc.get('spec_version')}, suite is {spec_version}")
        if "cases" in doc:
            files.append((rel, doc))
    catalogue = json.loads((root / "requirements.json").read_bytes())
    return Suite(root, manifest, catalogue, tuple(files), blake3.blake3(manifest_bytes).hexdigest())


def matches(actual: Any, expected: Any, tolerance: dict[str, float] | None) -> bool:
    """Exact JSON equality, except `{"f32": hex, ...}` arrays compared within the case's
    tolerance: |a - e| <= atol + rtol * |e| elementwise (spec/16 section 2.1) [CONF-011]."""
    if isinstance(expected, dict) and "f32" in expected and tolerance is not None:
        if not isinstance(actual, dict) or set(actual) != set(expected):
            return False
        if any(actual[k] != expected[k] for k in expected if k != "f32"):
            return False
        try:
            a, e = _f32(actual["f32"]), _f32(expected["f32"])
        except (ValueError, TypeError):
            return False
        return len(a) == len(e) and all(
            abs(x - y) <= tolerance["atol"] + tolerance["rtol"] * abs(y)
            for x, y in zip(a, e, strict=True))
    if isinstance(expected, dict):
        return (isinstance(actual, dict) and set(actual) == set(expected)
                and all(matches(actual[k], expected[k], tolerance) for k in expected))
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(matches(a, e, tolerance) for a, e in zip(actual, expected, strict=True)))
    return bool(actual == expected and type(actual) is type(expected))


def _f32(text: str) -> tuple[float, ...]:
    """Big-endian IEEE 754 binary32 values from hex (8 digits each)."""
    raw = bytes.fromhex(text)
    if len(raw) % 4:
        raise ValueError("f32 hex is not a whole number of 4-byte values")
    return struct.unpack(f">{len(raw) // 4}f", raw)


def judge_case(case: dict[str, Any], response: Response) -> tuple[str, str | None]:
    """Compare one response with a vector case's recorded answer."""
    expected = case["result"]
    if response.ok:
        if expected == "invalid":
            return "failed", f"accepted; expected {case['error']['code']}"
        if "output" in case and not matches(response.result, case["output"],
                                            case.get("tolerance")):
            if expected == "acceptable":
                return "acceptable", "accepted with a different output"
            return "failed", (f"output {_brief(response.result)} "
                              f"!= expected {_brief(case['output'])}")
        return "passed", None
    if expected == "valid":
        return "failed", f"rejected with {response.code}: {(response.error or {}).get('message')}"
    if expected == "acceptable":
        return "acceptable", f"rejected with {response.code}"
    if response.code != case["error"]["code"]:
        return "failed", f"rejected with {response.code}, expected {case['error']['code']}"
    return "passed", None


def _brief(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 200 else text[:197] + "..."


class Run:
    """One conformance run of an implementation command against a suite."""

    def __init__(self, command: str, suite: Suite, examples: int = 25,
                 progress: Progress | None = None, timeout_s: float = 60.0,
                 stop_on_failure: bool = False, only: frozenset[str] | None = None,
                 shrink: bool = True) -> None:
        self.command = command
        self.suite = suite
        self.examples = examples
        self.progress = progress
        self.timeout_s = timeout_s
        self.stop_on_failure = stop_on_failure
        self.only = only  # run only the checks citing one of these requirement ids
        self.shrink = shrink  # shrink failing examples (a verdict alone needs no shrinking)
        self.driver = Driver(command, timeout_s)
        self.outcomes: list[Outcome] = []
        self.requirement_class = suite.requirement_class
        self.requirement_level = {r["id"]: r["level"] for r in suite.catalogue["requirements"]}
        self.policies: dict[str, Any] = {}
        self.error_codes = frozenset(e["code"] for e in suite.catalogue["error_codes"])
        self.commands = tuple(sorted({c["command"] for _, doc in suite.files
                                      for c in doc["cases"]}))
        fsms_path = suite.root / "fsms.json"
        self.fsms = json.loads(fsms_path.read_bytes()) if fsms_path.exists() else {}

    def _restart(self) -> None:
        self.driver.close()
        self.driver = Driver(self.command, self.timeout_s)
        self.driver.call("hello", self._hello_args())

    def _revived(self) -> Driver:
        self._restart()
        return self.driver

    def _hello_args(self) -> dict[str, Any]:
        return {"spec_version": self.suite.manifest["spec_version"],
                "harness": f"strata-conformance {HARNESS_VERSION}"}

    def execute(self) -> dict[str, Any]:
        """Run everything and return the report."""
        started = datetime.datetime.now(datetime.UTC)
        t0 = time.perf_counter()
        hello_response = self.driver.call("hello", self._hello_args())
        if not hello_response.ok or not isinstance(hello_response.result, dict):
            raise DriverError(f"hello was refused: {hello_response.error}")
        hello = hello_response.result
        claimed = set(hello.get("classes", []))
        self.policies = dict(hello.get("policies") or {})
        checks = load_all()
        total = sum(len(doc["cases"]) for _, doc in self.suite.files) + len(checks)
        done = 0
        chapter_class = self.suite.chapter_class
        for rel, doc in self.suite.files:
            cls = chapter_class.get(doc["chapter"], "Core")
            for case in doc["cases"]:
                self._run_case(rel, case, cls in claimed)
                done += 1
                if self.progress:
                    self.progress(done, total, f"{rel}#{case['id']}")
        for check in checks.values():
            self._run_property(check, claimed)
            done += 1
            if self.progress:
                self.progress(done, total, check.name)
        self.driver.close()
        return self._report(hello, started, time.perf_counter() - t0)

    def _skip_reason(self, requirements: tuple[str, ...]) -> str | None:
        """Why a check is skipped in this run, if it is."""
        if self.only is not None and not self.only.intersection(requirements):
            return "not selected (--only)"
        if self.stop_on_failure and any(o.outcome == "failed" for o in self.outcomes):
            return "stopped after the first failure"
        return None

    def _run_case(self, rel: str, case: dict[str, Any], claimed: bool) -> None:
        name = f"{rel}#{case['id']}"
        reqs = tuple(case["requirements"])
        skip = self._skip_reason(reqs)
        if skip:
            self.outcomes.append(Outcome("vector", name, reqs, "skipped", skip))
            return
        if not claimed:
            self.outcomes.append(Outcome("vector", name, reqs, "not_claimed"))
            return
        try:
            response = self.driver.call(case["command"], case["input"])
        except DriverError as exc:
            self.outcomes.append(Outcome("vector", name, reqs, "failed", f"protocol: {exc}"))
            self._restart()
            return
        outcome, detail = judge_case(case, response)
        if outcome == "failed":
            outcome, detail = self._under_policy(reqs, detail)
        self.outcomes.append(Outcome("vector", name, reqs, outcome, detail))

    def _under_policy(self, reqs: tuple[str, ...], detail: str | None) -> tuple[str, str | None]:
        """A deviation from SHOULD/MAY-level requirements only is acceptable when the
        implementation declared a policy for one of them in `hello` (spec/16 section 6)."""
        levels = {self.requirement_level.get(r, "MUST") for r in reqs}
        declared = [r for r in reqs if r in self.policies]
        if levels <= {"SHOULD", "MAY"} and declared:
            return "acceptable", f"{detail}; deviation declared by policy {declared[0]}="\
                                 f"{self.policies[declared[0]]!r}"
        return "failed", detail

    def _run_property(self, check: PropertyCheck, claimed_classes: set[str]) -> None:
        classes = {self.requirement_class.get(r, "Core") for r in check.requirements}
        skip = self._skip_reason(check.requirements)
        if skip:
            self.outcomes.append(Outcome("property", check.name, check.requirements, "skipped",
                                         skip))
            return
        if not classes <= claimed_classes:
            self.outcomes.append(Outcome("property", check.name, check.requirements,
                                         "not_claimed"))
            return
        try:
            run = with_settings(check.run, self.examples, self.shrink)
            run(Impl(self.driver, self.error_codes, self.commands, self.fsms, self._revived))
        except DriverError as exc:
            self.outcomes.append(Outcome("property", check.name, check.requirements, "failed",
                                         f"protocol: {exc}"))
            self._restart()
        except Exception as exc:  # noqa: BLE001 -- any failure of the check is its verdict
            notes = "\n".join(getattr(exc, "__notes__", []))
            self.outcomes.append(Outcome("property", check.name, check.requirements, "failed",
                                         f"{type(exc).__name__}: {exc}", notes or None))
        else:
            self.outcomes.append(Outcome("property", check.name, check.requirements, "passed"))

    def _report(self, hello: dict[str, Any], started: datetime.datetime,
                duration: float) -> dict[str, Any]:
        claimed = set(hello.get("classes", []))
        by_req: dict[str, list[Outcome]] = {}
        for outcome in self.outcomes:
            for req in outcome.requirements:
                by_req.setdefault(req, []).append(outcome)
        register = {e["id"]: e for e in self.suite.catalogue.get("untestable", [])}
        requirements = []
        for req in self.suite.catalogue["requirements"]:
            outs = by_req.get(req["id"], [])
            checks = [attrs.asdict(o) for o in outs]
            if req["id"] in register:
                checks.append({"kind": "register", "name": register[req["id"]]["evidence"],
                               "requirements": [req["id"]], "outcome": "skipped",
                               "detail": register[req["id"]].get("why"), "example": None})
            requirements.append({**{k: req[k] for k in ("id", "level", "chapter", "class", "text")},
                                 "verdict": _verdict(req["class"] in claimed, outs),
                                 "checks": checks})
        totals = {v: 0 for v in ("passed", "failed", "acceptable", "not_claimed", "untested")}
        classes: dict[str, dict[str, Any]] = {}
        for r in requirements:
            totals[r["verdict"]] += 1
            entry = classes.setdefault(r["class"], {"claimed": r["class"] in claimed,
                                                    **{v: 0 for v in totals}})
            entry[r["verdict"]] += 1
        vector_outcomes = [o for o in self.outcomes if o.kind == "vector"]
        n_cases = sum(len(doc["cases"]) for _, doc in self.suite.files)
        counted = {k: sum(1 for o in vector_outcomes if o.outcome == k)
                   for k in ("passed", "failed", "acceptable", "skipped", "not_claimed")}
        return {
            "format": "strata-report/1",
            "harness_version": HARNESS_VERSION,
            "suite": {"digest": self.suite.digest,
                      "spec_version": self.suite.manifest["spec_version"],
                      "generator_version": self.suite.manifest.get("generator_version")},
            "implementation": hello,
            "command": self.command,
            "started": started.isoformat(timespec="seconds"),
            "duration_s": round(duration, 3),
            "totals": totals,
            "classes": classes,
            "requirements": requirements,
            # [CONF-009] every case ends with one outcome; the rest are unaccounted.
            "cases": {"total": n_cases, **counted,
                      "unaccounted": n_cases - sum(counted.values())},
        }


def with_settings(fn: Callable[[Impl], None], examples: int,
                  shrink: bool = True) -> Callable[[Impl], None]:
    """A fresh hypothesis test of `fn` with this run's settings, or `fn` if it has no @given.

    Hypothesis fixes a test's settings when @given decorates it, and the checks are
    shared functions, so each run rebuilds the test from its inner function and
    strategies instead of loading a profile or re-decorating the shared object.
    """
    handle = getattr(fn, "hypothesis", None)
    if handle is None:
        return fn
    fresh = given(**handle._given_kwargs)(handle.inner_test)
    phases = [p for p in Phase if shrink or p not in (Phase.shrink, Phase.explain)]
    return settings(max_examples=examples, derandomize=True, database=None, deadline=None,
                    suppress_health_check=list(HealthCheck), print_blob=False,
                    phases=phases)(fresh)


def _verdict(claimed: bool, outcomes: list[Outcome]) -> str:
    """A requirement's verdict from the outcomes of the checks that cite it."""
    if not claimed:
        return "not_claimed"
    kinds = {o.outcome for o in outcomes}
    if "failed" in kinds:
        return "failed"
    if "passed" in kinds:
        return "passed"
    if "acceptable" in kinds:
        return "acceptable"
    return "untested"


def is_conforming(report: dict[str, Any]) -> bool:
    """A run passes when no requirement failed and every vector case was accounted for."""
    return bool(report["totals"]["failed"] == 0 and report["cases"]["unaccounted"] == 0)
