"""Synthetic classes for measuring the similarity report: answers, the disguises copiers use, and
writing a class to disk in nbgrader's ``submitted/STUDENT/ASSIGNMENT`` layout (release notebooks
with their solution cells filled). Nothing here grades or runs student code.
"""

from __future__ import annotations

import ast
import io
import json
import keyword
import random
import re
import shutil
import tokenize
from pathlib import Path

from mlplab.notebooks import solution_code_cells
from mlplab.validity.mutants import edit_notebook


def bound_names(code: str) -> set[str]:
    """Arguments and local variables bound in ``code`` (not function/class names, not imports)."""
    tree = ast.parse(code)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {n for n in names if not keyword.iskeyword(n) and n not in ("self",)}


def rename_variables(code: str, rng: random.Random) -> str:
    """Every argument and local variable renamed consistently (what a copier does first)."""
    names = sorted(bound_names(code))
    vocabulary = ["val", "tmp", "arr", "res", "inp", "mat", "vec", "acc", "buf", "grad", "item", "data"]
    mapping = {}
    for i, name in enumerate(names):
        mapping[name] = f"{rng.choice(vocabulary)}_{i}{rng.randint(0, 9)}"
    edits = []  # (row, col, end_col, new text), applied right to left so columns stay valid
    previous = None
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    for j, tok in enumerate(tokens):
        is_keyword_arg = (
            j + 1 < len(tokens) and tokens[j + 1].string == "=" and previous is not None and previous.string in "(,"
        )
        # a keyword argument of a call (``axis=0``) names the callee's parameter: keep it
        renamable = tok.type == tokenize.NAME and tok.string in mapping and not (previous and previous.string == ".")
        if renamable and not (is_keyword_arg and _inside_call(tokens, j)):
            edits.append((tok.start[0], tok.start[1], tok.end[1], mapping[tok.string]))
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
            previous = tok
    lines = code.splitlines(keepends=True)
    for row, col, end, text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + text + line[end:]
    return "".join(lines)


def _inside_call(tokens: list, j: int) -> bool:
    """True when token ``j`` sits inside the parentheses of a call (not of a ``def`` signature)."""
    depth = 0
    for k in range(j - 1, -1, -1):
        s = tokens[k].string
        if s in ")]}":
            depth += 1
        elif s in "([{":
            if depth == 0:
                return not (k >= 2 and tokens[k - 2].string == "def")
            depth -= 1
    return False


def restyle_comments(code: str, rng: random.Random) -> str:
    """Comments dropped or rewritten, blank lines added and removed, the layout otherwise kept."""
    lines = []
    for line in code.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        line = re.sub(r"\s+#.*$", "", line) if "#" in line and "'" not in line and '"' not in line else line
        if not stripped:
            continue
        lines.append(line)
        if rng.random() < 0.3 and stripped.endswith((")", "]")) and not stripped.startswith(("def ", "@")):
            indent = line[: len(line) - len(line.lstrip())]
            lines.append(f"{indent}# {rng.choice(['step done', 'check shapes', 'ok', 'see lecture', 'TODO tidy'])}")
        if rng.random() < 0.2:
            lines.append("")
    return "\n".join(lines) + "\n"


def reorder_functions(code: str) -> str:
    """Top-level functions and classes in reverse order (imports stay first)."""
    tree = ast.parse(code)
    lines = code.splitlines()
    head, defs = [], []
    for node in tree.body:
        start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno]) - 1
        chunk = "\n".join(lines[start : node.end_lineno])
        (defs if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else head).append(chunk)
    return "\n".join(head + ["", *("\n\n" + d for d in reversed(defs))]).strip() + "\n"


def with_docstring(code: str, template: str) -> str:
    """``code`` with the docstring of the released template's function put back into the same function."""
    try:
        template_tree = ast.parse(template)
    except SyntaxError:
        return code
    docs = {
        node.name: ast.get_docstring(node, clean=False)
        for node in template_tree.body
        if isinstance(node, ast.FunctionDef) and ast.get_docstring(node, clean=False)
    }
    out = []
    for line in code.strip("\n").splitlines():
        out.append(line)
        match = re.match(r"def (\w+)\(.*\):\s*$", line)
        if match and match.group(1) in docs:
            out.append('    """' + docs[match.group(1)] + '"""')
    return "\n".join(out) + "\n"


def write_class(
    release: Path, submitted: Path, assignment: str, students: dict[str, dict[str, dict[str, str]]]
) -> None:
    """Write ``submitted/STUDENT/ASSIGNMENT/NB.ipynb``: the release notebook with its cells replaced.

    ``students``: student -> notebook stem -> solution-cell grade_id -> source.
    """
    for student, notebooks in students.items():
        folder = submitted / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        for stem, cells in notebooks.items():
            target = folder / f"{stem}.ipynb"
            shutil.copyfile(release / f"{stem}.ipynb", target)
            if cells:
                edit_notebook(target, cells)


def release_templates(release: Path, stem: str) -> dict[str, str]:
    """grade_id -> released source of every code solution cell of one release notebook (written answers,
    markdown cells, are prose: never compared)."""
    return solution_code_cells(json.loads((release / f"{stem}.ipynb").read_text())["cells"])


def answer_pools(root: Path) -> dict[str, dict[str, list[str]]]:
    """notebook stem -> solution cell -> answers: the reference, every correct variant and every mutant
    (a realistic bug is still someone's own code) of ``grader_tests/``."""
    from mlplab.coursedir import source_notebooks
    from mlplab.validity.mutants import apply_to_source, load_all, solution_sources

    pools: dict[str, dict[str, list[str]]] = {}
    where: dict[str, str] = {}
    for nb in source_notebooks(root):
        cells = solution_sources(nb)
        pools[nb.stem] = {cell: [src] for cell, src in cells.items()}
        where.update({cell: nb.stem for cell in cells})
    for kind in ("variants", "mutants"):
        for change in load_all(kind, root):
            stem = where.get(change.cell)
            if stem is None:
                continue
            try:
                pools[stem][change.cell].append(apply_to_source(change, pools[stem][change.cell][0]))
            except ValueError:
                continue
            for cell, src in change.extra:
                if cell in pools[stem]:
                    pools[stem][cell].append(src)
    return pools


REWRITES = [
    (re.compile(r"\b(\w+)\.shape\[0\]"), r"len(\1)"),
    (re.compile(r"\b(\w+)\.sum\("), r"np.sum(\1, "),
    (re.compile(r"\b(\w+)\.T\b"), r"np.transpose(\1)"),
    (re.compile(r"\b(\w+)\.mean\("), r"np.mean(\1, "),
    (re.compile(r"\bnp\.zeros_like\((\w+)\)"), r"np.zeros(\1.shape, dtype=\1.dtype)"),
    (re.compile(r"\b(\w+) @ (\w+)"), r"np.dot(\1, \2)"),
]
ASSIGNMENT = re.compile(r"^(\s+)(\w+) = .+$")


def personalise(code: str, rng: random.Random) -> str:
    """Token-changing edits one student makes and another does not: equivalent spellings (``len(x)`` for
    ``x.shape[0]``, ``np.dot`` for ``@``...) and extra checks after some assignments. Turns the few
    implementations of the pools into a class where no two students write exactly the same code."""
    for pattern, replacement in REWRITES:
        if rng.random() < 0.5:
            code = pattern.sub(replacement, code)
    out = []
    for line in code.splitlines():
        out.append(line)
        match = ASSIGNMENT.match(line)
        if match and rng.random() < 0.25:
            indent, name = match.groups()
            check = rng.choice([f"assert np.all(np.isfinite({name}))", f"{name} = np.asarray({name})"])
            out.append(f"{indent}{check}")
    return "\n".join(out) + "\n"


def disguise(code: str, rng: random.Random) -> str:
    """A random mix of the usual disguises (each applied with some probability)."""
    try:
        if rng.random() < 0.7:
            code = rename_variables(code, rng)
        if rng.random() < 0.3:
            code = reorder_functions(code)
        if rng.random() < 0.5:
            code = restyle_comments(code, rng)
    except (SyntaxError, tokenize.TokenError, IndentationError):
        pass
    return code


def synthetic_class(
    root: Path, release: Path, submitted: Path, size: int, copiers: int = 10, seed: int = 0
) -> list[tuple[frozenset[str], str, str | None]]:
    """A class of ``size`` students of the whole assignment: every answer drawn from the pools and disguised;
    ``copiers`` of them copied a classmate (half all of it, half one task). Returns the planted pairs as
    (pair, "all" | "one", task id of the copied cell or None)."""
    rng = random.Random(seed)
    pools = answer_pools(root)
    templates = {stem: release_templates(release, stem) for stem in pools}
    names = [f"s{i:03d}" for i in range(size)]
    students: dict[str, dict[str, dict[str, str]]] = {}
    for name in names[: size - copiers]:
        students[name] = {
            stem: {
                cell: with_docstring(
                    disguise(personalise(rng.choice(options), rng), rng), templates[stem].get(cell, "")
                )
                for cell, options in cells.items()
            }
            for stem, cells in pools.items()
        }
    planted = []
    originals = names[: size - copiers]
    for i, name in enumerate(names[size - copiers :]):
        source = rng.choice(originals)
        if i % 2 == 0:
            students[name] = {
                stem: {cell: disguise(src, rng) for cell, src in cells.items()}
                for stem, cells in students[source].items()
            }
        else:
            own = students[rng.choice([o for o in originals if o != source])]
            stem = rng.choice(sorted(pools))
            cell = rng.choice(sorted(pools[stem]))
            students[name] = {s: dict(c) for s, c in own.items()}
            students[name][stem][cell] = disguise(students[source][stem][cell], rng)
        copied = None if i % 2 == 0 else cell.removesuffix("_solution")
        planted.append((frozenset((name, source)), "all" if copied is None else "one", copied))
    write_class(release, submitted, "mlp", students)
    return planted
