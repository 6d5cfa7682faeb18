"""Spec-author tools: parse spec/*.md into requirements, and lint the spec's conventions.

The conventions (DESIGN section 3): every sentence carrying MUST, MUST NOT,
REQUIRED, SHALL, SHALL NOT, SHOULD, SHOULD NOT (or RECOMMENDED, NOT RECOMMENDED)
ends with exactly one id in brackets right before its final punctuation:
`... MUST be rejected with `E_HLC_DRIFT` [CLK-006].` MAY and OPTIONAL sentences
may carry one. Fenced code blocks, blockquotes and HTML comments are not
normative and are skipped.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import attrs

from reference.introduction import SPEC_VERSION, ErrorCode

# chapter stem -> (requirement code, conformance class)
CHAPTERS: dict[str, tuple[str, str]] = {
    "00-introduction": ("INTRO", "Core"),
    "01-data-model": ("DM", "Core"),
    "02-operations": ("OPS", "Core"),
    "03-wire-format": ("WIRE", "Core"),
    "04-identifiers-and-hashing": ("ID", "Core"),
    "05-clocks": ("CLK", "Core"),
    "06-signatures": ("SIG", "Core"),
    "07-ucan-and-caveats": ("UCAN", "Authority"),
    "08-capabilities": ("CAP", "Authority"),
    "09-mesh-coordination": ("MESH", "Mesh"),
    "10-projections": ("PROJ", "Projections"),
    "11-data-engine": ("ENG", "Engine"),
    "12-fsms": ("FSM", "Core"),
    "13-lora-hierarchy": ("LORA", "Learning"),
    "14-wavegen": ("WAVE", "WaveGen"),
    "15-consolidation": ("CONS", "Learning"),
    "16-conformance": ("CONF", "Core"),
}
CODES: frozenset[str] = frozenset(code for code, _ in CHAPTERS.values())

# Keyword -> level; the alternation tries the longer phrase first.
LEVELS: dict[str, str] = {
    "MUST NOT": "MUST", "MUST": "MUST", "REQUIRED": "MUST", "SHALL NOT": "MUST", "SHALL": "MUST",
    "SHOULD NOT": "SHOULD", "SHOULD": "SHOULD", "NOT RECOMMENDED": "SHOULD",
    "RECOMMENDED": "SHOULD", "MAY": "MAY", "OPTIONAL": "MAY",
}
_STRENGTH = {"MUST": 3, "SHOULD": 2, "MAY": 1}
_KEYWORD = re.compile(
    r"(?<![A-Za-z0-9_-])(MUST NOT|MUST|REQUIRED|SHALL NOT|SHALL|SHOULD NOT|SHOULD"
    r"|NOT RECOMMENDED|RECOMMENDED|MAY|OPTIONAL)(?![A-Za-z0-9_-])"
)
# A keyword merely mentioned in quotes ("MUST") is not used (RFC 8174 boilerplate).
_QUOTED_KEYWORD = re.compile(r"[\"“]\s*(?:" + _KEYWORD.pattern + r")\s*[\"”]")
ID_RE = re.compile(r"^[A-Z]{2,5}-\d{3}$")
# Anything bracketed that looks like an id, well-formed or not ([CLK-1], [clk-001]);
# a bracket followed by `(` is a markdown link, not an id.
_ID_CANDIDATE = re.compile(r"\[\s*([A-Za-z]{2,6}\s*-\s*\d{1,5})\s*\](?!\()")
_ID_LIST = re.compile(r"\[\s*[A-Z]{2,5}-\d{3}(?:\s*[,;]\s*[A-Z]{2,5}-\d{3})+\s*\]")
ERROR_CODE_RE = re.compile(r"(?<![A-Za-z0-9_])E_[A-Z][A-Z0-9_]*(?![A-Za-z0-9_])")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_ABBREVIATION = re.compile(r"(?:^|[\s(])(?:e\.g|i\.e|cf|vs|viz)\.$", re.IGNORECASE)
_CHAPTER_FILE = re.compile(r"^\d\d-[a-z0-9-]+$")
_EVIDENCE_KINDS = ("prove:", "test:", "bench:", "property:")


@attrs.frozen
class Requirement:
    """One normative sentence and its id."""

    id: str
    level: str  # MUST | SHOULD | MAY
    chapter: str  # file stem, "05-clocks"
    cls: str  # conformance class, "Core"
    text: str  # the sentence without its id
    codes: tuple[str, ...]  # error codes the sentence names
    line: int  # 1-based line where the sentence starts


@attrs.frozen
class Sentence:
    """A sentence of normative text, as lint sees it."""

    path: str  # "spec/05-clocks.md"
    chapter: str
    line: int
    text: str
    level: str | None  # strongest keyword level, None without keywords
    ids: tuple[str, ...]  # well-formed bracketed ids
    malformed: tuple[str, ...]  # bracketed things that look like ids but are not
    id_at_end: bool  # the (single) id sits right before the final punctuation
    codes: tuple[str, ...]


@attrs.frozen
class ErrorEntry:
    """A row of the error-code registry (spec/00-introduction.md)."""

    code: str
    chapter: str
    meaning: str
    transient: bool


@attrs.frozen
class UntestableEntry:
    """A requirement no vector can check, and the evidence that covers it instead."""

    id: str
    evidence: str  # prove:<text> | test:<pytest node id> | bench:<command> | property:<check>
    why: str
    line: int


@attrs.frozen
class RetiredEntry:
    """An id that is no longer used and must never be reused."""

    id: str
    retired_in: str
    why: str
    line: int


@attrs.frozen
class Spec:
    """Everything parsed from spec/: chapters' sentences and requirements, and the registers."""

    root: Path
    chapters: tuple[str, ...]  # stems of spec/NN-*.md, sorted
    sentences: tuple[Sentence, ...]
    requirements: tuple[Requirement, ...]
    error_codes: tuple[ErrorEntry, ...]
    registry_line: int  # line of the registry heading in spec/00 (0 when absent)
    untestable: tuple[UntestableEntry, ...]
    retired: tuple[RetiredEntry, ...]
    parse_problems: tuple[str, ...]  # "spec/FILE:LINE: message" found while parsing

    def by_id(self) -> dict[str, Requirement]:
        """Requirements by id (the first one where an id is duplicated)."""
        out: dict[str, Requirement] = {}
        for req in self.requirements:
            out.setdefault(req.id, req)
        return out

    def catalogue(self) -> dict[str, Any]:
        """The requirement catalogue written to vectors/requirements.json."""
        reqs = sorted(self.by_id().values(), key=lambda r: (r.chapter, r.id))
        return {
            "format": "strata-requirements/1",
            "spec_version": SPEC_VERSION,
            "requirements": [
                {"id": r.id, "level": r.level, "chapter": r.chapter, "class": r.cls,
                 "text": r.text, "codes": list(r.codes)}
                for r in reqs
            ],
            "error_codes": [
                {"code": e.code, "chapter": e.chapter, "meaning": e.meaning,
                 "transient": e.transient}
                for e in self.error_codes
            ],
            "untestable": [
                {"id": u.id, "evidence": u.evidence, "why": u.why}
                for u in sorted(self.untestable, key=lambda u: u.id)
            ],
            "retired": [
                {"id": r.id, "retired_in": r.retired_in, "why": r.why}
                for r in sorted(self.retired, key=lambda r: r.id)
            ],
        }


# --- markdown: blocks and sentences -------------------------------------------------------


@attrs.frozen
class _Block:
    """A paragraph, list item, heading or table cell: its text and where each piece began."""

    text: str
    starts: tuple[tuple[int, int], ...]  # (offset in text, 1-based line)

    def line_at(self, offset: int) -> int:
        line = self.starts[0][1]
        for start, lineno in self.starts:
            if start > offset:
                break
            line = lineno
        return line


def _blank_comments(text: str) -> str:
    """Replace HTML comments by blanks, keeping their newlines so line numbers hold."""
    return re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)


def split_cells(row: str) -> list[str]:
    """The cells of a markdown table row (pipes inside code spans or escaped do not split)."""
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            current.append("|")
            i += 2
            continue
        if ch == "`":
            end = body.find("`", i + 1)
            if end != -1:
                current.append(body[i:end + 1])
                i = end + 1
                continue
        if ch == "|":
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    cells.append("".join(current).strip())
    return cells


def _is_separator(cells: list[str]) -> bool:
    return all(re.fullmatch(r":?-{1,}:?", c.replace(" ", "")) for c in cells if c) and any(cells)


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def iter_blocks(text: str) -> Iterator[_Block]:
    """The normative blocks of a markdown text, skipping fences, blockquotes and comments."""
    pieces: list[tuple[str, int]] = []

    def flush() -> Iterator[_Block]:
        if pieces:
            parts: list[str] = []
            starts: list[tuple[int, int]] = []
            offset = 0
            for piece, lineno in pieces:
                starts.append((offset, lineno))
                parts.append(piece)
                offset += len(piece) + 1
            pieces.clear()
            yield _Block(" ".join(parts), tuple(starts))

    fence: str | None = None
    for lineno, line in enumerate(_blank_comments(text).splitlines(), start=1):
        stripped = line.strip()
        marker = re.match(r"^(`{3,}|~{3,})", stripped)
        if fence is not None:
            if marker and stripped.startswith(fence) and not stripped[len(fence):].strip("`~"):
                fence = None
            continue
        if marker:
            yield from flush()
            fence = marker.group(1)
            continue
        if not stripped or stripped.startswith(">"):
            yield from flush()
            continue
        if stripped.startswith("#"):
            yield from flush()
            pieces.append((stripped.lstrip("#").strip(), lineno))
            yield from flush()
            continue
        if stripped.startswith("|"):
            yield from flush()
            cells = split_cells(stripped)
            if not _is_separator(cells):
                for cell in cells:
                    if cell:
                        yield _Block(cell, ((0, lineno),))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            yield from flush()
            pieces.append((line[item.end():].strip(), lineno))
            continue
        pieces.append((stripped, lineno))
    yield from flush()


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split a block into (offset, sentence) at `.`, `!` or `?` followed by blank or the end.

    Code spans and bracketed text never split; neither do `e.g.`, `i.e.`, `cf.`,
    `vs.` or decimals (a `.` followed by a digit is not followed by blank).
    """
    out: list[tuple[int, str]] = []
    n = len(text)
    start = 0
    i = 0
    while i < n:
        ch = text[i]
        if ch == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            end = text.find("`" * run, i + run)
            if end != -1:
                i = end + run
                continue
        elif ch == "[":
            end = text.find("]", i + 1)
            if end != -1 and end - i < 200:
                i = end + 1
                continue
        elif ch in ".!?":
            j = i + 1
            while j < n and text[j] in ".!?":
                j += 1
            k = j
            while k < n and text[k] in ")\"'*_”’":
                k += 1
            if (k == n or text[k].isspace()) and not (
                ch == "." and _ABBREVIATION.search(text[start:i + 1])
            ):
                out.append((start, text[start:k]))
                start = k
                i = k
                continue
        i += 1
    if text[start:].strip():
        out.append((start, text[start:]))
    return [(off + len(s) - len(s.lstrip()), s.strip()) for off, s in out if s.strip()]


def _analyse(path: str, chapter: str, line: int, sentence: str) -> Sentence:
    """Keywords, ids and error codes of one sentence."""
    without_code = _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), sentence)
    keywords = _KEYWORD.findall(_QUOTED_KEYWORD.sub(" ", without_code))
    level = max((LEVELS[k] for k in keywords), key=_STRENGTH.__getitem__, default=None)
    ids: list[str] = []
    malformed: list[str] = [m.group(0) for m in _ID_LIST.finditer(without_code)]
    for m in _ID_CANDIDATE.finditer(without_code):
        candidate = m.group(1)
        if ID_RE.match(candidate):
            ids.append(candidate)
        else:
            malformed.append(m.group(0))
    at_end = len(ids) == 1 and bool(
        re.search(r"\[" + ids[0] + r"\][.!?:;]?$", without_code.rstrip())
    )
    codes = tuple(dict.fromkeys(ERROR_CODE_RE.findall(sentence)))
    return Sentence(path, chapter, line, sentence, level, tuple(ids), tuple(malformed),
                    at_end, codes)


def requirement_text(sentence: str, req_id: str) -> str:
    """The sentence without its bracketed id, whitespace collapsed."""
    text = re.sub(r"\s*\[\s*" + re.escape(req_id) + r"\s*\]", "", sentence)
    return " ".join(text.split())


# --- tables: registry, untestable register, retired ids -------------------------------------


def _table_rows(lines: list[str], first: int) -> Iterator[tuple[int, list[str]]]:
    """Data rows (1-based line, cells) of the first table at or after index `first`."""
    i = first
    while i < len(lines) and not lines[i].strip().startswith("|"):
        if lines[i].lstrip().startswith("#") and i > first:
            return
        i += 1
    header = True
    while i < len(lines) and lines[i].strip().startswith("|"):
        cells = split_cells(lines[i])
        if header:
            header = False
        elif not _is_separator(cells):
            yield i + 1, cells
        i += 1


def _unbacktick(cell: str) -> str:
    return cell.strip().strip("`").strip()


def _parse_registry(rel: str, text: str, problems: list[str]) -> tuple[list[ErrorEntry], int]:
    lines = _blank_comments(text).splitlines()
    heading = next((i for i, line in enumerate(lines)
                    if line.lstrip().startswith("#") and "error-code registry" in line.lower()),
                   None)
    if heading is None:
        problems.append(f"{rel}:1: no heading containing 'Error-code registry'")
        return [], 0
    entries: list[ErrorEntry] = []
    for lineno, cells in _table_rows(lines, heading + 1):
        code = _unbacktick(cells[0]) if cells else ""
        if len(cells) != 4 or not ERROR_CODE_RE.fullmatch(code):
            problems.append(f"{rel}:{lineno}: registry row is not "
                            "| `E_CODE` | chapter | meaning | transient |")
            continue
        transient = cells[3].strip().lower()
        if transient not in ("yes", "no"):
            problems.append(f"{rel}:{lineno}: {code}: transient must be yes or no, "
                            f"not {cells[3]!r}")
        entries.append(ErrorEntry(code, cells[1].strip(), cells[2].strip(), transient == "yes"))
    if not entries:
        problems.append(f"{rel}:{heading + 1}: the error-code registry has no rows")
    return entries, heading + 1


def _parse_register(root: Path, name: str, problems: list[str]) -> list[tuple[int, list[str]]]:
    path = root / "spec" / name
    if not path.exists():
        return []
    rows: list[tuple[int, list[str]]] = []
    for lineno, cells in _table_rows(_blank_comments(path.read_text("utf-8")).splitlines(), 0):
        if len(cells) != 3 or not ID_RE.match(_unbacktick(cells[0])):
            problems.append(f"spec/{name}:{lineno}: row is not | id | ... | ... | with a "
                            "well-formed id")
            continue
        rows.append((lineno, [_unbacktick(cells[0]), cells[1].strip(), cells[2].strip()]))
    return rows


# --- loading ------------------------------------------------------------------------------


def default_root() -> Path:
    """The repository root: the parent of the `tools` package directory."""
    return Path(__file__).resolve().parent.parent


def load_spec(root: Path | None = None) -> Spec:
    """Parse every spec/NN-*.md chapter and the registers under `root` (default: the repo)."""
    root = default_root() if root is None else root
    problems: list[str] = []
    sentences: list[Sentence] = []
    requirements: list[Requirement] = []
    chapters = sorted(p.stem for p in (root / "spec").glob("[0-9][0-9]-*.md"))
    registry: list[ErrorEntry] = []
    registry_line = 0
    for stem in chapters:
        rel = f"spec/{stem}.md"
        text = (root / rel).read_text("utf-8")
        _, cls = CHAPTERS.get(stem, ("", ""))
        for block in iter_blocks(text):
            for offset, raw in split_sentences(block.text):
                sentence = _analyse(rel, stem, block.line_at(offset), raw)
                sentences.append(sentence)
                if sentence.level is None:
                    continue
                for req_id in sentence.ids:
                    requirements.append(Requirement(
                        req_id, sentence.level, stem, cls,
                        requirement_text(sentence.text, req_id), sentence.codes, sentence.line))
        if stem == "00-introduction":
            registry, registry_line = _parse_registry(rel, text, problems)
    untestable = [UntestableEntry(c[0], c[1], c[2], n)
                  for n, c in _parse_register(root, "untestable.md", problems)]
    retired = [RetiredEntry(c[0], c[1], c[2], n)
               for n, c in _parse_register(root, "retired.md", problems)]
    return Spec(root, tuple(chapters), tuple(sentences), tuple(requirements), tuple(registry),
                registry_line, tuple(untestable), tuple(retired), tuple(problems))


# --- lint ---------------------------------------------------------------------------------


def _lint_header(root: Path, stem: str) -> list[tuple[str, int, str]]:
    """The first two lines: `# NN. Title` and `Requirement code: X. Conformance class: Y.`."""
    rel = f"spec/{stem}.md"
    if stem not in CHAPTERS:
        return [(rel, 1, "chapter file not in the chapter table (tools/spec.py CHAPTERS)")]
    code, cls = CHAPTERS[stem]
    lines = [ln.strip() for ln in (root / rel).read_text("utf-8").splitlines()]
    problems = []
    if not lines or not re.fullmatch(rf"# {stem[:2]}\. \S.*", lines[0]):
        problems.append((rel, 1, f"the file must start with '# {stem[:2]}. Title'"))
    expected = f"Requirement code: {code}. Conformance class: {cls}."
    following = [(n, ln) for n, ln in enumerate(lines[1:], start=2) if ln][:1]
    if not following or following[0][1] != expected:
        where = following[0][0] if following else 2
        problems.append((rel, where, f"the line after the title must read '{expected}'"))
    return problems


def lint(spec: Spec, enum_codes: Collection[str] | None = None) -> list[str]:
    """Every breach of the spec conventions, as "spec/FILE:LINE: message" lines.

    `enum_codes` is the code's registry (default: `reference.introduction.ErrorCode`).
    """
    enum = {str(c) for c in ErrorCode} if enum_codes is None else set(enum_codes)
    problems: list[tuple[str, int, str]] = []

    def add(path: str, line: int, message: str) -> None:
        problems.append((path, line, message))

    for stem in spec.chapters:
        problems.extend(_lint_header(spec.root, stem))
    for problem in spec.parse_problems:
        path, line, message = problem.split(":", 2)
        add(path, int(line), message.strip())

    registered = {e.code for e in spec.error_codes} if spec.error_codes else enum
    retired = {r.id for r in spec.retired}
    seen: dict[str, Sentence] = {}
    for s in spec.sentences:
        where = (s.path, s.line)
        code = CHAPTERS.get(s.chapter, ("", ""))[0]
        for bad in s.malformed:
            add(*where, f"malformed id {bad} (ids are [CODE-NNN], one per bracket)")
        if s.level in ("MUST", "SHOULD") and not s.ids:
            add(*where, f"{s.level} sentence without an id: {_brief(s.text)}")
        if s.level is None and s.ids:
            add(*where, f"id {', '.join(s.ids)} on a sentence without a keyword: "
                        f"{_brief(s.text)}")
        if len(s.ids) > 1:
            add(*where, f"more than one id in a sentence: {', '.join(s.ids)}")
        elif s.ids and not s.id_at_end:
            add(*where, f"id {s.ids[0]} is not at the end of its sentence "
                        f"(right before the final period): {_brief(s.text)}")
        for req_id in s.ids:
            if code and not req_id.startswith(code + "-"):
                add(*where, f"id {req_id} does not use the chapter's code {code}")
            if req_id in retired:
                add(*where, f"id {req_id} is listed in spec/retired.md but still used")
            if req_id in seen:
                first = seen[req_id]
                add(*where, f"duplicate id {req_id} (first at {first.path}:{first.line})")
            else:
                seen[req_id] = s
        for err in s.codes:
            if err not in registered:
                add(*where, f"error code {err} is not in the error-code registry")

    if spec.error_codes:
        intro = "spec/00-introduction.md"
        in_spec = {e.code for e in spec.error_codes}
        for err in sorted(in_spec - enum):
            add(intro, spec.registry_line,
                f"{err} is in the registry but not in reference.introduction.ErrorCode")
        for err in sorted(enum - in_spec):
            add(intro, spec.registry_line,
                f"{err} is in reference.introduction.ErrorCode but not in the registry")
        counts: dict[str, int] = {}
        for e in spec.error_codes:
            counts[e.code] = counts.get(e.code, 0) + 1
        for err in sorted(c for c, n in counts.items() if n > 1):
            add(intro, spec.registry_line, f"{err} appears more than once in the registry")

    reqs = spec.by_id()
    for u in spec.untestable:
        where = ("spec/untestable.md", u.line)
        if u.id not in reqs:
            add(*where, f"{u.id} is not a requirement of the spec")
        elif reqs[u.id].level not in ("MUST", "SHOULD"):
            add(*where, f"{u.id} is a {reqs[u.id].level}; only MUST and SHOULD belong here")
        if not u.evidence.startswith(_EVIDENCE_KINDS) or ":" not in u.evidence or \
                not u.evidence.split(":", 1)[1].strip():
            add(*where, f"{u.id}: evidence must be prove:, test:, bench: or property: "
                        f"followed by what, not {u.evidence!r}")
    return [f"{path}:{line}: {message}" for path, line, message in sorted(set(problems))]


def _brief(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def main_lint(root: Path | None = None) -> int:
    """Print every lint problem of the spec under `root`; 1 if any, else 0."""
    spec = load_spec(root)
    problems = lint(spec)
    for problem in problems:
        print(problem)
    count = len(spec.by_id())
    print(f"spec lint: {len(spec.chapters)} chapters, {count} requirement ids, "
          f"{len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main_lint())
