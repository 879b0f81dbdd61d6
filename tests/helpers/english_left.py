"""English left in a translated edition: what a student of the Chinese edition would still read in English.

``scan(folder)`` goes through every notebook of a generated edition (``release/mlp-zh`` or
``solutions/mlp-zh``), its student files (``*.md``) and the strings its provided helpers
(``labutils/*.py``) print or plot, and returns one :class:`Leftover` per piece of prose that
still holds English words:

* markdown: the text outside code spans, code blocks, URLs and HTML tags, and inside formulas the
  words of ``\\text{...}`` (``$\\text{hidden layers}$`` is prose, ``$W_1$`` is not);
* code cells: comments (not nbgrader's markers or lint pragmas), docstrings, and every string
  literal a student reads: an argument of a display call (``print``, ``set_xlabel``, ``label=``
  ...), a string of several words anywhere (an assert message, a table header, a dict of captions),
  the literal text of an f-string *and* the strings inside its replacement fields
  (``f"{'weight scale':>12}"``);
* ``labutils/*.py``: only what a student sees (display arguments and sentences of several words,
  not docstrings, comments or exception messages, which are reference text).

This is deliberately independent of the extractor in ``mlplab.course.i18n_code``: it finds what
the catalogue cannot reach as well as what it forgot.

An English word is a run of three or more ASCII letters, or one of the short function words
("of", "to", "is", ...), that is not a code name. The allowlist holds identifiers and code names
only: every name the course's own code defines or uses (variables, functions, attributes,
arguments, modules, the string keys and modes it compares), the terms the glossary keeps in
English (epoch, dropout, ReLU, cache, docstring, ...), names of libraries and datasets, and units.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat

from .paths import ROOT, SOURCE

CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
WORD = re.compile(r"(?<![\w.\\/-])([A-Za-z][A-Za-z']*(?:-[A-Za-z]+)*)(?![\w(/])")
SHORT = frozenset({"a", "an", "as", "at", "be", "by", "do", "if", "in", "is", "it", "no", "of", "on", "or", "so",
                   "to", "up", "we", "us"})
# terms the glossary (docs/glossary-zh.md) keeps in English, library / dataset / product names, units
KEPT = frozenset(w.lower() for w in """
    epoch epochs dropout relu cache caches docstring docstrings softmax log-sum-exp logits logit autocast
    batchnorm layernorm batchnorm1d batchnorm2d conv2d linear sequential modulelist moduledict maxpool2d
    sgd adam rmsprop momentum nesterov warm-up he xavier kaiming pearson student
    mlp mlps cnn cnns fc rgb gpu gpus cpu cpus cuda bf16 fp16 fp32 float32 float64 int64 tf32 amp gradscaler
    numpy pytorch torch torchvision matplotlib ipython jupyter jupyterlab jupyterhub nbgrader colab kaggle python pip
    cifar cifar-10 mnist imagenet nvidia tesla t4 p100 v100 a100 h100 h200 rtx bubblewrap
    cs231n stanford markdown html csv json md ascii utf-8 utc api
    ms gib mib kib gb mb kb min sec gflop tflop flop flops
    one-hot fan-in fan-out conv maxpool flatten
    nan inf nans infs eps dtype dtypes ndarray ndarrays argmax argmin mse se ci std
    ok todo
""".split())
# proper names: authors cited, models, products, standards, UI names of hosted notebooks
NAMES = frozenset("""
    Ioffe Szegedy Santurkar Vaswani Xiong Srivastava Kaiming Glorot Bengio Kingma Hinton Krizhevsky Karpathy
    Transformer Transformers ResNet VGG GroupNorm GELU Leaky post-LN pre-LN PIL ITU-R
    autograd fonts-noto-cjk Google Colab Kaggle Notebooks Microsoft Noto Sans Han Source WenQuanYi Micro Zen Hei
    YaHei PingFang Heiti Arial Unicode SimHei Linux macOS Windows
""".split())
PYTHON = frozenset({"None", "True", "False", "import", "lambda", "def", "self"})  # written as code in prose
DISPLAY_CALLS = frozenset(
    {"print", "log", "display", "Markdown", "warn", "xlabel", "ylabel", "title", "suptitle", "set_xlabel",
     "set_ylabel", "set_title", "set_label", "legend", "text", "annotate", "figtext", "set_xticklabels",
     "set_yticklabels", "xticks", "yticks", "bar_label", "tqdm", "set", "subplots", "imshow", "hist", "plot",
     "bar", "barh", "errorbar", "scatter", "plot_loss", "plot_histories", "show_images", "plot_histograms",
     "plot_error_bars", "plot_comparison", "comparison_table", "tuned_table", "format_interval"}
)
DISPLAY_KEYWORDS = frozenset({"label", "labels", "title", "xlabel", "ylabel", "desc", "names", "caption", "header"})
# nbgrader's region markers, its stubs and lint pragmas are not prose
MARKERS = re.compile(r"^#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\b|^#\s*YOUR CODE HERE\s*$|#\s*(noqa|type:|fmt:)")


@dataclass(frozen=True)
class Leftover:
    where: str  # "03_fc_net.ipynb/<cell id>" or "labutils/plotting.py"
    kind: str  # markdown, comment, docstring, string
    line: int  # line in the cell or file (1-based)
    text: str
    words: tuple[str, ...]

    def __str__(self) -> str:
        text = self.text if len(self.text) < 120 else self.text[:117] + "..."
        return f"{self.where}:{self.line} {self.kind} {list(self.words)}: {text!r}"


# ------------------------------------------------------------------------------------------------
# What counts as English
# ------------------------------------------------------------------------------------------------


def _names_in(code: str) -> set[str]:
    """Identifiers and code-like strings of ``code``: names, attributes, arguments, imports, the
    single-word strings it uses as keys, modes and options (not what it displays)."""
    try:
        tree = ast.parse(_blank_magics(code))
    except SyntaxError:
        return set()
    names: set[str] = set()
    shown = {id(n) for n in _display_nodes(tree)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.arg) or isinstance(node, ast.keyword) and node.arg:
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.update(re.split(r"[.]", node.name))
            if node.asname:
                names.add(node.asname)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.update(node.module.split("."))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in shown
              and re.fullmatch(r"[A-Za-z_][\w.-]*", node.value)):
            names.add(node.value)
    return names


def _keys_in(code: str) -> set[str]:
    """Strings ``code`` looks up (``runs["MLP gray"]``) or compares (``mode == "train"``): code, not prose."""
    try:
        tree = ast.parse(_blank_magics(code))
    except SyntaxError:
        return set()
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            parts = [node.slice]
        elif isinstance(node, ast.Compare):
            parts = node.comparators
        else:
            continue
        for part in parts:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                keys.add(part.value)
            elif isinstance(part, ast.JoinedStr):  # runs[f"{net} gray"]: a pattern of keys, "MLP gray" is one
                keys.add(re.compile("".join(re.escape(v.value) if isinstance(v, ast.Constant) else ".+"
                                            for v in part.values)))
    return keys


@lru_cache(maxsize=1)
def _course_code() -> tuple[str, ...]:
    """The English course's code: every code cell of the source notebooks and every labutils file."""
    cells = [cell.source for notebook in sorted(SOURCE.glob("*.ipynb"))
             for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]
    return (*cells, *(path.read_text(encoding="utf-8") for path in sorted((SOURCE / "labutils").glob("*.py"))))


@lru_cache(maxsize=1)
def looked_up() -> frozenset:
    """Every string the English course's code looks up or compares (and patterns of the f-string keys)."""
    return frozenset().union(*map(_keys_in, _course_code()))


def is_key(text: str) -> bool:
    return any(text == key if isinstance(key, str) else key.fullmatch(text) for key in looked_up())


@lru_cache(maxsize=1)
def code_names() -> frozenset[str]:
    """Every code name of the English course (whole names, not their parts)."""
    return frozenset().union(*map(_names_in, _course_code()))


def english_words(text: str, code: bool | None = None) -> list[str]:
    """The English words of a piece of prose that are not code names, kept terms, proper names or units.

    A code name is excused only where it stands alone in Chinese prose (``x 的 shape``): in a piece with no
    Chinese at all ("train acc (%)") and in a run of several English words ("weight scale", "sum over the
    samples") a word that happens to be a code name is English prose too. ``code``: excuse lone code names
    even without Chinese around them (markdown, where such a line is a heading or a formula)."""
    names = code_names() if (code if code is not None else CJK.search(text)) else frozenset()
    matches = list(WORD.finditer(text))
    found = []
    for index, match in enumerate(matches):
        word = match.group(1).strip("'")
        lower = word.lower()
        if len(word) < 3 and lower not in SHORT:
            continue
        if lower in KEPT or lower.rstrip("s") in KEPT or word in NAMES or word in PYTHON:
            continue
        if len(word) <= 3 and word.isupper():  # acronyms: BN, LN, SE, CI, ...
            continue
        in_run = any(0 <= other < len(matches) and _plain(matches[other].group(1))
                     and not text[min(match.end(), matches[other].end()):max(match.start(),
                                                                             matches[other].start())].strip()
                     for other in (index - 1, index + 1))
        if word in names and not in_run:
            continue
        found.append(word)
    return found


def _plain(word: str) -> bool:
    """A word that is English prose beside another one (not a kept term, a name or an acronym)."""
    lower = word.lower()
    return not (lower in KEPT or lower.rstrip("s") in KEPT or word in NAMES or word in PYTHON
                or (len(word) <= 3 and word.isupper()) or (len(word) < 3 and lower not in SHORT))


# ------------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------------

FENCE = re.compile(r"```.*?```|~~~.*?~~~", re.S)
INLINE_CODE = re.compile(r"``.+?``|`[^`\n]+`")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$|\\\[.+?\\\]|\\\(.+?\\\)", re.S)
# \text{...} in a formula is prose, unless it names a symbol as a sub- or superscript (\mu_{\text{running}})
TEXT_IN_MATH = re.compile(
    r"(?<![_^])(?<![_^]\{)\\(?:text|textrm|textit|textbf|mathrm|operatorname|mbox)\s*\{([^{}]*)\}")
LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]*>|https?://\S+")
TAG = re.compile(r"<[^>\n]+>")
NBGRADER_LINE = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$", re.M)
GLOSS = re.compile(r"[（(“]([^（）()“”]*)[）)”]")  # a parenthesis or quotation: where the original term is given


@lru_cache(maxsize=1)
def glossary_terms() -> frozenset[str]:
    """The English terms of docs/glossary-zh.md (first column), lower case: "inverted dropout", "dead relu"."""
    terms = set()
    for line in (ROOT / "docs" / "glossary-zh.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] and not set(cells[0]) <= {"-"}:
            for term in re.split(r"\s*[/,]\s*", re.sub(r"\([^)]*\)", "", cells[0])):
                if term:
                    terms.add(" ".join(term.lower().split()))
    return frozenset(terms)


def _without_glosses(text: str) -> str:
    """``text`` with the glossary terms given in parentheses or quotes after their Chinese (倒置 dropout
    （inverted dropout）, “似乎与学习率过高导致 dead ReLU 有关”) blanked: the glossary prescribes them."""
    terms = glossary_terms()

    def blank(match: re.Match) -> str:
        inner = match.group(0)
        for term in sorted(terms, key=len, reverse=True):
            pattern = r"(?<![A-Za-z])" + r"\s+".join(map(re.escape, term.split())) + r"(?![A-Za-z])"
            inner = re.sub(pattern, lambda m: " " * len(m.group(0)), inner, flags=re.I)
        return inner

    return GLOSS.sub(blank, text)


def markdown_leftovers(text: str, where: str) -> list[Leftover]:
    found = []

    def math(match: re.Match) -> str:  # keep the words of \text{...}, blank the rest of the formula
        formula = match.group(0)
        inner = " ; ".join(t.replace("\\_", "_") for t in TEXT_IN_MATH.findall(formula))
        return " " + inner + " " * max(1, len(formula) - len(inner) - 1)

    clean = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    clean = NBGRADER_LINE.sub("", clean)
    clean = INLINE_CODE.sub(" ", clean)
    clean = MATH.sub(math, clean)
    clean = LINK_TARGET.sub(" ", clean)
    clean = TAG.sub(" ", clean)
    clean = _without_glosses(clean)
    for number, line in enumerate(clean.split("\n"), start=1):
        words = english_words(line, code=True)
        if words:
            found.append(Leftover(where, "markdown", number, " ".join(line.split()), tuple(words)))
    return found


# ------------------------------------------------------------------------------------------------
# Code
# ------------------------------------------------------------------------------------------------


def _blank_magics(code: str) -> str:
    return "\n".join(" " * len(line) if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n"))


def _strings_of(node: ast.expr) -> list[ast.expr]:
    """The string nodes an expression shows: itself, the parts of sums, conditionals, ``or``, tuples, lists
    and dicts (keys and values: a dict of curves is labelled by its keys); not subscript keys or the
    arguments of calls inside it."""
    if isinstance(node, (ast.Constant, ast.JoinedStr)):
        return [node] if isinstance(node, ast.JoinedStr) or isinstance(node.value, str) else []
    if isinstance(node, ast.BinOp):
        return _strings_of(node.left) + _strings_of(node.right)
    if isinstance(node, ast.IfExp):
        return _strings_of(node.body) + _strings_of(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [n for value in node.values for n in _strings_of(value)]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [n for element in node.elts for n in _strings_of(element)]
    if isinstance(node, ast.Dict):
        return [n for part in (*node.keys, *node.values) if part is not None for n in _strings_of(part)]
    return []


def _display_nodes(tree: ast.AST) -> list[ast.expr]:
    nodes: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in DISPLAY_CALLS:
                for arg in node.args:
                    nodes += _strings_of(arg)
            for keyword in node.keywords:
                if keyword.arg in DISPLAY_KEYWORDS:
                    nodes += _strings_of(keyword.value)
    return nodes


def _literal_text(node: ast.expr) -> str:
    """The text of a string node a student reads; for an f-string its literal parts, fields blanked."""
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            else:
                parts.append(" ")
        return "".join(parts)
    return node.value


def code_leftovers(code: str, where: str, docs: bool = True) -> list[Leftover]:
    """English in the prose of one code cell or file. ``docs``: comments and docstrings too (cells); without
    it only what the code shows (labutils: docstrings, comments and exception messages are reference text)."""
    clean = _blank_magics(code)
    try:
        tree = ast.parse(clean)
    except SyntaxError:
        return [Leftover(where, "syntax", 1, "the code does not parse", ())]
    found: list[Leftover] = []

    def report(kind: str, line: int, text: str, prose: str, fields: tuple | list = ()) -> None:
        # an f-string: its literal text, and each string its fields show, on its own ("{'QUICK' if q else '完整'}")
        words = [w for part in (prose, *fields) for w in english_words(INLINE_CODE.sub(" ", part))]
        if words:
            found.append(Leftover(where, kind, line, text, tuple(words)))

    if docs:
        for token in tokenize.generate_tokens(io.StringIO(clean).readline):
            if token.type == tokenize.COMMENT and not MARKERS.search(token.string):
                report("comment", token.start[0], token.string, token.string.lstrip("#"))

    docstrings, raised, formats = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            docstrings.add(id(node.value))
            if docs:
                report("docstring", node.lineno, node.value.value, node.value.value)
        elif isinstance(node, ast.Raise) and node.exc is not None and not docs:
            raised.update(id(n) for n in ast.walk(node.exc))
        elif isinstance(node, ast.JoinedStr):  # its parts are read as part of the f-string
            formats.update(id(n) for n in ast.walk(node) if n is not node)
    shown = {id(n) for n in _display_nodes(tree)}
    keys = {id(n.slice) for n in ast.walk(tree) if isinstance(n, ast.Subscript)}
    for node in ast.walk(tree):
        if id(node) in docstrings or id(node) in raised or id(node) in formats or id(node) in keys:
            continue
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) or isinstance(node, ast.JoinedStr)):
            continue
        source = ast.get_source_segment(clean, node) or ""
        text = _literal_text(node)
        fields = [_literal_text(n) for v in getattr(node, "values", []) if isinstance(v, ast.FormattedValue)
                  for n in _strings_of(v.value)]
        if is_key(text) or re.match(r"[rR]", source):  # a key the code looks up; a regex
            continue
        several_words = any(len(re.findall(r"[A-Za-z]{2,}", t)) >= 2 and re.search(r"[A-Za-z]\W*\s+\W*[A-Za-z]", t)
                            for t in (text, *fields))
        # an f-string that puts a word beside a value ("{n} threads") is built for a reader, not "gamma{i}"
        labelled = isinstance(node, ast.JoinedStr) and any(re.search(r"(^|[\s(])[A-Za-z]{3,}", t)
                                                            for t in (text, *fields))
        if id(node) in shown or several_words or labelled:
            report("string", node.lineno, source or text, text, fields)
    return sorted(found, key=lambda leftover: leftover.line)


# ------------------------------------------------------------------------------------------------
# An edition
# ------------------------------------------------------------------------------------------------


def scan(folder: Path) -> list[Leftover]:
    """Every leftover of a generated edition folder (notebooks, ``*.md``, ``labutils/*.py``)."""
    found: list[Leftover] = []
    for notebook in sorted(folder.glob("*.ipynb")):
        for index, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
            where = f"{notebook.name}/{cell.get('id') or index}"
            if cell.cell_type == "markdown":
                found += markdown_leftovers(cell.source, where)
            elif cell.cell_type == "code":
                found += code_leftovers(cell.source, where)
    for path in sorted(folder.glob("*.md")):
        found += markdown_leftovers(path.read_text(encoding="utf-8"), path.name)
    for path in sorted((folder / "labutils").glob("*.py")):
        found += code_leftovers(path.read_text(encoding="utf-8"), f"labutils/{path.name}", docs=False)
    return found


if __name__ == "__main__":  # python -m tests.helpers.english_left FOLDER...
    import sys

    for argument in sys.argv[1:]:
        leftovers = scan(Path(argument))
        for leftover in leftovers:
            print(leftover)
        print(f"{argument}: {len(leftovers)} leftovers")
