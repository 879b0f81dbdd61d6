"""Read the code a notebook defines, without executing anything.

A submitted notebook is untrusted JSON. This module turns it into plain
``Cell`` records and selects the code the graders need:

* nbgrader *solution* cells (autograded answers) are taken whole;
* other code cells contribute only their top-level ``import`` statements and
  ``def`` / ``class`` definitions, so helper functions a student added in a
  new cell still exist, while experiment code (training loops, plots) is not
  run when grading;
* grade cells (hidden tests) are never taken.

Malformed input raises :class:`NotebookError` with a message a student can act
on; nothing here modifies the file it reads.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024


class NotebookError(ValueError):
    """The notebook file cannot be read as a Jupyter notebook."""


@dataclass(frozen=True)
class Cell:
    """One notebook cell reduced to what grading needs."""

    index: int
    cell_type: str
    source: str
    grade_id: str | None
    solution: bool
    grade: bool
    points: float

    @property
    def is_test(self) -> bool:
        """True for an autograder-test cell (graded, not an answer)."""
        return self.grade and not self.solution and self.cell_type == "code"


def _source_text(raw: object) -> str:
    if isinstance(raw, list):
        return "".join(part for part in raw if isinstance(part, str))
    if isinstance(raw, str):
        return raw
    return ""


def read_cells(path: str | Path) -> list[Cell]:
    """Parse ``path`` as an nbformat-4 notebook and return its cells.

    Raises NotebookError for a missing file, non-UTF-8 bytes, invalid or
    truncated JSON, or JSON that is not a notebook.
    """
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path.name}: notebook not found in the submission")
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path.name}: notebook is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotebookError(f"{path.name}: not UTF-8 text (byte {exc.start}); re-save it from JupyterLab") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path.name}: invalid notebook JSON at line {exc.lineno} ({exc.msg}); "
            "the file may be truncated or edited by hand"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError(f"{path.name}: JSON is not a Jupyter notebook (no 'cells' list)")
    cells = []
    for index, raw in enumerate(data["cells"]):
        if not isinstance(raw, dict):
            continue
        meta = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
        nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        points = nbg.get("points", 0)
        cells.append(
            Cell(
                index=index,
                cell_type=str(raw.get("cell_type", "")),
                source=_source_text(raw.get("source")),
                grade_id=nbg.get("grade_id") if isinstance(nbg.get("grade_id"), str) else None,
                solution=bool(nbg.get("solution", False)),
                grade=bool(nbg.get("grade", False)),
                points=float(points) if isinstance(points, (int, float)) else 0.0,
            )
        )
    return cells


def strip_ipython(source: str) -> str:
    """Drop IPython-only lines (magics ``%``/``%%`` and shell escapes ``!``)."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines.append("")
        else:
            lines.append(line)
    return "\n".join(lines)


def definitions_only(source: str) -> str:
    """Keep only the top-level imports, functions and classes of ``source``.

    Returns "" when the cell does not parse (the graders then report the names
    it should have defined as missing).
    """
    try:
        tree = ast.parse(strip_ipython(source))
    except SyntaxError:
        return ""
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    body = [node for node in tree.body if isinstance(node, keep)]
    return ast.unparse(ast.Module(body=body, type_ignores=[])) if body else ""


@dataclass(frozen=True)
class CodeUnit:
    """A piece of code to execute in the grading namespace."""

    label: str
    source: str


def grading_code(cells: list[Cell]) -> list[CodeUnit]:
    """The code units of a notebook, in order, that define what is graded."""
    units = []
    for cell in cells:
        if cell.cell_type != "code" or cell.is_test:
            continue
        if cell.solution:
            code = strip_ipython(cell.source)
            label = cell.grade_id or f"cell {cell.index}"
        else:
            code = definitions_only(cell.source)
            label = f"cell {cell.index}"
        if code.strip():
            units.append(CodeUnit(label=label, source=code))
    return units


def defined_names(source: str) -> set[str]:
    """Top-level names bound by ``def``/``class``/assignment in ``source``."""
    try:
        tree = ast.parse(strip_ipython(source))
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return names
