"""Bugs and correct variants applied to the reference notebooks.

A *mutant* (``grader_tests/mutants/*.py``) is one realistic student bug: a small
file naming the task it belongs to, the solution cell it edits and text
replacements applied to the reference source of that cell::

    '''softmax_loss without the max shift: overflows for large logits.'''
    TASK = "softmax_loss"
    CELL = "softmax_loss_solution"
    PATCH = [("x - np.max(x, axis=1, keepdims=True)", "x")]

A *variant* (``grader_tests/variants/*.py``) is a correct alternative
implementation: the same fields, with either ``PATCH`` or a whole new cell
``SOURCE``, and optionally ``EXTRA_CELLS = {grade_id: source}`` replacing more
cells of the same notebook (a forward/backward pair with its own cache format).
Mutants must lose points in ``TASK`` and nowhere else; variants must keep full
marks. The demo class reuses mutants as its buggy students.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from mlplab.coursedir import CourseDir
from mlplab.notebooks import nbgrader_meta, solution_code_cells

MARKER = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


@dataclass(frozen=True)
class Change:
    """One mutant or variant."""

    name: str
    task: str
    cell: str
    doc: str
    patch: tuple[tuple[str, str], ...] = ()
    source: str | None = None
    # other solution cells replaced as a whole (e.g. a forward/backward pair with its own cache format)
    extra: tuple[tuple[str, str], ...] = ()


def _literal(tree: ast.Module, name: str):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def load_change(path: Path) -> Change:
    """Read a mutant/variant file without executing it (fields are literals)."""
    tree = ast.parse(path.read_text())
    task, cell = _literal(tree, "TASK"), _literal(tree, "CELL")
    if not isinstance(task, str) or not isinstance(cell, str):
        raise ValueError(f"{path.name}: TASK and CELL must be string literals")
    patch = tuple(tuple(p) for p in (_literal(tree, "PATCH") or ()))
    source = _literal(tree, "SOURCE")
    if not patch and source is None:
        raise ValueError(f"{path.name}: needs PATCH or SOURCE")
    extra = _literal(tree, "EXTRA_CELLS") or {}
    if not isinstance(extra, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise ValueError(f"{path.name}: EXTRA_CELLS must map cell grade ids to sources")
    doc = (ast.get_docstring(tree) or "").strip()
    return Change(path.stem, task, cell, doc, patch, source, tuple(sorted(extra.items())))


def load_all(kind: str, root: Path | None = None) -> list[Change]:
    """All mutants (``kind="mutants"``) or variants (``kind="variants"``), sorted by name."""
    folder = CourseDir.here(root).graders / kind
    return [load_change(p) for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]


def strip_markers(source: str) -> str:
    """A solution cell as a student would write it (no nbgrader markers)."""
    return MARKER.sub("", source)


def apply_to_source(change: Change, source: str) -> str:
    """The cell source with the change applied; ValueError when a patch does not apply exactly once."""
    if change.source is not None:
        return change.source
    for old, new in change.patch:
        count = source.count(old)
        if count != 1:
            raise ValueError(f"{change.name}: patch text found {count} times in {change.cell}: {old!r}")
        source = source.replace(old, new)
    return source


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def edit_notebook(path: Path, edits: dict[str, str]) -> None:
    """Replace the sources of the cells with the given grade ids (in place, on a copy you own)."""
    nb = json.loads(path.read_text())
    found = set()
    for cell in nb["cells"]:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in edits:
            cell["source"] = edits[grade_id]
            found.add(grade_id)
    missing = set(edits) - found
    if missing:
        raise KeyError(f"{path.name} has no cells {sorted(missing)}")
    path.write_text(json.dumps(nb, indent=1) + "\n")


def solution_sources(notebook: Path) -> dict[str, str]:
    """grade_id -> reference source (markers stripped) of every solution cell of a source notebook."""
    cells = solution_code_cells(json.loads(notebook.read_text())["cells"])
    return {grade_id: strip_markers(source) for grade_id, source in cells.items()}


def notebook_of_cell(cell: str, root: Path | None = None) -> Path:
    from mlplab.coursedir import source_notebooks

    for nb in source_notebooks(root):
        if cell in solution_sources(nb):
            return nb
    raise KeyError(f"no source notebook has a solution cell {cell!r}")


def materialise(change: Change, destination: Path, root: Path | None = None) -> Path:
    """Write the reference notebook with ``change`` applied to ``destination`` (a folder); returns the file."""
    source_nb = notebook_of_cell(change.cell, root)
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / source_nb.name
    shutil.copyfile(source_nb, target)
    reference = solution_sources(source_nb)[change.cell]
    edit_notebook(target, {change.cell: apply_to_source(change, reference), **dict(change.extra)})
    return target
