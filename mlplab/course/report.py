"""Class report: per-task pass rate and score histogram, as PNG and a self-contained HTML page.

The page is ``templates/class-report.html`` (Jinja2, autoescaped: student names and messages stay text)."""

from __future__ import annotations

import base64
from pathlib import Path

from mlplab.templating import render


def task_pass_rates(results: dict[str, dict]) -> dict[str, float]:
    """Fraction of students with full marks, per task (tasks in assignment order)."""
    rates: dict[str, float] = {}
    if not results:
        return rates
    first = next(iter(results.values()))
    for task_id in first["tasks"]:
        full = sum(
            1
            for r in results.values()
            if task_id in r["tasks"] and r["tasks"][task_id]["score"] >= r["tasks"][task_id]["max_score"] > 0
        )
        rates[task_id] = full / len(results)
    return rates


def plot_report(results: dict[str, dict], totals: dict[str, float], path: Path) -> Path:
    """Two panels: pass rate per task and the histogram of total scores."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = task_pass_rates(results)
    max_score = max((r["max_score"] for r in results.values()), default=1.0)
    scores = [totals.get(s, r["score"]) for s, r in results.items()]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.5), gridspec_kw={"width_ratios": [2, 1]})
    ax1.bar(range(len(rates)), [100 * v for v in rates.values()], color="#4477aa")
    ax1.set_xticks(range(len(rates)), list(rates), rotation=70, ha="right", fontsize=8)
    ax1.set_ylabel("students with full marks (%)")
    ax1.set_ylim(0, 100)
    ax1.set_title("Pass rate per task")
    ax2.hist(scores, bins=10, range=(0, max_score), color="#ee6677", edgecolor="white")
    ax2.set_xlabel(f"total score (of {max_score:g})")
    ax2.set_ylabel("students")
    ax2.set_title("Score distribution")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(
    results: dict[str, dict], totals: dict[str, float], about: dict[str, str], folder: Path
) -> dict[str, Path]:
    """Write ``class-report.png`` and ``class-report.html`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    png = plot_report(results, totals, folder / "class-report.png")
    rates = task_pass_rates(results)
    image = base64.b64encode(png.read_bytes()).decode("ascii")
    students = [
        {
            "student": s,
            "profile": about.get(s, ""),
            "score": f"{r['score']:.2f}",
            "total": f"{totals.get(s, r['score']):.2f}",
            "max_score": f"{r['max_score']:.0f}",
            "notes": "; ".join(r.get("errors", []))[:300],
        }
        for s, r in results.items()
    ]
    tasks = [(t, f"{100 * v:.0f}%") for t, v in rates.items()]
    page = render("mlplab.course", "class-report.html", students=students, tasks=tasks, image=image)
    page_path = folder / "class-report.html"
    page_path.write_text(page)
    return {"html": page_path, "png": png}
