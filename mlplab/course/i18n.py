"""Translated editions of the assignment from one source of truth.

The English source notebooks stay the only notebooks anyone edits. A translation
catalogue per language, ``i18n/<lang>/``, holds plain-text files:

* ``<notebook stem>.txt``: one entry per markdown cell, keyed by the cell id and
  carrying the SHA-256 (first 16 hex digits) of the English text it translates;
* ``files.txt``: the same for the extra student files of the release (``*.md``);
* ``=== code <cell id>`` entries in the same notebook files: the comments, docstrings and
  strings a student reads inside a code cell, as ``--- en`` / ``--- <lang>`` block pairs
  (:mod:`mlplab.course.i18n_code`); ``=== code labutils/<file>.py`` entries in ``files.txt``
  do the same for what the provided helper code prints and plots;
* ``messages.txt``: message templates (visible-check assertion messages and grader
  messages), keyed by the hash of the English template, with ``{0}``, ``{1}``...
  standing for the values filled in at run time.

An entry starts with a header line ``=== cell <id> sha256:<hex16>`` (``file``,
``message``) and runs to the next header. A message entry's body is two lines,
``en: <template>`` and ``<lang>: <template>``.

When a source cell changes its hash no longer matches: the entry is *stale* and
``mlplab i18n check`` (and the tests) fail until the translation is updated. In code
only comments and strings are translated, never a statement (checked with
:func:`mlplab.course.i18n_code.code_difference`), so both editions run and grade
identically; messages are translated when they are shown (:func:`translate_message`).
nbgrader's own placeholders (``# YOUR CODE HERE``, ``YOUR ANSWER HERE``) are translated
through ``messages.txt`` and configured per edition (:func:`generate_edition`).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat

from mlplab.course import i18n_code
from mlplab.coursedir import ASSIGNMENT, CourseDir, course_root, source_dir, submitted_file_names
from mlplab.notebooks import nbgrader_meta

LANGUAGES = ("zh",)
HEADER = re.compile(r"^=== (cell|code|file|message) (\S+) sha256:([0-9a-f]{16})\s*$")
PLACEHOLDER = re.compile(r"\{(\d+)\}")
TODO = "TODO"  # stubs written by `mlplab i18n stub` start with it
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "YOUR ANSWER HERE")
STUDENT_FILES = ("*.md",)  # extra files of source/mlp that students read
STUDENT_CODE = ("labutils/*.py",)  # provided code whose prints and plot labels students read
# nbgrader's placeholders (ClearSolutions.code_stub / text_stub), translated through messages.txt
CODE_STUB, TEXT_STUB = "YOUR CODE HERE", "YOUR ANSWER HERE"


class CatalogueError(ValueError):
    """A catalogue file is malformed; the message names the file and line."""


def sha(text: str) -> str:
    """First 16 hex digits of the SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def catalogue_dir(lang: str, root: Path | None = None) -> Path:
    return (root or course_root()) / "i18n" / lang


@dataclass(frozen=True)
class Entry:
    kind: str  # "cell", "code", "file" or "message"
    key: str  # cell id, file name or message id
    source_sha: str
    text: str  # the translation (for messages: the translated template)
    english: str = ""  # messages only: the English template


def parse_catalogue_file(path: Path, lang: str) -> list[Entry]:
    """Entries of one catalogue file, in file order."""
    entries: list[Entry] = []
    current: tuple[str, str, str] | None = None
    body: list[str] = []

    def close() -> None:
        if current is None:
            return
        kind, key, digest = current
        text = "\n".join(body).strip("\n")
        if kind == "message":
            lines = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
            if "en" not in lines or lang not in lines:
                raise CatalogueError(f"{path.name}: message {key} needs an 'en:' and a '{lang}:' line")
            entries.append(Entry(kind, key, digest, lines[lang], lines["en"]))
        else:
            entries.append(Entry(kind, key, digest, text))

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("=== "):
            match = HEADER.match(line)
            if not match:
                raise CatalogueError(f"{path.name}:{number}: malformed entry header {line!r}")
            close()
            current, body = (match.group(1), match.group(2), match.group(3)), []
        elif current is not None:
            body.append(line)
        elif line.strip() and not line.startswith("#"):
            raise CatalogueError(f"{path.name}:{number}: text before the first entry header")
    close()
    return entries


def load_catalogue(lang: str, root: Path | None = None) -> dict[tuple[str, str, str], Entry]:
    """All entries of a language by (file stem, kind, key)."""
    folder = catalogue_dir(lang, root)
    if not folder.is_dir():
        raise CatalogueError(f"no translation catalogue for {lang!r}: {folder} does not exist")
    catalogue: dict[tuple[str, str, str], Entry] = {}
    for path in sorted(folder.glob("*.txt")):
        for entry in parse_catalogue_file(path, lang):
            catalogue[(path.stem, entry.kind, entry.key)] = entry
    return catalogue


# ---------------------------------------------------------------------------------------------
# What needs a translation
# ---------------------------------------------------------------------------------------------


def markdown_cells(notebook: Path) -> list[tuple[str, str]]:
    """(cell id, English source) of every markdown cell of a notebook."""
    nb = nbformat.read(notebook, as_version=4)
    return [(c.id, c.source) for c in nb.cells if c.cell_type == "markdown"]


def student_files(root: Path | None = None) -> list[Path]:
    folder = source_dir(root)
    return sorted(p for pattern in STUDENT_FILES for p in folder.glob(pattern))


def code_cells(notebook: Path) -> list[tuple[str, str]]:
    """(cell id, English source) of every code cell of a notebook."""
    nb = nbformat.read(notebook, as_version=4)
    return [(c.id, c.source) for c in nb.cells if c.cell_type == "code"]


def student_code(root: Path | None = None) -> list[Path]:
    """The provided helper files whose display strings are translated (paths relative to source/mlp)."""
    folder = source_dir(root)
    return sorted(p.relative_to(folder) for pattern in STUDENT_CODE for p in folder.glob(pattern))


def code_units(root: Path | None = None) -> list[tuple[str, str, str, bool]]:
    """(catalogue file stem, key, English code, docs) of everything whose code prose is translated:
    every code cell of the notebooks (comments and docstrings too) and the provided helper files
    (display strings only)."""
    root = root or course_root()
    units = []
    for notebook in sorted(source_dir(root).glob("*.ipynb")):
        units += [(notebook.stem, cell_id, code, True) for cell_id, code in code_cells(notebook)]
    for rel in student_code(root):
        units.append(("files", rel.as_posix(), (source_dir(root) / rel).read_text(encoding="utf-8"), False))
    return units


def stub_message_templates() -> dict[str, str]:
    return {sha(t): t for t in (CODE_STUB, TEXT_STUB)}


def _template(node: ast.expr) -> str | None:
    """The English template of a string literal or f-string (values as {0}, {1}...), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if isinstance(node, ast.JoinedStr):
        parts, index = [], 0
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value).replace("{", "{{").replace("}", "}}"))
            else:
                parts.append(f"{{{index}}}")
                index += 1
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left), _template(node.right)
        if left is not None and right is not None:
            return _renumber(left + right)
    return None


def _renumber(template: str) -> str:
    counter = iter(range(1000))
    return PLACEHOLDER.sub(lambda _: f"{{{next(counter)}}}", template)


def assertion_messages(code: str) -> list[str]:
    """English templates of the ``assert ..., message`` statements of one code cell."""
    try:
        tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            for template in _message_pieces(node.msg):  # the whole, or each literal part of a composed one
                template = template.removeprefix(": ")  # a tail appended after ": " is translated on its own
                if template and template.strip():
                    found.append(template)
    return found


def visible_check_messages(root: Path | None = None) -> dict[str, str]:
    """Message id -> English template of every assertion message in the provided code cells."""
    found: dict[str, str] = {}
    for notebook in sorted(source_dir(root).glob("*.ipynb")):
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
                continue
            for template in assertion_messages(cell.source):
                found[sha(template)] = template
    return found


MESSAGE_CALLS = {"expect": 1, "GradeFailure": 0, "fail": 0}  # function -> index of its message argument
MESSAGE_KEYWORDS = {"hint", "message", "msg"}
WORDS = re.compile(r"[A-Za-z]{3,}")


def _message_pieces(node: ast.expr) -> list[str]:
    """Templates in a message expression: the whole, or its literal parts when it is composed."""
    whole = _template(node)
    if whole is not None:
        return [whole]
    if isinstance(node, ast.BinOp):
        return _message_pieces(node.left) + _message_pieces(node.right)
    if isinstance(node, ast.IfExp):
        return _message_pieces(node.body) + _message_pieces(node.orelse)
    return []


def grader_messages(root: Path | None = None) -> dict[str, str]:
    """Message id -> English template of every teaching message in ``grader_tests/``.

    Messages are the message arguments of ``expect``/``GradeFailure`` and the ``hint=`` of the
    comparison helpers, plus every string assigned to a ``*hint*`` name or returned by a ``*hint*``
    function; templates without a word of text (``": {0}"``) need no translation."""
    root = root or course_root()
    found: dict[str, str] = {}

    def strings(node: ast.AST) -> list[str]:
        """Templates of the string literals and f-strings in ``node`` (not the parts of an f-string)."""
        fstrings = [n for n in ast.walk(node) if isinstance(n, ast.JoinedStr)]
        inner = {id(part) for n in fstrings for part in ast.walk(n) if part is not n}
        return [
            t
            for n in ast.walk(node)
            if isinstance(n, (ast.Constant, ast.JoinedStr)) and id(n) not in inner
            for t in _message_pieces(n)
        ]

    def keep(template: str) -> None:
        if WORDS.search(PLACEHOLDER.sub("", template)):
            found[sha(template)] = template

    for path in sorted(CourseDir(root).graders.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any("hint" in ast.unparse(t).lower() for t in node.targets):
                for template in strings(node.value):
                    keep(template)
            if isinstance(node, ast.FunctionDef) and "hint" in node.name.lower():
                for ret in (n for n in ast.walk(node) if isinstance(n, ast.Return) and n.value is not None):
                    for template in strings(ret.value):
                        keep(template)
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            candidates = [kw.value for kw in node.keywords if kw.arg in MESSAGE_KEYWORDS]
            if name in MESSAGE_CALLS and len(node.args) > MESSAGE_CALLS[name]:
                candidates.append(node.args[MESSAGE_CALLS[name]])
            if name in ("check_close", "check_array") and len(node.args) >= 5:
                candidates.append(node.args[4])
            for candidate in candidates:
                for template in _message_pieces(candidate):
                    keep(template)
    # the runner's own notes to students (a failure without a teaching message, guard checks)
    runner = Path(__file__).resolve().parents[1] / "grading" / "runner.py"
    for node in ast.walk(ast.parse(runner.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(ast.unparse(t) == "text" for t in node.targets):
            for template in strings(node.value):
                keep(template)
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("messages.append"):
            for template in strings(node.args[0]):
                if template.startswith("{0}: "):  # "task_id: message": the message, its values renumbered
                    template = re.sub(r"\{(\d+)\}", lambda m: f"{{{int(m.group(1)) - 1}}}", template[len("{0}: "):])
                keep(template)
    return found


# ---------------------------------------------------------------------------------------------
# Checking the catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    where: str  # "01_layers/b5818cb5", "files/x.md", "messages/<id>"
    kind: str  # missing | stale | markers | placeholders | orphan
    detail: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.detail}"


def _markers_kept(english: str, translated: str) -> bool:
    return all(english.count(m) == translated.count(m) for m in SOLUTION_MARKERS)


def check_catalogue(lang: str, root: Path | None = None, messages: bool = True) -> list[Problem]:
    """Every way the catalogue of ``lang`` falls short of the English source."""
    root = root or course_root()
    catalogue = load_catalogue(lang, root)
    problems: list[Problem] = []
    seen: set[tuple[str, str, str]] = set()

    def expect(stem: str, kind: str, key: str, english: str) -> None:
        where = f"{stem}/{key}"
        entry = catalogue.get((stem, kind, key))
        seen.add((stem, kind, key))
        if entry is None:
            problems.append(Problem(where, "missing", "no translation"))
        elif entry.text.startswith(TODO):
            problems.append(Problem(where, "missing", "a stub still waiting for its translation (TODO)"))
        elif entry.source_sha != sha(english):
            problems.append(Problem(where, "stale", f"the English text changed (now sha256:{sha(english)})"))
        elif kind != "message" and not _markers_kept(english, entry.text):
            problems.append(Problem(where, "markers", "keep ### BEGIN/END SOLUTION and YOUR ANSWER HERE as they are"))

    for notebook in sorted(source_dir(root).glob("*.ipynb")):
        for cell_id, text in markdown_cells(notebook):
            expect(notebook.stem, "cell", cell_id, text)
    for path in student_files(root):
        expect("files", "file", path.name, path.read_text(encoding="utf-8"))
    table = {e.english: e.text for e in catalogue.values() if e.kind == "message" and not e.text.startswith(TODO)}
    for stem, key, code, docs in code_units(root):
        seen.add((stem, "code", key))
        problem = _check_code(stem, key, code, docs, catalogue.get((stem, "code", key)), lang, table)
        if problem is not None:
            problems.append(problem)
    if messages:
        expected = {**visible_check_messages(root), **grader_messages(root), **stub_message_templates()}
        for key, template in expected.items():
            expect("messages", "message", key, template)
    for (stem, kind, key), entry in catalogue.items():
        if kind == "message":
            if entry.source_sha != key or sha(entry.english) != key:
                problems.append(Problem(f"{stem}/{key}", "stale", "the id must be the sha256 of its 'en:' line"))
            elif sorted(PLACEHOLDER.findall(entry.english)) != sorted(PLACEHOLDER.findall(entry.text)):
                problems.append(Problem(f"{stem}/{key}", "placeholders", "use the same {0}, {1}... as 'en:'"))
        elif (stem, kind, key) not in seen:
            problems.append(Problem(f"{stem}/{key}", "orphan", "no such cell or file in the source any more"))
    return problems


def _short(text: str, width: int = 70) -> str:
    line = " ".join(text.split())
    return repr(line if len(line) <= width else line[: width - 1] + "…")


def _check_code(
    stem: str, key: str, code: str, docs: bool, entry: Entry | None, lang: str, messages: dict[str, str]
) -> Problem | None:
    """The problem of one code cell's (or helper file's) translation, if any."""
    where = f"{stem}/{key}"
    try:
        found = i18n_code.pieces(code, docs)
    except SyntaxError as exc:
        return Problem(where, "code", f"the English code does not parse ({exc.msg}), so it cannot be translated")
    if not found:
        return None if entry is None else Problem(where, "orphan", "the code cell has no comment or text left")
    what = "code cell" if docs else "helper file"
    if entry is None:
        noun = "comments, docstrings and strings" if docs else "shown strings"
        return Problem(where, "missing", f"{what}: no translation of its {len(found)} {noun}, "
                                         f"e.g. {_short(found[0].text)}")
    pairs = i18n_code.parse_pairs(entry.text, lang)
    todo = [en for en, tr in pairs.items() if tr.startswith(TODO)]
    if todo:
        return Problem(where, "missing", f"{what}: {len(todo)} pieces still waiting for their translation (TODO), "
                                         f"e.g. {_short(todo[0])}")
    texts = {p.text for p in found}
    new = [t for t in dict.fromkeys(p.text for p in found) if t not in pairs]
    gone = [t for t in pairs if t not in texts]
    if new or gone or entry.source_sha != i18n_code.key_of(found):
        parts = []
        if new:
            parts.append(f"{len(new)} English pieces not translated, e.g. {_short(new[0])}")
        if gone:
            parts.append(f"{len(gone)} translated pieces no longer in the English, e.g. {_short(gone[0])}")
        detail = "; ".join(parts) or f"header hash out of date (now sha256:{i18n_code.key_of(found)})"
        return Problem(where, "stale", f"{what}: {detail}; `mlplab i18n stub` rewrites the entry")
    translated, _ = i18n_code.apply(code, pairs, docs, messages)
    difference = i18n_code.code_difference(code, translated)
    if difference:
        return Problem(where, "code", f"{what}: the translation must change only comments and strings: {difference}")
    return None


def _write_code_stub(folder: Path, stem: str, key: str, code: str, docs: bool, old: Entry | None, lang: str) -> None:
    """Write (or rewrite in place) the entry of one code unit: kept translations, TODO for the rest."""
    found = i18n_code.pieces(code, docs)
    pairs = i18n_code.parse_pairs(old.text, lang) if old else {}
    listed = [(t, pairs.get(t, f"{TODO} {t}")) for t in dict.fromkeys(p.text for p in found)]
    block = f"=== code {key} sha256:{i18n_code.key_of(found)}\n{i18n_code.format_pairs(listed, lang)}\n"
    path = folder / f"{stem}.txt"
    lines = path.read_text(encoding="utf-8").split("\n") if path.exists() else []
    start = next((i for i, line in enumerate(lines) if line.startswith(f"=== code {key} ")), None)
    if start is None:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("\n" + block)
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("=== ")), len(lines))
    tail = lines[end:]
    lines[start:end] = block.rstrip("\n").split("\n") + ([""] if tail else [])
    path.write_text("\n".join(lines), encoding="utf-8")


def stub_missing(lang: str, root: Path | None = None) -> int:
    """Append a stub holding the English text for every missing or stale entry; returns how many.

    Stubs start with ``TODO``, so they count as missing until someone translates them; a stale
    entry's old translation stays in place (the later entry of the same key wins)."""
    root = root or course_root()
    folder = catalogue_dir(lang, root)
    folder.mkdir(parents=True, exist_ok=True)
    messages = {**visible_check_messages(root), **grader_messages(root), **stub_message_templates()}
    catalogue = load_catalogue(lang, root)
    units = {(stem, key): (code, docs) for stem, key, code, docs in code_units(root)}
    added = 0
    for problem in check_catalogue(lang, root):
        waiting = problem.detail.startswith("a stub") or "(TODO)" in problem.detail
        if problem.kind not in ("missing", "stale") or waiting:
            continue
        stem, key = problem.where.split("/", 1)
        if (stem, key) in units:
            code, docs = units[(stem, key)]
            _write_code_stub(folder, stem, key, code, docs, catalogue.get((stem, "code", key)), lang)
            added += 1
            continue
        if stem == "messages":
            if key not in messages:
                continue
            entry = f"=== message {key} sha256:{key}\nen: {messages[key]}\n{lang}: {TODO} {messages[key]}\n"
        elif stem == "files":
            english = (source_dir(root) / key).read_text(encoding="utf-8")
            entry = f"=== file {key} sha256:{sha(english)}\n{TODO} translate:\n{english}\n"
        else:
            english = dict(markdown_cells(source_dir(root) / f"{stem}.ipynb"))[key]
            entry = f"=== cell {key} sha256:{sha(english)}\n{TODO} translate:\n{english}\n"
        with open(folder / f"{stem}.txt", "a", encoding="utf-8") as fh:
            fh.write("\n" + entry)
        added += 1
    return added


# ---------------------------------------------------------------------------------------------
# Building the edition
# ---------------------------------------------------------------------------------------------


def edition_name(lang: str) -> str:
    """The folder name of an edition in release/ and solutions/, e.g. ``mlp-zh``."""
    return f"{ASSIGNMENT}-{lang}"


def translate_notebook(src: Path, dst: Path, lang: str, catalogue: dict) -> None:
    """Write ``src`` to ``dst`` with every markdown cell replaced by its translation and the comments,
    docstrings and display strings of every code cell translated (its statements untouched)."""
    nb = nbformat.read(src, as_version=4)
    messages = {e.english: e.text for e in catalogue.values() if e.kind == "message" and not e.text.startswith(TODO)}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = catalogue[(src.stem, "cell", cell.id)].text
        elif cell.cell_type == "code" and (src.stem, "code", cell.id) in catalogue:
            pairs = i18n_code.parse_pairs(catalogue[(src.stem, "code", cell.id)].text, lang)
            cell.source = i18n_code.apply(cell.source, pairs, messages=messages)[0]
    nb.metadata["mlplab"] = {"lang": lang}
    nbformat.write(nb, dst)


def nbgrader_stub_config(lang: str, root: Path | None = None) -> str:
    """nbgrader settings that make ClearSolutions write its placeholders in ``lang``.

    The code stub keeps its ``raise NotImplementedError()`` (the graders and ``labutils.nbimport``
    recognise an unanswered cell by it); only the comment above it is translated."""
    table = message_table(lang, root)
    code, text = table.get(CODE_STUB, CODE_STUB), table.get(TEXT_STUB, TEXT_STUB)
    stub = {"python": f"# {code}\nraise NotImplementedError()"}
    return (
        f"\n# the {lang} edition's placeholders (mlplab.course.i18n.nbgrader_stub_config)\n"
        f"c.ClearSolutions.code_stub = {stub!r}\nc.ClearSolutions.text_stub = {text!r}\n"
    )


def answer_stubs(root: Path | None = None) -> set[str]:
    """The written-answer placeholder of every edition (English and each catalogue's translation)."""
    stubs = {TEXT_STUB}
    for lang in LANGUAGES:
        try:
            stubs.add(message_table(lang, root).get(TEXT_STUB, TEXT_STUB))
        except CatalogueError:
            continue
    return stubs


def message_table(lang: str, root: Path | None = None) -> dict[str, str]:
    """English template -> translated template, for every message entry of the catalogue."""
    entries = load_catalogue(lang, root).values()
    return {e.english: e.text for e in entries if e.kind == "message" and not e.text.startswith(TODO)}


def translated_source(lang: str, destination: Path, root: Path | None = None) -> Path:
    """A copy of ``source/mlp`` in ``destination`` with the markdown and student files translated.

    Raises CatalogueError (listing the first problems) when the catalogue is incomplete or stale."""
    root = (root or course_root()).resolve()
    problems = check_catalogue(lang, root, messages=False)
    if problems:
        listed = "; ".join(str(p) for p in problems[:5])
        raise CatalogueError(
            f"the {lang} catalogue does not match the source ({len(problems)} problems: {listed}); "
            f"run `mlplab i18n check --lang {lang}`"
        )
    catalogue = load_catalogue(lang, root)
    src = source_dir(root)
    # never an instructor's trained model (a file students submit, not one they get)
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", *submitted_file_names(root))
    shutil.copytree(src, destination, ignore=skip)
    for notebook in sorted(src.glob("*.ipynb")):
        translate_notebook(notebook, destination / notebook.name, lang, catalogue)
    for path in student_files(root):
        (destination / path.name).write_text(catalogue[("files", "file", path.name)].text + "\n", encoding="utf-8")
    for rel in student_code(root):
        entry = catalogue.get(("files", "code", rel.as_posix()))
        if entry is not None:
            code = (src / rel).read_text(encoding="utf-8")
            pairs = i18n_code.parse_pairs(entry.text, lang)
            (destination / rel).write_text(i18n_code.apply(code, pairs, docs=False)[0], encoding="utf-8")
    table = message_table(lang, root)
    (destination / "labutils" / "messages.json").write_text(
        json.dumps({"lang": lang, "messages": table}, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8",
    )
    return destination


def generate_edition(lang: str, root: Path | None = None, out: Path | None = None) -> Path:
    """Generate ``release/mlp-<lang>`` and ``solutions/mlp-<lang>`` (or under ``out``) with nbgrader."""
    from mlplab.course.generate import nbgrader

    if lang not in LANGUAGES:
        raise CatalogueError(f"unknown language {lang!r}; available: {', '.join(LANGUAGES)}")
    root = (root or course_root()).resolve()
    out = (out or root).resolve()
    with tempfile.TemporaryDirectory(prefix=f"mlplab-{lang}-") as tmp:
        course = Path(tmp) / "course"
        course.mkdir()
        shutil.copy2(root / "nbgrader_config.py", course / "nbgrader_config.py")
        with open(course / "nbgrader_config.py", "a", encoding="utf-8") as fh:
            fh.write(nbgrader_stub_config(lang, root))
        translated_source(lang, CourseDir(course).source, root)
        db_url = f"sqlite:///{course / 'gradebook.db'}"
        nbgrader(course, "generate_assignment", ASSIGNMENT, "--force", db_url=db_url)
        nbgrader(course, "generate_solution", ASSIGNMENT, "--force", db_url=db_url)
        for folder in ("release", "solutions"):
            target = out / folder / edition_name(lang)
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(getattr(CourseDir(course), folder), target)
    return out / "release" / edition_name(lang)


# ---------------------------------------------------------------------------------------------
# Messages at run time
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _student_side():
    """``labutils.i18n`` of the course (the one implementation of message translation)."""
    import importlib.util

    path = CourseDir.here().labutils / "i18n.py"
    spec = importlib.util.spec_from_file_location("_mlplab_labutils_i18n", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def translate_message(message: str, table: dict[str, str]) -> str:
    """``message`` in the target language, or unchanged when no template matches.

    Templates match whole messages; the values they capture are translated in turn (a
    hint inside a check message). A message ``head: tail`` that matches no template as a
    whole is translated part by part, which covers ``task_id: message``. The algorithm is
    ``labutils.i18n.translate``, which the notebooks use for the visible checks."""
    return _student_side().translate(message, table)


def translate_result(result: dict, lang: str, root: Path | None = None) -> dict:
    """A ``mlplab grade --json`` result with every task message translated (scores untouched)."""
    table = message_table(lang, root)
    out = json.loads(json.dumps(result))
    for info in out.get("tasks", {}).values():
        info["messages"] = [translate_message(m, table) for m in info.get("messages", [])]
    return out
