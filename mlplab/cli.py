"""The ``mlplab`` command line.

mlplab grade PATH [--json]          grade one submission (notebook or folder) in the sandbox
mlplab generate                     regenerate release/ and solutions/ from source/ with nbgrader
mlplab autograde mlp [...]          hardened, parallel autograding into the nbgrader gradebook
mlplab demo                         simulated class, end to end
mlplab validate-graders [--json]    bug catalogue, correct variants, seed stability
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mlplab.sandbox.launch import Limits, SandboxConfig, SandboxUnavailable


def _sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    from mlplab.course.tasks import release_dir

    limits = Limits()
    for field_name, var in (("call_timeout_s", "MLPLAB_CALL_TIMEOUT_S"), ("load_timeout_s", "MLPLAB_LOAD_TIMEOUT_S")):
        if os.environ.get(var):
            setattr(limits, field_name, float(os.environ[var]))
    return SandboxConfig(
        limits=limits,
        labutils_dir=release_dir() / "labutils",
        unsafe=bool(getattr(args, "unsafe", False)),
        slot=int(os.environ.get("MLPLAB_SANDBOX_SLOT", "0")),
    )


def format_table(result: dict) -> str:
    """A plain-text table of one grading result."""
    lines = [f"{'task':<24}{'score':>8}{'max':>6}  checks"]
    for task_id, info in result["tasks"].items():
        checks = f"{info['passed']}/{info['passed'] + info['failed']}"
        lines.append(f"{task_id:<24}{info['score']:>8.2f}{info['max_score']:>6.1f}  {checks}")
    lines.append(f"{'total':<24}{result['score']:>8.2f}{result['max_score']:>6.1f}")
    return "\n".join(lines)


def cmd_grade(args: argparse.Namespace) -> int:
    from mlplab.grading.runner import grade_path
    from mlplab.notebooks import NotebookError

    try:
        result = grade_path(Path(args.path), config=_sandbox_config(args), seed=args.seed)
    except (FileNotFoundError, NotebookError, SandboxUnavailable) as exc:
        print(f"mlplab grade: cannot grade {args.path}: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    print(format_table(result))
    for info in result["tasks"].values():
        for message in info["messages"]:
            print(f"  - {message}")
    for error in result["errors"]:
        print(f"! {error}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from mlplab.course.generate import generate

    generate()
    return 0


def cmd_autograde(args: argparse.Namespace) -> int:
    from mlplab.autograde import autograde, class_table
    from mlplab.course.gradebook import exported_totals
    from mlplab.course.tasks import ASSIGNMENT, course_root
    from mlplab.sandbox.launch import bwrap_path

    if args.assignment != ASSIGNMENT:
        print(
            f"mlplab autograde: unknown assignment {args.assignment!r} (this course has {ASSIGNMENT!r})",
            file=sys.stderr,
        )
        return 2
    if not args.unsafe and bwrap_path() is None:
        print(
            "mlplab autograde: refusing to run: bubblewrap (bwrap) is not installed, so student code cannot be "
            "sandboxed. Install it (apt-get install bubblewrap) or pass --unsafe-no-sandbox on a trusted machine.",
            file=sys.stderr,
        )
        return 2
    try:
        results = autograde(
            students=args.student,
            jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            force=args.force,
            unsafe=args.unsafe,
            db_url=args.db_url,
        )
    except FileNotFoundError as exc:
        print(f"mlplab autograde: {exc}", file=sys.stderr)
        return 2
    print(class_table(results, exported_totals(course_root(), args.db_url)))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mlplab.demo import main as demo_main
    from mlplab.sandbox.launch import bwrap_path

    if bwrap_path() is None:
        print(
            "mlplab demo: bubblewrap (bwrap) is required for the hardened autograder (apt-get install bubblewrap)",
            file=sys.stderr,
        )
        return 2
    return demo_main(Path(args.out) if args.out else None, jobs=args.jobs)


def _json_safe(value):
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def cmd_validate(args: argparse.Namespace) -> int:
    from mlplab.validity.validate import catalogue_path, render, summary_text, validate

    def progress(result) -> None:
        if not args.json and args.verbose:
            job = result.job
            print(f"  {job.kind:<8}{job.name:<52}{job.stem:<18}{result.seconds:6.1f} s", file=sys.stderr)

    if args.seeds < 1:
        print("mlplab validate-graders: --seeds must be at least 1", file=sys.stderr)
        return 2
    if args.mutation:
        from mlplab.validity.validate import MUTATION_REPORT, render_mutation, validate_mutation

        summary = validate_mutation(max(0, args.mutation_limit), processes=max(1, args.jobs), progress=progress)
        report = render_mutation(summary)
        if not args.check:
            path = catalogue_path().parent.parent / MUTATION_REPORT
            path.write_text(report)
        if args.json:
            print(json.dumps(_json_safe(summary)))
        else:
            print(f"mutation score: {summary['killed']}/{summary['scored']} = {100 * summary['score']:.1f} % "
                  f"({summary['mutants']} mutants, {summary['seconds']:.0f} s)")
        return 0
    summary = validate(seeds=args.seeds, processes=max(1, args.jobs), progress=progress)
    text = render(summary)
    path = catalogue_path()
    stale = None
    if args.check:
        current = path.read_text() if path.is_file() else ""
        stale = current != text
        if stale:
            summary["problems"].append(f"{path.name} is stale: run `mlplab validate-graders` and commit it")
            summary["ok"] = False
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if args.json:
        print(json.dumps(_json_safe(summary)))
    else:
        print(summary_text(summary))
        if not args.check:
            print(f"wrote {path}")
        elif not stale:
            print(f"{path.name} is up to date")
    return 0 if summary["ok"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlplab", description="MLP Lab course toolkit")
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade one submission (a notebook or a folder of notebooks)")
    grade.add_argument("path")
    grade.add_argument("--json", action="store_true", help="print exactly one JSON object")
    grade.add_argument("--seed", type=int, default=None, help="grader seed (default 0 or $MLPLAB_GRADER_SEED)")
    grade.add_argument(
        "--unsafe-no-sandbox",
        dest="unsafe",
        action="store_true",
        help="run student code without bubblewrap isolation (trusted machines only)",
    )
    grade.set_defaults(func=cmd_grade, exits_fast=True)

    auto = sub.add_parser("autograde", help="sandboxed, parallel autograding into the nbgrader gradebook")
    auto.add_argument("assignment")
    auto.add_argument("--jobs", type=int, default=2, help="submissions graded in parallel (default 2)")
    auto.add_argument("--student", action="append", help="grade only this student (repeatable)")
    auto.add_argument("--backend", choices=["local", "dask"], default="local")
    auto.add_argument("--scheduler", help="address of a running dask scheduler (with --backend dask)")
    auto.add_argument("--force", action="store_true", help="regrade even when a cached result is up to date")
    auto.add_argument("--db-url", help="SQLAlchemy URL of the gradebook (default: nbgrader_config.py)")
    auto.add_argument(
        "--unsafe-no-sandbox",
        dest="unsafe",
        action="store_true",
        help="run student code without bubblewrap isolation (trusted machines only)",
    )
    auto.set_defaults(func=cmd_autograde)

    demo = sub.add_parser("demo", help="a simulated class through the whole workflow, offline")
    demo.add_argument("--out", help="output folder (default demo-output/)")
    demo.add_argument("--jobs", type=int, default=2)
    demo.set_defaults(func=cmd_demo)

    valid = sub.add_parser("validate-graders", help="bug catalogue, correct variants, seed stability")
    valid.add_argument("--json", action="store_true", help="print exactly one JSON object")
    valid.add_argument("--seeds", type=int, default=50, help="grader seeds the reference must pass (default 50)")
    valid.add_argument(
        "--check",
        action="store_true",
        help="compare with the committed docs/grader-catalogue.md (fail if stale) instead of writing it",
    )
    valid.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    valid.add_argument("--mutation", action="store_true",
                       help="mutation score: apply cosmic-ray operators to every reference answer and grade each "
                            "mutant (writes docs/mutation-score.md)")
    valid.add_argument("--mutation-limit", type=int, default=8,
                       help="at most this many mutants per solution cell (0 = all; default 8)")
    valid.add_argument("--verbose", action="store_true", help="print every graded job and its time")
    valid.set_defaults(func=cmd_validate)

    generate = sub.add_parser("generate", help="regenerate release/ and solutions/ from source/")
    generate.set_defaults(func=cmd_generate)
    return parser


def main(argv: list[str] | None = None, exit_when_done: bool = False) -> int:
    """Run one ``mlplab`` command; ``exit_when_done`` (the ``python -m mlplab`` entry point) lets
    ``mlplab grade`` end its process right after writing its result: tearing down an interpreter with
    PyTorch loaded takes about a second per submission, and everything the command opened (sandboxes,
    scratch directories) is closed by then."""
    # Graders compare small arrays: one BLAS thread per process is fastest and keeps parallel jobs fair.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    args = build_parser().parse_args(argv)
    code = int(args.func(args) or 0)
    if exit_when_done and getattr(args, "exits_fast", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def entry_point() -> int:
    """The ``mlplab`` console script."""
    return main(exit_when_done=True)


if __name__ == "__main__":
    sys.exit(entry_point())
