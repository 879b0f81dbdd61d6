"""``mlplab validate-graders``: measure that the hidden graders tell right from wrong.

Three experiments, all graded in-process (the reference, the mutants and the
variants are the course's own trusted code, so no sandbox is needed) with the
same pytest plugin as ``mlplab grade``:

* **Seeds**: the reference must get full marks for every grader seed
  (``GradingPlugin(seed=...)``, default 50 seeds). Every check that records a
  measurement (``grader_tests.checks.record``) reports its margin: how far the
  reference stays below the tolerance (worst over all seeds) and how far the
  nearest bug of the catalogue lands above it.
* **Bugs** (``grader_tests/mutants/*.py``): each must lose points in its own
  task and in no other task; every failure message of its task is prefixed by
  the task id and says more than that.
* **Correct variants** (``grader_tests/variants/*.py``): full marks.

A bug or variant edits one solution cell, so only its notebook is graded, and
within it only the tasks whose graders can reach the edited cell: the names a
task's graders touch on the reference (traced at seed 0), closed over the names
the notebook's code refers to, minus the names the task takes from the
reference (``REFERENCE_PARTS``). The other tasks run exactly the reference code
and are reported as "not reached".

The catalogue ``docs/grader-catalogue.md`` is rendered from the results
(deterministic: no timings; margins in whole decades) and carries a fingerprint
of every input, so a test can tell a stale catalogue without 50 seeds.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import math
import multiprocessing
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlplab.coursedir import Task, course_root, source_dir, source_notebooks, tasks, use_graders
from mlplab.notebooks import CodeUnit, defined_names, grading_code, read_cells, strip_ipython
from mlplab.validity.mutants import Change, apply_to_source, load_all, solution_sources

DEFAULT_SEEDS = 50
CATALOGUE = Path("docs") / "grader-catalogue.md"
MARGIN_CAP = 6  # margins are shown in whole decades, capped at 1e6 (beyond that they are noise-free anyway)
FINGERPRINT_RE = re.compile(r"<!-- inputs sha256: ([0-9a-f]{64}) -->")
SEED_SECTION = "## Seed stability and margins"


# -- jobs (run in worker processes) ------------------------------------------------


@dataclass(frozen=True)
class Job:
    """Grade one notebook of the reference, with at most one cell replaced."""

    kind: str  # "seed", "mutant" or "variant"
    name: str  # the change's name, or "seed-<n>"
    stem: str  # notebook stem
    seed: int
    wanted: tuple[str, ...]  # task ids to grade
    edits: tuple[tuple[str, str], ...] = ()  # (cell grade_id, replacement source)
    trace: bool = False  # record which student names each task's graders touch
    cost: float = 1.0  # for scheduling (bigger first)


@dataclass
class JobResult:
    job: Job
    tasks: dict[str, dict]
    outcomes: dict[str, tuple[str, bool, str | None]]
    measurements: dict[str, list[tuple[str, float, float]]]
    durations: dict[str, float]
    accessed: dict[str, list[str]] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0


def _tracing_student(inner: Any, plugin: Any, sink: dict[str, set[str]]) -> Any:
    from mlplab.sandbox.student import Student

    class TracingStudent(Student):
        def _op(self, op: str, **args: Any) -> Any:
            target = args.get("name") if op == "has" else args.get("target")
            if isinstance(target, str) and plugin.current_task:
                sink.setdefault(plugin.current_task, set()).add(target)
            return inner._op(op, **args)

        def load_errors(self) -> list[str]:
            return inner.load_errors()

    return TracingStudent()


def _plugin_class():
    import pytest

    from mlplab.grading.runner import GradingPlugin

    class ValidationPlugin(GradingPlugin):
        """GradingPlugin that also knows the running task and each test's duration."""

        current_task: str | None = None

        def pytest_runtest_setup(self, item: pytest.Item) -> None:
            marker = item.get_closest_marker("task")
            self.current_task = str(marker.args[0]) if marker and marker.args else None

        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.when == "call":
                self.durations[report.nodeid] = report.duration

    return ValidationPlugin


def _worker_init() -> None:
    root = course_root()
    use_graders(root)
    if str(source_dir(root)) not in sys.path:
        sys.path.insert(0, str(source_dir(root)))
    os.environ.setdefault("MLPLAB_QUICK", "1")
    warnings.simplefilter("ignore")


def run_job(job: Job) -> JobResult:
    """Grade ``job`` in this process (trusted code only)."""
    import numpy as np

    from mlplab.grading.reference import units_defining
    from mlplab.grading.runner import run_graders
    from mlplab.sandbox.student import LocalStudent, StudentError

    _worker_init()
    started = time.monotonic()
    root = course_root()
    table = tasks(root)
    notebook = source_dir(root) / f"{job.stem}.ipynb"
    cells = read_cells(notebook)
    edits = dict(job.edits)
    if edits:
        cells = [dataclasses.replace(c, source=edits[c.grade_id]) if c.grade_id in edits else c for c in cells]
    units = grading_code(cells)
    accessed: dict[str, set[str]] = {}
    load_errors: list[str] = []
    plugin = _plugin_class()(None, table, set(job.wanted), seed=job.seed)  # type: ignore[arg-type]
    plugin.durations = {}
    plugin.record_measurements = True

    def factory(stem: str, reference_names: tuple[str, ...]):
        extra = units_defining(reference_names, root) if reference_names else []
        student = LocalStudent(units + extra)
        for error in student.session.load_errors:
            if error not in load_errors:
                load_errors.append(error)
        return _tracing_student(student, plugin, accessed) if job.trace else student

    plugin.student_factory = factory
    # the same global random state for every job, whatever ran before in this worker
    np.random.seed(0)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(0)
    error = None
    try:
        run_graders(plugin, root)
    except (RuntimeError, StudentError) as exc:
        error = str(exc)[:2000]
    finally:
        plugin.close()
    return JobResult(
        job=job,
        tasks={t: r.as_dict() for t, r in plugin.results.items()},
        outcomes=dict(plugin.outcomes),
        measurements=dict(plugin.measurements),
        durations=dict(plugin.durations),
        accessed={t: sorted(v) for t, v in accessed.items()},
        load_errors=load_errors,
        error=error,
        seconds=time.monotonic() - started,
    )


def _run_all(jobs: list[Job], processes: int, progress: Any = None) -> list[JobResult]:
    if not jobs:
        return []
    order = sorted(jobs, key=lambda j: -j.cost)
    results: list[JobResult] = []
    if processes <= 1:
        for job in order:
            results.append(run_job(job))
            if progress:
                progress(results[-1])
        return results
    # single-threaded BLAS in the workers: deterministic sums and no oversubscription
    env = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(processes, initializer=_worker_init, maxtasksperchild=None) as pool:
            for result in pool.imap_unordered(run_job, order, chunksize=1):
                results.append(result)
                if progress:
                    progress(result)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return results


# -- which tasks can reach a cell --------------------------------------------------


def _referenced_names(source: str) -> set[str]:
    try:
        tree = ast.parse(strip_ipython(source))
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _name_graph(units: list[CodeUnit]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for unit in units:
        refs = _referenced_names(unit.source)
        for name in defined_names(unit.source):
            graph.setdefault(name, set()).update(refs)
    return graph


def _closure(start: set[str], graph: dict[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for ref in graph.get(todo.pop(), ()):
            if ref not in seen:
                seen.add(ref)
                todo.append(ref)
    return seen


def reached_tasks(
    change_names: set[str],
    own_task: str,
    stem_tasks: list[str],
    accessed: dict[str, list[str]],
    graph: dict[str, set[str]],
    reference_parts: dict[str, tuple[str, ...]],
) -> list[str]:
    """The tasks of the notebook whose graders can reach a cell defining ``change_names``."""
    reached = []
    for task in stem_tasks:
        own_names = change_names - set(reference_parts.get(task, ()))
        if task == own_task or own_names & _closure(set(accessed.get(task, ())), graph):
            reached.append(task)
    return reached


# -- the whole validation ------------------------------------------------------------


@dataclass
class Plan:
    root: Path
    table: dict[str, Task]
    mutants: list[Change]
    variants: list[Change]
    cell_notebook: dict[str, str]  # cell grade_id -> notebook stem
    references: dict[str, dict[str, str]]  # stem -> cell -> reference source (markers stripped)


def make_plan(root: Path | None = None) -> Plan:
    root = (root or course_root()).resolve()
    references = {nb.stem: solution_sources(nb) for nb in source_notebooks(root)}
    cell_notebook = {cell: stem for stem, cells in references.items() for cell in cells}
    return Plan(root, tasks(root), load_all("mutants", root), load_all("variants", root), cell_notebook, references)


def fingerprint(root: Path | None = None) -> str:
    """sha256 of everything the catalogue depends on (graders, catalogue files, reference code, runner)."""
    root = (root or course_root()).resolve()
    digest = hashlib.sha256()
    files = sorted((root / "grader_tests").rglob("*.py")) + sorted((root / "source" / "mlp" / "labutils").rglob("*.py"))
    files += [root / "grader_tests" / "pytest.ini"]
    files += [
        root / "mlplab" / f"{m}.py"
        for m in (
            "notebooks",
            "coursedir",
            "sandbox/inside/session",
            "sandbox/student",
            "sandbox/values",
            "grading/runner",
            "grading/reference",
            "validity/requirements",
            "validity/validate",
            "validity/mutants",
            "validity/mutation",
        )
    ]
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for nb in source_notebooks(root):
        cells = read_cells(nb)
        digest.update(nb.name.encode() + b"\0")
        for cell in cells:
            if cell.grade_id and cell.grade:
                digest.update(f"{cell.grade_id}:{cell.points}:{cell.is_test}\0".encode())
        for unit in grading_code(cells):
            digest.update(unit.label.encode() + b"\0" + unit.source.encode() + b"\0")
    return digest.hexdigest()


def _change_source(change: Change, plan: Plan) -> tuple[str | None, str | None]:
    """(new cell source, error) for a change."""
    stem = plan.cell_notebook.get(change.cell)
    if stem is None:
        return None, f"{change.name}: no source notebook has a solution cell {change.cell!r}"
    if change.task not in plan.table:
        return None, f"{change.name}: unknown task {change.task!r}"
    try:
        return apply_to_source(change, plan.references[stem][change.cell]), None
    except ValueError as exc:
        return None, str(exc)


def validate(
    seeds: int = DEFAULT_SEEDS,
    processes: int = 2,
    root: Path | None = None,
    progress: Any = None,
) -> dict:
    """Run all experiments; returns the JSON-able summary (see :func:`render` for the catalogue)."""
    started = time.monotonic()
    _worker_init()  # puts the course's graders on the import path first
    from grader_tests.conftest import REFERENCE_PARTS

    plan = make_plan(root)
    stems = sorted({t.notebook for t in plan.table.values()})
    stem_tasks = {s: [t for t, v in plan.table.items() if v.notebook == s] for s in stems}
    seed_costs = {"03_fc_net": 40.0, "05_mlp_vs_cnn": 10.0, "04_optim_solver": 4.0}

    # phase 1: the reference at seed 0, traced (which names each task's graders touch)
    first = [Job("seed", "seed-0", s, 0, tuple(stem_tasks[s]), trace=True, cost=seed_costs.get(s, 1.0)) for s in stems]
    traced = _run_all(first, processes, progress)
    accessed = {t: names for r in traced for t, names in r.accessed.items()}
    graphs = {}
    for s in stems:
        units = grading_code(read_cells(source_dir(plan.root) / f"{s}.ipynb"))
        from mlplab.grading.reference import units_defining

        parts = sorted({n for t in stem_tasks[s] for n in REFERENCE_PARTS.get(t, ())})
        if parts:
            units = units + units_defining(tuple(parts), plan.root)
        graphs[s] = _name_graph(units)

    # phase 2: the other seeds, the bugs and the variants
    jobs: list[Job] = []
    for seed in range(1, seeds):
        for s in stems:
            jobs.append(Job("seed", f"seed-{seed}", s, seed, tuple(stem_tasks[s]), cost=seed_costs.get(s, 1.0)))
    change_errors: dict[str, str] = {}
    reach: dict[str, list[str]] = {}
    for kind, changes in (("mutant", plan.mutants), ("variant", plan.variants)):
        for change in changes:
            source, error = _change_source(change, plan)
            if error:
                change_errors[f"{kind}:{change.name}"] = error
                continue
            stem = plan.cell_notebook[change.cell]
            edits = ((change.cell, source or ""), *change.extra)
            bad = [cell for cell, _ in change.extra if plan.cell_notebook.get(cell) != stem]
            if bad:
                change_errors[f"{kind}:{change.name}"] = f"{change.name}: EXTRA_CELLS not in {stem}: {bad}"
                continue
            names: set[str] = set()
            for cell, new_source in edits:
                names |= defined_names(plan.references[stem][cell]) | defined_names(new_source)
            wanted = reached_tasks(names, change.task, stem_tasks[stem], accessed, graphs[stem], REFERENCE_PARTS)
            reach[f"{kind}:{change.name}"] = wanted
            cost = seed_costs.get(stem, 1.0) * len(wanted) / max(1, len(stem_tasks[stem]))
            jobs.append(Job(kind, change.name, stem, 0, tuple(wanted), edits, cost=cost))
    results = traced + _run_all(jobs, processes, progress)
    summary = summarise(plan, seeds, results, change_errors, reach, stem_tasks)
    from mlplab.validity.requirements import requirement_table

    summary["requirements"], requirement_problems = requirement_table(plan.root)
    summary["problems"] += requirement_problems
    summary["ok"] = summary["ok"] and not requirement_problems
    summary["fingerprint"] = fingerprint(plan.root)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


# -- summarising --------------------------------------------------------------------


def _lost(info: dict) -> bool:
    return info["failed"] > 0 or info["score"] < info["max_score"]


def _test_name(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


def summarise(
    plan: Plan,
    seeds: int,
    results: list[JobResult],
    change_errors: dict[str, str],
    reach: dict[str, list[str]],
    stem_tasks: dict[str, list[str]],
) -> dict:
    problems: list[str] = []
    by_kind: dict[str, dict[str, JobResult]] = {"mutant": {}, "variant": {}}
    seed_results: list[JobResult] = []
    durations: dict[str, float] = {}
    for r in results:
        if r.job.kind == "seed":
            seed_results.append(r)
            for nodeid, d in r.durations.items():
                durations[nodeid] = max(durations.get(nodeid, 0.0), d)
        else:
            by_kind[r.job.kind][r.job.name] = r

    # seeds
    failures = []
    passed_seeds = set(range(seeds))
    for r in sorted(seed_results, key=lambda r: (r.job.seed, r.job.stem)):
        bad = {t: info for t, info in r.tasks.items() if _lost(info)}
        if r.error:
            bad["(grader suite)"] = {"messages": [r.error]}
        if bad:
            passed_seeds.discard(r.job.seed)
            for t, info in sorted(bad.items()):
                failures.append({"seed": r.job.seed, "task": t, "messages": info.get("messages", [])})
                problems.append(
                    f"the reference loses points in {t} with grader seed {r.job.seed}: "
                    f"{'; '.join(info.get('messages', []))[:300]}"
                )

    # margins: worst reference ratio (measured / tol) per test, nearest failing bug per test
    tests: dict[str, dict] = {}
    for r in seed_results:
        for nodeid, (task, _passed, _msg) in r.outcomes.items():
            entry = tests.setdefault(
                nodeid, {"task": task, "checks": set(), "ref": None, "bug": None, "bug_name": None}
            )
            for what, measured, tol in r.measurements.get(nodeid, []):
                entry["checks"].add(what)
                ratio = measured / tol if tol > 0 else math.inf
                if entry["ref"] is None or ratio > entry["ref"]:
                    entry["ref"] = ratio

    # bugs
    mutants = []
    for change in plan.mutants:
        key = f"mutant:{change.name}"
        item: dict[str, Any] = {"name": change.name, "task": change.task, "cell": change.cell, "doc": change.doc}
        if key in change_errors:
            item.update(error=change_errors[key], killed=False, collateral=[], graded=[])
            problems.append(f"bug {change.name}: {change_errors[key]}")
            mutants.append(item)
            continue
        r = by_kind["mutant"][change.name]
        own = r.tasks.get(change.task, {"score": 0.0, "max_score": 0.0, "passed": 0, "failed": 0, "messages": []})
        killed = _lost(own)
        collateral = sorted(t for t, info in r.tasks.items() if t != change.task and _lost(info))
        prefix = f"{change.task}: "
        named = bool(own["messages"]) and all(
            m.startswith(prefix) and len(m) > len(prefix) + 12 for m in own["messages"]
        )
        item.update(
            killed=killed,
            own=own,
            collateral={t: r.tasks[t] for t in collateral},
            graded=sorted(r.tasks, key=list(plan.table).index),
            messages_name_task=named,
            error=r.error,
            load_errors=r.load_errors,
        )
        mutants.append(item)
        if r.error:
            problems.append(f"bug {change.name}: the grader suite failed: {r.error[:300]}")
        if not killed:
            problems.append(f"bug {change.name} survives: it loses no points in {change.task}")
        for t in collateral:
            problems.append(
                f"bug {change.name} (a {change.task} bug) also costs points in {t}: "
                f"{'; '.join(r.tasks[t]['messages'])[:300]}"
            )
        if killed and not named:
            problems.append(
                f"bug {change.name}: a failure message of {change.task} does not name the task or gives no hint"
            )
        # the bug's failing measurement, per test of its own task
        for nodeid, (task, passed, _msg) in r.outcomes.items():
            if task != change.task or passed:
                continue
            recorded = r.measurements.get(nodeid, [])
            failing = [m / t for _w, m, t in recorded if t > 0 and m >= t]
            if nodeid in tests and failing:
                ratio = min(failing)
                entry = tests[nodeid]
                if (
                    entry["bug"] is None
                    or ratio < entry["bug"]
                    or (ratio == entry["bug"] and change.name < entry["bug_name"])
                ):
                    entry["bug"], entry["bug_name"] = ratio, change.name

    variants = []
    for change in plan.variants:
        key = f"variant:{change.name}"
        item = {"name": change.name, "task": change.task, "cell": change.cell, "doc": change.doc}
        if key in change_errors:
            item.update(error=change_errors[key], full_marks=False, lost={}, graded=[])
            problems.append(f"variant {change.name}: {change_errors[key]}")
            variants.append(item)
            continue
        r = by_kind["variant"][change.name]
        lost = {t: info for t, info in r.tasks.items() if _lost(info)}
        item.update(
            full_marks=not lost and not r.error,
            lost=lost,
            graded=sorted(r.tasks, key=list(plan.table).index),
            error=r.error,
        )
        variants.append(item)
        for t, info in sorted(lost.items()):
            problems.append(f"correct variant {change.name} loses points in {t}: {'; '.join(info['messages'])[:300]}")
        if r.error:
            problems.append(f"variant {change.name}: the grader suite failed: {r.error[:300]}")

    # bugs per task
    per_task = {t: sum(1 for m in mutants if m["task"] == t) for t in plan.table}
    margins = []
    for nodeid in sorted(tests, key=lambda n: (list(plan.table).index(tests[n]["task"]), n)):
        entry = tests[nodeid]
        margins.append(
            {
                "test": _test_name(nodeid),
                "task": entry["task"],
                "checks": len(entry["checks"]),
                "reference_ratio": entry["ref"],
                "nearest_bug_ratio": entry["bug"],
                "nearest_bug": entry["bug_name"],
                "seconds": round(durations.get(nodeid, 0.0), 3),
            }
        )

    killed = sum(1 for m in mutants if m.get("killed"))
    isolated = sum(1 for m in mutants if m.get("killed") and not m.get("collateral") and m.get("messages_name_task"))
    return {
        "ok": not problems,
        "problems": problems,
        "seeds": {"count": seeds, "passed": len(passed_seeds), "failures": failures},
        "mutants": mutants,
        "variants": variants,
        "bugs_per_task": per_task,
        "counts": {
            "bugs": len(mutants),
            "bugs_killed": killed,
            "bugs_killed_in_own_task_only": isolated,
            "variants": len(variants),
            "variants_full_marks": sum(1 for v in variants if v.get("full_marks")),
            "tasks": len(plan.table),
        },
        "margins": margins,
        "reach": reach,
    }


# -- the catalogue (markdown) ----------------------------------------------------------


def _decades(ratio: float | None, invert: bool) -> str:
    """A measured/tolerance ratio as a whole number of decades (deterministic across runs)."""
    if ratio is None:
        return "pass/fail only"
    if math.isinf(ratio):
        return "NaN/inf" if not invert else "-"
    if ratio <= 0:
        return f">= 1e{MARGIN_CAP}" if invert else "0"
    value = 1.0 / ratio if invert else ratio
    if invert and value >= 10**MARGIN_CAP:
        return f">= 1e{MARGIN_CAP}"
    if not invert and value >= 10**MARGIN_CAP:
        return f">= 1e{MARGIN_CAP} x tol"
    k = math.floor(math.log10(value) + 1e-9)
    return f">= 1e{k}" if invert else f">= 1e{k} x tol"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(summary: dict, table: dict[str, Task] | None = None) -> str:
    """The markdown catalogue (deterministic for a given set of inputs)."""
    table = table or tasks()
    counts = summary["counts"]
    seeds = summary["seeds"]
    lines = [
        "# Grader catalogue",
        "",
        f"<!-- inputs sha256: {summary['fingerprint']} -->",
        "Generated by `mlplab validate-graders` (do not edit by hand; `mlplab validate-graders --check` "
        "tells whether it is up to date). It measures whether the hidden graders (`grader_tests/`) tell "
        "right from wrong: the reference solution must get full marks on every grader seed, every correct "
        "variant must get full marks, and every catalogued bug must lose points in its own task and in no other.",
        "",
        "## Summary",
        "",
        f"- bugs caught in their own task: **{counts['bugs_killed']} / {counts['bugs']}**; "
        f"caught in their own task only, with a message naming the task: "
        f"**{counts['bugs_killed_in_own_task_only']} / {counts['bugs']}**",
        f"- correct variants with full marks: **{counts['variants_full_marks']} / {counts['variants']}**",
        "- reference seeds and margins: see the last section",
        f"- problems: **{len(summary['problems'])}**",
        "",
    ]
    for problem in summary["problems"]:
        lines.append(f"  - {_cell(problem)}")
    if summary["problems"]:
        lines.append("")
    lines += [
        "A bug or variant replaces one solution cell of the reference notebook. Only the tasks whose graders "
        'can reach that cell are graded ("not reached" tasks run the unchanged reference code: their graders '
        "never touch the changed names, directly or through other definitions, or take them from the reference).",
        "",
        "## Bugs (kill matrix)",
        "",
        "Each cell: `KILLED f/n` (own task: f of n checks fail), `SURVIVED` (own task, no points lost), "
        "`LOSS f/n` (points lost in another task: a fault-isolation failure), `ok` (graded, full marks), "
        "`.` (not reached).",
        "",
    ]
    mutants = summary["mutants"]
    stems = sorted({t.notebook for t in table.values()})
    for stem in stems:
        stem_tasks = [t for t, v in table.items() if v.notebook == stem]
        bugs = [m for m in mutants if m["task"] in stem_tasks]
        if not bugs:
            continue
        lines += [
            f"### {stem}",
            "",
            "| bug | " + " | ".join(f"`{t}`" for t in stem_tasks) + " |",
            "|---|" + "---|" * len(stem_tasks),
        ]
        for m in bugs:
            row = []
            for t in stem_tasks:
                if m.get("error") and not m.get("graded"):
                    row.append("ERROR")
                    continue
                info = m.get("own") if t == m["task"] else m.get("collateral", {}).get(t)
                n_f = f"{info['failed']}/{info['passed'] + info['failed']}" if info else ""
                if t == m["task"]:
                    row.append(f"**KILLED {n_f}**" if m["killed"] else "**SURVIVED**")
                elif info:
                    row.append(f"LOSS {n_f}")
                elif t in m.get("graded", []):
                    row.append("ok")
                else:
                    row.append(".")
            lines.append(f"| `{m['name']}` | " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "### What each bug is and what the student is told",
        "",
        "| bug | task | the bug | first message of its task |",
        "|---|---|---|---|",
    ]
    for m in mutants:
        own = m.get("own") or {}
        message = (own.get("messages") or [m.get("error") or ""])[0]
        lines.append(f"| `{m['name']}` | `{m['task']}` | {_cell(m['doc'])} | {_cell(message)} |")
    lines += ["", "Bugs per task: " + ", ".join(f"`{t}` {n}" for t, n in summary["bugs_per_task"].items()) + ".", ""]

    lines += ["## Correct variants", "", "| variant | task | what it does differently | result |", "|---|---|---|---|"]
    for v in summary["variants"]:
        if v.get("full_marks"):
            result = "full marks (" + ", ".join(f"`{t}`" for t in v["graded"]) + ")"
        else:
            lost = v.get("lost") or {}
            result = "**LOSES POINTS**: " + (
                _cell("; ".join(msg for info in lost.values() for msg in info["messages"]))
                or _cell(v.get("error") or "")
            )
        lines.append(f"| `{v['name']}` | `{v['task']}` | {_cell(v['doc'])} | {result} |")
    lines.append("")

    requirements = summary.get("requirements") or []
    if requirements:
        graded = sum(1 for r in requirements if r["checks"])
        lines += [
            "## Requirements: every docstring sentence that states one, and what grades it",
            "",
            f"{graded} of {len(requirements)} requirement sentences are graded; the others say why not. Rows come "
            "from the docstrings of the solution cells (sentences with words such as *must*, *do not*, *exactly*, "
            "*not modified*, *dtype*, *default*, *use*, *call*) joined with `grader_tests/requirements.py`; a test "
            "fails when a sentence is unmapped.",
            "",
            "| cell | requirement | graded by |",
            "|---|---|---|",
        ]
        for r in requirements:
            graded_by = ", ".join(f"`{c}`" for c in r["checks"]) or f"ungraded: {_cell(r['ungraded'])}"
            lines.append(f"| `{r['cell']}` | {_cell(r['text'])} | {graded_by} |")
        lines.append("")
    lines += [
        SEED_SECTION,
        "",
        f"The reference solution got full marks on {seeds['passed']} of {seeds['count']} grader seeds "
        f"(seeds 0 to {seeds['count'] - 1}; the seed changes every random input of every check).",
        "",
    ]
    for failure in seeds["failures"]:
        lines.append(f"- seed {failure['seed']}, `{failure['task']}`: {_cell('; '.join(failure['messages']))}")
    if seeds["failures"]:
        lines.append("")
    lines += [
        "Margins per test, over all its recorded checks (error / tolerance): **reference margin** = how many "
        "times below its tolerance the reference stays in the worst check and worst seed; **nearest bug** = "
        "how far above the tolerance the closest catalogued bug of the task lands in the check that caught it "
        '(whole decades). "pass/fail only": the test makes exact or structural checks (shapes, dtypes, names, '
        "in-place changes) that record no measurement.",
        "",
        "| task | test | checks | reference margin | nearest bug | which bug |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["margins"]:
        bug = "" if row["nearest_bug"] is None else f"`{row['nearest_bug']}`"
        ref_margin = _decades(row["reference_ratio"], invert=True)
        bug_margin = "-" if row["nearest_bug_ratio"] is None else _decades(row["nearest_bug_ratio"], invert=False)
        lines.append(
            f"| `{row['task']}` | `{_cell(row['test'])}` | {row['checks']} | {ref_margin} | {bug_margin} | {bug} |"
        )
    lines.append("")
    return "\n".join(lines)


def split_seed_section(text: str) -> tuple[str, str]:
    """(everything before the seed section, the seed section)."""
    index = text.find(SEED_SECTION)
    return (text, "") if index < 0 else (text[:index], text[index:])


def summary_text(summary: dict) -> str:
    counts, seeds = summary["counts"], summary["seeds"]
    slow = sorted(summary["margins"], key=lambda r: -r["seconds"])[:5]
    lines = [
        f"bugs caught in their own task: {counts['bugs_killed']}/{counts['bugs']} "
        f"(own task only, message names the task: {counts['bugs_killed_in_own_task_only']})",
        f"correct variants with full marks: {counts['variants_full_marks']}/{counts['variants']}",
        f"reference full marks on {seeds['passed']}/{seeds['count']} grader seeds",
        "slowest checks (reference, worst seed): " + ", ".join(f"{r['test']} {r['seconds']:.2f} s" for r in slow),
        f"validation took {summary.get('seconds', 0):.0f} s",
    ]
    if summary["problems"]:
        lines.append(f"{len(summary['problems'])} problem(s):")
        lines += [f"  - {p}" for p in summary["problems"]]
    else:
        lines.append("no problems")
    return "\n".join(lines)


def catalogue_path(root: Path | None = None) -> Path:
    return (root or course_root()) / CATALOGUE


# -- mutation score (cosmic-ray operators on the reference answers) ---------------------------------

MUTATION_REPORT = Path("docs") / "mutation-score.md"


def validate_mutation(limit: int, processes: int = 2, root: Path | None = None, progress: Any = None) -> dict:
    """Grade every library mutant (see :mod:`mlplab.validity.mutation`); returns the JSON-able summary."""
    from mlplab.validity.mutation import load_equivalents, mutation_cases

    started = time.monotonic()
    _worker_init()
    from grader_tests.conftest import REFERENCE_PARTS
    from mlplab.grading.reference import units_defining

    plan = make_plan(root)
    stems = sorted({t.notebook for t in plan.table.values()})
    stem_tasks = {s: [t for t, v in plan.table.items() if v.notebook == s] for s in stems}
    cost = {"03_fc_net": 40.0, "05_mlp_vs_cnn": 10.0, "04_optim_solver": 4.0}
    traced = _run_all([Job("seed", "seed-0", s, 0, tuple(stem_tasks[s]), trace=True, cost=cost.get(s, 1.0))
                       for s in stems], processes, progress)
    accessed = {t: names for r in traced for t, names in r.accessed.items()}
    graphs = {}
    for s in stems:
        units = grading_code(read_cells(source_dir(plan.root) / f"{s}.ipynb"))
        parts = sorted({n for t in stem_tasks[s] for n in REFERENCE_PARTS.get(t, ())})
        graphs[s] = _name_graph(units + (units_defining(tuple(parts), plan.root) if parts else []))
    cases = mutation_cases(set(plan.table), limit, plan.root)
    jobs = []
    for case in cases:
        names = defined_names(plan.references[case.stem][case.cell]) | defined_names(case.source)
        wanted = reached_tasks(names, case.task, stem_tasks[case.stem], accessed, graphs[case.stem], REFERENCE_PARTS)
        jobs.append(Job("mutation", case.name, case.stem, 0, tuple(wanted), ((case.cell, case.source),),
                        cost=cost.get(case.stem, 1.0) * len(wanted) / max(1, len(stem_tasks[case.stem]))))
    by_name = {r.job.name: r for r in _run_all(jobs, processes, progress)}
    equivalents = load_equivalents(plan.root)
    results = []
    for case in cases:
        r = by_name[case.name]
        own = r.tasks.get(case.task)
        lost = bool(own) and _lost(own)
        others = sorted(t for t, info in r.tasks.items() if t != case.task and _lost(info))
        if lost and not others:
            status = "killed"
        elif lost or others:
            status = "leaked"
        elif case.name in equivalents:
            status = "equivalent"
        else:
            status = "survived"
        results.append({"name": case.name, "task": case.task, "line": case.line, "status": status,
                        "other_tasks": others, "reason": equivalents.get(case.name, ""),
                        "message": (own or {}).get("messages", [""])[:1]})
    scored = [r for r in results if r["status"] != "equivalent"]
    killed = sum(1 for r in scored if r["status"] == "killed")
    stale = sorted(set(equivalents) - {c.name for c in cases})
    return {
        "mutants": len(results),
        "killed": killed,
        "scored": len(scored),
        "score": killed / len(scored) if scored else 1.0,
        "limit": limit,
        "results": results,
        "stale_equivalents": stale,
        "seconds": round(time.monotonic() - started, 1),
        "task_order": list(plan.table),
    }


def render_mutation(summary: dict) -> str:
    """docs/mutation-score.md: the per-task table, the survivors and leaks, the equivalents."""
    from mlplab.validity.mutation import OPERATORS, score_table

    lines = [
        "# Mutation score of the hidden graders",
        "",
        "Generated by `mlplab validate-graders --mutation` (cosmic-ray "
        f"operators {', '.join(op.split('/')[-1] for op in OPERATORS)}; at most {summary['limit'] or 'all'} "
        "mutants per solution cell, spread over the candidates; only lines inside the solution markers). "
        "A mutant is *killed* when it loses points in its own task and in no other, *leaked* when it costs "
        "points in another task, *equivalent* when `grader_tests/mutation_equivalents.py` says why it "
        "computes the same thing.",
        "",
        f"Score: **{summary['killed']} / {summary['scored']} = {100 * summary['score']:.1f} %** of the "
        f"non-equivalent mutants killed in their own task only ({summary['mutants']} mutants).",
        "",
        score_table(summary["results"], summary["task_order"]),
        "",
        "## Survivors and leaks (to triage: a new check, or an equivalent with a reason)",
        "",
        "| mutant | task | mutated line | status |",
        "|---|---|---|---|",
    ]
    for r in summary["results"]:
        if r["status"] in ("survived", "leaked"):
            extra = f" (also {', '.join(r['other_tasks'])})" if r["other_tasks"] else ""
            lines.append(f"| `{r['name']}` | `{r['task']}` | `{_cell(r['line'])}` | {r['status']}{extra} |")
    lines += ["", "## Equivalent mutants", "", "| mutant | mutated line | why it is equivalent |", "|---|---|---|"]
    for r in summary["results"]:
        if r["status"] == "equivalent":
            lines.append(f"| `{r['name']}` | `{_cell(r['line'])}` | {_cell(r['reason'])} |")
    lines.append("")
    return "\n".join(lines)
