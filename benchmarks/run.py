"""`make bench`: speed figures measured side by side in one run, printed as ratios.

1. MNIST baseline, one epoch: the reference numpy network (784-256-128-64-10, batchnorm, dropout,
   Adam) vs the same network in PyTorch on the CPU, same data, batch size and thread count.
   Target: numpy at most 1.5x PyTorch's time.
2. The whole hidden-grader suite on one submission (the reference, all notebooks, sandboxed):
   median wall time of several runs. Target: at most 10 s on 2 cores.
3. A class of 20 mixed submissions (01_layers + 02_normalization): `mlplab autograde --jobs 2` vs
   stock `nbgrader autograde` on the same files, plus seconds per submission and the speed-up from 1
   to 2 workers. Target: at least 1.5x faster than stock.
4. `mlplab similarity mlp --json` on a synthetic class of 300 (all five notebooks; answers drawn from the
   reference, the variants and the mutants, disguised; ten planted copies): wall time of the command.
   Target: under 2 minutes on 2 cores.

5. Feedback on submit (the grading service without the hub: its exchange watcher, persistent queue and
   2 grading workers, as `mlplab serve` runs them): seconds from a submission landing in the exchange's
   inbound to its graded result, p50 / p95, for one isolated submission of notebook 01, one of 01-04,
   and a burst of `--burst` (default 200) submissions of 01-04 arriving at once. Targets: isolated 01
   <= 10 s; the burst of 200 graded within 8 minutes, nothing lost.

Usage: python benchmarks/run.py [--only mnist|graders|autograde|similarity|service] [--burst N]
       [--service-workers K] [--burst-with-05] [--json OUT]
Needs the real MNIST (MLPLAB_DATA, default ../shared/data).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "source" / "mlp"))

THREADS = int(os.environ.get("MLPLAB_BENCH_THREADS", "2"))


def _threads(n: int) -> None:
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


# -- 1. numpy vs torch ------------------------------------------------------------------


def bench_mnist(epochs: int = 1) -> dict:
    """Seconds for one epoch of the MNIST baseline: reference numpy vs PyTorch (CPU)."""
    import numpy as np
    import torch
    from labutils.data import load_mnist
    from labutils.training import MNIST_BASELINE_HPARAMS, MNIST_FULL_SCHEDULE

    from mlplab.grading.reference import reference

    torch.set_num_threads(THREADS)
    data = load_mnist(os.environ.get("MLPLAB_DATA", str(ROOT.parent / "shared" / "data")))
    hp, batch = MNIST_BASELINE_HPARAMS, MNIST_FULL_SCHEDULE["batch_size"]
    ref = reference("04_optim_solver")

    model = ref.build_baseline_model(hp)
    solver = ref.Solver(
        model,
        {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val")},
        update_rule="adam",
        optim_config={"learning_rate": hp["lr"]},
        num_epochs=epochs,
        batch_size=batch,
        num_train_samples=1000,
        num_val_samples=1000,
        verbose=False,
    )
    t0 = time.perf_counter()
    solver.train()
    numpy_s = (time.perf_counter() - t0) / epochs

    net = torch.nn.Sequential(
        torch.nn.Linear(784, 256),
        torch.nn.BatchNorm1d(256),
        torch.nn.ReLU(),
        torch.nn.Dropout(1 - hp["kp"]),
        torch.nn.Linear(256, 128),
        torch.nn.BatchNorm1d(128),
        torch.nn.ReLU(),
        torch.nn.Dropout(1 - hp["kp"]),
        torch.nn.Linear(128, 64),
        torch.nn.BatchNorm1d(64),
        torch.nn.ReLU(),
        torch.nn.Dropout(1 - hp["kp"]),
        torch.nn.Linear(64, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=hp["lr"], weight_decay=hp["reg"])
    X = torch.from_numpy(np.ascontiguousarray(data["X_train"], dtype=np.float32))
    y = torch.from_numpy(data["y_train"].astype(np.int64))
    rng = np.random.default_rng(0)
    steps = max(len(X) // batch, 1)
    t0 = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for _ in range(steps):
            idx = torch.from_numpy(rng.choice(len(X), batch))
            loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    torch_s = (time.perf_counter() - t0) / epochs
    return {
        "numpy_epoch_s": round(numpy_s, 2),
        "torch_epoch_s": round(torch_s, 2),
        "numpy_over_torch": round(numpy_s / torch_s, 2),
        "threads": THREADS,
        "batch_size": batch,
    }


# -- 2. the grader suite ----------------------------------------------------------------


def bench_graders(runs: int = 5) -> dict:
    """Median wall time of `mlplab grade source/mlp --json` (sandboxed, all notebooks)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "mlplab", "grade", str(ROOT / "source" / "mlp"), "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        times.append(time.perf_counter() - t0)
        result = json.loads(proc.stdout)
        assert result["score"] == result["max_score"], "the reference lost points"
    return {
        "grader_suite_median_s": round(statistics.median(times), 2),
        "grader_suite_runs_s": [round(t, 2) for t in times],
    }


# -- 3. autograde vs stock nbgrader -------------------------------------------------------


def _make_class(course: Path, size: int) -> None:
    from mlplab.course.generate import nbgrader
    from tests.helpers.submissions import build

    course.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for part in ("source", "grader_tests", "release"):
        shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    nbgrader(course, "generate_assignment", "mlp", "--force", db_url=f"sqlite:///{course / 'gradebook.db'}")
    profiles = [
        {},
        {"replace": {"affine_backward_solution": "def affine_backward(dout, cache):\n    raise NotImplementedError\n"}},
        {"replace": {"batchnorm_forward_solution": "def batchnorm_forward(x, g, b, p):\n    return x, None\n"}},
        {"prepend": {"relu_forward_solution": "import numpy as np\nnp.allclose = lambda *a, **k: True\n"}},
    ]
    for i in range(size):
        build(
            course / "submitted" / f"s{i:02d}" / "mlp",
            stems=("01_layers", "02_normalization"),
            **profiles[i % len(profiles)],
        )


def _fresh_db(course: Path) -> str:
    from mlplab.course.generate import nbgrader

    db = course / "gradebook.db"
    db.unlink(missing_ok=True)
    shutil.rmtree(course / "autograded", ignore_errors=True)
    url = f"sqlite:///{db}"
    nbgrader(course, "generate_assignment", "mlp", "--force", db_url=url)
    return url


def bench_autograde(size: int = 20) -> dict:
    from mlplab.autograde import autograde
    from mlplab.course.generate import nbgrader

    work = Path(tempfile.mkdtemp(prefix="mlplab-bench-"))
    course = work / "course"
    _make_class(course, size)
    os.environ["MLPLAB_COURSE_ROOT"] = str(course)
    out = {"class_size": size, "notebooks": ["01_layers", "02_normalization"]}
    try:
        for jobs in (1, 2):
            url = _fresh_db(course)
            t0 = time.perf_counter()
            autograde(course, jobs=jobs, db_url=url, force=True, progress=False)
            out[f"mlplab_jobs{jobs}_s"] = round(time.perf_counter() - t0, 1)
        url = _fresh_db(course)
        t0 = time.perf_counter()
        nbgrader(course, "autograde", "mlp", "--force", db_url=url)
        out["stock_nbgrader_s"] = round(time.perf_counter() - t0, 1)
    finally:
        os.environ.pop("MLPLAB_COURSE_ROOT", None)
        shutil.rmtree(work, ignore_errors=True)
    out["seconds_per_submission_jobs2"] = round(out["mlplab_jobs2_s"] / size, 2)
    out["speedup_1_to_2_workers"] = round(out["mlplab_jobs1_s"] / out["mlplab_jobs2_s"], 2)
    out["stock_over_mlplab_jobs2"] = round(out["stock_nbgrader_s"] / out["mlplab_jobs2_s"], 2)
    return out


# -- 4. similarity report on a class of 300 -----------------------------------------------


def bench_similarity(size: int = 300) -> dict:
    """Wall time of `mlplab similarity mlp --json` on a synthetic class of ``size`` students."""
    from mlplab.integrity.synthetic import synthetic_class

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="mlplab-similarity-bench-") as tmp:
        course = Path(tmp)
        shutil.copy2(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
        for part in ("source", "release"):
            shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
        t0 = time.monotonic()
        planted = synthetic_class(ROOT, ROOT / "release" / "mlp", course / "submitted", size, copiers=10, seed=0)
        build_s = time.monotonic() - t0
        env = dict(os.environ, MLPLAB_COURSE_ROOT=str(course))
        import resource

        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "mlplab", "similarity", "mlp", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=course,
        )
        seconds = time.monotonic() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU time of the command and its tokenising processes: on a machine shared with other jobs the
        # wall time grows with the load, the CPU time does not
        cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        pairs = json.loads(proc.stdout)["pairs"]
    rank = {frozenset(p["students"]): i + 1 for i, p in enumerate(pairs)}
    full = sorted(rank.get(p, len(pairs) + 1) for p, kind, _ in planted if kind == "all")
    # a one-task copy is a small share of 26 tasks: where does it rank among the pairs by that task's score?
    one_task = []
    for pair, kind, task in planted:
        if kind == "one":
            by_task = sorted((p["tasks"].get(task, 0.0) for p in pairs), reverse=True)
            mine = next((p["tasks"].get(task, 0.0) for p in pairs if frozenset(p["students"]) == pair), 0.0)
            one_task.append(
                {
                    "task": task,
                    "task_score": mine,
                    "rank_in_task": 1 + sum(v > mine for v in by_task),
                    "other_pairs_tied": sum(v == mine for v in by_task) - 1,
                    "rank_overall": rank.get(pair, len(pairs) + 1),
                }
            )
    return {
        "students": size,
        "pairs_compared": size * (size - 1) // 2,
        "pairs_listed": len(pairs),
        "class_build_s": round(build_s, 1),
        "similarity_s": round(seconds, 1),
        "similarity_cpu_s": round(cpu_s, 1),
        "load_average_before": round(load_before, 1),
        "full_copy_ranks": full,
        "one_task_copies": one_task,
    }


# -- 5. feedback on submit ----------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[index], 2)


def _service_round(service, inbound: Path, students: list[str], stems: tuple[str, ...], source: Path) -> dict:
    """Drop one submission per student into the inbound at once; wait for every result; latencies."""
    import asyncio
    import threading

    from sqlalchemy import select

    from mlplab.service.app import Runner
    from mlplab.service.queue import Attempt

    runner = Runner(service, inbound, slot_base=int(os.environ.get("MLPLAB_SLOT_BASE", "0")), rescan_s=5.0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(runner.run(),), daemon=True)
    thread.start()
    time.sleep(1.0)  # the watcher is up
    landed: dict[str, float] = {}
    stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC", time.gmtime())
    for student in students:
        folder = inbound / f"{student}+mlp+{stamp}+bench"
        staging = inbound.parent / f".staging-{student}"
        staging.mkdir()
        for stem in stems:
            shutil.copyfile(source / f"{stem}.ipynb", staging / f"{stem}.ipynb")
        (staging / "timestamp.txt").write_text(stamp)
        (staging / "submission_secret.txt").write_text("bench")
        staging.rename(folder)  # appears whole, as a finished `nbgrader submit`
        landed[student] = time.time()
    wanted = set(students)
    deadline = time.monotonic() + 3600
    finished: dict[str, float] = {}
    # poll (student, status) only, twice a second: this loop shares the service's process and cores
    statuses_now = select(Attempt.student, Attempt.status).where(Attempt.assignment == "mlp")
    while time.monotonic() < deadline:
        with service.queue.sessions() as db:
            rows = db.execute(statuses_now).all()
        for student, status in rows:
            if student in wanted and status in ("graded", "failed", "refused"):
                finished.setdefault(student, time.time())
        if len(finished) == len(wanted):
            break
        time.sleep(0.5)
    loop.call_soon_threadsafe(runner.stop.set)
    thread.join(timeout=60)
    latencies = [finished[s] - landed[s] for s in finished]
    statuses = [status for student, status in rows if student in wanted]  # the last poll
    return {
        "submissions": len(students),
        "graded": statuses.count("graded"),
        "lost": len(students) - len(finished),
        "p50_s": _percentile(latencies, 50),
        "p95_s": _percentile(latencies, 95),
        "all_done_s": round(max(latencies), 1) if latencies else None,
    }


def bench_service(burst: int = 200, workers: int = 2, with_05: bool = False) -> dict:
    from mlplab.service.grader import GradingService
    from mlplab.service.policy import Policy
    from tests.helpers.submissions import build

    work = Path(tempfile.mkdtemp(prefix="mlplab-bench-service-"))
    course = work / "course"
    course.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for part in ("source", "grader_tests", "release"):
        shutil.copytree(ROOT / part, course / part, ignore=shutil.ignore_patterns("__pycache__"))
    url = _fresh_db(course)
    os.environ["MLPLAB_COURSE_ROOT"] = str(course)
    all_stems = ("01_layers", "02_normalization", "03_fc_net", "04_optim_solver")
    burst_stems = all_stems + ("05_mlp_vs_cnn",) if with_05 else all_stems
    source = build(work / "reference", stems=burst_stems)
    inbound = work / "exchange" / "mlp-lab" / "inbound"
    inbound.mkdir(parents=True)
    out: dict = {"workers": workers}
    service = GradingService(course, db_url=url, state_dir=work / "state",
                             policy=Policy(workers=workers, attempts_per_window=10**6))
    try:
        out["isolated_01"] = _service_round(service, inbound, ["solo01"], ("01_layers",), source)
        out["isolated_01_04"] = _service_round(service, inbound, ["solo04"], all_stems, source)
        out["burst_notebooks"] = len(burst_stems)
        out["burst"] = _service_round(service, inbound, [f"b{i:03d}" for i in range(burst)], burst_stems, source)
    finally:
        service.close()
        os.environ.pop("MLPLAB_COURSE_ROOT", None)
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parts = ["mnist", "graders", "autograde", "similarity", "service"]
    parser.add_argument("--only", choices=parts, action="append")
    parser.add_argument("--burst", type=int, default=200, help="submissions in the service's burst (default 200)")
    parser.add_argument("--service-workers", type=int, default=2,
                        help="the service's GradingService.workers in the service bench (default 2)")
    parser.add_argument("--burst-with-05", action="store_true",
                        help="the burst's submissions hold all five notebooks (default: 01-04)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--class-size", type=int, default=20)
    args = parser.parse_args()
    chosen = args.only or parts
    figures: dict = {"cpu_count": os.cpu_count()}
    if "mnist" in chosen:
        _threads(THREADS)
        figures["mnist_epoch"] = bench_mnist()
        print(
            f"MNIST baseline epoch: numpy {figures['mnist_epoch']['numpy_epoch_s']} s, PyTorch CPU "
            f"{figures['mnist_epoch']['torch_epoch_s']} s -> ratio {figures['mnist_epoch']['numpy_over_torch']} "
            "(target <= 1.5)",
            flush=True,
        )
    if "graders" in chosen:
        figures["graders"] = bench_graders()
        print(
            f"hidden-grader suite on one submission: median {figures['graders']['grader_suite_median_s']} s "
            "(target <= 10 s)",
            flush=True,
        )
    if "autograde" in chosen:
        figures["autograde"] = a = bench_autograde(args.class_size)
        print(
            f"class of {a['class_size']}: mlplab --jobs 2 {a['mlplab_jobs2_s']} s, --jobs 1 {a['mlplab_jobs1_s']} s, "
            f"stock nbgrader {a['stock_nbgrader_s']} s -> stock/mlplab {a['stock_over_mlplab_jobs2']}x "
            f"(target >= 1.5), {a['seconds_per_submission_jobs2']} s/submission, "
            f"1->2 workers speed-up {a['speedup_1_to_2_workers']}x",
            flush=True,
        )
    if "similarity" in chosen:
        figures["similarity"] = s = bench_similarity()
        print(
            f"similarity report, class of {s['students']} ({s['pairs_compared']} pairs): {s['similarity_s']} s "
            f"(target < 120 s; {s['similarity_cpu_s']} CPU s, load {s['load_average_before']}); "
            f"full copies rank {s['full_copy_ranks']}; one-task copies rank in their task "
            f"{[c['rank_in_task'] for c in s['one_task_copies']]} "
            f"(ties {[c['other_pairs_tied'] for c in s['one_task_copies']]})",
            flush=True,
        )
    if "service" in chosen:
        figures["service"] = f = bench_service(args.burst, args.service_workers, args.burst_with_05)
        b = f["burst"]
        print(
            f"feedback on submit: isolated 01 p50 {f['isolated_01']['p50_s']} s (target <= 10 s), isolated 01-04 "
            f"{f['isolated_01_04']['p50_s']} s; burst of {b['submissions']} ({f['burst_notebooks']} notebooks each): "
            f"p50 {b['p50_s']} s, p95 {b['p95_s']} s, "
            f"all graded in {b['all_done_s']} s (target <= 480 s for 200), lost {b['lost']}",
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
