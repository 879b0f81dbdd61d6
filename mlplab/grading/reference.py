"""The reference solution, read from the instructor's source notebooks.

There is exactly one reference implementation: the solution cells of
``source/mlp/*.ipynb``. The grading process executes it (it is trusted code)
to compute expected values, and sends selected parts of it into a student
worker when a composite task must not depend on the student's own earlier
parts (fault isolation: a bug in ``affine_backward`` costs points once).
"""

from __future__ import annotations

import ast
import sys
import textwrap
import types
from functools import lru_cache
from pathlib import Path

from mlplab.coursedir import course_root, source_dir, source_notebooks
from mlplab.notebooks import CodeUnit, defined_names, grading_code, read_cells


def _units(notebook: Path) -> tuple[CodeUnit, ...]:
    info = notebook.stat()
    return _parsed_units(notebook, info.st_mtime_ns, info.st_size)


@lru_cache(maxsize=16)
def _parsed_units(notebook: Path, mtime_ns: int, size: int) -> tuple[CodeUnit, ...]:
    return tuple(grading_code(read_cells(notebook), notebook.parent / "labutils"))  # a source notebook's course


def notebook_units(stem: str, root: Path | None = None) -> list[CodeUnit]:
    """Reference code units of one source notebook."""
    for nb in source_notebooks(root):
        if nb.stem == stem:
            return list(_units(nb))
    raise KeyError(f"no source notebook {stem}")


def units_defining(names: tuple[str, ...] | list[str], root: Path | None = None) -> list[CodeUnit]:
    """The reference units (from any source notebook) that define any of ``names``.

    Imports of those notebooks come first so the definitions can run. A dotted name
    ``"Class.method"`` replaces one method of the student's own class by the reference method
    (:func:`method_patch`), so e.g. the Solver's training tests do not pay for a bug in its
    ``check_accuracy``; those units come after every whole definition.

    Cached per (names, source notebooks): parsing the reference cost a tenth of a second per submission
    in a grading process that grades many (the reference does not depend on any submission).
    """
    notebooks = tuple(source_notebooks(root))
    stamps = tuple((nb, nb.stat().st_mtime_ns, nb.stat().st_size) for nb in notebooks)
    return list(_units_defining(tuple(names), stamps, root))


@lru_cache(maxsize=64)
def _units_defining(names: tuple[str, ...], stamps: tuple, root: Path | None) -> tuple[CodeUnit, ...]:
    return tuple(_find_units_defining(names, root))


def _find_units_defining(names: tuple[str, ...], root: Path | None) -> list[CodeUnit]:
    wanted = {n for n in names if "." not in n}
    methods = [n for n in names if "." in n]
    chosen: list[CodeUnit] = []
    found: set[str] = set()
    for nb in source_notebooks(root):
        units = _units(nb)
        picked = [u for u in units if defined_names(u.source) & wanted]
        if picked:
            imports = [u for u in units if not defined_names(u.source) and u not in picked]
            chosen.extend(CodeUnit(f"reference {nb.stem} {u.label}", u.source) for u in imports + picked)
            for u in picked:
                found |= defined_names(u.source)
    missing = wanted - found
    if missing:
        raise KeyError(f"reference defines no {sorted(missing)}")
    return chosen + [method_patch(name, root) for name in methods]


def method_patch(dotted: str, root: Path | None = None) -> CodeUnit:
    """A unit that sets ``Class.method`` of the student's class to the reference method.

    ``dotted`` is ``"Class.method"``. The unit does nothing when the student defines no such class
    (the task's own checks say so), so it never adds a load error of its own.
    """
    class_name, method = dotted.split(".", 1)
    for nb in source_notebooks(root):
        for unit in _units(nb):
            for node in ast.parse(unit.source).body:
                if not (isinstance(node, ast.ClassDef) and node.name == class_name):
                    continue
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == method:
                        code = textwrap.dedent(ast.get_source_segment(unit.source, item, padded=True) or "")
                        alias = f"_mlplab_reference_{class_name}_{method}"
                        code = code.replace(f"def {method}(", f"def {alias}(", 1)
                        code += (f"\nif isinstance(globals().get({class_name!r}), type):\n"
                                 f"    {class_name}.{method} = {alias}\n"
                                 f"del {alias}\n")
                        return CodeUnit(f"reference {nb.stem} {dotted}", code)
    raise KeyError(f"reference defines no {dotted}")


@lru_cache(maxsize=8)
def _namespace(stem: str, root: Path) -> types.SimpleNamespace:
    provided = str(source_dir(root))  # the reference imports the provided helpers (labutils)
    if provided not in sys.path:
        sys.path.insert(0, provided)
    namespace: dict = {"__name__": f"reference_{stem}"}
    exec("import numpy as np", namespace)
    for nb in source_notebooks(root):
        for unit in _units(nb):
            exec(compile(unit.source, f"<reference {nb.stem} {unit.label}>", "exec"), namespace)
        if nb.stem == stem:
            break
    return types.SimpleNamespace(**{k: v for k, v in namespace.items() if not k.startswith("__")})


def reference(stem: str, root: Path | None = None) -> types.SimpleNamespace:
    """Everything the source notebooks up to and including ``stem`` define."""
    return _namespace(stem, (root or course_root()).resolve())
