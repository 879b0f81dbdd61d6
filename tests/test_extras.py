"""Optional dependencies (pyproject's extras) are imported lazily and, when missing, named in one sentence."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlplab.extras import EXTRA_OF, MissingExtra, require, require_db_driver

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def without(monkeypatch):
    """Make the named top-level modules look uninstalled to :func:`importlib.util.find_spec`."""
    real = importlib.util.find_spec
    hidden: set[str] = set()

    def find_spec(name, package=None):
        return None if name.split(".")[0] in hidden else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return hidden.update


def test_require_names_the_extra_and_the_pip_command(without):
    without({"jupyterhub"})
    with pytest.raises(MissingExtra) as err:
        require("mlplab serve", "jupyterhub", "watchfiles")
    assert str(err.value) == (
        "mlplab serve needs jupyterhub, which is not installed: pip install 'mlplab[service]' "
        "(the service extra of mlplab)"
    )
    assert isinstance(err.value, ImportError) and err.value.name == "jupyterhub"


def test_require_passes_when_installed():
    require("mlplab autograde --backend dask", "dask", "distributed")


def test_serve_and_hub_commands_stop_before_importing_the_hub(without):
    from mlplab.service.cli import hub_command, serve_command

    without({"watchfiles"})
    for command in (serve_command, hub_command):
        with pytest.raises(MissingExtra, match=r"pip install 'mlplab\[service\]'"):
            command(argparse.Namespace(course=None, exchange=None, port=None, rescan=1.0, dir="x", attempts=None))


def test_autograde_dask_backend_names_the_dask_extra(without, tmp_path):
    from mlplab.autograde import autograde

    without({"distributed"})
    with pytest.raises(MissingExtra, match=r"--backend dask needs distributed.*pip install 'mlplab\[dask\]'"):
        autograde(tmp_path, backend="dask", progress=False)


def test_mutation_cases_name_the_mutation_extra(without):
    from mlplab.validity.mutation import mutation_cases

    without({"cosmic_ray"})
    with pytest.raises(MissingExtra, match=r"pip install 'mlplab\[mutation\]'"):
        mutation_cases({"affine_forward"})


def test_postgres_gradebook_url_names_the_postgres_extra(without):
    require_db_driver("sqlite:////tmp/gradebook.db")
    without({"psycopg2"})
    require_db_driver("sqlite:////tmp/gradebook.db")
    with pytest.raises(MissingExtra, match=r"pip install 'mlplab\[postgres\]'"):
        require_db_driver("postgresql+psycopg2://u:p@127.0.0.1:5432/db")


def test_core_commands_import_no_optional_package():
    """Importing the CLI, grading, autograde, generation and the reports works with every extra uninstalled."""
    blocked = sorted(EXTRA_OF) + ["playwright", "xdist"]
    script = textwrap.dedent(
        f"""
        import sys
        BLOCKED = {blocked!r}
        for name in BLOCKED:  # `import name` raises ModuleNotFoundError, find_spec(name) is None
            sys.modules[name] = None
        import mlplab.cli, mlplab.autograde, mlplab.grading.runner, mlplab.course.generate, mlplab.course.report
        import mlplab.course.gradebook, mlplab.integrity.similarity, mlplab.validity.validate
        mlplab.cli.build_parser()
        print(sorted(m for m, mod in sys.modules.items() if m.split(".")[0] in BLOCKED and mod is not None))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_the_cli_says_which_extra_to_install_in_one_sentence():
    script = "import sys; sys.modules['watchfiles'] = None; from mlplab.cli import main; sys.exit(main(['serve']))"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.strip() == (
        "mlplab serve needs watchfiles, which is not installed: pip install 'mlplab[service]' "
        "(the service extra of mlplab)"
    )
