"""Build submission folders for tests: the release notebooks, filled the way a student would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mlplab.validity.mutants import edit_notebook, solution_sources

from .paths import RELEASE, SOURCE


def reference_cells(stem: str) -> dict[str, str]:
    return solution_sources(SOURCE / f"{stem}.ipynb")


def build(
    folder: Path,
    stems: tuple[str, ...] = ("01_layers",),
    replace: dict[str, str] | None = None,
    prepend: dict[str, str] | None = None,
    extra_cells: dict[str, list[str]] | None = None,
) -> Path:
    """A submission with the reference solutions of ``stems`` and the given changes.

    replace: grade_id -> new source of that solution cell;
    prepend: grade_id -> code put before the reference source of that cell;
    extra_cells: stem -> sources of new code cells a student added at the end.
    """
    folder.mkdir(parents=True, exist_ok=True)
    replace, prepend, extra_cells = replace or {}, prepend or {}, extra_cells or {}
    for stem in stems:
        target = folder / f"{stem}.ipynb"
        shutil.copyfile(RELEASE / f"{stem}.ipynb", target)
        cells = reference_cells(stem)
        for grade_id, code in replace.items():
            if grade_id in cells:
                cells[grade_id] = code
        for grade_id, code in prepend.items():
            if grade_id in cells:
                cells[grade_id] = code + "\n" + cells[grade_id]
        edit_notebook(target, cells)
        if stem in extra_cells:
            nb = json.loads(target.read_text())
            for source in extra_cells[stem]:
                nb["cells"].append(
                    {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
                )
            target.write_text(json.dumps(nb))
    return folder


def scores(result: dict) -> dict[str, float]:
    return {task: info["score"] for task, info in result["tasks"].items()}
