"""Use the code you wrote in an earlier notebook of this lab.

``import_notebook_code("01_layers.ipynb", "02_normalization.ipynb", namespace=globals())``
reads those notebooks (paths relative to the current working directory, i.e. the folder of
the notebook you are running) and executes, in ``namespace``:

* your answer cells (nbgrader solution cells), whole;
* from every other code cell only light top-level statements: ``import`` statements,
  ``def``/``class`` definitions and assignments of constants (``AXIS_BATCH = 0``: values that
  call no function except cheap constructors such as ``tuple()`` or ``np.float32``), so
  experiments, training loops, plots and prints are NOT re-run. The graders load your
  notebooks by the same rule;
* never the hidden test cells.

Save the earlier notebook (Ctrl+S) after changing it: this reads the file on disk.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

__all__ = ["import_notebook_code", "notebook_code"]


def _text(raw) -> str:
    if isinstance(raw, list):
        return "".join(p for p in raw if isinstance(p, str))
    return raw if isinstance(raw, str) else ""


def _strip_ipython(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


_CHEAP_CALLS = frozenset({
    "int", "float", "str", "bool", "tuple", "list", "dict", "set", "frozenset", "range", "slice", "len",
    "min", "max", "abs", "round",
})
_CHEAP_NUMPY = frozenset({
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "dtype",
})
_MODULE_ROOTS = frozenset({"np", "numpy", "math", "torch", "nn"})
_BUILTINS = frozenset(dir(__import__("builtins")))
_DEFINITIONS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _cheap(value: ast.AST) -> bool:
    """Evaluating ``value`` calls only cheap constructors, indexes nothing and formats nothing."""
    todo = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Lambda):
            todo.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            continue
        if isinstance(node, ast.Call):
            f = node.func
            ok = (isinstance(f, ast.Name) and f.id in _CHEAP_CALLS) or (
                isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name)
                and f.value.id in ("np", "numpy") and f.attr in _CHEAP_NUMPY
            )
            if not ok:
                return False
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Subscript, ast.JoinedStr)):
            return False
        if isinstance(node, ast.Attribute):
            root = node
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in _MODULE_ROOTS):
                return False
        todo.extend(ast.iter_child_nodes(node))
    return True


def _reads(value: ast.AST) -> set[str]:
    names, local, todo = set(), set(), [value]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.comprehension):
            local |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        todo.extend(ast.iter_child_nodes(node))
    return names - local


def _binds(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def _constant(node: ast.stmt, bound: set[str]) -> bool:
    if isinstance(node, ast.Assign):
        targets, value = node.targets, node.value
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
        targets, value = [node.target], node.value
    else:
        return False
    plain = (ast.Name, ast.Tuple, ast.List, ast.Starred, ast.Load, ast.Store)
    if not all(isinstance(n, plain) for t in targets for n in ast.walk(t)):
        return False
    reads = _reads(value) | (_binds(node) if isinstance(node, ast.AugAssign) else set())
    return _cheap(value) and reads <= bound | _BUILTINS


def _all_binds(source: str) -> set[str]:
    try:
        tree = ast.parse(_strip_ipython(source))
    except SyntaxError:
        return set()
    kinds = _DEFINITIONS + (ast.Assign, ast.AnnAssign, ast.AugAssign)
    return set().union(*(_binds(n) for n in tree.body if isinstance(n, kinds)), set())


def _definitions_only(source: str, where: str, bound: set[str] | None = None) -> str:
    """The light top-level statements of a cell (imports, defs, classes, constants); see the module doc."""
    bound = set() if bound is None else bound
    try:
        tree = ast.parse(_strip_ipython(source))
    except SyntaxError as exc:
        raise SyntaxError(f"{where}: this cell has a syntax error (line {exc.lineno}): {exc.msg}") from None
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, _DEFINITIONS):
            body.append(node)
        elif _constant(node, bound):
            handler = ast.ExceptHandler(type=ast.Name("Exception", ast.Load()), name=None, body=[ast.Pass()])
            body.append(ast.Try(body=[node], handlers=[handler], orelse=[], finalbody=[]))
        else:
            continue
        bound |= _binds(node)
    return ast.unparse(ast.Module(body=body, type_ignores=[])) if body else ""


def notebook_code(path: str | Path) -> list[tuple[str, str]]:
    """The ``(label, source)`` pieces of a notebook that :func:`import_notebook_code` executes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"notebook {path} not found (looked in {Path.cwd()}). Run this notebook from the assignment "
            "folder, next to the earlier notebooks, and keep their file names."
        )
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not a readable notebook ({exc}); open and re-save it in JupyterLab") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a Jupyter notebook (no cells)")
    pieces = []
    bound = {"np"}
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        nbg = meta.get("nbgrader") if isinstance(meta.get("nbgrader"), dict) else {}
        solution, grade = bool(nbg.get("solution", False)), bool(nbg.get("grade", False))
        if grade and not solution:
            continue  # hidden tests
        label = f"{path.name}, cell {index}" + (f" ({nbg['grade_id']})" if nbg.get("grade_id") else "")
        source = _text(cell.get("source"))
        if solution:
            code = _strip_ipython(source)
            bound |= _all_binds(source)
        else:
            code = _definitions_only(source, label, bound)
        if code.strip():
            pieces.append((label, code))
    return pieces


def import_notebook_code(*notebook_paths: str | Path, namespace: dict) -> None:
    """Execute the answer cells and definitions of ``notebook_paths`` (in order) in ``namespace``.

    Pass ``namespace=globals()`` from a notebook. Raises FileNotFoundError for a missing notebook,
    and re-raises errors of your own cells with the notebook and cell named.
    """
    if not isinstance(namespace, dict):
        raise TypeError("pass namespace=globals()")
    for nb_path in notebook_paths:
        for label, code in notebook_code(nb_path):
            try:
                exec(compile(code, f"<{label}>", "exec"), namespace)
            except NotImplementedError:
                # an unanswered placeholder: its function body raises only when called, but a cell that
                # raises at top level is skipped so the other answers still load
                print(f"note: {label} is not answered yet (NotImplementedError)")
            except Exception as exc:
                raise RuntimeError(f"running {label} failed: {type(exc).__name__}: {exc}") from exc
