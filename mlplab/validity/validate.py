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

import time
from pathlib import Path
from typing import Any

from mlplab.coursedir import content_hash
from mlplab.notebooks import defined_names
from mlplab.validity.catalogue import summarise
from mlplab.validity.jobs import Job, run_all, worker_init
from mlplab.validity.mutants import Change, apply_to_source
from mlplab.validity.plan import Plan, make_plan
from mlplab.validity.reach import SEED_COSTS, reached_tasks, trace_reference

DEFAULT_SEEDS = 50


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
    visible_checks: bool = False,
) -> dict:
    """Run all experiments; returns the JSON-able summary (see :func:`render` for the catalogue).

    ``visible_checks``: also run the notebooks' visible checks against every bug and variant
    (:mod:`mlplab.validity.visible`; the catalogue's last section), a few minutes more.
    """
    started = time.monotonic()
    worker_init()  # puts the course's graders on the import path first
    from grader_tests.conftest import REFERENCE_PARTS

    plan = make_plan(root)
    stems = sorted({t.notebook for t in plan.table.values()})
    stem_tasks = {s: [t for t, v in plan.table.items() if v.notebook == s] for s in stems}

    # phase 1: the reference at seed 0, traced (which names each task's graders touch)
    traced, accessed, graphs = trace_reference(plan, stem_tasks, REFERENCE_PARTS, processes, progress)

    # phase 2: the other seeds, the bugs and the variants
    jobs: list[Job] = []
    for seed in range(1, seeds):
        for s in stems:
            jobs.append(Job("seed", f"seed-{seed}", s, seed, tuple(stem_tasks[s]), cost=SEED_COSTS.get(s, 1.0)))
    change_errors: dict[str, str] = {}
    reach: dict[str, list[str]] = {}
    visible_changes: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
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
            visible_changes.append((f"{kind}:{change.name}", stem, edits))
            names: set[str] = set()
            for cell, new_source in edits:
                names |= defined_names(plan.references[stem][cell]) | defined_names(new_source)
            wanted = reached_tasks(names, change.task, stem_tasks[stem], accessed, graphs[stem], REFERENCE_PARTS)
            reach[f"{kind}:{change.name}"] = wanted
            cost = SEED_COSTS.get(stem, 1.0) * len(wanted) / max(1, len(stem_tasks[stem]))
            jobs.append(Job(kind, change.name, stem, 0, tuple(wanted), edits, cost=cost))
    results = traced + run_all(jobs, processes, progress)
    summary = summarise(plan, seeds, results, change_errors, reach, stem_tasks)
    from mlplab.validity.requirements import requirement_table

    summary["requirements"], requirement_problems = requirement_table(plan.root)
    summary["problems"] += requirement_problems
    summary["ok"] = summary["ok"] and not requirement_problems
    if visible_checks:
        from mlplab.validity.visible import visible_catches

        summary["visible"] = visible_catches(plan, visible_changes, processes, progress=None)
        reference_failures = [f"visible checks of {stem} fail for the reference: {r['caught_by']}: {r['message']}"
                              for stem, r in summary["visible"]["reference"].items() if r["caught_by"]]
        summary["problems"] += reference_failures
        summary["ok"] = summary["ok"] and not reference_failures
    from mlplab.coursedir import submitted_file_tasks

    summary["submitted_files"] = {t: list(files) for t, files in submitted_file_tasks(plan.root).items()}
    summary["fingerprint"] = content_hash(plan.root)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary
