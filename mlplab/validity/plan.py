"""What a validation grades: the course's task table, its bugs and correct variants, the reference sources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mlplab.coursedir import Task, course_root, source_notebooks, submitted_file_tasks, tasks
from mlplab.validity.mutants import Change, load_all, solution_sources


@dataclass
class Plan:
    root: Path
    table: dict[str, Task]
    mutants: list[Change]
    variants: list[Change]
    cell_notebook: dict[str, str]  # cell grade_id -> notebook stem
    references: dict[str, dict[str, str]]  # stem -> cell -> reference source (markers stripped)


def make_plan(root: Path | None = None) -> Plan:
    """The tasks a validation grades: every task except those that grade a submitted file (no code of the
    reference reaches them, so bugs and seeds cannot tell anything about them; tests/ cover them)."""
    root = (root or course_root()).resolve()
    references = {nb.stem: solution_sources(nb) for nb in source_notebooks(root)}
    cell_notebook = {cell: stem for stem, cells in references.items() for cell in cells}
    skipped = submitted_file_tasks(root)
    table = {t: v for t, v in tasks(root).items() if t not in skipped}
    return Plan(root, table, load_all("mutants", root), load_all("variants", root), cell_notebook, references)
