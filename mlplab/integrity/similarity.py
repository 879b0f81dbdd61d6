"""``mlplab similarity``: how much of each pair of students' answer code is the same code.

Everything runs locally; no student code leaves the machine and nothing is executed.

For every task (the nbgrader ``grade_id`` of a solution cell, reported as the task id it is graded
under, e.g. ``affine_backward_solution`` -> ``affine_backward``) and every student:

1. the answer cell, without docstrings (the template's are given to everyone, a student's own are
   prose), is tokenised with Pygments and filtered by copydetect (``filter_code``): names become
   ``V``/``F``/``O``, strings ``S``, comments and whitespace disappear, so renamed variables, rewritten
   comments and blank lines do not hide a copy;
2. its k-grams of filtered tokens (k = 25, copydetect's default noise threshold) are hashed and
   winnowed (copydetect's ``hashed_kgrams`` and ``winnow``): the answer's *fingerprints*;
3. fingerprints that also occur in the released notebooks or the provided helper code
   (``release/ASSIGNMENT``: templates, docstrings, starter code, ``labutils``) are boilerplate and
   dropped, and so are fingerprints shared by so many students that they are the class's common
   idiom rather than evidence (more than ``max(common_min, common_fraction * students)``).

Pairs are not compared one by one: an inverted index (fingerprint -> students) yields, per task, only
the pairs that share at least one fingerprint, with the fingerprints they share. For each such pair
the matched share of a task is copydetect's measure: the filtered tokens covered by shared k-grams,
over the tokens covered by the answer's remaining fingerprints, both answers together.

**Aggregation.** A pair's score is the share of *all* their distinctive answer code (over the tasks
both answered) that matches, i.e. ``sum_t matched_t / max(sum_t covered_t, 2 * min_tokens)``. Large
answers weigh more than one-liners, so a coincidence in a short answer cannot dominate, and a pair
with less than ``min_tokens`` tokens of distinctive code each cannot reach 1. A single copied task
shows both in the pair score (its share of the code) and as a task score near 1 in ``tasks``.
"""

from __future__ import annotations

import ast
import math
import os
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
from copydetect.utils import filter_code, hashed_kgrams, winnow

from mlplab.notebooks import NotebookError, read_cells, strip_ipython

SOLUTION_SUFFIX = "_solution"
MAX_ANSWER_CHARS = 50_000  # an answer cell longer than this is not a hand-written answer: reported, skipped


@dataclass(frozen=True)
class Settings:
    """Detection parameters.

    k: length of a fingerprinted k-gram, in filtered tokens (characters of copydetect's filtered code).
    window: winnowing window (1 keeps every k-gram; copydetect's default when noise = guarantee).
    common_min / common_fraction: a fingerprint shared by more than
        ``max(common_min, ceil(common_fraction * students who answered the task))`` students is ignored.
    min_tokens: tokens of distinctive code below which a pair's score is scaled down.
    """

    k: int = 25
    window: int = 1
    common_min: int = 10
    common_fraction: float = 0.1
    min_tokens: int = 60


@dataclass
class Answer:
    """One student's answer to one task, fingerprinted.

    ``positions`` maps each kept fingerprint (int hash) to its start offsets in ``filtered``;
    ``offsets`` is copydetect's (N, 2) int array mapping filtered offsets back to ``code``.
    """

    student: str
    task: str
    code: str
    filtered: str
    offsets: np.ndarray
    positions: dict[int, list[int]]
    coverage: int = 0
    # start offsets of the k-grams left out as given (template, provided code) or common to the class
    excluded: list[int] = field(default_factory=list)


@dataclass
class Pair:
    """Two students; per task ``(matched tokens, covered tokens)`` of both answers together."""

    students: tuple[str, str]
    parts: dict[str, tuple[int, int]] = field(default_factory=dict)
    shared: dict[str, set[int]] = field(default_factory=dict)
    score: float = 0.0
    _scores: dict[str, float] | None = None

    def task_scores(self) -> dict[str, float]:
        """Matched share per task, 0..1 (computed once ``parts`` is complete)."""
        if self._scores is None:
            self._scores = {task: (m / c if c else 0.0) for task, (m, c) in self.parts.items()}
        return self._scores

    def to_json(self) -> dict:
        return {
            "students": list(self.students),
            "score": round(self.score, 4),
            "tasks": {task: round(value, 4) for task, value in self.task_scores().items()},
        }


@dataclass
class Result:
    """The comparison of a class: ranked pairs, per-task statistics, notebooks that were skipped."""

    assignment: str
    students: list[str]
    tasks: list[str]
    answers: dict[str, dict[str, Answer]]  # task -> student -> answer
    pairs: list[Pair]
    pairs_compared: int
    skipped: list[str]
    settings: Settings
    common_limit: dict[str, int]


# -- reading answers -------------------------------------------------------------------------------


def task_id(grade_id: str, known: Iterable[str] = ()) -> str:
    """The task id a solution cell is graded under (``X_solution`` -> ``X`` when ``X`` is a task)."""
    base = grade_id.removesuffix(SOLUTION_SUFFIX)
    known = set(known)
    return base if (not known or base in known) else grade_id


def released_solution_cells(release: Path) -> dict[str, list[str]]:
    """notebook stem -> grade ids of its code solution cells, from the released notebooks."""
    out: dict[str, list[str]] = {}
    for nb in sorted(release.glob("*.ipynb")):
        ids = [c.grade_id for c in read_cells(nb) if c.solution and c.cell_type == "code" and c.grade_id]
        if ids:
            out[nb.stem] = ids
    return out


def boilerplate_sources(release: Path) -> list[str]:
    """Everything students were given: every code cell of the released notebooks, and the provided .py files."""
    sources = []
    for nb in sorted(release.glob("*.ipynb")):
        sources += [strip_ipython(c.source) for c in read_cells(nb) if c.cell_type == "code"]
    sources += [p.read_text(errors="replace") for p in sorted(release.rglob("*.py"))]
    # answers are compared without docstrings: the template must be subtracted in both forms
    return sources + [drop_docstrings(source) for source in sources]


def read_answers(
    submission: Path, cells: dict[str, list[str]], known_tasks: Iterable[str] = ()
) -> tuple[dict[str, str], list[str]]:
    """task -> answer code of one submission folder, and one message per notebook that could not be read.

    Missing notebooks or cells are simply absent (nothing to compare); the folder is only read.
    """
    answers: dict[str, str] = {}
    problems: list[str] = []
    for stem, grade_ids in cells.items():
        path = submission / f"{stem}.ipynb"
        if not path.exists():
            continue
        try:
            found = read_cells(path)
        except (NotebookError, OSError) as exc:
            problems.append(f"{submission.parent.name}: {exc}; skipped")
            continue
        wanted = set(grade_ids)
        for cell in found:
            if cell.cell_type == "code" and cell.grade_id in wanted:
                tid = task_id(cell.grade_id, known_tasks)
                if len(cell.source) > MAX_ANSWER_CHARS:
                    problems.append(
                        f"{submission.parent.name}: {stem}.ipynb: the answer to {tid} is longer than "
                        f"{MAX_ANSWER_CHARS:,} characters; that answer is skipped"
                    )
                    continue
                code = drop_docstrings(strip_ipython(cell.source))
                answers[tid] = (answers.get(tid, "") + "\n" + code).strip("\n")
    return answers, problems


def drop_docstrings(code: str) -> str:
    """``code`` without the docstrings of its module, functions and classes (the template's docstrings are
    given to everyone; a student's own is prose, not code). Unparsable code is returned unchanged."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # hostile nesting included
        return code
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                spans.append((first.lineno, first.end_lineno or first.lineno))
    if not spans:
        return code
    drop = {line for start, end in spans for line in range(start, end + 1)}
    return "".join(line for i, line in enumerate(code.splitlines(keepends=True), 1) if i not in drop)


# -- fingerprints ----------------------------------------------------------------------------------


def lex(code: str) -> tuple[str, np.ndarray]:
    """copydetect's filtered code of ``code`` (Pygments tokens) and its (N, 2) offsets array."""
    return filter_code(code, "answer.py", "python")


def fingerprint(
    code: str, settings: Settings, lexed: tuple[str, np.ndarray] | None = None
) -> tuple[str, np.ndarray, dict[int, list[int]]]:
    """copydetect's filtered code of ``code``, its offsets array, and fingerprint -> start offsets.

    ``lexed``: the result of ``lex(code)`` when already computed (in a worker process)."""
    filtered, offsets = lexed if lexed is not None else lex(code)
    if len(filtered) < settings.k:
        return filtered, offsets, {}
    hashes = hashed_kgrams(filtered, settings.k)
    kept, idx = winnow(hashes, settings.window, remove_duplicates=False)
    positions: dict[int, list[int]] = defaultdict(list)
    for h, i in zip(kept.tolist(), idx.tolist(), strict=True):
        positions[h].append(i)
    return filtered, offsets, dict(positions)


def covered(starts: Iterable[int], k: int) -> int:
    """Number of offsets covered by the k-grams starting at ``starts`` (the union of [s, s+k))."""
    total, end = 0, -1
    for s in sorted(starts):
        if s + k > end:
            total += s + k - max(s, end)
            end = s + k
    return total


def boilerplate_hashes(sources: Iterable[str], settings: Settings) -> set[int]:
    """Fingerprints of the released code (templates, docstrings, provided helpers)."""
    out: set[int] = set()
    for source in sources:
        out.update(fingerprint(source, settings)[2])
    return out


# -- comparison ------------------------------------------------------------------------------------


def common_limit(answered: int, settings: Settings) -> int:
    """A fingerprint shared by more students than this is a common idiom, not evidence."""
    return max(settings.common_min, math.ceil(settings.common_fraction * answered))


def compare(
    codes: dict[str, dict[str, str]],
    boilerplate: set[int],
    settings: Settings | None = None,
    progress: bool = False,
    lexed: dict[tuple[str, str], tuple[str, np.ndarray]] | None = None,
) -> tuple[dict[str, dict[str, Answer]], list[Pair], int, dict[str, int]]:
    """Compare every pair of students per task.

    ``codes``: task -> student -> answer code. Returns the fingerprinted answers (task -> student ->
    Answer, only answers with distinctive code), the pairs sharing any evidence (unsorted, scored),
    the number of pairs compared and the common-fingerprint limit used per task. ``lexed``: (task,
    student) -> ``lex(code)`` computed beforehand.
    """
    lexed = lexed or {}
    settings = settings or Settings()
    answers: dict[str, dict[str, Answer]] = {}
    pairs: dict[tuple[str, str], Pair] = {}
    limits: dict[str, int] = {}
    coverage: dict[str, dict[str, int]] = {}
    tasks = list(codes)
    bar = _progress(total=sum(len(v) for v in codes.values()), desc="fingerprinting", enabled=progress)
    for task in tasks:
        per_student: dict[str, Answer] = {}
        for student, code in codes[task].items():
            filtered, offsets, positions = fingerprint(code, settings, lexed.get((task, student)))
            given = [p for h, ps in positions.items() if h in boilerplate for p in ps]
            positions = {h: p for h, p in positions.items() if h not in boilerplate}
            per_student[student] = Answer(student, task, code, filtered, offsets, positions, excluded=given)
            bar.update(1)
        # the inverted index: fingerprint -> students holding it
        holders: dict[int, list[str]] = defaultdict(list)  # students in sorted order
        for student in sorted(per_student):
            for h in per_student[student].positions:
                holders[h].append(student)
        limit = common_limit(len(per_student), settings)
        limits[task] = limit
        for h, students in holders.items():
            if len(students) > limit:
                for student in students:
                    per_student[student].excluded += per_student[student].positions.pop(h)
        kept = {}
        for student, answer in per_student.items():
            answer.coverage = covered((p for ps in answer.positions.values() for p in ps), settings.k)
            if answer.coverage:
                kept[student] = answer
        answers[task] = kept
        coverage[task] = {s: a.coverage for s, a in kept.items()}
        for h, students in holders.items():
            if 2 <= len(students) <= limit:
                for a, b in combinations(students, 2):
                    pair = pairs.get((a, b))
                    if pair is None:
                        pair = pairs[(a, b)] = Pair((a, b))
                    pair.shared.setdefault(task, set()).add(h)
    bar.close()
    students = sorted({s for per in answers.values() for s in per})
    for pair in pairs.values():
        a, b = pair.students
        for task, shared in pair.shared.items():
            ans_a, ans_b = answers[task][a], answers[task][b]
            matched = covered((p for h in shared for p in ans_a.positions[h]), settings.k) + covered(
                (p for h in shared for p in ans_b.positions[h]), settings.k
            )
            pair.parts[task] = (matched, ans_a.coverage + ans_b.coverage)
    for pair in pairs.values():
        a, b = pair.students
        # the denominator counts every task both answered, not only those with matches
        total = sum(coverage[t][a] + coverage[t][b] for t in tasks if a in coverage[t] and b in coverage[t])
        for t in tasks:
            if t not in pair.parts and a in coverage[t] and b in coverage[t]:
                pair.parts[t] = (0, coverage[t][a] + coverage[t][b])
        pair.parts = {t: pair.parts[t] for t in tasks if t in pair.parts}
        matched = sum(m for m, _ in pair.parts.values())
        pair.score = min(1.0, matched / max(total, 2 * settings.min_tokens)) if total else 0.0
    n = len(students)
    return answers, list(pairs.values()), n * (n - 1) // 2, limits


def _progress(total: int, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, disable=not enabled, leave=False)


def zero_pairs(answers: dict[str, dict[str, Answer]], found: set[tuple[str, str]]) -> list[Pair]:
    """Pairs that share no evidence at all (score 0), with their per-task zeros (for threshold 0)."""
    students = sorted({s for per in answers.values() for s in per})
    out = []
    for a, b in combinations(students, 2):
        if (a, b) in found:
            continue
        pair = Pair((a, b))
        for task, per in answers.items():
            if a in per and b in per:
                pair.parts[task] = (0, per[a].coverage + per[b].coverage)
        out.append(pair)
    return out


def rank(pairs: list[Pair]) -> list[Pair]:
    """Highest score first; ties by the strongest single task, then by names (stable output)."""

    def key(p: Pair):
        best = max(p.task_scores().values(), default=0.0)
        return (-p.score, -best, p.students)

    return sorted(pairs, key=key)


# -- slices for the report -------------------------------------------------------------------------


def matched_slices(answer: Answer, shared: set[int], k: int) -> list[tuple[int, int]]:
    """(start, end) character ranges of ``answer.code`` covered by the shared fingerprints."""
    return char_slices(answer, [p for h in shared if h in answer.positions for p in answer.positions[h]], k)


def excluded_slices(answer: Answer, k: int) -> list[tuple[int, int]]:
    """(start, end) character ranges of ``answer.code`` that were given or common, so never counted."""
    return char_slices(answer, answer.excluded, k)


def char_slices(answer: Answer, starts: list[int], k: int) -> list[tuple[int, int]]:
    """Character ranges of ``answer.code`` covered by the k-grams starting at ``starts`` (filtered offsets)."""
    starts = sorted(starts)
    merged: list[list[int]] = []
    for s in starts:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], s + k)
        else:
            merged.append([s, s + k])
    if not merged:
        return []
    arr = np.array(merged, dtype=np.int64).T  # (2, n) filtered offsets
    if len(answer.offsets) > 0:
        off = answer.offsets
        where = np.clip(np.searchsorted(off[:, 0], arr), 0, off.shape[0] - 1)
        arr = arr + off[:, 1][where]
    return [(int(s), int(min(e, len(answer.code)))) for s, e in arr.T.tolist()]


# -- the whole class -------------------------------------------------------------------------------


def submissions(submitted: Path, assignment: str) -> list[Path]:
    """The submission folders ``submitted/STUDENT/ASSIGNMENT`` (nbgrader's layout), by student id."""
    if not submitted.is_dir():
        return []
    return sorted(p / assignment for p in submitted.iterdir() if (p / assignment).is_dir())


PARALLEL_FROM = 40  # submissions; below this a process pool costs more than it saves


def _prepare(job: tuple[Path, dict[str, list[str]], tuple[str, ...]]) -> tuple[str, dict, list[str]]:
    """One submission folder: student id, task -> (code, filtered code, offsets), problems."""
    folder, cells, known = job
    found, problems = read_answers(folder, cells, known)
    return folder.parent.name, {tid: (code, *lex(code)) for tid, code in found.items()}, problems


def analyse(
    submitted: Path,
    release: Path,
    assignment: str,
    known_tasks: Iterable[str] = (),
    settings: Settings | None = None,
    threshold: float | None = None,
    progress: bool = False,
) -> Result:
    """Read every submission of ``assignment`` under ``submitted``, compare, rank.

    Pairs below ``threshold`` are left out; without one, every pair with any matching code is listed;
    with ``threshold`` 0 every pair of students with distinctive code in a common task is listed.
    """
    settings = settings or Settings()
    known_tasks = list(known_tasks)
    if not release.is_dir():
        raise FileNotFoundError(f"no released assignment at {release} (run `mlplab generate`)")
    cells = released_solution_cells(release)
    codes: dict[str, dict[str, str]] = {task_id(g, known_tasks): {} for ids in cells.values() for g in ids}
    skipped: list[str] = []
    folders = submissions(submitted, assignment)
    lexed: dict[tuple[str, str], tuple[str, np.ndarray]] = {}
    jobs = [(folder, cells, tuple(known_tasks)) for folder in folders]
    workers = min(os.cpu_count() or 1, 8)
    bar = _progress(total=len(jobs), desc="reading and tokenising", enabled=progress)
    if workers > 1 and len(jobs) >= PARALLEL_FROM:
        # Pygments tokenising is the expensive part: one process per core (hashing stays in this process)
        with ProcessPoolExecutor(workers) as pool:
            prepared = pool.map(_prepare, jobs, chunksize=max(1, len(jobs) // (4 * workers)))
            done = [(bar.update(1), item)[1] for item in prepared]
    else:
        done = [(bar.update(1), _prepare(job))[1] for job in jobs]
    bar.close()
    for student, found, problems in done:
        skipped += problems
        for tid, (code, filtered, offsets) in found.items():
            codes.setdefault(tid, {})[student] = code
            lexed[(tid, student)] = (filtered, offsets)
    boilerplate = boilerplate_hashes(boilerplate_sources(release), settings)
    answers, pairs, compared, limits = compare(codes, boilerplate, settings, progress, lexed)
    if threshold is None:
        pairs = [p for p in pairs if p.score > 0]
    else:
        if threshold <= 0:
            pairs = pairs + zero_pairs(answers, {p.students for p in pairs})
        pairs = [p for p in pairs if p.score >= threshold and p.parts]
    pairs = rank(pairs)
    return Result(
        assignment=assignment,
        students=[f.parent.name for f in folders],
        tasks=list(codes),
        answers=answers,
        pairs=pairs,
        pairs_compared=compared,
        skipped=skipped,
        settings=settings,
        common_limit=limits,
    )
