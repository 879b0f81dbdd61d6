"""The ``mlplab`` command line.

mlplab grade PATH [--json]          grade one submission (notebook or folder) in the sandbox
mlplab generate                     regenerate release/ and solutions/ from source/ with nbgrader
mlplab quickstart DIR               a new course directory of its own
mlplab extend mlp STUDENT --days N  an extension; the late penalty follows
mlplab generate --lang zh           the Chinese edition: release/mlp-zh, solutions/mlp-zh (i18n/zh/)
mlplab i18n check|stub --lang zh    translation catalogue: missing / stale entries
mlplab autograde mlp [...]          hardened, parallel autograding into the nbgrader gradebook
mlplab demo                         simulated class, end to end
mlplab validate-graders [--json]    bug catalogue, correct variants, seed stability
mlplab similarity mlp [--json]      similarity of answer code between submissions (HTML report)
mlplab export --format canvas FILE  grades in Canvas's / Moodle's own import layout
mlplab serve [...]                  the JupyterHub grading service (feedback on submit)
mlplab hub --demo                   a local JupyterHub with the course, the service and four accounts
mlplab config [--markdown]          every setting: effective value and source (docs/configuration.md)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mlplab.sandbox.host.launch import Limits, SandboxConfig, SandboxUnavailable

if TYPE_CHECKING:
    from mlplab.config import Settings
    from mlplab.integrity.similarity import Result
    from mlplab.integrity.similarity import Settings as SimilaritySettings


def _settings(args: argparse.Namespace) -> Settings:
    """The effective settings of the course (``mlplab.config``): ``--memory-mb`` / ``--scratch-mb`` on top.

    A bad value anywhere is :class:`SandboxUnavailable` with one sentence naming the setting.
    """
    from mlplab import config
    from mlplab.coursedir import CourseError, course_root

    try:
        root: Path | None = course_root()
    except CourseError:
        root = None
    overrides = {"Sandbox.memory_mb": getattr(args, "memory_mb", None),
                 "Sandbox.scratch_mb": getattr(args, "scratch_mb", None)}
    try:
        return config.load(root, overrides=overrides)
    except config.ConfigError as exc:
        raise SandboxUnavailable(str(exc)) from None


def _settings_or_say_why(args: argparse.Namespace, command: str) -> Settings | None:
    """:func:`_settings`, or None after one sentence on stderr naming the bad setting (``mlplab COMMAND: ...``)."""
    try:
        return _settings(args)
    except SandboxUnavailable as exc:
        print(f"mlplab {command}: {exc}", file=sys.stderr)
        return None


def _sandbox_config(args: argparse.Namespace, settings: Settings | None = None) -> SandboxConfig:
    from mlplab.coursedir import CourseDir

    settings = settings or _settings(args)
    return SandboxConfig(
        limits=Limits.from_settings(settings.sandbox),
        labutils_dir=CourseDir.here().release_labutils,
        unsafe=bool(getattr(args, "unsafe", False)),
        slot=settings.sandbox.slot,
    )


def _add_limit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memory-mb", type=int, default=None,
                        help="memory budget of one submission, all its processes and tmpfs together "
                             "(default: c.Sandbox.memory_mb, see `mlplab config`)")
    parser.add_argument("--scratch-mb", type=int, default=None,
                        help="size of each sandbox's writable /scratch tmpfs (default: c.Sandbox.scratch_mb)")


def _warn_once_about_budget(settings: Settings) -> dict[str, str]:
    """For a batch: say once (here) whether submissions get a memory cgroup; returns the environment that
    keeps the jobs quiet about it."""
    from mlplab.sandbox.host import budget

    limit = settings.sandbox.memory_mb
    why = budget.probe(limit)
    if why:
        budget.warn_once(why, limit)
    return {budget.WARNED_ENV: "1"}


def format_table(result: dict) -> str:
    """A plain-text table of one grading result."""
    lines = [f"{'task':<24}{'score':>8}{'max':>6}  checks"]
    for task_id, info in result["tasks"].items():
        checks = f"{info['passed']}/{info['passed'] + info['failed']}"
        lines.append(f"{task_id:<24}{info['score']:>8.2f}{info['max_score']:>6.1f}  {checks}")
    lines.append(f"{'total':<24}{result['score']:>8.2f}{result['max_score']:>6.1f}")
    return "\n".join(lines)


def cmd_config(args: argparse.Namespace) -> int:
    from mlplab import config

    if args.markdown:
        print(config.markdown_table(), end="")
        return 0
    settings = _settings_or_say_why(args, "config")
    if settings is None:
        return 2
    print(config.text_table(settings))
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from mlplab.grading.runner import grade_path
    from mlplab.notebooks import NotebookError

    try:
        settings = _settings(args)
        seed = args.seed if args.seed is not None else settings.autograde.grader_seed
        result = grade_path(Path(args.path), config=_sandbox_config(args, settings), seed=seed).to_json()
    except (FileNotFoundError, NotebookError, SandboxUnavailable) as exc:
        print(f"mlplab grade: cannot grade {args.path}: {exc}", file=sys.stderr)
        return 2
    if args.lang and args.lang != "en":
        from mlplab.course.i18n import translate_result

        result = translate_result(result, args.lang)
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

    if args.lang and args.lang != "en":
        from mlplab.course.i18n import CatalogueError, generate_edition

        try:
            release = generate_edition(args.lang)
        except CatalogueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {release} and {release.parent.parent / 'solutions' / release.name}")
        return 0
    try:
        generate(progress=True)
    except RuntimeError as exc:  # nbgrader failed: its own log says why
        print(f"mlplab generate: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_i18n(args: argparse.Namespace) -> int:
    from mlplab.course.i18n import CatalogueError, check_catalogue, stub_missing

    try:
        if args.action == "stub":
            print(f"appended {stub_missing(args.lang)} entries to fill in (marked TODO)")
        problems = check_catalogue(args.lang)
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    todo = sum(1 for p in problems if p.kind == "missing")
    print(f"{len(problems)} problems ({todo} missing translations)" if problems else f"{args.lang}: complete and fresh")
    return 1 if problems else 0


def _known_assignment(command: str, assignment: str) -> bool:
    """False (after one sentence on stderr) when ``assignment`` is not this course's assignment."""
    from mlplab.coursedir import ASSIGNMENT

    if assignment == ASSIGNMENT:
        return True
    print(f"mlplab {command}: unknown assignment {assignment!r} (this course has {ASSIGNMENT!r})", file=sys.stderr)
    return False


def cmd_autograde(args: argparse.Namespace) -> int:
    from mlplab.autograde import SchedulerUnreachable, autograde, class_table
    from mlplab.course.gradebook import GradebookNotReady, student_summaries
    from mlplab.coursedir import course_root
    from mlplab.sandbox.host.launch import bwrap_path

    if not _known_assignment("autograde", args.assignment):
        return 2
    if not args.unsafe and bwrap_path() is None:
        print(
            "mlplab autograde: refusing to run: bubblewrap (bwrap) is not installed, so student code cannot be "
            "sandboxed. Install it (apt-get install bubblewrap) or pass --unsafe-no-sandbox on a trusted machine.",
            file=sys.stderr,
        )
        return 2
    settings = _settings_or_say_why(args, "autograde")
    if settings is None:
        return 2
    quiet = _warn_once_about_budget(settings)
    try:
        results = autograde(
            settings=settings,
            job_env=quiet,
            students=args.student,
            jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            force=args.force,
            unsafe=args.unsafe,
            db_url=args.db_url,
        )
    except (FileNotFoundError, GradebookNotReady, SchedulerUnreachable) as exc:
        print(f"mlplab autograde: {exc}", file=sys.stderr)
        return 2
    print(class_table(results, student_summaries(course_root(), args.db_url)))
    print(
        f"{len(results.graded)} graded now, {len(results.cached)} unchanged since the last run; "
        f"gradebook rows changed for {len(results.changed)} student(s)"
    )
    return 0


def cmd_quickstart(args: argparse.Namespace) -> int:
    from mlplab.course.quickstart import quickstart

    root = quickstart(Path(args.directory), course_id=args.course_id, exchange=args.exchange, force=args.force)
    print(f"created the course {root}")
    print(f"next: cd {root} && mlplab generate   (then see {root / 'README.md'})")
    return 0


def cmd_extend(args: argparse.Namespace) -> int:
    from mlplab.course.gradebook import GradebookNotReady, grant_extension
    from mlplab.coursedir import course_root

    if not _known_assignment("extend", args.assignment):
        return 2
    if (args.days is None) == (args.until is None):
        print("mlplab extend: give exactly one of --days N or --until DATE", file=sys.stderr)
        return 2
    try:
        info = grant_extension(course_root(), args.student, days=args.days, until=args.until, db_url=args.db_url)
    except (GradebookNotReady, ValueError) as exc:
        print(f"mlplab extend: {exc}", file=sys.stderr)
        return 2
    print(
        f"{args.student}: due {info['effective_duedate']} UTC (assignment due {info['duedate']} UTC); "
        f"late penalty {info['penalty_before']:.2f} -> {info['penalty']:.2f}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from mlplab.demo import main as demo_main
    from mlplab.sandbox.host.launch import bwrap_path

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
    from mlplab.validity.catalogue import catalogue_path, render, summary_text
    from mlplab.validity.validate import validate

    def progress(result) -> None:
        if not args.json and args.verbose:
            job = result.job
            print(f"  {job.kind:<8}{job.name:<52}{job.stem:<18}{result.seconds:6.1f} s", file=sys.stderr)

    if args.seeds < 1:
        print("mlplab validate-graders: --seeds must be at least 1", file=sys.stderr)
        return 2
    if args.mutation:
        from mlplab.validity.mutation import MUTATION_REPORT, render_mutation, validate_mutation

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
    summary = validate(seeds=args.seeds, processes=max(1, args.jobs), progress=progress, visible_checks=True)
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


def default_report_path(root: Path, assignment: str) -> Path:
    return root / "similarity" / f"{assignment}.html"


def run_similarity(
    root: Path,
    assignment: str,
    out: Path | None = None,
    threshold: float | None = None,
    settings: SimilaritySettings | None = None,
    progress: bool = False,
) -> tuple[dict, Result]:
    """``mlplab similarity``: compare the class, write the HTML report; returns the JSON object and the result."""
    from mlplab.coursedir import CourseDir
    from mlplab.coursedir import tasks as task_table
    from mlplab.integrity.report_html import write_report
    from mlplab.integrity.similarity import analyse, submissions

    course = CourseDir(root, assignment)
    release = course.release
    if not release.is_dir():
        raise FileNotFoundError(f"unknown assignment {assignment!r}: no released notebooks at {release}")
    submitted = course.submitted_root
    if not submissions(submitted, assignment):
        raise FileNotFoundError(f"no submissions of {assignment!r} under {submitted} (run `nbgrader collect` first)")
    try:
        known = list(task_table(root))
    except (OSError, ValueError):
        known = []
    result = analyse(submitted, release, assignment, known, settings, threshold, progress)
    path = write_report(result, (out or default_report_path(root, assignment)).resolve(), threshold)
    return {"pairs": [p.to_json() for p in result.pairs], "report": str(path)}, result


def cmd_similarity(args: argparse.Namespace) -> int:
    from mlplab.coursedir import course_root
    from mlplab.notebooks import NotebookError

    if args.threshold is not None and not 0 <= args.threshold <= 1:
        print("mlplab similarity: --threshold must be between 0 and 1", file=sys.stderr)
        return 2
    try:
        report, result = run_similarity(
            course_root(), args.assignment, Path(args.out) if args.out else None, args.threshold, progress=not args.json
        )
    except (FileNotFoundError, NotebookError) as exc:
        print(f"mlplab similarity: {exc}", file=sys.stderr)
        return 2
    for problem in result.skipped:
        print(f"mlplab similarity: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{'score':>6}  students{'':<30}strongest task")
    for pair in result.pairs[:20]:
        best = max(pair.task_scores().items(), key=lambda kv: kv[1], default=("-", 0.0))
        names = f"{pair.students[0]} & {pair.students[1]}"
        print(f"{pair.score:>6.2f}  {names:<38}{best[0]} ({best[1]:.2f})")
    if len(result.pairs) > 20:
        print(f"... {len(result.pairs) - 20} more pairs")
    print(f"report: {report['report']}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from mlplab.course.export import EXPORTERS, export_grades
    from mlplab.coursedir import course_root

    canvas_ids = {}
    for item in args.canvas_id or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            print(f"mlplab export: --canvas-id takes ASSIGNMENT=ID (got {item!r})", file=sys.stderr)
            return 2
        canvas_ids[name] = value
    try:
        path = export_grades(
            course_root(),
            EXPORTERS[args.format],
            Path(args.file),
            assignments=args.assignment or [],
            missing_as_zero=args.missing_as_zero,
            canvas_ids=canvas_ids,
            db_url=args.db_url,
        )
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"mlplab export: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({args.format} grade import layout)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from mlplab.service.cli import serve_command

    return serve_command(args)


def cmd_hub(args: argparse.Namespace) -> int:
    from mlplab.service.cli import hub_command

    return hub_command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlplab",
        description="MLP Lab course toolkit. Every command works on the course of the working directory "
        "(the nearest folder at or above it holding nbgrader_config.py); --course DIR or $MLPLAB_COURSE_ROOT "
        "override it.",
    )
    parser.add_argument(
        "--course", metavar="DIR", help="the course directory (default: $MLPLAB_COURSE_ROOT, else found from the cwd)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    grade = sub.add_parser("grade", help="grade one submission (a notebook or a folder of notebooks)")
    grade.add_argument("path")
    grade.add_argument("--json", action="store_true", help="print exactly one JSON object")
    grade.add_argument("--seed", type=int, default=None, help="grader seed (default: c.Autograde.grader_seed, 0)")
    grade.add_argument("--lang", default="en", help="language of the messages (zh: translated from i18n/zh/)")
    grade.add_argument(
        "--unsafe-no-sandbox",
        dest="unsafe",
        action="store_true",
        help="run student code without bubblewrap isolation (trusted machines only)",
    )
    _add_limit_options(grade)
    grade.set_defaults(func=cmd_grade, exits_fast=True, needs_graders=True, read_only=True)

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
    _add_limit_options(auto)
    auto.set_defaults(func=cmd_autograde, needs_graders=True)

    demo = sub.add_parser("demo", help="a simulated class through the whole workflow, offline")
    demo.add_argument("--out", help="output folder (default demo-output/)")
    demo.add_argument("--jobs", type=int, default=2)
    demo.set_defaults(func=cmd_demo, needs_graders=True)

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
    valid.set_defaults(func=cmd_validate, needs_graders=True)

    sim = sub.add_parser("similarity", help="similarity of answer code between submissions (local, HTML report)")
    sim.add_argument("assignment")
    sim.add_argument("--json", action="store_true", help="print exactly one JSON object")
    sim.add_argument(
        "--threshold", type=float, default=None, help="list only pairs scoring at least T (0..1; default: any match)"
    )
    sim.add_argument("--out", help="HTML report path (default similarity/ASSIGNMENT.html in the course)")
    sim.set_defaults(func=cmd_similarity)

    export = sub.add_parser("export", help="grades in Canvas's or Moodle's own CSV import layout")
    export.add_argument("--format", required=True, choices=["canvas", "moodle"], help="the LMS whose layout to write")
    export.add_argument("file", help="CSV file to write")
    export.add_argument("--assignment", action="append", help="export only this assignment (repeatable)")
    export.add_argument(
        "--missing-as-zero", action="store_true", help="0 for students without a submission (default: empty cell)"
    )
    export.add_argument(
        "--canvas-id", action="append", metavar="ASSIGNMENT=ID", help="Canvas assignment id for the column header"
    )
    export.add_argument("--db-url", help="SQLAlchemy URL of the gradebook (default: nbgrader_config.py)")
    export.set_defaults(func=cmd_export)

    generate = sub.add_parser("generate", help="regenerate release/ and solutions/ from source/")
    generate.add_argument(
        "--lang", default="en", help="a translated edition (zh: release/mlp-zh and solutions/mlp-zh) instead of English"
    )
    generate.set_defaults(func=cmd_generate)

    quick = sub.add_parser("quickstart", help="create a complete course directory DIR")
    quick.add_argument("directory")
    quick.add_argument("--course-id", help="nbgrader course id (default: the folder's name)")
    quick.add_argument("--exchange", help="exchange root (default: DIR/exchange)")
    quick.add_argument("--force", action="store_true", help="write into a folder that is not empty")
    quick.set_defaults(func=cmd_quickstart, needs_course=False)

    extend = sub.add_parser("extend", help="grant a student an extension; the late penalty follows at once")
    extend.add_argument("assignment")
    extend.add_argument("student")
    extend.add_argument("--days", type=float, help="days after the assignment's due date (0 removes it)")
    extend.add_argument("--until", help="new due date for this student, e.g. '2026-12-01 23:59:00 UTC'")
    extend.add_argument("--db-url", help="SQLAlchemy URL of the gradebook (default: nbgrader_config.py)")
    extend.set_defaults(func=cmd_extend)

    from mlplab.service.cli import add_service_commands

    add_service_commands(sub, serve=cmd_serve, hub=cmd_hub)

    cfg = sub.add_parser("config", help="every setting of the toolkit: its effective value and where it came from")
    cfg.add_argument("--markdown", action="store_true",
                     help="print the reference table of every setting (docs/configuration.md) instead")
    cfg.set_defaults(func=cmd_config, needs_course=False)

    i18n = sub.add_parser("i18n", help="check the translation catalogue of an edition against the source")
    i18n.add_argument("action", choices=["check", "stub"], help="check: list problems; stub: append missing entries")
    i18n.add_argument("--lang", default="zh")
    i18n.set_defaults(func=cmd_i18n)
    return parser


def _course_of_the_graded_path(args: argparse.Namespace) -> None:
    """``mlplab grade`` writes nothing to a course, so outside one it may still grade: with the course
    that holds PATH, else the course kit this toolkit was installed from. A note on stderr says which."""
    from mlplab.coursedir import CONFIG, COURSE_ENV, find_course

    if os.environ.get(COURSE_ENV) or find_course(Path.cwd()):
        return
    kit = Path(__file__).resolve().parents[1]
    fallback = find_course(Path(args.path)) or (kit if (kit / CONFIG).is_file() else None)
    if fallback is not None:
        os.environ[COURSE_ENV] = str(fallback)
        print(f"mlplab {args.command}: {Path.cwd()} is not inside a course; grading with the course {fallback}",
              file=sys.stderr)


def run_command(args: argparse.Namespace) -> int:
    """Resolve the course (``--course`` first), check it has what the command needs, run the command.

    A missing or incomplete course, or a missing optional dependency, is one sentence on stderr and exit status 2,
    never a traceback.
    """
    from mlplab.coursedir import COURSE_ENV, CourseError, course_root, require_graders
    from mlplab.extras import MissingExtra

    if args.course:
        os.environ[COURSE_ENV] = str(Path(args.course).expanduser().resolve())  # graders' subprocesses inherit it
    try:
        if getattr(args, "needs_course", True):
            if getattr(args, "read_only", False):
                _course_of_the_graded_path(args)
            root = course_root()
            if getattr(args, "needs_graders", False):
                require_graders(root)
        return int(args.func(args) or 0)
    except CourseError as exc:
        print(f"mlplab {args.command}: {exc}", file=sys.stderr)
        return 2
    except MissingExtra as exc:  # an optional dependency (pyproject's extras) is not installed: names the command
        print(exc, file=sys.stderr)
        return 2


def main(argv: list[str] | None = None, exit_when_done: bool = False) -> int:
    """Run one ``mlplab`` command; ``exit_when_done`` (the ``python -m mlplab`` entry point) lets
    ``mlplab grade`` end its process right after writing its result: tearing down an interpreter with
    PyTorch loaded takes about a second per submission, and everything the command opened (sandboxes,
    scratch directories) is closed by then."""
    # Graders compare small arrays: one BLAS thread per process is fastest and keeps parallel jobs fair.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    args = build_parser().parse_args(argv)
    code = run_command(args)
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
