"""Every fenced code block in docs/*.md and README.md is run or checked.

What happens to a block depends on its language:

- ``python``: executed in a fresh namespace whose module is ``tests.testapp.docs_examples``,
  inside ``isolate_apps``, so model classes go to a throwaway registry. Then what it
  defined is checked: ``DATABASES`` (each entry builds the backend's ``DatabaseWrapper``,
  which validates OPTIONS, and passes the pool's CONN_MAX_AGE rule), an ``OPTIONS`` dict
  (the same, as the OPTIONS of a database), models (no system check message; their tables
  are created on the emulator, in a transaction rolled back afterwards), a ``Migration``
  (each operation deconstructs and describes itself) and ``test_*`` functions (called with
  the pytest fixtures they name). A line that is only ``...,`` elides entries of a literal
  and is dropped. The example URLs in ``URLS`` are replaced by the test servers' URLs.
- ``pycon``: doctest. The pycon blocks of a page share their globals, in page order.
- ``console``: every command must exist. Commands are the lines after a ``$ `` prompt, or
  every line when there is no prompt. Checked: hatch scripts and environments
  (hatch.toml), pip extras of this project (pyproject.toml), ``python -m`` modules and
  ``python scripts/*.py`` files, and that each ``--flag`` is in their ``--help``.
- ``json``, ``ini``: parsed.
- ``text``: output, diagrams, schematic SQL. Not run.

A block that cannot run on its own is marked ``<!-- no-test: reason -->`` on the line
before its fence. The reason is required.
"""

from __future__ import annotations

import configparser
import copy
import doctest
import functools
import importlib.util
import inspect
import json
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, models
from django.db.migrations import Migration
from django.db.utils import ConnectionHandler
from django.test.utils import isolate_apps
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from redshift_async_backend import checks as redshift_checks
from redshift_async_backend import pooling
from redshift_async_backend.base import DatabaseWrapper

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
MODULE = "tests.testapp.docs_examples"

# Example URLs in the docs -> the fixture whose server stands in for them.
URLS = {
    "postgresql://app@db.example.com/dev": "emulator",
    "postgresql://postgres@127.0.0.1:5432/postgres": "pg_url",
}

# Blocks on pages this test's author does not edit, which need a no-test marker there:
# (page, first line of the block) -> reason. Once the page has the marker, drop the entry.
PENDING_NO_TEST: dict[tuple[str, str], str] = {}

FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
NO_TEST = re.compile(r"^<!--\s*no-test\b(?P<rest>.*?)-->$")


@dataclass(frozen=True)
class Block:
    page: str  # path relative to the repository
    line: int  # line of the opening fence, from 1
    lang: str
    code: str
    no_test: str | None  # the reason of a no-test marker

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def read_blocks(path: Path) -> list[Block]:
    page = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start, fence, indent = i, match["fence"], len(match["indent"])
        body = []
        i += 1
        while i < len(lines):
            closing = lines[i].strip()
            if closing.startswith(fence) and set(closing) == {fence[0]}:
                break
            body.append(lines[i][indent:])
            i += 1
        i += 1
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = NO_TEST.match(lines[before].strip()) if before >= 0 else None
        reason = marker["rest"].strip().lstrip(":").strip() if marker else None
        code = "\n".join(body)
        first = next((line for line in body if line.strip()), "")
        if reason is None:
            reason = PENDING_NO_TEST.get((page, first.strip()))
        lang = match["info"].split()[0] if match["info"].split() else ""
        found.append(Block(page, start + 1, lang, code, reason))
    return found


BLOCKS = [block for path in PAGES for block in read_blocks(path)]
# MyST directives (```{toctree}) are not code examples.
EXAMPLES = [b for b in BLOCKS if not b.lang.startswith("{")]
TESTED = [b for b in EXAMPLES if b.no_test is None]


def _needs_database(block: Block) -> bool:
    code = block.code
    return (
        any(url in code for url in URLS)
        or "models.Model" in code
        or re.search(r"^def test_", code, re.MULTILINE) is not None
    )


def _params(blocks: list[Block]) -> list[Any]:
    return [
        pytest.param(
            b,
            id=b.id,
            marks=pytest.mark.integration if _needs_database(b) else pytest.mark.unit,
        )
        for b in blocks
    ]


# -- markers -------------------------------------------------------------------------


@pytest.mark.unit
def test_no_test_markers_have_a_reason_and_a_block() -> None:
    for path in PAGES:
        page = path.relative_to(ROOT).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        fence = ""  # the fence of the code block we are in, if any
        for number, line in enumerate(lines, 1):
            match = FENCE.match(line)
            if fence:
                if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                    fence = ""
                continue
            if match:
                fence = match["fence"]
                continue
            if "no-test" not in line or not line.strip().startswith("<!--"):
                continue
            marker = NO_TEST.match(line.strip())
            assert marker, f"{page}:{number}: write the marker as <!-- no-test: reason -->"
            assert marker["rest"].strip().lstrip(":").strip(), f"{page}:{number}: no reason"
            following = next((x for x in lines[number:] if x.strip()), "")
            assert FENCE.match(following), f"{page}:{number}: no code block follows"


@pytest.mark.unit
def test_pending_markers_still_needed() -> None:
    for page, first in PENDING_NO_TEST:
        path = ROOT / page
        matching = [
            b
            for b in read_blocks(path)
            if b.code.strip().splitlines()[:1] == [first] and not _has_marker_in_page(path, b.line)
        ]
        assert matching, f"{page}: no unmarked block starts with {first!r}: drop the entry"


def _has_marker_in_page(path: Path, line: int) -> bool:
    lines = path.read_text(encoding="utf-8").splitlines()[: line - 1]
    before = [x for x in lines if x.strip()]
    return bool(before) and NO_TEST.match(before[-1].strip()) is not None


# -- one test per block --------------------------------------------------------------


@pytest.mark.parametrize("block", _params([b for b in TESTED if b.lang != "pycon"]))
def test_block(block: Block, request: pytest.FixtureRequest) -> None:
    handler = HANDLERS.get(block.lang)
    assert handler, (
        f"{block.id}: no check for a {block.lang or 'plain'!r} block: give the fence a "
        f"language ({', '.join(sorted(HANDLERS))}) or a <!-- no-test: reason --> marker"
    )
    handler(block, request)


def _pycon_pages() -> list[Any]:
    pages = sorted({b.page for b in TESTED if b.lang == "pycon"})
    return [pytest.param(page, id=page, marks=pytest.mark.unit) for page in pages]


@pytest.mark.parametrize("page", _pycon_pages())
def test_doctests(page: str) -> None:
    globs: dict[str, Any] = {"__name__": MODULE}
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for block in (b for b in TESTED if b.page == page and b.lang == "pycon"):
        test = parser.get_doctest(block.code, globs, block.id, str(ROOT / page), block.line)
        test.globs = globs  # DocTest copies them; the page's blocks share one namespace
        runner.run(test, out=report.append, clear_globs=False)
    assert runner.failures == 0, "".join(report)
    assert runner.tries, f"{page}: no examples in its pycon blocks"


# -- python ---------------------------------------------------------------------------


def run_python(block: Block, request: pytest.FixtureRequest) -> None:
    code = "\n".join(line for line in block.code.splitlines() if line.strip() != "...,")
    for url, fixture in URLS.items():
        if url in code:
            code = code.replace(url, _url_of(request, fixture))
    namespace: dict[str, Any] = {"__name__": MODULE}
    with isolate_apps("tests.testapp"):
        # Padded so that tracebacks give the line in the Markdown file.
        exec(compile("\n" * block.line + code, str(ROOT / block.page), "exec"), namespace)
        _check_definitions(namespace, request)


def _url_of(request: pytest.FixtureRequest, fixture: str) -> str:
    value = request.getfixturevalue(fixture)
    return str(value if isinstance(value, str) else value.url)


def _check_definitions(namespace: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if isinstance(namespace.get("DATABASES"), dict):
        for alias, entry in namespace["DATABASES"].items():
            check_database(alias, entry)
    if isinstance(namespace.get("OPTIONS"), dict):
        check_database(
            "default", {"ENGINE": "redshift_async_backend", "OPTIONS": namespace["OPTIONS"]}
        )
    defined = [
        value
        for value in namespace.values()
        if isinstance(value, type)
        and issubclass(value, models.Model)
        and value.__module__ == MODULE
    ]
    if defined:
        check_models([m for m in defined if not m._meta.abstract], request)
    migration = namespace.get("Migration")
    if isinstance(migration, type) and issubclass(migration, Migration):
        for operation in migration("0001_docs", "testapp").operations:
            operation.deconstruct()
            assert operation.describe()
    for name, value in namespace.items():
        if name.startswith("test_") and inspect.isfunction(value):
            fixtures = inspect.signature(value).parameters
            value(**{p: request.getfixturevalue(p) for p in fixtures})


def check_database(alias: str, entry: dict[str, Any]) -> None:
    """What Django does with a DATABASES entry before it connects, and the pool's rule."""
    assert entry.get("ENGINE") == "redshift_async_backend", entry
    settings = ConnectionHandler().configure_settings({"default": copy.deepcopy(entry)})
    DatabaseWrapper(settings["default"], alias)
    pooling._pool_kwargs(alias, settings["default"])  # CONN_MAX_AGE = 0 with the pool


def check_models(defined: list[type[models.Model]], request: pytest.FixtureRequest) -> None:
    for model in defined:
        messages = [*model.check(databases=["default"]), *redshift_checks.check_model(model)]
        assert not messages, messages
    request.getfixturevalue("db")  # one transaction, rolled back after the test
    with connection.schema_editor() as editor:
        for model in defined:
            editor.create_model(model)


# -- console ---------------------------------------------------------------------------

HATCH = tomllib.loads((ROOT / "hatch.toml").read_text(encoding="utf-8"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def run_console(block: Block, request: pytest.FixtureRequest) -> None:
    for command in console_commands(block.code):
        words = shlex.split(command, comments=True)
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            check_command(words[:cut], block)
            words = words[cut + 1 :]


def console_commands(code: str) -> list[str]:
    lines: list[str] = []
    for line in code.splitlines():
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + line.strip()
        else:
            lines.append(line)
    if any(line.startswith("$ ") for line in lines):
        return [line[2:] for line in lines if line.startswith("$ ")]
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def check_command(words: list[str], block: Block) -> None:
    while words and ENV_ASSIGNMENT.match(words[0]):
        words = words[1:]
    assert words, f"{block.id}: an empty command"
    program, args = words[0], words[1:]
    if program in ("python", "python3"):
        if args[:2] == ["-m", "pip"]:
            check_pip(args[2:], block)
        elif args[:1] == ["-m"]:
            module = args[1]
            assert importlib.util.find_spec(module), f"{block.id}: no module {module}"
            check_flags(args[2:], block, lambda: help_text((sys.executable, "-m", module)))
        elif args[:1] == ["manage.py"]:  # the reader's project: Django's commands
            check_management_command(args[1:], block)
        else:
            script = ROOT / args[0]
            assert script.is_file(), f"{block.id}: no file {args[0]}"
            check_flags(args[1:], block, lambda: help_text((sys.executable, str(script))))
    elif program == "pip":
        check_pip(args, block)
    elif program == "hatch":
        check_hatch(args, block)
    else:
        raise AssertionError(f"{block.id}: the test does not know the command {program!r}")


LOCAL_SPEC = re.compile(r"^(?P<path>[./][^\[]*)(?:\[(?P<extras>[^\]]*)\])?$")


def check_pip(args: list[str], block: Block) -> None:
    if args[:1] == ["uninstall"]:
        return
    assert args[:1] == ["install"], f"{block.id}: pip {' '.join(args)}"
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    for spec in (a for a in args[1:] if not a.startswith("-")):
        local = LOCAL_SPEC.match(spec) or LOCAL_SPEC.match("./" + spec)
        if local and (spec.startswith(("/", ".")) or local["path"].endswith(".whl")):
            # A checkout or a wheel: this project's extras, and a wheel of this version.
            wanted = {e.strip() for e in (local["extras"] or "").split(",") if e.strip()}
            assert wanted <= extras, f"{block.id}: unknown extra in {spec}"
            if local["path"].endswith(".whl"):
                name = PYPROJECT["project"]["name"].replace("-", "_")
                version = re.search(
                    r'^__version__ = "([^"]+)"',
                    (ROOT / name / "__init__.py").read_text(encoding="utf-8"),
                    re.MULTILINE,
                )
                assert version, name
                wheel = f"{name}-{version[1]}-py3-none-any.whl"
                assert Path(local["path"]).name == wheel, f"{block.id}: the wheel is {wheel}"
            continue
        requirement = Requirement(spec)
        if canonicalize_name(requirement.name) == canonicalize_name(PYPROJECT["project"]["name"]):
            assert requirement.extras <= extras, f"{block.id}: unknown extra in {spec}"


def hatch_scripts(env: str) -> dict[str, Any]:
    """An environment's scripts, with those of its template (``default`` unless named)."""
    scripts: dict[str, Any] = {}
    name: str | None = env
    while name is not None:
        spec = HATCH["envs"].get(name)
        assert spec is not None, f"no hatch environment {name!r}"
        scripts = {**spec.get("scripts", {}), **scripts}
        template = spec.get("template", "default")
        # An environment that is its own template inherits nothing.
        name = template if name != "default" and template != name else None
    return scripts


def check_hatch(args: list[str], block: Block) -> None:
    if args[:1] == ["build"]:  # hatch's own command; the targets are pyproject.toml's
        targets = PYPROJECT["tool"]["hatch"]["build"]["targets"]
        for i, arg in enumerate(args):
            if arg == "-t":
                assert args[i + 1] in targets, f"{block.id}: no build target {args[i + 1]}"
        return
    assert args[:1] == ["run"] and len(args) > 1, f"{block.id}: hatch {' '.join(args)}"
    env, _, name = args[1].rpartition(":")
    scripts = hatch_scripts(env or "default")
    assert name in scripts, f"{block.id}: hatch.toml has no script {name!r}"
    script = scripts[name]
    rest = [a for a in args[2:] if a != "--"]
    if isinstance(script, str) and script.startswith("python "):
        expanded = shlex.split(script.replace("{args}", shlex.join(rest)))
        check_command(expanded, block)
    else:
        assert not rest or "{args}" in str(script), f"{block.id}: {name} takes no arguments"


def check_management_command(args: list[str], block: Block) -> None:
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    assert args and args[0] in commands, f"{block.id}: no management command {args[:1]}"
    command = load_command_class(commands[args[0]], args[0])
    check_flags(args[1:], block, lambda: command.create_parser("manage.py", args[0]).format_help())


def check_flags(args: list[str], block: Block, get_help: Callable[[], str]) -> None:
    flags = {a.strip("[]").split("=")[0] for a in args if a.strip("[]").startswith("--")}
    if not flags:
        return
    text = get_help()
    for flag in sorted(flags):
        assert re.search(rf"{re.escape(flag)}\b", text), f"{block.id}: {flag} not in --help"


@functools.cache
def help_text(command: tuple[str, ...]) -> str:
    done = subprocess.run(
        [*command, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


# -- data -----------------------------------------------------------------------------


def run_json(block: Block, request: pytest.FixtureRequest) -> None:
    json.loads(block.code)


def run_ini(block: Block, request: pytest.FixtureRequest) -> None:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read_string(block.code, source=block.id)
    assert parser.sections(), f"{block.id}: no section"


def not_code(block: Block, request: pytest.FixtureRequest) -> None:
    assert block.code.strip(), f"{block.id}: an empty block"


HANDLERS: dict[str, Callable[[Block, pytest.FixtureRequest], None]] = {
    "python": run_python,
    "console": run_console,
    "json": run_json,
    "ini": run_ini,
    "text": not_code,
}
