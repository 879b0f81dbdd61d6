"""The solution notebooks run top to bottom in quick mode, new experiment cells included.

01, 02 and 04 run here (about 2 minutes together on 2 cores); 03 (overfitting grids, about 3-6 minutes)
and 05 (four CNN/MLP runs plus the evidence runs, about 12 minutes on 2 busy cores) are too slow for
the suite: their experiment code is tested in tests/test_sweeps.py and tests/test_evidence.py.
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from .conftest import SOLUTIONS, data_dir

EXPERIMENT_CELLS = {  # cell id -> a text its output must show
    "01_layers.ipynb": {"gradcheck-evidence": "numerical gradient"},
    "02_normalization.ipynb": {"dropout-scaling-evidence": "no division"},
    "03_fc_net.ipynb": {"bn-scale-sweep": "batchnorm, ws=1"},
    "04_optim_solver.ipynb": {"optimizer-fair": "-> best", "mnist-ablation": "without batch norm"},
}


@pytest.mark.parametrize("name", sorted(EXPERIMENT_CELLS))
def test_solution_notebook_runs_in_quick_mode(name, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    folder = tmp_path / "mlp"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    monkeypatch.setenv("MLPLAB_QUICK", "1")
    monkeypatch.setenv("MLPLAB_DATA", str(data_dir()))
    nb = nbformat.read(folder / name, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    cells = {c.id: c for c in nb.cells}
    for cell_id, expected in EXPERIMENT_CELLS[name].items():
        shown = nbformat.writes(nbformat.v4.new_notebook(cells=[cells[cell_id]]))
        assert expected in shown and '"output_type": "error"' not in shown, f"{name}/{cell_id}: {shown[:3000]}"
