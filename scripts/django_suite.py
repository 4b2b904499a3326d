"""Run Django's own test suite against redshift_async_backend, through the emulator.

    python scripts/django_suite.py [--driver psycopg|redshift_connector] [--write-docs] [app ...]
    hatch run django-suite -- --driver redshift_connector basic model_fields

It takes the test suite of exactly the installed Django version from its source distribution
on PyPI (cached in .django-suite/), starts the Redshift emulator (upstream from
REDSHIFT_TEST_UPSTREAM, else an embedded PostgreSQL), writes a settings module with `default`
and `other` databases on it, runs the chosen apps with runtests.py and counts each app's
outcomes. Tests that cannot pass on Redshift are declared in DatabaseFeatures
(django_test_skips, django_test_expected_failures), each with its Redshift rule; anything else
that fails is a bug, and the run exits non-zero.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".django-suite"

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
        "USER": "postgres",
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


def suite_dir() -> Path:
    """The tests/ folder of the installed Django's sdist, downloaded once."""
    version = django.__version__
    target = CACHE / version / "tests"
    if (target / "runtests.py").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, "--dest", tmp, f"Django=={version}"], check=True)
        (archive,) = Path(tmp).glob("*.tar.gz")
        with tarfile.open(archive) as tar:
            prefix = tar.getnames()[0].split("/")[0] + "/tests/"
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)]
            for member in members:
                member.name = member.name[len(prefix) :]
            tar.extractall(target, members=members, filter="data")
    return target


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


def count(output: str) -> dict[str, Counter[str]]:
    per_app: dict[str, Counter[str]] = defaultdict(Counter)
    for path, outcome in outcomes(output).items():
        per_app[path.split(".")[0]][outcome] += 1
    return per_app


def markdown(per_app: dict[str, Counter[str]], driver: str) -> str:
    cols = ["passed", "skipped", "expected failures", "failed"]
    lines = [
        f"| app ({driver}) | tests | " + " | ".join(cols) + " | passed % |",
        "|---" * (len(cols) + 3) + "|",
    ]
    total: Counter[str] = Counter()
    for app in sorted(per_app):
        counts = per_app[app]
        total.update(counts)
        lines.append(row(app, counts, cols))
    lines.append(row("**all**", total, cols))
    return "\n".join(lines)


def row(name: str, counts: Counter[str], cols: list[str]) -> str:
    n = sum(counts.values())
    share = f"{100 * counts['passed'] / n:.1f}" if n else "-"
    return f"| {name} | {n} | " + " | ".join(str(counts[c]) for c in cols) + f" | {share} |"


def run(apps: list[str], driver: str, extra: list[str]) -> tuple[int, str]:
    from redshift_async_backend.emulator import Emulator

    tests = suite_dir()
    settings = tests / "redshift_suite_settings.py"
    with Emulator() as emu:
        settings.write_text(
            SETTINGS.format(
                host=emu.host, port=str(emu.port), database=emu.database, driver=driver
            ),
            encoding="utf-8",
        )
        cmd = [sys.executable, "runtests.py", "--settings=redshift_suite_settings"]
        cmd += ["--parallel=1", "--noinput", "-v", "2", *extra, *apps]
        proc = subprocess.run(cmd, cwd=tests, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.decode("utf-8", "replace")
    return proc.returncode, output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("apps", nargs="*", help="test apps (default: all of issue #5's list)")
    parser.add_argument("--driver", default="psycopg", choices=["psycopg", "redshift_connector"])
    parser.add_argument("--write-docs", action="store_true", help="update docs/compatibility.md")
    parser.add_argument("--log", type=Path, help="write runtests.py's output here")
    parser.add_argument("--runtests-arg", action="append", default=[], help="passed through")
    args = parser.parse_args(argv)
    apps = args.apps or FULL_APPS
    code, output = run(apps, args.driver, args.runtests_arg)
    if args.log:
        args.log.write_text(output, encoding="utf-8")
    per_app = count(output)
    table = markdown(per_app, args.driver)
    print(output[-4000:])
    print(table)
    failed = sum(c["failed"] for c in per_app.values())
    results = CACHE / f"results-{args.driver}.json"
    results.write_text(json.dumps({a: dict(c) for a, c in per_app.items()}, indent=2))
    if args.write_docs:
        update_docs(table, args.driver)
    if not per_app:
        print("no test ran", file=sys.stderr)
        return 1
    return 1 if failed or code else 0


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


if __name__ == "__main__":
    sys.exit(main())
