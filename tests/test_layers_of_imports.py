"""docs/architecture.md: "No import runs back up a layer." Every ``import mlplab...`` in the toolkit (module level or
inside a function) is read with ``ast`` and checked against the layer order documented there; code that runs
inside the sandbox imports nothing of the host side."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import mlplab

from .helpers.paths import ROOT

PACKAGE = Path(mlplab.__file__).parent

# lowest first; a module may import its own layer and those below (the order of docs/architecture.md)
LAYERS = [
    ("config", "extras", "templating", "notebooks", "coursedir"),
    ("sandbox",),
    ("grading",),
    ("course",),
    ("validity",),
    ("integrity",),
    ("autograde",),
    ("service", "demo"),
    ("cli", "__main__", "grade_server"),
]
# (importer, imported): documented in docs/architecture.md with the reason
EXCEPTIONS = {
    # the hook is the entry point nbgrader's hidden grade cells call by this module path (fixed in every released
    # notebook); it translates its messages for a translated edition like the top-level commands do
    ("mlplab.grading.nbgrader_hook", "mlplab.course.i18n"),
}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else module
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module}: not in any layer of LAYERS (add it here and to docs/architecture.md)")


def _module_name(path: Path) -> str:
    parts = ("mlplab", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("mlplab.")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("mlplab."):
                found.add(node.module)
            elif node.module == "mlplab":  # from mlplab import coursedir
                found |= {f"mlplab.{alias.name}" for alias in node.names}
    return found


def _edges() -> list[tuple[str, str]]:
    return sorted((_module_name(p), imported) for p in PACKAGE.rglob("*.py") for imported in _imports(p))


def test_no_import_runs_back_up_a_layer():
    upward = [
        f"{importer} (layer {_layer(importer)}) imports {imported} (layer {_layer(imported)})"
        for importer, imported in _edges()
        if _layer(imported) > _layer(importer) and (importer, imported) not in EXCEPTIONS
    ]
    assert not upward, "\n".join(upward)


def test_code_inside_the_sandbox_imports_nothing_of_the_host_side():
    inside = [(a, b) for a, b in _edges() if a.startswith("mlplab.sandbox.inside") and not b.startswith(
        ("mlplab.sandbox.inside", "mlplab.sandbox.values", "mlplab.notebooks"))]
    assert not inside, inside


def test_every_exception_is_still_needed_and_documented():
    edges = set(_edges())
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    for importer, imported in EXCEPTIONS:
        assert (importer, imported) in edges, f"{importer} no longer imports {imported}: drop the exception"
        assert importer.removeprefix("mlplab.").replace(".", "/") in architecture


def test_the_layer_order_here_is_the_one_architecture_md_documents():
    architecture = (ROOT / "docs" / "architecture.md").read_text()
    line = next(l for l in architecture.splitlines() if l.startswith("Layers, lowest first:"))
    documented = [re.findall(r"`([\w/.]+?)(?:\.py|/)?`", part) for part in line.split(":", 1)[1].split(";")]
    assert [tuple(n for n in names) for names in documented] == [
        tuple(n for n in names if n != "__main__") for names in LAYERS
    ]


def test_an_upward_import_is_caught(tmp_path):
    """The check itself: a grading module importing the gradebook would be reported."""
    assert _layer("mlplab.course.gradebook") > _layer("mlplab.grading.runner")
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from mlplab.course.gradebook import Writer\n")
    assert _imports(probe) == {"mlplab.course.gradebook"}
