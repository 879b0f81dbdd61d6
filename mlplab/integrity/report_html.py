"""The similarity report as one self-contained HTML page (no scripts, no outside resources).

Every piece of student text (code, names) goes through ``html.escape``.
"""

from __future__ import annotations

import html
from pathlib import Path

from mlplab.integrity.similarity import Answer, Pair, Result, excluded_slices, matched_slices

MAX_DETAILED = 60  # pairs shown side by side
MAX_LISTED = 500  # rows of the ranking table

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1280px; color: #1d232a; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 32px; } h3 { font-size: 15px; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 8px 12px; margin: 12px 0; }
.meta { color: #555; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border-bottom: 1px solid #e3e6ea; padding: 4px 8px; text-align: left; vertical-align: middle; }
th { background: #f4f6f8; font-weight: 600; }
td.num, td.nowrap { white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 10px; background: #c0392b; border-radius: 2px; vertical-align: middle; }
.barbox { display: inline-block; width: 120px; background: #eee; border-radius: 2px; margin-right: 6px; }
th.task { padding: 2px 0; vertical-align: bottom; }
th.task span { writing-mode: vertical-rl; transform: rotate(180deg); font-size: 11px; font-weight: 500;
  white-space: nowrap; }
td.cell { width: 18px; height: 18px; padding: 0; border: 1px solid #fff; }
.pair { border: 1px solid #d8dde3; border-radius: 6px; padding: 8px 14px; margin: 18px 0; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.side > div { min-width: 0; }
pre { background: #fafbfc; border: 1px solid #e3e6ea; padding: 8px; overflow-x: auto; font-size: 12px; margin: 4px 0; }
.given { color: #9aa0a6; }
mark { background: #ffd6d1; color: inherit; border-bottom: 2px solid #c0392b; }
.who { font-weight: 600; }
.skipped li { color: #8a4b00; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _colour(score: float) -> str:
    """White (0) to red (1)."""
    s = max(0.0, min(1.0, score))
    g = int(255 - 170 * s)
    return f"rgb(255,{g},{g - int(20 * s)})" if s > 0 else "#f6f7f8"


def _anchor(pair: Pair) -> str:
    a, b = pair.students
    return "pair-" + "".join(ch if ch.isalnum() else "_" for ch in f"{a}--{b}")


def highlighted(answer: Answer, slices: list[tuple[int, int]], given: list[tuple[int, int]] = ()) -> str:
    """The answer's code, escaped: matched character ranges in <mark>, given or common code greyed."""
    code = answer.code
    label = [0] * len(code)  # 0 own code, 1 given/common (not counted), 2 matched
    for value, ranges in ((1, given), (2, slices)):
        for start, end in ranges:
            for i in range(max(0, start), min(end, len(code))):
                label[i] = value
    out, i = [], 0
    while i < len(code):
        j = i
        while j < len(code) and label[j] == label[i]:
            j += 1
        text = _e(code[i:j])
        out.append({0: text, 1: f'<span class="given">{text}</span>', 2: f"<mark>{text}</mark>"}[label[i]])
        i = j
    return "".join(out)


def _pair_detail(result: Result, pair: Pair, rank: int) -> str:
    a, b = pair.students
    k = result.settings.k
    parts = [
        f'<div class="pair" id="{_anchor(pair)}"><h3>#{rank}: <span class="who">{_e(a)}</span> and '
        f'<span class="who">{_e(b)}</span>: {pair.score:.2f}</h3>'
    ]
    scores = sorted(pair.task_scores().items(), key=lambda kv: -kv[1])
    shown = [(t, s) for t, s in scores if s > 0]
    if not shown:
        parts.append("<p>No matching code.</p></div>")
        return "".join(parts)
    for task, score in shown:
        shared = pair.shared.get(task, set())
        ans_a, ans_b = result.answers[task][a], result.answers[task][b]
        left = highlighted(ans_a, matched_slices(ans_a, shared, k), excluded_slices(ans_a, k))
        right = highlighted(ans_b, matched_slices(ans_b, shared, k), excluded_slices(ans_b, k))
        parts.append(
            f"<h4>{_e(task)}: {score:.2f} of the distinctive code matches</h4>"
            f'<div class="side"><div><div class="who">{_e(a)}</div><pre>{left}</pre></div>'
            f'<div><div class="who">{_e(b)}</div><pre>{right}</pre></div></div>'
        )
    others = [t for t, s in scores if s == 0]
    if others:
        parts.append(f'<p class="meta">No matching code in: {_e(", ".join(others))}.</p>')
    parts.append("</div>")
    return "".join(parts)


def render(result: Result, threshold: float | None) -> str:
    """The whole page."""
    pairs = result.pairs
    tasks = [t for t in result.tasks if result.answers.get(t)]  # tasks someone answered
    st = result.settings
    listed = "with any matching code" if threshold is None else f"with a score of at least {threshold:.2f}"
    head = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Similarity report: {_e(result.assignment)}</title><style>{CSS}</style></head><body>"
        f"<h1>Similarity of answer code: {_e(result.assignment)}</h1>"
        f'<p class="meta">{len(result.students)} submissions, {result.pairs_compared} pairs compared over '
        f"{len(tasks)} tasks; {len(pairs)} pairs {listed}. Answer cells only; the released "
        f"template, docstrings and provided code are subtracted, and so is code shared by more than "
        f"{max(result.common_limit.values(), default=st.common_min)} students (a common idiom, not evidence). "
        f"k-grams of {st.k} tokens, names and comments ignored.</p>"
        '<p class="note"><b>A high score is a reason to look, not a verdict.</b> Short answers to a '
        "well-specified task converge; students may work together where the course allows it. Read the "
        "highlighted code side by side, compare with what the task forces everyone to write, and talk to "
        "the students before drawing any conclusion.</p>"
    )
    body = [head]
    if result.skipped:
        body.append('<h2>Skipped notebooks</h2><ul class="skipped">')
        body += [f"<li>{_e(s)}</li>" for s in result.skipped]
        body.append("</ul>")
    # ranking table with a per-task heat strip
    body.append("<h2>Pairs, most similar first</h2>")
    if not pairs:
        body.append("<p>No pair reaches the threshold.</p>")
    else:
        body.append("<table><tr><th>#</th><th>students</th><th>score</th><th>strongest task</th>")
        body += [f'<th class="task"><span>{_e(t)}</span></th>' for t in tasks]
        body.append("</tr>")
        for rank, pair in enumerate(pairs[:MAX_LISTED], 1):
            scores = pair.task_scores()
            best = max(scores.items(), key=lambda kv: kv[1], default=("", 0.0))
            name = f"{_e(pair.students[0])} &amp; {_e(pair.students[1])}"
            link = f'<a href="#{_anchor(pair)}">{name}</a>' if rank <= MAX_DETAILED else name
            body.append(
                f"<tr><td class='num'>{rank}</td><td class='nowrap'>{link}</td><td class='num'><span class='barbox'>"
                f"<span class='bar' style='width:{int(120 * pair.score)}px'></span></span>{pair.score:.2f}</td>"
                f"<td>{_e(best[0]) if best[1] > 0 else '-'} {f'({best[1]:.2f})' if best[1] > 0 else ''}</td>"
            )
            for t in tasks:
                if t in scores:
                    style = f"background:{_colour(scores[t])}"
                    body.append(f"<td class='cell' style='{style}' title='{_e(t)}: {scores[t]:.2f}'></td>")
                else:
                    body.append("<td class='cell' title='no distinctive code from one of them'></td>")
            body.append("</tr>")
        body.append("</table>")
        if len(pairs) > MAX_LISTED:
            body.append(f'<p class="meta">{len(pairs) - MAX_LISTED} more pairs in the JSON output.</p>')
        body.append(
            '<p class="meta">One column per task: darker red = more of that task\'s distinctive code matches; '
            "blank = one of the two has no distinctive code there (unanswered, template only, or only code "
            "most of the class shares).</p>"
        )
    # per-task breakdown
    body.append(
        "<h2>Per task</h2><table><tr><th>task</th><th>answers with distinctive code</th>"
        "<th>pairs with matches</th><th>highest</th><th>most similar pair</th></tr>"
    )
    for t in tasks:
        with_match = [(p.task_scores()[t], p) for p in pairs if p.task_scores().get(t, 0) > 0]
        top = max(with_match, key=lambda sp: sp[0], default=None)
        top_text = f"{_e(top[1].students[0])} &amp; {_e(top[1].students[1])}" if top else "-"
        body.append(
            f"<tr><td>{_e(t)}</td><td class='num'>{len(result.answers.get(t, {}))}</td>"
            f"<td class='num'>{len(with_match)}</td><td class='num'>{(top[0] if top else 0):.2f}</td>"
            f"<td>{top_text}</td></tr>"
        )
    body.append("</table>")
    detailed = [p for p in pairs[:MAX_DETAILED] if p.score > 0]
    if detailed:
        body.append(
            "<h2>Side by side</h2><p class='meta'>Answer cells without docstrings; "
            "matching regions are highlighted; grey code was given (template, provided code) or is common "
            "to the class, and never counts.</p>"
        )
        body += [_pair_detail(result, p, i) for i, p in enumerate(detailed, 1)]
    body.append("</body></html>")
    return "\n".join(body)


def write_report(result: Result, path: Path, threshold: float | None) -> Path:
    """Write the HTML page; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, threshold), encoding="utf-8")
    return path
