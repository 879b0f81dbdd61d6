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
import json
from dataclasses import dataclass
from pathlib import Path

from mlplab.coursedir import source_notebooks
from mlplab.validity.mutants import MARKER, _cell_source

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
    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator

    cases = []
    for nb in source_notebooks(root):
        cells = json.loads(nb.read_text())["cells"]
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id") or ""
            task = grade_id.removesuffix("_solution")
            if not meta.get("solution") or cell.get("cell_type") != "code" or task not in task_ids:
                continue
            source, region = solution_lines(_cell_source(cell))
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
    path = root / "grader_tests" / "mutation_equivalents.py"
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

