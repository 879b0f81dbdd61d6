"""requirements.lock: regenerate it (``make lock``) or check that it is fresh (``--check``, tests/test_lock.py).

The lock is made by uv (``uv pip compile --generate-hashes``, every extra of pyproject.toml, for CPython 3.11 on
x86-64 Linux with glibc >= 2.28) from PyPI; uv keeps the versions already in the lock unless asked to upgrade
(``make lock UPGRADE=1``). Below uv's own header the lock records the SHA-256 of the dependency tables it was
compiled from, so a change to ``[project] dependencies``, ``optional-dependencies`` or ``requires-python``
without a new lock is caught offline, in milliseconds, by comparing digests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
DIGEST_PREFIX = "# pyproject.toml inputs sha256: "
# The interpreter and platform the lock is resolved for (the project's machines and CI): fixed here so that the
# lock does not depend on where `make lock` runs.
PYTHON_VERSION = "3.11.7"
PLATFORM = "x86_64-manylinux_2_28"


def inputs_digest(pyproject: Path = PYPROJECT) -> str:
    """SHA-256 (hex) of pyproject's requires-python, dependencies and optional-dependencies, order-insensitive."""
    project = tomllib.loads(pyproject.read_text())["project"]
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": sorted(project.get("dependencies", [])),
        "optional-dependencies": {k: sorted(v) for k, v in project.get("optional-dependencies", {}).items()},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def recorded_digest(lock: Path = LOCK) -> str | None:
    """The digest written in the lock's header, or None when the lock has none."""
    for line in lock.read_text().splitlines():
        if line.startswith(DIGEST_PREFIX):
            return line[len(DIGEST_PREFIX) :].split()[0]
        if not line.startswith("#"):
            return None
    return None


def compile_command(upgrade: bool = False) -> list[str]:
    """The uv command that writes requirements.lock (run from the repository root)."""
    cmd = ["uv", "pip", "compile", "pyproject.toml", "--all-extras", "--generate-hashes"]
    cmd += ["--python-version", PYTHON_VERSION, "--python-platform", PLATFORM]
    if upgrade:
        cmd.append("--upgrade")
    return cmd + ["-o", "requirements.lock"]


def regenerate(upgrade: bool = False) -> None:
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        sys.exit("make lock needs uv: pip install 'mlplab[dev]' (or pip install uv)")
    cmd = compile_command(upgrade)
    # uv reads no pip configuration: the lock's hashes are PyPI's, which are also those of any mirror's copies
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    subprocess.run([uv, *cmd[1:], "--quiet"], cwd=ROOT, env=env, check=True)
    lines = LOCK.read_text().splitlines(keepends=True)
    body_start = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    note = (
        f"{DIGEST_PREFIX}{inputs_digest()}\n"
        "# (regenerate with `make lock`, which runs .ci/lock.py; tests/test_lock.py checks this digest)\n"
    )
    LOCK.write_text("".join(lines[:body_start]) + note + "".join(lines[body_start:]))


def check() -> int:
    recorded, current = recorded_digest(), inputs_digest()
    if recorded != current:
        print(
            "requirements.lock is stale: pyproject.toml's dependencies changed since it was compiled "
            f"(recorded {recorded}, now {current}); run `make lock` and commit the lock",
            file=sys.stderr,
        )
        return 1
    print("requirements.lock is fresh")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that the lock matches pyproject.toml")
    parser.add_argument("--upgrade", action="store_true", help="let uv move every pin to the newest allowed")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    regenerate(args.upgrade)
    return check()


if __name__ == "__main__":
    sys.exit(main())
