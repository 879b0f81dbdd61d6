"""A persistent trusted grading process: one per job slot, grading many submissions one after another.

``mlplab autograde`` and the grading service used to start ``python -m mlplab grade --json`` for every
submission: interpreter start, imports (pytest, numpy, the toolkit), importing and collecting the graders
and parsing the reference notebooks came to about half a second of CPU per submission, a quarter of the
whole cost of a submission of notebooks 01-04. This process (``python -m mlplab.grade_server``) pays
for them once and then runs exactly what ``mlplab grade PATH --json`` runs, once per request, in the
same process.

What stays per submission, exactly as with one process per submission:

* student code never runs here: each submission gets its own fresh sandbox (zygote, workers, memory
  budget, tmpfs ``/scratch`` and ``/tmp``), started for it and killed when its grading ends
  (:func:`mlplab.grading.runner.grade_path`), so nothing a submission did in its sandbox survives it;
* the trusted side starts clean: a new grading plugin and a new pytest session per submission; the
  environment and the working directory are restored after each one; the global random generators
  (``random``, ``numpy.random``) are reseeded from the operating system, as a fresh process starts.

What is shared is trusted and does not depend on any submission: imported modules (graders, reference
helpers, numpy, pytest) and the parsed reference notebooks.

Protocol (the client is :class:`mlplab.autograde.GradingProcess`): one JSON line per request on stdin,
``{"argv": [...]}`` (the arguments of ``mlplab``, e.g. ``["grade", PATH, "--json"]``); one JSON line per
reply on the process's original stdout, ``{"code": int, "stdout": str, "stderr": str}``, what the command
would have exited with and printed. Everything else the process prints goes to stderr, so nothing can
corrupt the channel. End of input ends the process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import sys
import traceback

MAX_STDERR_CHARS = 8000


def _fresh_randomness() -> None:
    """Reseed the global generators from the OS, as a new interpreter does."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def run_once(argv: list[str]) -> dict:
    """Run one ``mlplab`` command in this process; its exit code and what it printed."""
    from mlplab.cli import main

    environ, cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    _fresh_randomness()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in argv])
            except SystemExit as exc:  # argparse
                code = exc.code if isinstance(exc.code, int) else 2
            except Exception:  # noqa: BLE001 - reported like a crashed `mlplab grade`
                traceback.print_exc()
                code = 1
    finally:
        os.environ.clear()
        os.environ.update(environ)
        with contextlib.suppress(OSError):
            os.chdir(cwd)
    return {"code": int(code or 0), "stdout": out.getvalue(), "stderr": err.getvalue()[-MAX_STDERR_CHARS:]}


def serve() -> None:
    """Answer requests from stdin until it closes."""
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # fd 1 (prints of any library, any thread) goes to stderr from now on
    sys.stdout = sys.stderr
    # Graders compare small arrays: one BLAS thread per process (as `mlplab grade` sets before numpy loads)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            argv = list(request["argv"])
        except (ValueError, KeyError, TypeError):
            reply = {"code": 2, "stdout": "", "stderr": "mlplab grading process: malformed request"}
        else:
            reply = run_once(argv)
        channel.write(json.dumps(reply) + "\n")
        channel.flush()


if __name__ == "__main__":
    serve()
