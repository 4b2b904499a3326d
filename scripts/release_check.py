"""Check a release: build the sdist and the wheel, install each into a fresh virtual
environment, and run the demo from the installed wheel.

    python scripts/release_check.py [--keep]        (or: hatch run release-check)

1. ``python -m build`` (in a virtual environment of its own) writes the sdist, then builds
   the wheel from the sdist, so a file missing from the sdist breaks the wheel too.
2. The wheel goes into a fresh virtual environment with the ``psycopg`` and ``emulator``
   extras. ``examples/`` (not part of the package) is copied next to it, and
   ``python -m examples.demo`` runs there: the package comes from the environment, never
   from this checkout. The demo starts an embedded PostgreSQL behind the emulator.
3. The sdist goes into another fresh environment; the package imports and reports its
   version.

The version in ``redshift_async_backend/__init__.py`` must be the one built, installed and
reported, and CHANGELOG.md must have a section for it. Any failure exits non-zero.
Needs PyPI (pip installs the build tools and the dependencies).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[1]
PROJECT = "redshift_async_backend"
T = TypeVar("T")
EXTRAS = "psycopg,emulator"  # what examples/demo.py imports: psycopg and the emulator


class CheckFailed(Exception):
    pass


def source_version() -> str:
    text = (ROOT / PROJECT / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    if not match:
        raise CheckFailed(f"no __version__ in {PROJECT}/__init__.py")
    return match.group(1)


def clean_env() -> dict[str, str]:
    """The environment without anything that points Python or Django at this checkout."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    # The demo's default: an embedded PostgreSQL, as on a user's machine.
    env.pop("REDSHIFT_TEST_UPSTREAM", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(args: list[str | Path], cwd: Path, timeout: float = 1200) -> str:
    command = [str(a) for a in args]
    print("$", " ".join(command), flush=True)
    done = subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise CheckFailed(
            f"{' '.join(command)} exited {done.returncode}\n{done.stdout[-3000:]}"
            f"\n{done.stderr[-3000:]}"
        )
    return done.stdout


def new_venv(path: Path) -> Path:
    """A fresh virtual environment with pip; returns its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.exists():
        raise CheckFailed(f"no python in {path}")
    return python


def build(work: Path) -> tuple[Path, Path]:
    python = new_venv(work / "build-env")
    run([python, "-m", "pip", "install", "-q", "build"], cwd=work)
    dist = work / "dist"
    run([python, "-m", "build", "--outdir", dist, ROOT], cwd=work)
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailed(f"expected one wheel and one sdist in {dist}: {os.listdir(dist)}")
    return wheels[0], sdists[0]


def check_wheel(wheel: Path, version: str, work: Path) -> None:
    python = new_venv(work / "wheel-env")
    run([python, "-m", "pip", "install", "-q", f"{wheel}[{EXTRAS}]"], cwd=work)
    here = work / "demo"
    here.mkdir()
    shutil.copytree(
        ROOT / "examples", here / "examples", ignore=shutil.ignore_patterns("__pycache__")
    )
    where = run(
        [python, "-c", f"import {PROJECT}, pool; print({PROJECT}.__version__, {PROJECT}.__file__)"],
        cwd=here,
    ).split()
    if where[0] != version:
        raise CheckFailed(f"the wheel reports version {where[0]}, the source says {version}")
    if Path(where[1]).resolve().is_relative_to(ROOT):
        raise CheckFailed(f"{PROJECT} was imported from the checkout: {where[1]}")
    output = run([python, "-m", "examples.demo"], cwd=here)
    print(output)
    if "loaded: 200 customers, 40 products, 3000 sales" not in output:
        raise CheckFailed("the demo did not report its data")


def check_sdist(sdist: Path, version: str, work: Path) -> None:
    python = new_venv(work / "sdist-env")
    run([python, "-m", "pip", "install", "-q", sdist], cwd=work)
    reported = run(
        [python, "-c", f"import {PROJECT}, pool; print({PROJECT}.__version__)"], cwd=work
    ).strip()
    print(f"sdist: {PROJECT} {reported}")
    if reported != version:
        raise CheckFailed(f"the sdist reports version {reported}, the source says {version}")


def timed(name: str, step: Callable[..., T], *args: Any) -> T:
    began = time.monotonic()
    result = step(*args)
    print(f"--- {name}: ok ({time.monotonic() - began:.0f} s)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/release_check.py", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)

    start = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="release-check-"))
    try:
        version = source_version()
        if f"## {version}" not in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"):
            raise CheckFailed(f"CHANGELOG.md has no '## {version}' section")
        wheel, sdist = timed("build", build, work)
        print(f"built {wheel.name} and {sdist.name}")
        timed("wheel", check_wheel, wheel, version, work)
        timed("sdist", check_sdist, sdist, version, work)
    except (CheckFailed, subprocess.TimeoutExpired) as exc:
        print(f"release check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"release check passed: {PROJECT} {version} ({time.monotonic() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
