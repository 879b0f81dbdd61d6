"""The grader catalogue ``docs/grader-catalogue.md``: the validation's results summarised (:func:`summarise`),
rendered as markdown (deterministic: no timings; margins in whole decades) with the content hash of every input
(:func:`mlplab.coursedir.content_hash`), and the short text ``mlplab validate-graders`` prints."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from mlplab.coursedir import Task, course_root, tasks
from mlplab.grading.result import TaskResult
from mlplab.validity.jobs import JobResult
from mlplab.validity.plan import Plan

CATALOGUE = Path("docs") / "grader-catalogue.md"
MARGIN_CAP = 6  # margins are shown in whole decades, capped at 1e6 (beyond that they are noise-free anyway)
FINGERPRINT_RE = re.compile(r"<!-- inputs sha256: ([0-9a-f]{64}) -->")
SEED_SECTION = "## Seed stability and margins"
VISIBLE_SECTION = "## Visible checks: the bugs a student sees before submitting"


def lost_points(info: dict) -> bool:
    """Whether a task result (its JSON) lost points: :attr:`mlplab.grading.result.TaskResult.lost_points`."""
    return TaskResult.from_json(info).lost_points


def _test_name(nodeid: str) -> str:
    return nodeid.split("::", 1)[-1]


def summarise(
    plan: Plan,
    seeds: int,
    results: list[JobResult],
    change_errors: dict[str, str],
    reach: dict[str, list[str]],
    stem_tasks: dict[str, list[str]],
) -> dict:
    problems: list[str] = []
    by_kind: dict[str, dict[str, JobResult]] = {"mutant": {}, "variant": {}}
    seed_results: list[JobResult] = []
    durations: dict[str, float] = {}
    for r in results:
        if r.job.kind == "seed":
            seed_results.append(r)
            for nodeid, d in r.durations.items():
                durations[nodeid] = max(durations.get(nodeid, 0.0), d)
        else:
            by_kind[r.job.kind][r.job.name] = r

    # seeds
    failures = []
    passed_seeds = set(range(seeds))
    for r in sorted(seed_results, key=lambda r: (r.job.seed, r.job.stem)):
        bad = {t: info for t, info in r.tasks.items() if lost_points(info)}
        if r.error:
            bad["(grader suite)"] = {"messages": [r.error]}
        if bad:
            passed_seeds.discard(r.job.seed)
            for t, info in sorted(bad.items()):
                failures.append({"seed": r.job.seed, "task": t, "messages": info.get("messages", [])})
                problems.append(
                    f"the reference loses points in {t} with grader seed {r.job.seed}: "
                    f"{'; '.join(info.get('messages', []))[:300]}"
                )

    # margins: worst reference ratio (measured / tol) per test, nearest failing bug per test
    tests: dict[str, dict] = {}
    for r in seed_results:
        for nodeid, (task, _passed, _msg) in r.outcomes.items():
            entry = tests.setdefault(
                nodeid, {"task": task, "checks": set(), "ref": None, "bug": None, "bug_name": None}
            )
            for what, measured, tol in r.measurements.get(nodeid, []):
                entry["checks"].add(what)
                ratio = measured / tol if tol > 0 else math.inf
                if entry["ref"] is None or ratio > entry["ref"]:
                    entry["ref"] = ratio

    # bugs
    mutants = []
    for change in plan.mutants:
        key = f"mutant:{change.name}"
        item: dict[str, Any] = {"name": change.name, "task": change.task, "cell": change.cell, "doc": change.doc}
        if key in change_errors:
            item.update(error=change_errors[key], killed=False, collateral=[], graded=[])
            problems.append(f"bug {change.name}: {change_errors[key]}")
            mutants.append(item)
            continue
        r = by_kind["mutant"][change.name]
        own = r.tasks.get(change.task, {"score": 0.0, "max_score": 0.0, "passed": 0, "failed": 0, "messages": []})
        killed = lost_points(own)
        collateral = sorted(t for t, info in r.tasks.items() if t != change.task and lost_points(info))
        prefix = f"{change.task}: "
        named = bool(own["messages"]) and all(
            m.startswith(prefix) and len(m) > len(prefix) + 12 for m in own["messages"]
        )
        item.update(
            killed=killed,
            own=own,
            collateral={t: r.tasks[t] for t in collateral},
            graded=sorted(r.tasks, key=list(plan.table).index),
            messages_name_task=named,
            error=r.error,
            load_errors=r.load_errors,
        )
        mutants.append(item)
        if r.error:
            problems.append(f"bug {change.name}: the grader suite failed: {r.error[:300]}")
        if not killed:
            problems.append(f"bug {change.name} survives: it loses no points in {change.task}")
        for t in collateral:
            problems.append(
                f"bug {change.name} (a {change.task} bug) also costs points in {t}: "
                f"{'; '.join(r.tasks[t]['messages'])[:300]}"
            )
        if killed and not named:
            problems.append(
                f"bug {change.name}: a failure message of {change.task} does not name the task or gives no hint"
            )
        # the bug's failing measurement, per test of its own task
        for nodeid, (task, passed, _msg) in r.outcomes.items():
            if task != change.task or passed:
                continue
            recorded = r.measurements.get(nodeid, [])
            failing = [m / t for _w, m, t in recorded if t > 0 and m >= t]
            if nodeid in tests and failing:
                ratio = min(failing)
                entry = tests[nodeid]
                if (
                    entry["bug"] is None
                    or ratio < entry["bug"]
                    or (ratio == entry["bug"] and change.name < entry["bug_name"])
                ):
                    entry["bug"], entry["bug_name"] = ratio, change.name

    variants = []
    for change in plan.variants:
        key = f"variant:{change.name}"
        item = {"name": change.name, "task": change.task, "cell": change.cell, "doc": change.doc}
        if key in change_errors:
            item.update(error=change_errors[key], full_marks=False, lost={}, graded=[])
            problems.append(f"variant {change.name}: {change_errors[key]}")
            variants.append(item)
            continue
        r = by_kind["variant"][change.name]
        lost = {t: info for t, info in r.tasks.items() if lost_points(info)}
        item.update(
            full_marks=not lost and not r.error,
            lost=lost,
            graded=sorted(r.tasks, key=list(plan.table).index),
            error=r.error,
        )
        variants.append(item)
        for t, info in sorted(lost.items()):
            problems.append(f"correct variant {change.name} loses points in {t}: {'; '.join(info['messages'])[:300]}")
        if r.error:
            problems.append(f"variant {change.name}: the grader suite failed: {r.error[:300]}")

    # bugs per task
    per_task = {t: sum(1 for m in mutants if m["task"] == t) for t in plan.table}
    margins = []
    for nodeid in sorted(tests, key=lambda n: (list(plan.table).index(tests[n]["task"]), n)):
        entry = tests[nodeid]
        margins.append(
            {
                "test": _test_name(nodeid),
                "task": entry["task"],
                "checks": len(entry["checks"]),
                "reference_ratio": entry["ref"],
                "nearest_bug_ratio": entry["bug"],
                "nearest_bug": entry["bug_name"],
                "seconds": round(durations.get(nodeid, 0.0), 3),
            }
        )

    killed = sum(1 for m in mutants if m.get("killed"))
    isolated = sum(1 for m in mutants if m.get("killed") and not m.get("collateral") and m.get("messages_name_task"))
    return {
        "ok": not problems,
        "problems": problems,
        "seeds": {"count": seeds, "passed": len(passed_seeds), "failures": failures},
        "mutants": mutants,
        "variants": variants,
        "bugs_per_task": per_task,
        "counts": {
            "bugs": len(mutants),
            "bugs_killed": killed,
            "bugs_killed_in_own_task_only": isolated,
            "variants": len(variants),
            "variants_full_marks": sum(1 for v in variants if v.get("full_marks")),
            "tasks": len(plan.table),
        },
        "margins": margins,
        "reach": reach,
    }


def _decades(ratio: float | None, invert: bool) -> str:
    """A measured/tolerance ratio as a whole number of decades (deterministic across runs)."""
    if ratio is None:
        return "pass/fail only"
    if math.isinf(ratio):
        return "NaN/inf" if not invert else "-"
    if ratio <= 0:
        return f">= 1e{MARGIN_CAP}" if invert else "0"
    value = 1.0 / ratio if invert else ratio
    if invert and value >= 10**MARGIN_CAP:
        return f">= 1e{MARGIN_CAP}"
    if not invert and value >= 10**MARGIN_CAP:
        return f">= 1e{MARGIN_CAP} x tol"
    k = math.floor(math.log10(value) + 1e-9)
    return f">= 1e{k}" if invert else f">= 1e{k} x tol"


def table_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(summary: dict, table: dict[str, Task] | None = None) -> str:
    """The markdown catalogue (deterministic for a given set of inputs)."""
    table = table or tasks()
    # tasks graded from a submitted file get no column: no bug or variant reaches them (see the summary line)
    table = {t: v for t, v in table.items() if t not in summary.get("submitted_files", {})}
    counts = summary["counts"]
    seeds = summary["seeds"]
    lines = [
        "# Grader catalogue",
        "",
        f"<!-- inputs sha256: {summary['fingerprint']} -->",
        "Generated by `mlplab validate-graders` (do not edit by hand; `mlplab validate-graders --check` "
        "tells whether it is up to date). It measures whether the hidden graders (`grader_tests/`) tell "
        "right from wrong: the reference solution must get full marks on every grader seed, every correct "
        "variant must get full marks, and every catalogued bug must lose points in its own task and in no other.",
        "",
        "## Summary",
        "",
        f"- bugs caught in their own task: **{counts['bugs_killed']} / {counts['bugs']}**; "
        f"caught in their own task only, with a message naming the task: "
        f"**{counts['bugs_killed_in_own_task_only']} / {counts['bugs']}**",
        f"- correct variants with full marks: **{counts['variants_full_marks']} / {counts['variants']}**",
        "- reference seeds and margins: see the last section",
        *[f"- `{task}` is not validated here: it grades a file the student submits "
          f"({', '.join(f'`{name}`' for name in files)}), no code of the reference reaches it; "
          "tests/test_fc_net_challenge.py checks its loader and scoring"
          for task, files in summary.get("submitted_files", {}).items()],
        f"- problems: **{len(summary['problems'])}**",
        "",
    ]
    for problem in summary["problems"]:
        lines.append(f"  - {table_cell(problem)}")
    if summary["problems"]:
        lines.append("")
    lines += [
        "A bug or variant replaces one solution cell of the reference notebook. Only the tasks whose graders "
        'can reach that cell are graded ("not reached" tasks run the unchanged reference code: their graders '
        "never touch the changed names, directly or through other definitions, or take them from the reference).",
        "",
        "## Bugs (kill matrix)",
        "",
        "Each cell: `KILLED f/n` (own task: f of n checks fail), `SURVIVED` (own task, no points lost), "
        "`LOSS f/n` (points lost in another task: a fault-isolation failure), `ok` (graded, full marks), "
        "`.` (not reached).",
        "",
    ]
    mutants = summary["mutants"]
    stems = sorted({t.notebook for t in table.values()})
    for stem in stems:
        stem_tasks = [t for t, v in table.items() if v.notebook == stem]
        bugs = [m for m in mutants if m["task"] in stem_tasks]
        if not bugs:
            continue
        lines += [
            f"### {stem}",
            "",
            "| bug | " + " | ".join(f"`{t}`" for t in stem_tasks) + " |",
            "|---|" + "---|" * len(stem_tasks),
        ]
        for m in bugs:
            row = []
            for t in stem_tasks:
                if m.get("error") and not m.get("graded"):
                    row.append("ERROR")
                    continue
                info = m.get("own") if t == m["task"] else m.get("collateral", {}).get(t)
                n_f = f"{info['failed']}/{info['passed'] + info['failed']}" if info else ""
                if t == m["task"]:
                    row.append(f"**KILLED {n_f}**" if m["killed"] else "**SURVIVED**")
                elif info:
                    row.append(f"LOSS {n_f}")
                elif t in m.get("graded", []):
                    row.append("ok")
                else:
                    row.append(".")
            lines.append(f"| `{m['name']}` | " + " | ".join(row) + " |")
        lines.append("")
    lines += [
        "### What each bug is and what the student is told",
        "",
        "| bug | task | the bug | first message of its task |",
        "|---|---|---|---|",
    ]
    for m in mutants:
        own = m.get("own") or {}
        message = (own.get("messages") or [m.get("error") or ""])[0]
        lines.append(f"| `{m['name']}` | `{m['task']}` | {table_cell(m['doc'])} | {table_cell(message)} |")
    lines += ["", "Bugs per task: " + ", ".join(f"`{t}` {n}" for t, n in summary["bugs_per_task"].items()) + ".", ""]

    lines += ["## Correct variants", "", "| variant | task | what it does differently | result |", "|---|---|---|---|"]
    for v in summary["variants"]:
        if v.get("full_marks"):
            result = "full marks (" + ", ".join(f"`{t}`" for t in v["graded"]) + ")"
        else:
            lost = v.get("lost") or {}
            result = "**LOSES POINTS**: " + (
                table_cell("; ".join(msg for info in lost.values() for msg in info["messages"]))
                or table_cell(v.get("error") or "")
            )
        lines.append(f"| `{v['name']}` | `{v['task']}` | {table_cell(v['doc'])} | {result} |")
    lines.append("")

    requirements = summary.get("requirements") or []
    if requirements:
        graded = sum(1 for r in requirements if r["checks"])
        lines += [
            "## Requirements: every docstring sentence that states one, and what grades it",
            "",
            f"{graded} of {len(requirements)} requirement sentences are graded; the others say why not. Rows come "
            "from the docstrings of the solution cells (sentences with words such as *must*, *do not*, *exactly*, "
            "*not modified*, *dtype*, *default*, *use*, *call*) joined with `grader_tests/requirements.py`; a test "
            "fails when a sentence is unmapped.",
            "",
            "| cell | requirement | graded by |",
            "|---|---|---|",
        ]
        for r in requirements:
            graded_by = ", ".join(f"`{c}`" for c in r["checks"]) or f"ungraded: {table_cell(r['ungraded'])}"
            lines.append(f"| `{r['cell']}` | {table_cell(r['text'])} | {graded_by} |")
        lines.append("")
    lines += [
        SEED_SECTION,
        "",
        f"The reference solution got full marks on {seeds['passed']} of {seeds['count']} grader seeds "
        f"(seeds 0 to {seeds['count'] - 1}; the seed changes every random input of every check).",
        "",
    ]
    for failure in seeds["failures"]:
        lines.append(f"- seed {failure['seed']}, `{failure['task']}`: {table_cell('; '.join(failure['messages']))}")
    if seeds["failures"]:
        lines.append("")
    lines += [
        "Margins per test, over all its recorded checks (error / tolerance): **reference margin** = how many "
        "times below its tolerance the reference stays in the worst check and worst seed; **nearest bug** = "
        "how far above the tolerance the closest catalogued bug of the task lands in the check that caught it "
        '(whole decades). "pass/fail only": the test makes exact or structural checks (shapes, dtypes, names, '
        "in-place changes) that record no measurement.",
        "",
        "| task | test | checks | reference margin | nearest bug | which bug |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary["margins"]:
        bug = "" if row["nearest_bug"] is None else f"`{row['nearest_bug']}`"
        ref_margin = _decades(row["reference_ratio"], invert=True)
        bug_margin = "-" if row["nearest_bug_ratio"] is None else _decades(row["nearest_bug_ratio"], invert=False)
        lines.append(
            f"| `{row['task']}` | `{table_cell(row['test'])}` | {row['checks']} | {ref_margin} | {bug_margin} | {bug} |"
        )
    lines.append("")
    if summary.get("visible"):
        lines += render_visible(summary, table)
    return "\n".join(lines)


def render_visible(summary: dict, table: dict[str, Task]) -> list[str]:
    """The section: per task, how many of its catalogued bugs the notebook's visible checks catch."""
    visible = summary["visible"]
    bugs = visible["bugs"]
    stems = sorted(visible["reference"])
    lines = [
        VISIBLE_SECTION,
        "",
        "What a student learns before submitting: each bug of notebooks " + ", ".join(stems) + " is swapped into "
        "the reference notebook and the notebook's visible checks (the `*_check` cells after the bug's cell, with "
        "the data cells they read) run in notebook order, as a student runs them; the bug is *caught* when one of "
        "them fails (notebook 05's checks use tiny PyTorch models on the CPU, no data). The reference passes every "
        "check: " + ", ".join(f"{stem} {'yes' if not r['caught_by'] else 'NO'}" for stem, r in
                              sorted(visible["reference"].items())) + ".",
        "",
        "| task | bugs | caught by the visible checks | caught only by the hidden graders |",
        "|---|---|---|---|",
    ]
    total = caught_total = 0
    for task, info in table.items():
        if info.notebook not in stems:
            continue
        names = [m["name"] for m in summary["mutants"] if m["task"] == task]
        caught = [n for n in names if bugs.get(f"mutant:{n}", {}).get("caught_by")]
        missed = [n for n in names if n not in caught]
        total += len(names)
        caught_total += len(caught)
        lines.append(f"| `{task}` | {len(names)} | {len(caught)} | " + (", ".join(f"`{n}`" for n in missed) or "-")
                     + " |")
    lines += ["", f"In all: **{caught_total} of {total}** bugs of these notebooks are caught by a visible check.", ""]
    flagged = sorted((name.split(":", 1)[1], r) for name, r in bugs.items() if name.startswith("variant:")
                     and r["caught_by"])
    if flagged:
        lines += ["Correct variants a visible check fails (the hidden graders give them full marks):", ""]
        lines += [f"- `{name}`: `{r['caught_by']}`: {table_cell(r['message'])}" for name, r in flagged]
    else:
        lines.append("No correct variant fails a visible check.")
    lines.append("")
    return lines


def split_seed_section(text: str) -> tuple[str, str]:
    """(everything before the seed section, the seed section)."""
    index = text.find(SEED_SECTION)
    return (text, "") if index < 0 else (text[:index], text[index:])


def summary_text(summary: dict) -> str:
    counts, seeds = summary["counts"], summary["seeds"]
    slow = sorted(summary["margins"], key=lambda r: -r["seconds"])[:5]
    lines = [
        f"bugs caught in their own task: {counts['bugs_killed']}/{counts['bugs']} "
        f"(own task only, message names the task: {counts['bugs_killed_in_own_task_only']})",
        f"correct variants with full marks: {counts['variants_full_marks']}/{counts['variants']}",
        f"reference full marks on {seeds['passed']}/{seeds['count']} grader seeds",
        "slowest checks (reference, worst seed): " + ", ".join(f"{r['test']} {r['seconds']:.2f} s" for r in slow),
        f"validation took {summary.get('seconds', 0):.0f} s",
    ]
    if summary["problems"]:
        lines.append(f"{len(summary['problems'])} problem(s):")
        lines += [f"  - {p}" for p in summary["problems"]]
    else:
        lines.append("no problems")
    return "\n".join(lines)


def catalogue_path(root: Path | None = None) -> Path:
    return (root or course_root()) / CATALOGUE
