"""Host-side peak growth while hostile submissions are graded (disk, shared memory, memory in use).

Each attack is a 01_layers submission whose first solution cell runs the attack while the notebook
loads (in every worker that loads it); it is graded with `mlplab grade --json` beside an honest
submission (the reference), concurrently, and the host is sampled meanwhile (tests/hostgrowth.py).
The honest submission's score is printed too: it must be the full score whatever the attack does.

Usage: python benchmarks/attack_growth.py [--course DIR] [--only NAME] [--json OUT]
`--course` grades with another checkout's toolkit (e.g. a copy of main, to measure "before").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlplab.sandbox.host.launch import sandbox_uid  # noqa: E402
from tests.helpers.attacks import fill_files, hold_memory  # noqa: E402
from tests.helpers.hostgrowth import GrowthMeter  # noqa: E402
from tests.helpers.submissions import build  # noqa: E402

ATTACKS = {
    # 60 MB files (just under the 64 MB file-size limit) into the working directory, then into /tmp
    "disk_fill": fill_files((".",)),
    "tmpfs_fill": fill_files(("/tmp",)),
    # 6 children of the worker each hold 600 MB (touched) for 40 s: 3.6 GB across processes
    "memory_across_processes": hold_memory(children=6, mb=600),
}


def grade(path: Path, course: Path, slot: int, env_extra: dict[str, str]) -> subprocess.Popen:
    env = dict(os.environ, MLPLAB_COURSE_ROOT=str(course), MLPLAB_SANDBOX_SLOT=str(slot), **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "mlplab", "grade", str(path), "--json"],
        cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def measure(name: str, course: Path, work: Path, slot: int, env_extra: dict[str, str]) -> dict:
    """Grade the attack beside the reference; the host's peak growth in MiB and both scores."""
    attacked = build(work / name / "attack", prepend={"relu_forward_solution": ATTACKS[name]})
    honest = build(work / name / "honest")
    with GrowthMeter(uids={sandbox_uid(slot), sandbox_uid(slot + 1)}) as meter:
        procs = [grade(attacked, course, slot, env_extra), grade(honest, course, slot + 1, env_extra)]
        outs = [p.communicate(timeout=900) for p in procs]
    results = []
    for proc, (out, err) in zip(procs, outs, strict=True):
        results.append(json.loads(out) if proc.returncode == 0 else {"score": None, "error": err[-500:]})
    return {
        "attack": name,
        "growth_mb": meter.growth_mb(),
        "attack_score": results[0].get("score"),
        "honest_score": results[1].get("score"),
        "honest_max": results[1].get("max_score"),
        "attack_errors": results[0].get("errors", results[0].get("error")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=ROOT)
    parser.add_argument("--only", choices=sorted(ATTACKS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--slot", type=int, default=int(os.environ.get("MLPLAB_SANDBOX_SLOT", "0")))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mlplab-attacks-") as tmp:
        for name in [args.only] if args.only else sorted(ATTACKS):
            row = measure(name, args.course.resolve(), Path(tmp), args.slot, {})
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
