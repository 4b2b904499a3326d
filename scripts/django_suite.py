"""Run Django's own test suite against redshift_async_backend, through the emulator.

    python scripts/django_suite.py [--driver psycopg|redshift_connector] [--all] [app ...]
    hatch run django-suite --driver redshift_connector basic model_fields
    hatch run django-suite --all --write-docs

It takes the test suite of exactly the installed Django version from its source distribution
on PyPI (cached in .django-suite/), starts the Redshift emulator (upstream from
REDSHIFT_TEST_UPSTREAM, else an embedded PostgreSQL), writes a settings module with `default`
and `other` databases on it, runs the chosen apps with runtests.py and counts each app's
outcomes. Tests that cannot pass on Redshift are declared in DatabaseFeatures
(django_test_skips, django_test_expected_failures), each with its Redshift rule; anything else
that fails is a bug, and the run exits non-zero.

The apps run in groups, one runtests.py process per group (``--group-size``), each group in
test databases of its own, as Django runs a backend that cannot clone test databases: one
process, ``--parallel=1``. Each app's outcomes and failures are kept in
.django-suite/<version>/results/<driver>/<app>.json; ``--resume`` skips apps that already
have results from the same backend code, ``--report`` only prints (and with ``--write-docs``
writes) the table from those results.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".django-suite"
DRIVERS = ("psycopg", "redshift_connector")

# The apps issue #5 names; the default list.
FULL_APPS = [
    *("basic", "backends", "schema", "migrations", "model_fields", "queries", "expressions"),
    *("expressions_window", "aggregation", "aggregation_regress", "annotations", "bulk_create"),
    *("transactions", "async", "introspection", "inspectdb", "db_functions", "lookup", "dates"),
    *("datetimes", "timezones", "custom_pk", "field_defaults", "get_or_create", "delete"),
    *("update", "model_indexes", "select_for_update", "constraints", "ordering", "null_queries"),
]

SETTINGS = """\
# Written by scripts/django_suite.py for one run; not kept.
DATABASES = {{
    alias: {{
        "ENGINE": "redshift_async_backend",
        "NAME": {database!r},
        # The emulator's admin user (a Redshift superuser, as the test runner needs to
        # create and drop the test databases); PostgreSQL's own superuser cannot log in.
        "USER": {user!r},
        "PASSWORD": "",
        "HOST": {host!r},
        "PORT": {port!r},
        "OPTIONS": {{"driver": {driver!r}}},
        # Redshift has no CREATE DATABASE ... TEMPLATE: each test database is created
        # from the maintenance database (the emulator's upstream one).
        "TEST": {{"NAME": "test_" + alias, "MAINTENANCE_NAME": {database!r}}},
    }}
    for alias in ("default", "other")
}}
SECRET_KEY = "django_tests_secret_key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
# Skips tests that cannot pass for reasons that are not the database's (scripts/).
TEST_RUNNER = "django_suite_runner.Runner"
"""

# runtests.py -v 2 prints "test_name (app.module.Class.test_name) ... ok", the docstring's
# first line on a line of its own when there is one, and one indented line per failing
# subtest ("  test_name (app.module.Class.test_name) [params] ... FAIL").
TEST_LINE = re.compile(r"^(?P<name>\w+) \((?P<path>[\w.]+)\)(?P<rest>.*)$")
SUBTEST_LINE = re.compile(r"^  \w+ \((?P<path>[\w.]+)\).* \.\.\. (?P<outcome>FAIL|ERROR)\s*$")
OUTCOME = re.compile(
    r" \.\.\. (?P<outcome>ok|skipped.*|expected failure|unexpected success|FAIL|ERROR)\s*$"
)
OUTCOMES = {
    "ok": "passed",
    "expected failure": "expected failures",
    "unexpected success": "failed",
    "FAIL": "failed",
    "ERROR": "failed",
}
# The report after the run: "ERROR: test_name (path)" or "FAIL: ...", a line of dashes, the
# traceback, and the exception's line last before a blank line or the next "=====".
FAILURE_HEAD = re.compile(r"^(?:ERROR|FAIL): \w+ \((?P<path>[\w.]+)\)")
# A module that cannot be imported is reported as unittest.loader._FailedTest.<label>.
FAILED_IMPORT = "unittest.loader._FailedTest."
# unittest's last report: "Ran 1234 tests in 56.789s".
RAN = re.compile(r"^Ran \d+ tests? in ", re.MULTILINE)
COLUMNS = ["passed", "skipped", "expected failures", "failed"]


def suite_dir() -> Path:
    """The tests/ folder of the installed Django's sdist, downloaded once (with docs/_ext
    and the django/ source beside it, which the sphinx app's tests read)."""
    version = django.__version__
    target = CACHE / version
    if all((target / part).exists() for part in ("tests/runtests.py", "docs/_ext", "django")):
        return target / "tests"
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, "--dest", tmp, f"Django=={version}"], check=True)
        (archive,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            prefix = tar.getnames()[0].split("/")[0] + "/"
            wanted = tuple(prefix + part for part in ("tests/", "docs/_ext/", "django/"))
            members = [m for m in tar.getmembers() if m.name.startswith(wanted)]
            for member in members:
                member.name = member.name[len(prefix) :]
            tar.extractall(target, members=members, filter="data")
    return target / "tests"


def install_requirements() -> None:
    """Django's own test requirements (tests/requirements/py3.txt of this version), into
    this interpreter's environment, once per environment and version."""
    requirements = suite_dir() / "requirements" / "py3.txt"
    key = hashlib.sha256(f"{sys.prefix} {django.__version__}".encode()).hexdigest()[:12]
    marker = CACHE / django.__version__ / f"requirements-installed-{key}"
    if marker.exists():
        return
    pip = [sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements)]
    subprocess.run(pip, check=True)
    marker.write_text(sys.prefix)


def all_apps(tests: Path) -> list[str]:
    """Every test app runtests.py finds on a backend without GIS (its get_test_modules)."""
    skip = {"import_error_package", "test_runner_apps", "gis_tests"}
    return sorted(
        entry.name
        for entry in tests.iterdir()
        if entry.is_dir()
        and "." not in entry.name
        and entry.name not in skip
        and (entry / "__init__.py").exists()
    )


def outcomes(output: str) -> dict[str, str]:
    """Each test's dotted path -> passed / skipped / expected failures / failed."""
    result: dict[str, str] = {}
    current: str | None = None
    for line in output.splitlines():
        sub = SUBTEST_LINE.match(line)
        if sub:
            result[sub["path"]] = "failed"
            continue
        head = TEST_LINE.match(line)
        if head:
            current = head["path"]
            result.setdefault(current, "passed")  # a test whose subtests all passed
            line = head["rest"]
        if current is None:
            continue
        found = OUTCOME.search(line)
        if found:
            outcome = found["outcome"]
            if result.get(current) != "failed":
                result[current] = OUTCOMES.get(outcome, "skipped")
            current = None
    return result


def failures(output: str) -> dict[str, str]:
    """Each failed test's dotted path -> the last line of its traceback (the exception)."""
    result: dict[str, str] = {}
    lines = output.splitlines()
    for i, line in enumerate(lines):
        head = FAILURE_HEAD.match(line)
        if not head:
            continue
        last = ""
        for body in lines[i + 2 :]:
            if body.startswith(("=" * 20, "-" * 20)) or FAILURE_HEAD.match(body):
                break
            if body.strip() and not body.startswith(" "):
                last = body.strip()
        result.setdefault(head["path"], last[:300])
    return result


def app_of(path: str) -> str:
    if path.startswith(FAILED_IMPORT):
        return path[len(FAILED_IMPORT) :].split(".")[0]
    return path.split(" ")[0].split(".")[0]


def fingerprint() -> str:
    """Changes whenever the backend's code or the installed Django does."""
    digest = hashlib.sha256(django.__version__.encode())
    for path in sorted((ROOT / "redshift_async_backend").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def results_dir(driver: str) -> Path:
    return CACHE / django.__version__ / "results" / driver


def load(driver: str, app: str) -> dict | None:
    path = results_dir(driver) / f"{app}.json"
    return json.loads(path.read_text()) if path.exists() else None


def save(driver: str, app: str, record: dict) -> None:
    folder = results_dir(driver)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{app}.json").write_text(json.dumps(record, indent=1, sort_keys=True))


def counts(record: dict) -> Counter[str]:
    return Counter(record["outcomes"].values())


def run_group(
    apps: list[str], driver: str, emu: object, extra: list[str], log: Path | None
) -> tuple[int, str]:
    tests = suite_dir()
    # One settings module per emulator: runs side by side do not share one.
    module = f"redshift_suite_settings_{emu.port}"  # type: ignore[attr-defined]
    settings = tests / f"{module}.py"
    settings.write_text(
        SETTINGS.format(
            host=emu.host,  # type: ignore[attr-defined]
            port=str(emu.port),  # type: ignore[attr-defined]
            database=emu.database,  # type: ignore[attr-defined]
            user=emu.admin_user,  # type: ignore[attr-defined]
            driver=driver,
        ),
        encoding="utf-8",
    )
    cmd = [sys.executable, "runtests.py", f"--settings={module}"]
    cmd += ["--parallel=1", "--noinput", "-v", "2", *extra, *apps]
    path = os.pathsep.join(filter(None, [str(ROOT / "scripts"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    lines: list[str] = []
    with (
        subprocess.Popen(
            cmd, cwd=tests, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        ) as proc,
        log.open("a", encoding="utf-8") if log else open(os.devnull, "w") as sink,
    ):
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            sink.write(line)
            sink.flush()
    settings.unlink()
    return proc.returncode, "".join(lines)


def run(apps: list[str], driver: str, group_size: int, extra: list[str], log: Path | None) -> None:
    from redshift_async_backend.emulator import Emulator

    groups = [apps[i : i + group_size] for i in range(0, len(apps), group_size)]
    with Emulator() as emu:
        for n, group in enumerate(groups, 1):
            started, key = time.monotonic(), fingerprint()
            code, output = run_group(group, driver, emu, extra, log)
            seconds = round(time.monotonic() - started, 1)
            found, errors = outcomes(output), failures(output)
            per_app: dict[str, dict[str, str]] = {app: {} for app in group}
            for path, outcome in found.items():
                per_app.setdefault(app_of(path), {})[path] = outcome
            for path in errors:
                # A module that failed to import, or an error in setUpClass/tearDownClass.
                per_app.setdefault(app_of(path), {}).setdefault(path, "failed")
            finished = RAN.search(output) is not None
            for app in group:
                if not per_app[app] and not finished:
                    # The process died before the app ran (it printed no outcome); an app
                    # of a finished run without outcomes has no tests (migrations2, base).
                    died = f"{app} (runtests.py exit {code})"
                    per_app[app] = {died: "failed"}
                    # What it printed last says why (a settings error, a refused login).
                    errors.setdefault(died, " | ".join(output.strip().splitlines()[-3:])[:300])
                save(
                    driver,
                    app,
                    {
                        "fingerprint": key,
                        "outcomes": per_app[app],
                        "errors": {p: e for p, e in errors.items() if app_of(p) == app},
                        "group": group,
                        "group_seconds": seconds,
                    },
                )
            done = Counter(o for app in group for o in per_app[app].values())
            summary = ", ".join(f"{done[c]} {c}" for c in COLUMNS)
            names = " ".join(group) if len(group) <= 5 else f"{group[0]} .. {group[-1]}"
            print(f"[{driver} {n}/{len(groups)}] {names}: {summary} ({seconds} s)", flush=True)


def markdown(per_app: dict[str, Counter[str]], driver: str) -> str:
    lines = [
        f"| app ({driver}) | tests | " + " | ".join(COLUMNS) + " | passed % |",
        "|---" * (len(COLUMNS) + 3) + "|",
    ]
    total: Counter[str] = Counter()
    for app in sorted(per_app):
        total.update(per_app[app])
        lines.append(row(app, per_app[app]))
    lines.append(row("**all**", total))
    return "\n".join(lines)


def row(name: str, counted: Counter[str]) -> str:
    n = sum(counted.values())
    share = f"{100 * counted['passed'] / n:.1f}" if n else "-"
    return f"| {name} | {n} | " + " | ".join(str(counted[c]) for c in COLUMNS) + f" | {share} |"


def update_docs(table: str, driver: str) -> None:
    page = ROOT / "docs" / "compatibility.md"
    text = page.read_text(encoding="utf-8")
    begin, end = f"<!-- suite:{driver}:begin -->", f"<!-- suite:{driver}:end -->"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + table + "\n" + end + rest.split(end, 1)[1]
    else:
        text += f"\n{begin}\n{table}\n{end}\n"
    page.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="*", help="test apps (default: issue #5's list)")
    parser.add_argument("--all", action="store_true", help="every app of Django's tests/")
    parser.add_argument("--driver", choices=[*DRIVERS, "both"], default="psycopg")
    parser.add_argument("--group-size", type=int, default=1000, help="apps per process")
    parser.add_argument("--resume", action="store_true", help="skip apps with results")
    parser.add_argument("--report", action="store_true", help="no run: the saved results")
    parser.add_argument("--write-docs", action="store_true", help="update docs/compatibility.md")
    parser.add_argument("--log", type=Path, help="append runtests.py's output here")
    parser.add_argument("--runtests-arg", action="append", default=[], help="passed through")
    args = parser.parse_args(argv)
    if not args.report:
        install_requirements()
    apps = all_apps(suite_dir()) if args.all else (args.apps or FULL_APPS)
    drivers = DRIVERS if args.driver == "both" else (args.driver,)
    key = fingerprint()
    status = 0
    for driver in drivers:
        todo = apps
        if args.resume:
            todo = [a for a in apps if (load(driver, a) or {}).get("fingerprint") != key]
        if not args.report and todo:
            started = time.monotonic()
            run(todo, driver, args.group_size, args.runtests_arg, args.log)
            print(f"{driver}: {len(todo)} apps in {time.monotonic() - started:.0f} s")
        records = {app: load(driver, app) for app in apps}
        missing = [app for app, record in records.items() if record is None]
        per_app = {app: counts(r) for app, r in records.items() if r is not None}
        table = markdown(per_app, driver)
        print(table)
        failed = {
            path: (records[app] or {}).get("errors", {}).get(path, "")
            for app in per_app
            for path, outcome in (records[app] or {})["outcomes"].items()
            if outcome == "failed"
        }
        for path, error in sorted(failed.items()):
            print(f"FAILED {path}: {error}")
        if missing:
            print(f"no results for: {' '.join(missing)}", file=sys.stderr)
        if args.write_docs:
            update_docs(table, driver)
        if failed or missing or not per_app:
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
