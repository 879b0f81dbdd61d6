"""Messages of the visible checks in the language of this edition of the notebooks.

A translated edition ships ``labutils/messages.json`` (English template -> translation,
values written as ``{0}``, ``{1}``...). When it is present and the notebook runs in
IPython/Jupyter, :func:`install` makes a failed visible check (an ``AssertionError``)
show its message in that language. The code of the checks is the same in every edition.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MESSAGES_FILE = Path(__file__).with_name("messages.json")
PLACEHOLDER = re.compile(r"\{(\d+)\}")


def load_table(path: Path = MESSAGES_FILE) -> dict[str, str]:
    """English template -> translated template; empty when this is the English edition."""
    if not path.is_file():
        return {}
    return dict(json.loads(path.read_text(encoding="utf-8")).get("messages", {}))


def _pattern(template: str) -> re.Pattern:
    """A regex for a whole message of this template. A value inside the template never spans
    ": " (that separates a check from its hint); a value that ends the template may."""
    literal = re.split(r"\{\d+\}", template.replace("{{", "\x00").replace("}}", "\x01"))
    pieces = [re.escape(p.replace("\x00", "{").replace("\x01", "}")) for p in literal]
    groups = ["((?:(?!: ).)+?)"] * (len(pieces) - 1)
    if groups and pieces[-1] == "":
        groups[-1] = "(.+?)"
    return re.compile("^" + "".join(p + g for p, g in zip(pieces, groups + [""], strict=True)) + "$", flags=re.S)


def translate(message: str, table: dict[str, str], _depth: int = 0) -> str:
    """``message`` translated with the first (longest) template that matches it whole; the values
    a template captures are translated in turn; ``head: tail`` is tried part by part."""
    if _depth > 6 or not message:
        return message
    for english, translated in sorted(table.items(), key=lambda kv: -len(kv[0])):
        match = _pattern(english).match(message)
        if match:
            values = [translate(v, table, _depth + 1) for v in match.groups()]
            text = PLACEHOLDER.sub(lambda m, vals=values: vals[int(m.group(1))], translated)
            return text.replace("{{", "{").replace("}}", "}")
    # a composed message (task id, check, hint): the split whose parts translate best
    best, best_score = message, 0
    for match in re.finditer(": ", message):
        head, tail = message[: match.start()], message[match.end() :]
        parts = (translate(head, table, _depth + 1), translate(tail, table, _depth + 1))
        score = (parts[0] != head) + (parts[1] != tail)
        if score > best_score:
            best, best_score = f"{parts[0]}: {parts[1]}", score
    return best


def install() -> bool:
    """Show translated visible-check failures in this IPython kernel; True if installed."""
    table = load_table()
    if not table:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def show_translated(shell, etype, evalue, tb, tb_offset=None):
        translated = AssertionError(translate(str(evalue), table))
        shell.showtraceback((etype, translated, tb), tb_offset=tb_offset)

    shell.set_custom_exc((AssertionError,), show_translated)
    _use_cjk_fonts()
    return True


# fonts with Chinese glyphs on common systems (Linux, Windows, macOS), preferred first
CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS")


def _use_cjk_fonts() -> str | None:
    """Let matplotlib draw the translated plot labels: put an installed CJK font first.

    Returns the font used, or None (then a one-line note says how to get one, and matplotlib's
    per-glyph warnings are silenced: the labels show as boxes, the numbers stay readable)."""
    try:
        import matplotlib
        from matplotlib import font_manager
    except ImportError:
        return None
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = [name for name in CJK_FONTS if name in installed]
    if found:
        matplotlib.rcParams["font.sans-serif"] = found + list(matplotlib.rcParams["font.sans-serif"])
        matplotlib.rcParams["axes.unicode_minus"] = False
        return found[0]
    import warnings

    warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
    print("注意：没有找到中文字体，图中的中文标签会显示为方框。安装 Noto Sans CJK SC"
          "（Linux：fonts-noto-cjk）或 SimHei 后重启内核即可。")
    return None
