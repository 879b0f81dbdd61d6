"""Use the code you wrote in an earlier notebook of this lab.

``import_notebook_code("01_layers.ipynb", "02_normalization.ipynb", namespace=globals())``
reads those notebooks (paths relative to the current working directory, i.e. the folder of
the notebook you are running) and executes, in ``namespace``:

* your answer cells (nbgrader solution cells), whole;
* from every other code cell only the top-level ``import`` statements and ``def``/``class``
  definitions, so experiments, training loops and plots are NOT re-run;
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


def _definitions_only(source: str, where: str) -> str:
    try:
        tree = ast.parse(_strip_ipython(source))
    except SyntaxError as exc:
        raise SyntaxError(f"{where}: this cell has a syntax error (line {exc.lineno}): {exc.msg}") from None
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    body = [node for node in tree.body if isinstance(node, keep)]
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
        code = _strip_ipython(source) if solution else _definitions_only(source, label)
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
