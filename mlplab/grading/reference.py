"""The reference solution, read from the instructor's source notebooks.

There is exactly one reference implementation: the solution cells of
``source/mlp/*.ipynb``. The grading process executes it (it is trusted code)
to compute expected values, and sends selected parts of it into a student
worker when a composite task must not depend on the student's own earlier
parts (fault isolation: a bug in ``affine_backward`` costs points once).
"""

from __future__ import annotations

import sys
import types
from functools import lru_cache
from pathlib import Path

from mlplab.course.tasks import course_root, source_dir, source_notebooks
from mlplab.notebooks import CodeUnit, defined_names, grading_code, read_cells


@lru_cache(maxsize=8)
def _units(notebook: Path) -> tuple[CodeUnit, ...]:
    return tuple(grading_code(read_cells(notebook)))


def notebook_units(stem: str, root: Path | None = None) -> list[CodeUnit]:
    """Reference code units of one source notebook."""
    for nb in source_notebooks(root):
        if nb.stem == stem:
            return list(_units(nb))
    raise KeyError(f"no source notebook {stem}")


def units_defining(names: tuple[str, ...] | list[str], root: Path | None = None) -> list[CodeUnit]:
    """The reference units (from any source notebook) that define any of ``names``.

    Imports of those notebooks come first so the definitions can run.
    """
    wanted = set(names)
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
    return chosen


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
