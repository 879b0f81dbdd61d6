"""The solution notebooks run top to bottom in quick mode, the experiment cells included.

Measured on 2 idle cores: 01-04 about 10 s each. 05 (every experiment over three seeds: 27 small runs): 108 s
on the shared 2-core machine at load 5-7 (docs/benchmarks.md, `benchmarks/run.py --only notebook05_quick`).
"""

from __future__ import annotations

import shutil

import nbformat
import pytest

from .helpers.paths import SOLUTIONS, data_dir

pytestmark = [pytest.mark.needs_data, pytest.mark.slow]

EXPERIMENT_CELLS = {  # cell id -> a text its output must show
    "01_layers.ipynb": {"gradcheck-evidence": "numerical gradient"},
    "02_normalization.ipynb": {"dropout-scaling-evidence": "no division"},
    "03_fc_net.ipynb": {"bn-scale-sweep": "batchnorm, ws=1", "641e0d81": "mean ± standard error",
                        "norm-batch-size": "layernorm, batch size 4", "dropout-regularisation": "gap (points)"},
    "04_optim_solver.ipynb": {"optimizer-fair": "-> best", "mnist-ablation": "mean ± standard error",
                              "fc-net-challenge": "saved fc_net_challenge.npz"},
    "05_mlp_vs_cnn.ipynb": {"e36e0dbd": "[95% interval]", "89bdbbfd": "over 3 seeds",
                            "evidence-permutation": "drop (paired by seed)", "evidence-confusion": "largest drops",
                            "evidence-templates": "untrained", "evidence-sweep": "5 x 1024",
                            "reference-figures": "REFERENCE FIGURES: PENDING"},
}


@pytest.mark.parametrize("name", sorted(EXPERIMENT_CELLS))
def test_solution_notebook_runs_in_quick_mode(name, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    folder = tmp_path / "mlp"
    shutil.copytree(SOLUTIONS, folder, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    monkeypatch.setenv("MLPLAB_QUICK", "1")
    monkeypatch.setenv("MLPLAB_DATA", str(data_dir()))
    nb = nbformat.read(folder / name, as_version=4)
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    cells = {c.id: c for c in nb.cells}
    for cell_id, expected in EXPERIMENT_CELLS[name].items():
        shown = nbformat.writes(nbformat.v4.new_notebook(cells=[cells[cell_id]]))
        assert expected in shown and '"output_type": "error"' not in shown, f"{name}/{cell_id}: {shown[:3000]}"
