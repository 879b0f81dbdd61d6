"""Optional dependencies: pyproject.toml's extras, checked where a command first needs one.

The core install (``pip install mlplab``) generates, grades and autogrades on one machine. The packages of
``mlplab serve``/``hub`` (``service``), the dask backend (``dask``), a PostgreSQL gradebook (``postgres``) and
mutation testing (``mutation``) are extras: the modules that use them import them lazily, after
:func:`require` has said in one sentence which extra to install when one is missing.
"""

from __future__ import annotations

import importlib.util

# the importable module of each optional distribution -> its extra in pyproject.toml
EXTRA_OF = {
    "jupyterhub": "service",
    "watchfiles": "service",
    "dask": "dask",
    "distributed": "dask",
    "psycopg2": "postgres",
    "cosmic_ray": "mutation",
}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


def require(what: str, *modules: str) -> None:
    """Raise :class:`MissingExtra` unless every module in ``modules`` can be imported (none is imported here).

    ``what`` names the feature in the message, e.g. ``"mlplab serve"``.
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if not missing:
        return
    extras = sorted({EXTRA_OF[name] for name in missing})
    packages = ", ".join(missing)
    install = " ".join(f"'mlplab[{extra}]'" for extra in extras)
    raise MissingExtra(
        f"{what} needs {packages}, which is not installed: pip install {install} "
        f"(the {' and '.join(extras)} extra{'s' if len(extras) > 1 else ''} of mlplab)",
        name=missing[0],
    )


def require_db_driver(db_url: str) -> None:
    """A PostgreSQL gradebook URL needs psycopg2 (the ``postgres`` extra); SQLite needs nothing."""
    dialect = db_url.split(":", 1)[0].lower()
    if dialect in ("postgresql", "postgresql+psycopg2"):
        require(f"the gradebook at {dialect}://...", "psycopg2")
