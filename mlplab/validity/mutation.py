"""Mutation score: a mutation library's operators applied to every reference answer.

``mlplab validate-graders --mutation`` takes each solution cell of the source notebooks, applies the
operators of cosmic-ray (:data:`OPERATORS`, one mutation at a time, only to lines between the
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers) and grades every distinct mutant in-process,
like the hand-written bugs (:mod:`mlplab.validity.validate`). Each mutant is

* **killed**: it loses points in its own task and in no other;
* **leaked**: it loses points in another task too (a fault-isolation failure);
* **survived**: it keeps full marks, and is not listed in ``grader_tests/mutation_equivalents.py``;
* **equivalent**: it keeps full marks and is listed there with a one-line reason (it computes the
  same thing, e.g. ``x > 0`` to ``x >= 0`` inside ``np.maximum``).

The score is killed / (killed + leaked + survived). ``limit`` caps the mutants per cell (spread
evenly over the candidates, deterministic) to bound the run time.
"""

from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplab.coursedir import CourseDir, content_hash, course_root
from mlplab.notebooks import defined_names
from mlplab.validity.catalogue import lost_points, table_cell
from mlplab.validity.jobs import Job, run_all, worker_init
from mlplab.validity.mutants import MARKER
from mlplab.validity.plan import make_plan
from mlplab.validity.reach import SEED_COSTS, reached_tasks, trace_reference

# cosmic-ray operators: arithmetic, comparisons, unary signs, booleans, numbers, loops
OPERATORS = (
    "core/ReplaceBinaryOperator_Add_Sub",
    "core/ReplaceBinaryOperator_Sub_Add",
    "core/ReplaceBinaryOperator_Mul_Div",
    "core/ReplaceBinaryOperator_Div_Mul",
    "core/ReplaceBinaryOperator_Mul_Add",
    "core/ReplaceBinaryOperator_Pow_Mul",
    "core/ReplaceComparisonOperator_Lt_LtE",
    "core/ReplaceComparisonOperator_Gt_GtE",
    "core/ReplaceComparisonOperator_LtE_Lt",
    "core/ReplaceComparisonOperator_GtE_Gt",
    "core/ReplaceComparisonOperator_Eq_NotEq",
    "core/ReplaceComparisonOperator_Is_IsNot",
    "core/ReplaceComparisonOperator_IsNot_Is",
    "core/ReplaceUnaryOperator_USub_UAdd",
    "core/ReplaceTrueWithFalse",
    "core/ReplaceFalseWithTrue",
    "core/ReplaceAndWithOr",
    "core/NumberReplacer",
    "core/ZeroIterationForLoop",
)
DEFAULT_LIMIT = 8


@dataclass(frozen=True)
class MutationCase:
    name: str  # "<cell>:<operator>#<occurrence>"
    task: str
    cell: str
    stem: str
    source: str
    line: str  # the mutated line, for the report


def solution_lines(marked: str) -> tuple[str, set[int]]:
    """(source without markers, 1-based line numbers of that source inside the solution regions)."""
    out, inside, region = [], False, set()
    for line in marked.splitlines():
        match = MARKER.match(line + "\n")
        if match:
            inside = match.group(1) == "BEGIN"
            continue
        out.append(line)
        if inside:
            region.add(len(out))
    return "\n".join(out) + "\n", region


def _changed_lines(before: str, after: str) -> list[int]:
    a, b = before.splitlines(), after.splitlines()
    if len(a) != len(b):
        return [-1]
    return [i + 1 for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def mutation_cases(task_ids: set[str], limit: int = DEFAULT_LIMIT, root: Path | None = None) -> list[MutationCase]:
    """Every distinct, compilable single mutation of the solution regions, at most ``limit`` per cell."""
    from mlplab.extras import require

    require("mlplab validate-graders --mutation", "cosmic_ray")
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    cases = []
    course = CourseDir(root or course_root())
    for nb in course.source_notebooks():
        for grade_id, marked in course.solution_cells(nb.stem).items():
            task = grade_id.removesuffix("_solution")
            if task not in task_ids:
                continue
            source, region = solution_lines(marked)
            seen = {source}
            found = []
            for op_name in OPERATORS:
                operator = get_operator(op_name)()
                occurrence = 0
                while True:
                    mutated = mutate_code(source, operator, occurrence)
                    occurrence += 1
                    if mutated is None:
                        break
                    changed = _changed_lines(source, mutated)
                    if not changed or any(n not in region for n in changed) or mutated in seen:
                        continue
                    try:
                        ast.parse(mutated)
                    except SyntaxError:
                        continue
                    seen.add(mutated)
                    line = mutated.splitlines()[changed[0] - 1].strip()
                    name = f"{grade_id}:{op_name.split('/')[-1]}#{occurrence - 1}"
                    found.append(MutationCase(name, task, grade_id, nb.stem, mutated, line))
            if limit and len(found) > limit:
                step = len(found) / limit
                found = [found[int(i * step)] for i in range(limit)]
            cases.extend(found)
    return cases


def load_equivalents(root: Path) -> dict[str, str]:
    """name -> reason, from grader_tests/mutation_equivalents.py (a literal dict EQUIVALENT)."""
    path = CourseDir(root).graders / "mutation_equivalents.py"
    if not path.is_file():
        return {}
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        else:
            targets = [node.target] if isinstance(node, ast.AnnAssign) else []
        value = getattr(node, "value", None)
        if value is not None and any(isinstance(t, ast.Name) and t.id == "EQUIVALENT" for t in targets):
            return dict(ast.literal_eval(value))
    return {}


def score_table(results: list[dict], table_order: list[str]) -> str:
    """Markdown: per task, killed / leaked / survived / equivalent and the score."""
    lines = [
        "| task | mutants | killed | leaked | survived | equivalent | score |",
        "|---|---|---|---|---|---|---|",
    ]
    totals = [0, 0, 0, 0, 0]
    for task in table_order:
        rows = [r for r in results if r["task"] == task]
        if not rows:
            continue
        counts = [len(rows)] + [sum(1 for r in rows if r["status"] == s) for s in
                                ("killed", "leaked", "survived", "equivalent")]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        scored = counts[1] + counts[2] + counts[3]
        score = f"{100 * counts[1] / scored:.0f} %" if scored else "-"
        lines.append(f"| `{task}` | " + " | ".join(str(c) for c in counts) + f" | {score} |")
    scored = totals[1] + totals[2] + totals[3]
    lines.append("| **all** | " + " | ".join(f"**{c}**" for c in totals)
                 + f" | **{(100 * totals[1] / scored) if scored else 0:.1f} %** |")
    return "\n".join(lines)


# -- the mutation score (cosmic-ray operators on the reference answers) ---------------------------------

MUTATION_REPORT = Path("docs") / "mutation-score.md"
INPUTS_RE = re.compile(r"<!-- mutation inputs sha256: ([0-9a-f]{64}) -->")


def inputs_hash(root: Path | None = None) -> str:
    """What the mutation score depends on: the course's graders (with ``mutation_equivalents.py``), the source
    notebooks' code cells (the reference answers) and labutils, and :data:`OPERATORS` -- not the toolkit, so
    an unrelated toolkit change does not call for the long re-run. ``DEFAULT_LIMIT`` is not an input: the
    page records the limit it was made with."""
    return content_hash(root or course_root(), toolkit=False, extra=(("operators", "\n".join(OPERATORS).encode()),))


def validate_mutation(
    limit: int,
    processes: int = 2,
    root: Path | None = None,
    progress: Any = None,
    tasks: set[str] | None = None,
) -> dict:
    """Grade every library mutant (:func:`mutation_cases`), each where it can reach; returns the JSON-able summary.

    ``tasks`` restricts the run to those tasks' solution cells (and traces only their notebooks, with only those
    tasks graded): a quick partial score, e.g. for a test; ``None`` is the whole course."""
    started = time.monotonic()
    worker_init()
    from grader_tests.conftest import REFERENCE_PARTS

    plan = make_plan(root)
    chosen = set(plan.table) if tasks is None else set(plan.table) & set(tasks)
    stems = sorted({v.notebook for t, v in plan.table.items() if t in chosen})
    stem_tasks = {s: [t for t, v in plan.table.items() if v.notebook == s and t in chosen] for s in stems}
    _traced, accessed, graphs = trace_reference(plan, stem_tasks, REFERENCE_PARTS, processes, progress)
    cases = mutation_cases(chosen, limit, plan.root)
    jobs = []
    for case in cases:
        names = defined_names(plan.references[case.stem][case.cell]) | defined_names(case.source)
        wanted = reached_tasks(names, case.task, stem_tasks[case.stem], accessed, graphs[case.stem], REFERENCE_PARTS)
        jobs.append(Job("mutation", case.name, case.stem, 0, tuple(wanted), ((case.cell, case.source),),
                        cost=SEED_COSTS.get(case.stem, 1.0) * len(wanted) / max(1, len(stem_tasks[case.stem]))))
    by_name = {r.job.name: r for r in run_all(jobs, processes, progress)}
    equivalents = load_equivalents(plan.root)
    results = []
    for case in cases:
        r = by_name[case.name]
        own = r.tasks.get(case.task)
        lost = bool(own) and lost_points(own)
        others = sorted(t for t, info in r.tasks.items() if t != case.task and lost_points(info))
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
        "task_order": [t for t in plan.table if t in chosen],
        "inputs": inputs_hash(plan.root),
    }


def render_mutation(summary: dict) -> str:
    """docs/mutation-score.md: the per-task table, the survivors and leaks, the equivalents."""
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
        f"<!-- mutation inputs sha256: {summary['inputs']} -->",
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
            lines.append(f"| `{r['name']}` | `{r['task']}` | `{table_cell(r['line'])}` | {r['status']}{extra} |")
    lines += ["", "## Equivalent mutants", "", "| mutant | mutated line | why it is equivalent |", "|---|---|---|"]
    for r in summary["results"]:
        if r["status"] == "equivalent":
            lines.append(f"| `{r['name']}` | `{table_cell(r['line'])}` | {table_cell(r['reason'])} |")
    lines.append("")
    return "\n".join(lines)
