"""Read the code a notebook defines, without executing anything.

A submitted notebook is untrusted JSON. This module turns it into plain
``Cell`` records and selects the code the graders need:

* nbgrader *solution* cells (autograded answers) are taken whole;
* other code cells (provided ones and those a student added) contribute only
  their light top-level statements (:func:`definitions_only`, by the one rule
  of the course's ``labutils/nbimport.py`` that students' notebooks use too): imports,
  ``def`` / ``class`` definitions and assignments of constants, so helpers and
  constants a student added in a new cell still exist, while heavy work
  (anything that calls a function: training, plotting, loading data, printing)
  is not run when grading;
* grade cells (hidden tests) are never taken.

Malformed input raises :class:`NotebookError` with a message a student can act
on; nothing here modifies the file it reads.
"""

from __future__ import annotations

import ast
import importlib.util
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

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


def nbgrader_meta(cell: Mapping) -> dict:
    """The ``metadata.nbgrader`` of a raw cell (a dict of the notebook's JSON, or an nbformat node); ``{}`` when
    it has none or it is not a dict. The one place a raw cell's grading metadata is read."""
    meta = cell.get("metadata")
    nbg = meta.get("nbgrader") if isinstance(meta, Mapping) else None
    return nbg if isinstance(nbg, dict) else {}


def cell_text(cell: Mapping) -> str:
    """A raw cell's source as one string (nbformat stores a string or a list of lines)."""
    return _source_text(cell.get("source"))


def grade_cells(cells: Iterable[Mapping]) -> dict[str, Mapping]:
    """grade_id -> raw cell of every cell with an nbgrader grade id (a later duplicate wins)."""
    return {nbgrader_meta(c)["grade_id"]: c for c in cells if isinstance(nbgrader_meta(c).get("grade_id"), str)}


def solution_code_cells(cells: Iterable[Mapping]) -> dict[str, str]:
    """grade_id -> source of every code solution cell (the cells students answer in code)."""
    return {
        meta["grade_id"]: cell_text(c)
        for c in cells
        if c.get("cell_type") == "code" and (meta := nbgrader_meta(c)).get("solution") and meta.get("grade_id")
    }


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


RULE_MODULE = "nbimport.py"  # in the course's labutils: the one "definitions only" rule


@lru_cache(maxsize=8)
def _load_rule(path: Path, mtime_ns: int) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_mlplab_rule_{abs(hash((path, mtime_ns)))}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def definitions_rule(labutils: Path) -> ModuleType:
    """The course's ``labutils/nbimport.py``: the one rule for what of a notebook's other cells is loaded
    ("definitions only": imports, functions, classes, constants; see its module docstring). Students' later
    notebooks import their earlier ones by it, and the graders load every submission by it, so the two can never
    differ. Trusted code: it is read from the course's source (as :mod:`mlplab.course.i18n` loads the course's
    ``labutils.i18n``), never from a submission."""
    path = (Path(labutils) / RULE_MODULE).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"the course has no {path} (labutils/nbimport.py: the rule of what graders load)")
    return _load_rule(path, path.stat().st_mtime_ns)


def definitions_only(source: str, bound: set[str] | None, labutils: Path) -> str:
    """The light top-level statements of ``source`` by the course's rule (:func:`definitions_rule`); "" when the
    cell does not parse (the graders then report the names it should have defined as missing). ``bound`` (updated
    in place) holds the names that earlier kept code defines."""
    try:
        return definitions_rule(labutils)._definitions_only(source, "cell", bound)
    except SyntaxError:
        return ""


def _top_level(source: str) -> list[ast.stmt]:
    """The top-level statements of a cell (none when it does not parse)."""
    try:
        return ast.parse(strip_ipython(source)).body
    except SyntaxError:
        return []


@dataclass(frozen=True)
class CodeUnit:
    """A piece of code to execute in the grading namespace."""

    label: str
    source: str


def grading_code(cells: list[Cell], labutils: Path) -> list[CodeUnit]:
    """The code units of a notebook, in order, that define what is graded: solution cells whole, the other code
    cells by the course's definitions-only rule (``labutils/nbimport.py``, :func:`definitions_rule`), never the
    hidden test cells."""
    rule = definitions_rule(labutils)
    units = []
    bound = {"np"}  # the grading namespace imports numpy as np
    for cell in cells:
        if cell.cell_type != "code" or cell.is_test:
            continue
        if cell.solution:
            code = strip_ipython(cell.source)
            label = cell.grade_id or f"cell {cell.index}"
            bound |= rule._all_binds(code)
        else:
            code = definitions_only(cell.source, bound, labutils)
            label = f"cell {cell.index}"
        if code.strip():
            units.append(CodeUnit(label=label, source=code))
    return units


def defined_names(source: str) -> set[str]:
    """Top-level names bound by ``def``/``class``/assignment to a plain name in ``source``."""
    names: set[str] = set()
    for node in _top_level(source):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    names.add(target.id)
    return names
