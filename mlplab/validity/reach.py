"""Which tasks can reach a cell: the names a task's graders touch on the reference (traced at seed 0), closed
over the names the notebook's code refers to, minus the names the task takes from the reference."""

from __future__ import annotations

import ast
from typing import Any

from mlplab.coursedir import CourseDir, source_dir
from mlplab.notebooks import CodeUnit, defined_names, grading_code, read_cells, strip_ipython
from mlplab.validity.jobs import Job, JobResult, run_all
from mlplab.validity.plan import Plan


def _referenced_names(source: str) -> set[str]:
    try:
        tree = ast.parse(strip_ipython(source))
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def name_graph(units: list[CodeUnit]) -> dict[str, set[str]]:
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


SEED_COSTS = {"03_fc_net": 40.0, "05_mlp_vs_cnn": 10.0, "04_optim_solver": 4.0}  # for scheduling


def trace_reference(
    plan: Plan,
    stem_tasks: dict[str, list[str]],
    reference_parts: dict[str, tuple[str, ...]],
    processes: int,
    progress: Any = None,
) -> tuple[list[JobResult], dict[str, list[str]], dict[str, dict[str, set[str]]]]:
    """The reference at seed 0, traced: (its job results, the names each task's graders touch, the name graph
    of each notebook's code with the reference parts its tasks take)."""
    from mlplab.grading.reference import units_defining

    stems = sorted(stem_tasks)
    first = [Job("seed", "seed-0", s, 0, tuple(stem_tasks[s]), trace=True, cost=SEED_COSTS.get(s, 1.0)) for s in stems]
    traced = run_all(first, processes, progress)
    accessed = {t: names for r in traced for t, names in r.accessed.items()}
    graphs = {}
    for s in stems:
        units = grading_code(read_cells(source_dir(plan.root) / f"{s}.ipynb"), CourseDir(plan.root).labutils)
        parts = sorted({n for t in stem_tasks[s] for n in reference_parts.get(t, ())})
        if parts:
            units = units + units_defining(tuple(parts), plan.root)
        graphs[s] = name_graph(units)
    return traced, accessed, graphs
