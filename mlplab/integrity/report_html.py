"""The similarity report as one self-contained HTML page (no scripts, no outside resources).

The page is ``templates/similarity.html`` (Jinja2, autoescaped): this module only computes what it shows,
and every piece of student text (code, names) reaches the page as text, never as markup.
"""

from __future__ import annotations

from pathlib import Path

from mlplab.integrity.similarity import Answer, Pair, Result, excluded_slices, matched_slices
from mlplab.templating import render as render_template

MAX_DETAILED = 60  # pairs shown side by side
MAX_LISTED = 500  # rows of the ranking table

def _colour(score: float) -> str:
    """White (0) to red (1)."""
    s = max(0.0, min(1.0, score))
    g = int(255 - 170 * s)
    return f"rgb(255,{g},{g - int(20 * s)})" if s > 0 else "#f6f7f8"


def _anchor(pair: Pair) -> str:
    a, b = pair.students
    return "pair-" + "".join(ch if ch.isalnum() else "_" for ch in f"{a}--{b}")


def segments(answer: Answer, slices: list[tuple[int, int]], given: list[tuple[int, int]] = ()) -> list[tuple[str, str]]:
    """The answer's code cut into runs ``(kind, text)``: kind ``"match"`` (matched character ranges),
    ``"given"`` (given or common code, not counted) or ``"own"``; the texts joined are the code."""
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
        out.append(({0: "own", 1: "given", 2: "match"}[label[i]], code[i:j]))
        i = j
    return out


def _pair_detail(result: Result, pair: Pair, rank: int) -> dict:
    a, b = pair.students
    k = result.settings.k
    scores = sorted(pair.task_scores().items(), key=lambda kv: -kv[1])
    shown = []
    for task, score in scores:
        if score <= 0:
            continue
        shared = pair.shared.get(task, set())
        ans_a, ans_b = result.answers[task][a], result.answers[task][b]
        left = segments(ans_a, matched_slices(ans_a, shared, k), excluded_slices(ans_a, k))
        right = segments(ans_b, matched_slices(ans_b, shared, k), excluded_slices(ans_b, k))
        shown.append({"task": task, "score": f"{score:.2f}", "left": left, "right": right})
    others = [t for t, s in scores if s == 0] if shown else []
    return {
        "anchor": _anchor(pair),
        "rank": rank,
        "a": a,
        "b": b,
        "score": f"{pair.score:.2f}",
        "tasks": shown,
        "others": others,
    }


def _row(pair: Pair, rank: int, tasks: list[str]) -> dict:
    scores = pair.task_scores()
    best = max(scores.items(), key=lambda kv: kv[1], default=("", 0.0))
    cells = [
        {"task": t, "colour": _colour(scores[t]), "score": f"{scores[t]:.2f}"} if t in scores else {"colour": None}
        for t in tasks
    ]
    return {
        "rank": rank,
        "a": pair.students[0],
        "b": pair.students[1],
        "anchor": _anchor(pair) if rank <= MAX_DETAILED else None,
        "bar": int(120 * pair.score),
        "score": f"{pair.score:.2f}",
        "best": f"{best[0]} ({best[1]:.2f})" if best[1] > 0 else "- ",
        "cells": cells,
    }


def render(result: Result, threshold: float | None) -> str:
    """The whole page."""
    pairs = result.pairs
    tasks = [t for t in result.tasks if result.answers.get(t)]  # tasks someone answered
    st = result.settings
    per_task = []
    for t in tasks:
        with_match = [(p.task_scores()[t], p) for p in pairs if p.task_scores().get(t, 0) > 0]
        top = max(with_match, key=lambda sp: sp[0], default=None)
        per_task.append(
            {
                "task": t,
                "answers": len(result.answers.get(t, {})),
                "pairs": len(with_match),
                "highest": f"{(top[0] if top else 0):.2f}",
                "top": top[1].students if top else None,
            }
        )
    detailed = [p for p in pairs[:MAX_DETAILED] if p.score > 0]
    return render_template(
        "mlplab.integrity",
        "similarity.html",
        assignment=result.assignment,
        n_students=len(result.students),
        pairs_compared=result.pairs_compared,
        n_pairs=len(pairs),
        listed="with any matching code" if threshold is None else f"with a score of at least {threshold:.2f}",
        common_limit=max(result.common_limit.values(), default=st.common_min),
        k=st.k,
        skipped=result.skipped,
        tasks=tasks,
        rows=[_row(p, rank, tasks) for rank, p in enumerate(pairs[:MAX_LISTED], 1)],
        more_pairs=max(0, len(pairs) - MAX_LISTED),
        per_task=per_task,
        detailed=[_pair_detail(result, p, i) for i, p in enumerate(detailed, 1)],
    )


def write_report(result: Result, path: Path, threshold: float | None) -> Path:
    """Write the HTML page; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, threshold), encoding="utf-8")
    return path
