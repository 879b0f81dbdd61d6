"""Read the code a notebook defines, without executing anything.

A submitted notebook is untrusted JSON. This module turns it into plain
``Cell`` records and selects the code the graders need:

* nbgrader *solution* cells (autograded answers) are taken whole;
* other code cells (provided ones and those a student added) contribute only
  their light top-level statements (:func:`definitions_only`): imports,
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
import json
from collections.abc import Iterable, Mapping
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


# Calls allowed on the right of a kept assignment: cheap constructors of constants.
CHEAP_CALLS = frozenset({
    "int", "float", "str", "bool", "tuple", "list", "dict", "set", "frozenset", "range", "slice", "len",
    "min", "max", "abs", "round",
})
CHEAP_NUMPY_ATTRIBUTES = frozenset({
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "dtype",
})
# Attribute reads allowed in a kept assignment: constants of these modules (np.float32, math.pi).
MODULE_ROOTS = frozenset({"np", "numpy", "math", "torch", "nn"})
_BUILTIN_NAMES = frozenset(dir(__import__("builtins")))


def _is_cheap_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in CHEAP_CALLS
    return (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in ("np", "numpy")
        and func.attr in CHEAP_NUMPY_ATTRIBUTES
    )


def _runs_only_cheap_code(node: ast.AST) -> bool:
    """True when evaluating ``node`` calls nothing but :data:`CHEAP_CALLS` (lambda bodies do not run)."""
    todo = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, ast.Lambda):
            todo.extend(current.args.defaults + [d for d in current.args.kw_defaults if d is not None])
            continue
        if isinstance(current, ast.Call) and not _is_cheap_call(current):
            return False
        if isinstance(current, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Subscript, ast.JoinedStr)):
            return False  # indexing and formatting run the objects' own code (and may raise)
        if isinstance(current, ast.Attribute):
            root = current
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in MODULE_ROOTS):
                return False
        todo.extend(ast.iter_child_nodes(current))
    return True


def _loaded_names(node: ast.AST) -> set[str]:
    """Names read by ``node`` outside lambda bodies and comprehension variables (approximately)."""
    names: set[str] = set()
    bound: set[str] = set()
    todo = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, ast.Lambda):
            continue
        if isinstance(current, ast.comprehension):
            bound |= {n.id for n in ast.walk(current.target) if isinstance(n, ast.Name)}
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load):
            names.add(current.id)
        todo.extend(ast.iter_child_nodes(current))
    return names - bound


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def _is_light_assignment(node: ast.stmt, bound: set[str]) -> bool:
    """A top-level assignment of a constant: names only as targets, a value that calls nothing heavy and
    reads only names already bound by kept code (so it cannot fail with a NameError when loaded)."""
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    for target in targets:
        if not all(isinstance(n, (ast.Name, ast.Tuple, ast.List, ast.Starred, ast.Load, ast.Store))
                   for n in ast.walk(target)):
            return False  # attribute or item assignment: changes an object, not a constant
    reads = _loaded_names(value)
    if isinstance(node, ast.AugAssign):
        reads |= _bound_names(node)
    return _runs_only_cheap_code(value) and reads <= bound | _BUILTIN_NAMES


def definitions_only(source: str, bound: set[str] | None = None) -> str:
    """Keep only the light top-level statements of ``source``.

    Kept: imports, functions, classes, and assignments of constants (``AXIS = 0``,
    ``SIZES = (512, 256)``, ``DTYPE = np.float32``: values that call nothing but cheap
    constructors, see :data:`CHEAP_CALLS`, and read only names defined by kept code).
    Skipped: every other statement, i.e. heavy work or side effects: calls such as
    ``solver.train()``, ``plt.plot(...)``, ``load_mnist()``, ``print(...)``, loops, ``if``
    blocks, and assignments whose value calls a function (``solver = Solver(...)``).

    ``bound`` (updated in place) holds the names that earlier kept code defines.
    Returns "" when the cell does not parse (the graders then report the names it
    should have defined as missing).
    """
    bound = set() if bound is None else bound
    try:
        tree = ast.parse(strip_ipython(source))
    except SyntaxError:
        return ""
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, keep):
            body.append(node)
        elif _is_light_assignment(node, bound):
            # a constant that cannot be computed (e.g. 1 / 0) is skipped, not a load error
            body.append(ast.Try(body=[node], handlers=[ast.ExceptHandler(
                type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])], orelse=[], finalbody=[]))
        else:
            continue
        bound |= _bound_names(node)
    return ast.unparse(ast.Module(body=body, type_ignores=[])) if body else ""


def _top_level(source: str) -> list[ast.stmt]:
    """The top-level statements of a cell (none when it does not parse)."""
    try:
        return ast.parse(strip_ipython(source)).body
    except SyntaxError:
        return []


def _all_bound(source: str) -> set[str]:
    """Every top-level name a cell binds: definitions, imports and assignments of any shape."""
    names: set[str] = set()
    for node in _top_level(source):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
                             ast.Assign, ast.AnnAssign, ast.AugAssign)):
            names |= _bound_names(node)
    return names


@dataclass(frozen=True)
class CodeUnit:
    """A piece of code to execute in the grading namespace."""

    label: str
    source: str


def grading_code(cells: list[Cell]) -> list[CodeUnit]:
    """The code units of a notebook, in order, that define what is graded."""
    units = []
    bound = {"np"}  # the grading namespace imports numpy as np
    for cell in cells:
        if cell.cell_type != "code" or cell.is_test:
            continue
        if cell.solution:
            code = strip_ipython(cell.source)
            label = cell.grade_id or f"cell {cell.index}"
            bound |= _all_bound(code)
        else:
            code = definitions_only(cell.source, bound)
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
