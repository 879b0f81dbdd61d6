"""Translating the prose inside code: comments, docstrings and the strings a student reads.

A code cell (or a provided helper file) is translated piece by piece. A *piece* is one
comment token, one docstring or one string literal that a student reads: an argument of a
display call (``print``, ``set_xlabel``, ``label=`` ...) or a string of several words.
Everything else, the code statements and the strings the code works with (dict keys, modes,
file names), stays byte for byte as in English.

A catalogue entry of a code cell lists pairs of blocks::

    === code <cell id> sha256:<hash of the cell's English pieces>
    --- en
    # flatten every sample into one row
    --- zh
    # 把每个样本展平成一行

A pair translates every occurrence of that exact piece in the cell (quotes, ``#`` and the
indentation of continuation lines included). A translator may keep a piece as it is by
writing the English again (a string the code compares, a formula in a comment).

:func:`same_code` is the guarantee: the translated cell parses to the same tree with every
string constant blanked and has the same token stream without comments and strings, so the
two editions run the same statements.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import tokenize
from dataclasses import dataclass

# nbgrader's region markers and its code stub marker must stay exactly as they are
MARKER = re.compile(r"^#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\b|^#\s*YOUR CODE HERE\s*$")
WORD = re.compile(r"[A-Za-z]{3,}")
# calls whose string arguments a student reads (function or method name)
DISPLAY_CALLS = frozenset(
    {"print", "log", "display", "Markdown", "warn", "xlabel", "ylabel", "title", "suptitle", "set_xlabel",
     "set_ylabel", "set_title", "set_label", "legend", "text", "annotate", "figtext"}
)
DISPLAY_KEYWORDS = frozenset({"label", "title", "xlabel", "ylabel", "desc"})
PLACEHOLDER = re.compile(r"(?<!\{)\{(\d+)\}(?!\})")  # {0}, {1}... of a message template, not {{0}}
PAIR = re.compile(r"^--- (en|[a-z]{2})\s*$")


@dataclass(frozen=True)
class Piece:
    start: int  # character offsets in the cell source
    end: int
    text: str


def _blank_magics(code: str) -> str:
    """The cell with IPython magics and shell lines (``%``, ``!``) blanked (spaces: offsets kept)."""
    return "\n".join(" " * len(line) if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n"))


def _offsets(code: str) -> list[int]:
    starts, total = [], 0
    for line in code.split("\n"):
        starts.append(total)
        total += len(line) + 1
    return starts


def _char_col(line: str, byte_col: int) -> int:
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


def _call_name(node: ast.Call) -> str:
    return getattr(node.func, "id", getattr(node.func, "attr", ""))


def _shown(node: ast.expr) -> list[ast.expr]:
    """The strings an argument shows: itself, or the parts of a sum, conditional or tuple of strings
    (not a subscript key or a call's argument inside it)."""
    if isinstance(node, ast.BinOp):
        return _shown(node.left) + _shown(node.right)
    if isinstance(node, ast.IfExp):
        return _shown(node.body) + _shown(node.orelse)
    if isinstance(node, ast.BoolOp):
        return [n for operand in node.values for n in _shown(operand)]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for element in node.elts for n in _shown(element)]
    return [node]


def pieces(code: str, docs: bool = True) -> list[Piece]:
    """The pieces of ``code`` a translator translates, in source order.

    ``docs``: also comments and docstrings (notebook cells); without it only the strings a
    student sees (the provided helper files: display arguments and sentences they return or
    print, not their docstrings, comments or exception messages, which are reference text).
    Raises SyntaxError when the code does not parse."""
    clean = _blank_magics(code)
    tree = ast.parse(clean)
    lines, starts = clean.split("\n"), _offsets(clean)
    found: dict[int, Piece] = {}

    def add(node: ast.expr) -> None:
        first, last = lines[node.lineno - 1], lines[node.end_lineno - 1]
        start = starts[node.lineno - 1] + _char_col(first, node.col_offset)
        end = starts[node.end_lineno - 1] + _char_col(last, node.end_col_offset)
        found[start] = Piece(start, end, code[start:end])

    if docs:
        for token in tokenize.generate_tokens(io.StringIO(clean).readline):
            if token.type == tokenize.COMMENT and WORD.search(token.string) and not MARKER.match(token.string):
                start = starts[token.start[0] - 1] + token.start[1]
                found[start] = Piece(start, start + len(token.string), token.string)

    skip: set[int] = set()  # nodes that are not pieces themselves: assert messages, parts of f-strings
    raised: set[int] = set()  # exception messages of the provided helpers (reference, not lesson text)
    display: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:  # translated at run time (messages.txt)
            skip.update(id(n) for n in ast.walk(node.msg))
        elif isinstance(node, ast.Raise) and not docs and node.exc is not None:
            raised.update(id(n) for n in ast.walk(node.exc))
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(n) for n in ast.walk(node) if n is not node)
        elif isinstance(node, ast.Call):
            if _call_name(node) in DISPLAY_CALLS:
                display.update(id(n) for arg in node.args for n in _shown(arg))
            for keyword in node.keywords:
                if keyword.arg in DISPLAY_KEYWORDS:
                    display.update(id(n) for n in _shown(keyword.value))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            skip.add(id(node.value))  # a docstring (or any bare string statement)
            if docs:
                add(node.value)
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, (ast.Constant, ast.JoinedStr)):
            continue
        if isinstance(node, ast.Constant) and not isinstance(node.value, str):
            continue
        literal = "".join(v.value for v in getattr(node, "values", [node]) if isinstance(v, ast.Constant))
        fields = _field_strings(node) if isinstance(node, ast.JoinedStr) else []
        if not any(WORD.search(text) for text in [literal, *fields]):
            continue
        sentence = _sentence(literal) or any(_sentence(text) for text in fields)
        if id(node) in display or (sentence and id(node) not in raised):
            add(node)
    return [found[k] for k in sorted(found)]


def _field_strings(node: ast.JoinedStr) -> list[str]:
    """The strings an f-string shows from inside its replacement fields: ``f"{'weight scale':>12}"``,
    ``f"{'QUICK' if quick else 'FULL'}"``, ``f"{norm or 'no norm'}"``; not subscript keys (``{h['lr']}``),
    call arguments or format specs."""
    return [n.value for value in node.values if isinstance(value, ast.FormattedValue)
            for n in _shown(value.value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _sentence(text: str) -> bool:
    """Several words: a string a student reads even when no display call shows it."""
    return " " in text.strip() and len(text.split()) >= 2


def key_of(found: list[Piece]) -> str:
    """The entry hash: SHA-256 (16 hex digits) of the distinct English pieces, sorted."""
    return hashlib.sha256("\n\x00".join(sorted({p.text for p in found})).encode("utf-8")).hexdigest()[:16]


def parse_pairs(body: str, lang: str) -> dict[str, str]:
    """English piece -> translation from an entry body of ``--- en`` / ``--- <lang>`` blocks."""
    pairs: dict[str, str] = {}
    english: str | None = None
    current: tuple[str, list[str]] | None = None

    def close() -> None:
        nonlocal english
        if current is None:
            return
        text = "\n".join(current[1]).rstrip("\n")
        if current[0] == "en":
            english = text
        elif english is not None:
            pairs[english] = text
            english = None

    for line in body.split("\n"):
        match = PAIR.match(line)
        if match and match.group(1) in ("en", lang):
            close()
            current = (match.group(1), [])
        elif current is not None:
            current[1].append(line)
    close()
    return pairs


def format_pairs(pairs: list[tuple[str, str]], lang: str) -> str:
    return "\n".join(f"--- en\n{en}\n--- {lang}\n{tr}" for en, tr in pairs)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _field(value: ast.FormattedValue) -> str | None:
    """The source of one replacement field of an f-string, or None when it has a nested field."""
    conversion = {-1: "", 115: "!s", 114: "!r", 97: "!a"}[value.conversion]
    spec = ""
    if value.format_spec is not None:
        parts = value.format_spec.values
        if not all(isinstance(p, ast.Constant) for p in parts):
            return None
        spec = ":" + "".join(p.value for p in parts)
    return "{" + ast.unparse(value.value) + conversion + spec + "}"


def _message_literal(node: ast.expr, messages: dict[str, str]) -> str | None:
    """An assert message literal written in the edition's language from the message catalogue
    (the same translation the visible check shows at run time), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        translated = messages.get(node.value.replace("{", "{{").replace("}", "}}"))
        if translated is None or PLACEHOLDER.search(translated):
            return None
        return '"' + _escape(translated.replace("{{", "{").replace("}}", "}")) + '"'
    if not isinstance(node, ast.JoinedStr):
        return None
    template, fields = [], []
    for value in node.values:
        if isinstance(value, ast.Constant):
            template.append(value.value.replace("{", "{{").replace("}", "}}"))
        else:
            template.append(f"{{{len(fields)}}}")
            fields.append(_field(value))
    translated = messages.get("".join(template))
    if translated is None or None in fields:
        return None
    order = [int(n) for n in PLACEHOLDER.findall(translated)]
    if order != list(range(len(fields))):  # a translation that reorders the values stays a run-time one
        return None
    body = PLACEHOLDER.sub(lambda m: "\x00" + m.group(1) + "\x00", translated)
    body = _escape(body)
    return 'f"' + re.sub("\x00(\\d+)\x00", lambda m: fields[int(m.group(1))], body) + '"'



def _assert_messages(code: str, messages: dict[str, str]) -> list[Piece]:
    clean = _blank_magics(code)
    lines, starts = clean.split("\n"), _offsets(clean)
    found = []

    def parts(node: ast.expr) -> list[ast.expr]:  # the literal parts of a composed message
        if isinstance(node, ast.BinOp):
            return parts(node.left) + parts(node.right)
        if isinstance(node, ast.IfExp):
            return parts(node.body) + parts(node.orelse)
        return [node]

    for node in ast.walk(ast.parse(clean)):
        if isinstance(node, ast.Assert) and node.msg is not None:
            for msg in parts(node.msg):
                literal = _message_literal(msg, messages)
                if literal is None and isinstance(msg, ast.Constant) and str(msg.value).startswith(": "):
                    tail = _message_literal(ast.Constant(value=msg.value[2:]), messages)
                    literal = None if tail is None else '": ' + tail[1:]
                if literal is not None:
                    start = starts[msg.lineno - 1] + _char_col(lines[msg.lineno - 1], msg.col_offset)
                    end = starts[msg.end_lineno - 1] + _char_col(lines[msg.end_lineno - 1], msg.end_col_offset)
                    found.append(Piece(start, end, literal))
    return found


def apply(
    code: str, pairs: dict[str, str], docs: bool = True, messages: dict[str, str] | None = None
) -> tuple[str, list[Piece]]:
    """``code`` with every piece that has a translation replaced; also the pieces left untranslated.

    ``messages`` (English template -> translation, the message catalogue): assert messages are
    written in the edition's language too, when the translation keeps the order of the values."""
    out, missing, position = [], [], 0
    replacements = []
    for piece in pieces(code, docs):
        if piece.text in pairs:
            replacements.append(Piece(piece.start, piece.end, pairs[piece.text]))
        else:
            missing.append(piece)
    if messages:
        replacements += _assert_messages(code, messages)
    for piece in sorted(replacements, key=lambda p: p.start):
        out.append(code[position : piece.start])
        out.append(piece.text)
        position = piece.end
    out.append(code[position:])
    return "".join(out), missing


class _Blank(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return ast.Constant(value="") if isinstance(node.value, str) else node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        node.values = [self.visit(v) for v in node.values if not isinstance(v, ast.Constant)]
        return node


def _skeleton(code: str) -> tuple[str, list[tuple[int, str]]]:
    clean = _blank_magics(code)
    tree = _Blank().visit(ast.parse(clean))
    tokens: list[tuple[int, str]] = []
    skipped = (tokenize.COMMENT, tokenize.NL, tokenize.STRING)
    for token in tokenize.generate_tokens(io.StringIO(clean).readline):
        if token.type == tokenize.STRING:
            if not tokens or tokens[-1][0] != tokenize.STRING:  # adjacent literals are one string
                tokens.append((tokenize.STRING, ""))
        elif token.type not in skipped:
            tokens.append((token.type, token.string))
    magics = [line.strip() for line in code.split("\n") if line.lstrip().startswith(("%", "!"))]
    return ast.dump(tree) + "\n".join(magics), tokens


def code_difference(english: str, translated: str) -> str | None:
    """None when ``translated`` differs from ``english`` only in comments and string literals,
    else a sentence saying where they differ."""
    try:
        tree_en, tokens_en = _skeleton(english)
    except SyntaxError:
        return None if english == translated else "the English cell does not parse, so it must stay as it is"
    try:
        tree_tr, tokens_tr = _skeleton(translated)
    except (SyntaxError, tokenize.TokenError) as exc:
        return f"the translation does not parse: {exc}"
    if tokens_en != tokens_tr:
        for index, (a, b) in enumerate(zip(tokens_en + [(0, "<end>")], tokens_tr + [(0, "<end>")], strict=False)):
            if a != b:
                return f"token {index} differs: {a[1]!r} became {b[1]!r}"
    if tree_en != tree_tr:
        return "the statements differ (same tokens, different tree)"
    return None


def same_code(english: str, translated: str) -> bool:
    return code_difference(english, translated) is None
