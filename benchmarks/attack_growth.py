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
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mlplab.sandbox.launch import sandbox_uid  # noqa: E402
from tests.hostgrowth import GrowthMeter  # noqa: E402
from tests.submissions import build  # noqa: E402

FILL = """
import os
for _i in range({count}):
    try:
        with open({target!r} + f'/fill{{os.getpid()}}-{{_i}}.bin', 'wb') as _fh:
            for _ in range(60):
                _fh.write(b'x' * 2**20)
    except OSError:
        break
"""

ATTACKS = {
    # 60 MB files (just under the 64 MB file-size limit) into the working directory, then into /tmp
    "disk_fill": FILL.format(count=8, target="."),
    "tmpfs_fill": FILL.format(count=8, target="/tmp"),
    # 6 children of the worker each hold 600 MB (touched) for 40 s: 3.6 GB across processes
    "memory_across_processes": textwrap.dedent(
        """
    import os, time
    import numpy as np
    _ready_r, _ready_w = os.pipe()
    _children = []
    for _ in range({children}):
        try:
            _pid = os.fork()
        except OSError:
            break
        if _pid == 0:
            try:
                _held = np.ones(600 * 2**20 // 8)
                os.write(_ready_w, b'1')
                time.sleep(40)
            finally:
                os._exit(0)
        _children.append(_pid)
    # wait until every child holds its memory or was killed (at most 12 s: the load cap is 15 s)
    os.set_blocking(_ready_r, False)
    _ready, _dead, _until = 0, set(), time.monotonic() + 12
    while _ready + len(_dead) < len(_children) and time.monotonic() < _until:
        try:
            _ready += len(os.read(_ready_r, 64))
        except BlockingIOError:
            pass
        _dead.update(p for p in _children if p not in _dead and os.waitpid(p, os.WNOHANG)[0])
        time.sleep(0.05)
        """
    ),
}


def attack_code(name: str, children: int = 6) -> str:
    return ATTACKS[name].format(children=children) if name == "memory_across_processes" else ATTACKS[name]


def grade(path: Path, course: Path, slot: int, env_extra: dict[str, str]) -> subprocess.Popen:
    env = dict(os.environ, MLPLAB_COURSE_ROOT=str(course), MLPLAB_SANDBOX_SLOT=str(slot), **env_extra)
    return subprocess.Popen(
        [sys.executable, "-m", "mlplab", "grade", str(path), "--json"],
        cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def measure(name: str, course: Path, work: Path, slot: int, env_extra: dict[str, str]) -> dict:
    """Grade the attack beside the reference; the host's peak growth in MiB and both scores."""
    attacked = build(work / name / "attack", prepend={"relu_forward_solution": attack_code(name)})
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
