"""The requirement table: every requirement a docstring states, mapped to the checks that grade it.

A *requirement sentence* is a sentence of a docstring in a solution cell (functions, classes and
methods the students write) that uses the vocabulary of a requirement (``must``, ``do not``,
``exactly``, ``not modified``, ``dtype``, ``default``, ``use``, ``call``, ...; see
:data:`REQUIREMENT_WORDS`). ``grader_tests/requirements.py`` maps each of them, by a quoted fragment,
to the grader tests that enforce it, or marks it ungraded with a reason. :func:`requirement_table`
joins the two; the catalogue renders it and ``tests/test_grader_validity.py`` fails when a sentence
is unmapped, a fragment no longer occurs in its cell, or a named check does not exist.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from mlplab.coursedir import CourseDir, course_root, source_notebooks
from mlplab.validity.mutants import solution_sources

REQUIREMENT_WORDS = re.compile(
    r"\b(must|do not|don't|never|exactly|not modified|neither|only|required|always|use|call|keep|dtype|"
    r"default|biased|divides?)\b",
    re.I,
)
SENTENCE_END = re.compile(r"(?<=[.;:])\s+(?=[A-Z`(*])")


@dataclass(frozen=True)
class Sentence:
    stem: str
    cell: str
    owner: str  # the function or class whose docstring holds it
    text: str


def requirement_sentences(root: Path | None = None) -> list[Sentence]:
    """The requirement sentences of every solution cell's docstrings, in notebook order."""
    found = []
    for nb in source_notebooks(root):
        for cell, source in solution_sources(nb).items():
            try:
                tree = ast.parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    continue
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                for text in SENTENCE_END.split(" ".join(doc.split())):
                    if REQUIREMENT_WORDS.search(text):
                        found.append(Sentence(nb.stem, cell, node.name, text))
    return found


def grader_test_names(root: Path | None = None) -> set[str]:
    """Names of the test functions in grader_tests/ (without parameters)."""
    names = set()
    for path in sorted(CourseDir.here(root).graders.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        names |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}
    return names


def requirement_table(root: Path | None = None) -> tuple[list[dict], list[str]]:
    """``(rows, problems)``: one row per requirement sentence with its checks or the reason it is ungraded."""
    import importlib.util

    root = (root or course_root()).resolve()
    spec = importlib.util.spec_from_file_location("mlplab_requirements", CourseDir(root).graders / "requirements.py")
    if spec is None or spec.loader is None:
        return [], ["grader_tests/requirements.py is missing"]
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    mapping = list(module.REQUIREMENTS)
    sources = {cell: src for nb in source_notebooks(root) for cell, src in solution_sources(nb).items()}
    tests = grader_test_names(root)
    problems = []
    flat = {cell: " ".join(src.split()) for cell, src in sources.items()}
    for cell, fragment, checks, reason in mapping:
        if cell not in flat or fragment not in flat[cell]:
            problems.append(f"requirements.py: {fragment!r} no longer occurs in {cell}")
        for check in checks:
            if check not in tests:
                problems.append(f"requirements.py: no grader test {check} (for {fragment!r})")
        if not checks and not reason:
            problems.append(f"requirements.py: {fragment!r} has neither checks nor a reason it is ungraded")
    rows = []
    for sentence in requirement_sentences(root):
        matches = [m for m in mapping if m[0] == sentence.cell and m[1] in sentence.text]
        if not matches:
            problems.append(f"{sentence.cell}: requirement not mapped in grader_tests/requirements.py: "
                            f"{sentence.text[:120]!r}")
        checks = sorted({c for m in matches for c in m[2]})
        reasons = [m[3] for m in matches if m[3]]
        rows.append({"cell": sentence.cell, "owner": sentence.owner, "text": sentence.text, "checks": checks,
                     "ungraded": "; ".join(reasons) if not checks else ""})
    return rows, problems
