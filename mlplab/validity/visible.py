"""Which catalogued bugs the notebooks' visible checks already catch (before a student submits).

For each bug of a notebook whose visible checks run on a CPU in moments (all five; 05 uses tiny models and no
data), the notebook's code is built the way a student's kernel holds it: the reference code of the earlier
notebooks and this notebook's definitions (``grading_code``) with the bug's cell(s) swapped in, all in one
namespace. Then every visible check cell (grade id ``*_check``) after the bug's cell runs in notebook order,
with the data cells (``*_data``) it reads; the bug is caught when one of them raises (a failed ``assert`` or any
other error, which a student sees as well). Runs in-process: the bugs and checks are the course's own trusted code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import multiprocessing
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlplab.coursedir import CourseDir, course_root, source_dir, source_notebooks
from mlplab.notebooks import Cell, grading_code, read_cells

MEASURED = ("01_layers", "02_normalization", "03_fc_net", "04_optim_solver", "05_mlp_vs_cnn")  # 05: tiny, no data
CHECK_SECONDS = 300  # a check running longer counts as caught (a student sees it hang)


@dataclass(frozen=True)
class VisibleJob:
    name: str  # the bug's name ("" for the unchanged reference)
    stem: str
    edits: tuple[tuple[str, str], ...]  # (solution cell grade_id, new source)


class _CheckTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _CheckTimeout(f"ran longer than {CHECK_SECONDS} s")


def _checks_after(cells: list[Cell], edited: set[str]) -> list[Cell]:
    """The visible check cells after the first edited cell (all of them when nothing is edited), with the
    data cells they read, in notebook order."""
    start = min((c.index for c in cells if c.grade_id in edited), default=-1)
    chosen = []
    for cell in cells:
        if cell.cell_type != "code" or cell.solution or cell.grade or not cell.grade_id:
            continue
        if cell.grade_id.endswith("_data") or (cell.grade_id.endswith("_check") and cell.index > start):
            chosen.append(cell)
    return chosen


def run_visible(job: VisibleJob, root: Path | None = None) -> dict:
    """Run the job's visible checks; ``{"name", "stem", "caught_by": grade_id or None, "message", "seconds"}``."""
    from mlplab.validity.jobs import worker_init

    worker_init()
    root = (root or course_root()).resolve()
    started = time.monotonic()
    namespace: dict = {"__name__": "__main__", "display": lambda *a, **k: None, "Markdown": str}
    exec("import numpy as np\nimport matplotlib\nmatplotlib.use('Agg')", namespace)
    edits = dict(job.edits)
    cells: list[Cell] = []
    for nb in source_notebooks(root):
        nb_cells = read_cells(nb)
        if nb.stem == job.stem:
            nb_cells = [
                dataclasses.replace(c, source=edits[c.grade_id]) if c.grade_id in edits else c for c in nb_cells
            ]
            cells = nb_cells
        with contextlib.redirect_stdout(io.StringIO()):
            for unit in grading_code(nb_cells, CourseDir(root).labutils):
                # a bug that breaks its own cell shows in the checks
                with contextlib.suppress(Exception):
                    exec(compile(unit.source, f"<{nb.stem} {unit.label}>", "exec"), namespace)
        if nb.stem == job.stem:
            break
    result: dict = {"name": job.name, "stem": job.stem, "caught_by": None, "message": ""}
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        for cell in _checks_after(cells, set(edits)):
            import numpy as np

            np.random.seed(0)  # the same random state whatever ran before in this process
            signal.alarm(CHECK_SECONDS)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(cell.source, f"<{job.stem} {cell.grade_id}>", "exec"), namespace)
            except BaseException as exc:  # noqa: BLE001 - any failure is what a student would see
                if isinstance(exc, KeyboardInterrupt):
                    raise
                if cell.grade_id.endswith("_check"):
                    result.update(caught_by=cell.grade_id, message=f"{type(exc).__name__}: {exc}"[:300])
                    break
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
        import matplotlib.pyplot as plt

        plt.close("all")
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def visible_catches(plan: Any, changes: list[tuple[str, str, tuple[tuple[str, str], ...]]], processes: int = 2,
                    progress: Any = None) -> dict:
    """``{"reference": {stem: result}, "bugs": {name: result}}`` for ``changes`` = ``[(name, stem, edits)]``
    of the measured notebooks (the reference of each notebook must pass all of its checks)."""
    jobs = [VisibleJob("", stem, ()) for stem in MEASURED if (source_dir(plan.root) / f"{stem}.ipynb").exists()]
    jobs += [VisibleJob(name, stem, edits) for name, stem, edits in changes if stem in MEASURED]
    ctx = multiprocessing.get_context("fork")
    results: list[dict] = []
    with ctx.Pool(max(1, processes), maxtasksperchild=8) as pool:
        for result in pool.imap_unordered(run_visible, jobs):
            results.append(result)
            if progress:
                progress(f"visible checks: {result['name'] or 'reference ' + result['stem']} "
                         f"{'caught by ' + result['caught_by'] if result['caught_by'] else 'not caught'} "
                         f"({result['seconds']} s)")
    return {
        "reference": {r["stem"]: r for r in results if not r["name"]},
        "bugs": {r["name"]: r for r in results if r["name"]},
    }
