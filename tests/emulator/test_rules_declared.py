"""The rule declarations: every rule has its AWS page and tests that exist, the docs page is
generated from them, plain DML selects no rule, and the pipeline's hooks work."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pglast import ast

from redshift_async_backend.emulator.rules import (
    REGISTRY,
    Fidelity,
    RedshiftError,
    Rewrite,
    SessionState,
    Statement,
    docs,
    rewrite,
)
from redshift_async_backend.emulator.rules.pipeline import _plan, head_words, kind_of

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_page_is_generated_from_the_declarations() -> None:
    assert docs.current() == docs.render(), (
        "docs/emulator-sql.md is stale: python -m redshift_async_backend.emulator.rules "
        "--write-docs"
    )


def test_every_rule_names_its_aws_page_and_says_what_redshift_does() -> None:
    assert len(REGISTRY.rules) > 50
    for rule in REGISTRY.rules:
        assert re.fullmatch(r"[A-Za-z][\w-]*", rule.page), rule.id
        assert rule.url == f"https://docs.aws.amazon.com/redshift/latest/dg/{rule.page}.html"
        assert rule.does.strip(), rule.id
        assert rule.fidelity is Fidelity.FULL or rule.gap, rule.id
    assert {p.key for p in REGISTRY.parts} == {
        "ddl", "dml", "functions", "datatypes", "identifiers", "settings", "catalog",
        "security",
    }  # fmt: skip
    assert all(any(r.part is p for r in REGISTRY.rules) for p in REGISTRY.parts)


@functools.cache
def _collected() -> dict[str, list[str]]:
    """Node ids pytest collects from the files the declarations name: test -> parameters."""
    files = sorted({t.split("::")[0] for r in REGISTRY.rules for t in r.tests})
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *files],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    found: dict[str, list[str]] = {}
    for line in out.stdout.splitlines():
        m = re.fullmatch(r"(tests/\S+?\.py::\w+)(?:\[(.*)\])?", line.strip())
        if m:
            found.setdefault(m.group(1), []).append(m.group(2) or "")
    return found


def _exists(test: str) -> bool:
    m = re.fullmatch(r"(tests/\S+?\.py::\w+)(?:\[(.*)\])?", test)
    assert m, test
    params = _collected().get(m.group(1))
    if params is None:
        return False
    wanted = m.group(2)
    return wanted is None or any(
        p == wanted or p.startswith(wanted + "-") or p.endswith("-" + wanted) or f"-{wanted}-" in p
        for p in params
    )


def test_every_declared_test_exists() -> None:
    missing = [f"{r.id}: {t}" for r in REGISTRY.rules for t in r.tests if not _exists(t)]
    assert not missing, "declared tests that pytest does not collect:\n" + "\n".join(missing)


def test_a_declared_test_that_does_not_exist_is_found() -> None:
    assert _exists("tests/emulator/test_sql_rules.py::test_refused_like_redshift[returning]")
    assert not _exists("tests/emulator/test_sql_rules.py::test_refused_like_redshift[nothing]")
    assert not _exists("tests/emulator/test_rules.py::test_that_was_never_written")


# Statements an application sends all day (Django's among them): no rule may select them,
# or every one would be scanned and parsed.
PLAIN = [
    "SELECT 1",
    'SELECT "t"."id", "t"."name" FROM "t" WHERE ("t"."id" = $1 AND "t"."name" IN ($2, $3)) '
    'ORDER BY "t"."id" ASC LIMIT 21',
    'SELECT COUNT(*) AS "__count" FROM "app_item" INNER JOIN "app_kind" ON '
    '("app_item"."kind_id" = "app_kind"."id") WHERE "app_kind"."name" LIKE \'%x%\'',
    'INSERT INTO "t" ("a", "b", "created_at") VALUES (1, \'x on conflict y\', '
    "'2024-01-01 00:00:00'), (2, 'returning [1] e''s', NULL)",
    'UPDATE "t" SET "a" = 1, "b" = \'héllo\' WHERE "t"."id" = 2',
    'DELETE FROM "t" WHERE "t"."id" IN (1, 2)',
    'LOCK TABLE "t"',
    'SELECT MAX("id") FROM "t"',
    # Dots in literals and aliased names are no SUPER paths.
    "INSERT INTO \"t\" (\"email\") VALUES ('a@example.com'), ('b.c@d.org')",
    'SELECT U0."id" FROM "t" U0 WHERE U0."a" = \'x.y\'',
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SET TIME ZONE 'UTC'",
]


@pytest.mark.parametrize("sql", PLAIN)
def test_plain_dml_selects_no_rule(sql: str) -> None:
    selected = _plan().select(kind_of(head_words(sql)), sql)
    assert not selected, [r.id for r in selected]


def test_the_head_of_a_statement_skips_comments() -> None:
    assert head_words("/* a /* nested */ b */ -- x\n  Create TEMP Table t (a int)") == (
        "create",
        "temp",
        "table",
        "t",
    )
    assert kind_of(head_words("create or replace view v as select 1")) == "create view"
    assert kind_of(head_words("CREATE UNIQUE INDEX i ON t (a)")) == "create index"
    assert kind_of(head_words("create materialized view m as select 1")) == (
        "create materialized view"
    )
    assert kind_of(head_words("-- only a comment")) == ""


@pytest.fixture
def extra_rule() -> Iterator[list[object]]:
    """Declare rules for one test; they are gone after it (with the results cached)."""
    from redshift_async_backend.emulator.rules.declare import Part

    added: list[object] = []
    part = Part("test-only", "test", "rules of one test", order=99)
    yield [part, added]
    for rule in list(REGISTRY.rules):
        if rule.part is part:
            REGISTRY.remove(rule)
    REGISTRY.parts.remove(part)


def _declaration(rule_id: str) -> dict[str, object]:
    return {
        "id": rule_id,
        "page": "r_SET",
        "does": "a rule of this test",
        "fidelity": Fidelity.FULL,
        "tests": ("tests/emulator/test_rules_declared.py::test_session_settings_hook",),
    }


def test_session_settings_hook(extra_rule: list[object]) -> None:
    # How a rule follows a session parameter (DG:r_enable_case_sensitive_identifier):
    # the SET records it, later statements read it, the cache keys on it.
    part = extra_rule[0]

    # A two-part name: settings.py leaves session context variables to other rules.
    @part.statement("set", words=("test_flag",), **_declaration("test-set-flag"))  # type: ignore[attr-defined]
    def record(stmt: Statement) -> None:
        stmt.set_session("test_flag", stmt.tokens[-1].text)
        stmt.replace_statement("SELECT 1", tag="SET")

    @part.node(ast.ColumnRef, words=("flagged",), **_declaration("test-read-flag"))  # type: ignore[attr-defined]
    def read(stmt: Statement, node: ast.ColumnRef) -> None:
        if stmt.setting("test_flag") == "on":
            stmt.insert(node.location, "upper_")

    state = SessionState()
    assert rewrite("SELECT flagged FROM t", state).sql == "SELECT flagged FROM t"
    assert rewrite("SET app.test_flag TO on", state) == Rewrite(
        "SELECT 1", tag="SET", settings=(("test_flag", "on"),)
    )
    assert state.settings == (("test_flag", "on"),)
    assert rewrite("SELECT flagged FROM t", state).sql == "SELECT upper_flagged FROM t"
    rewrite("SET app.test_flag TO off", state)
    assert rewrite("SELECT flagged FROM t", state).sql == "SELECT flagged FROM t"


def test_a_failing_rule_is_a_clear_error_for_its_statement(extra_rule: list[object]) -> None:
    part = extra_rule[0]

    @part.node(ast.ColumnRef, words=("boom",), **_declaration("test-broken"))  # type: ignore[attr-defined]
    def broken(stmt: Statement, node: ast.ColumnRef) -> None:
        raise KeyError("a bug")

    with pytest.raises(RedshiftError) as info:
        rewrite("SELECT boom FROM t", SessionState())
    assert info.value.sqlstate == "54001"
    assert "internal error (KeyError)" in info.value.message
    assert rewrite("SELECT fine FROM t", SessionState()) == Rewrite("SELECT fine FROM t")


def test_two_rules_editing_one_span_is_reported(extra_rule: list[object]) -> None:
    part = extra_rule[0]
    for n in (1, 2):

        @part.statement(words=("clash",), **_declaration(f"test-clash-{n}"))  # type: ignore[attr-defined]
        def clash(stmt: Statement) -> None:
            t = stmt.tokens[1]
            stmt.replace(t.start, t.end, "other")

    with pytest.raises(RedshiftError, match="internal error"):
        rewrite("SELECT clash", SessionState())
