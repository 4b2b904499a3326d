"""Data definition of objects other than plain tables: late-binding views, materialized
views with Redshift's attributes, ``#name`` temporary tables, read-only views (the guide's
CREATE VIEW, CREATE MATERIALIZED VIEW, CREATE TABLE and LOCK pages). Same part of the guide as
ddl.py.

A view's or materialized view's Redshift options (late binding, BACKUP, AUTO REFRESH,
DISTSTYLE / DISTKEY / SORTKEY) travel in a trailing ``/*redshift_emulator.relation:{json}*/``
comment that the ``ddl_command_end`` trigger of emulator/sysviews.py records.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import ObjectType

from ..catalog import SCHEMA
from .ddl import (
    _DDL_RULES,
    TableMeta,
    _append,
    _comment_kept,
    _ddl_refusal,
    check_distribution,
    meta_comment,
    part,
    table_attributes,
)
from .declare import FULL, PARTLY, STYLE
from .errors import RedshiftError, syntax_error
from .identifiers import name_sql, short_name
from .pipeline import Statement, walk
from .source import Token, is_words


def relation_comment(data: dict[str, Any]) -> str:
    return meta_comment(f"{SCHEMA}.relation", data)


def _name_end(toks: list[Token], i: int) -> int:
    """Past the (maybe qualified) name that starts at ``toks[i]``."""
    while i + 2 < len(toks) and toks[i + 1].text == ".":
        i += 2
    return i + 1


def _last(toks: list[Token]) -> int:
    """The number of tokens before a trailing ';'."""
    return len(toks) - 1 if toks and toks[-1].text == ";" else len(toks)


# ---------------------------------------------------------------------------------------
# Late-binding views


@part.statement(
    "create view",
    id="late-binding-views",
    page="r_CREATE_VIEW",
    see=("PG_GET_LATE_BINDING_VIEW_COLS",),
    does="`CREATE VIEW ... WITH NO SCHEMA BINDING` makes a late-binding view (listed by "
    "PG_GET_LATE_BINDING_VIEW_COLS()); every table it reads is schema-qualified",
    fidelity=PARTLY,
    gap="the view is bound upstream: the tables it reads must exist when it is created, and "
    "dropping one of them needs CASCADE (which drops the view)",
    answer="42P01 All the relations in a late binding view must be qualified with a schema name",
    source=STYLE,
    tests=(
        f"{_DDL_RULES}::test_late_binding_view_is_listed",
        _ddl_refusal("late_binding_unqualified"),
        f"{_DDL_RULES}::test_late_binding_view_may_read_a_cte",
        _comment_kept("late_binding"),
    ),
    words=("binding",),
)
def late_binding_view(stmt: Statement) -> None:
    toks = stmt.tokens
    n = _last(toks)
    if n < 5 or not is_words(toks, n - 4, "with", "no", "schema", "binding"):
        return
    stmt.replace(toks[n - 5].end, toks[n - 1].end, "")
    i = next(k for k, t in enumerate(toks) if t.word == "view") + 1
    if is_words(toks, i, "if", "not", "exists"):
        i += 3
    name = toks[_name_end(toks, i) - 1]
    stmt.facts["late_binding"] = True
    _append(stmt, relation_comment({"name": short_name(name.ident), "late_binding": True}))


@part.node(
    ast.ViewStmt,
    kinds=("create view",),
    id="late-binding-views-qualified",
    page="r_CREATE_VIEW",
    does="A late-binding view names every table with its schema",
    fidelity=FULL,
    answer="42P01 All the relations in a late binding view must be qualified with a schema name",
    source=STYLE,
    tests=(_ddl_refusal("late_binding_unqualified"),),
    words=("binding",),
)
def late_binding_qualified(stmt: Statement, node: ast.ViewStmt) -> None:
    if not stmt.facts.get("late_binding"):
        return
    tables: list[ast.RangeVar] = []
    ctes: set[str] = set()
    visit: dict[type, list[Any]] = {
        ast.RangeVar: [lambda _s, n: tables.append(n)],
        ast.CommonTableExpr: [lambda _s, n: ctes.add(n.ctename)],
    }
    walk(node.query, visit, stmt)
    for table in tables:
        if table.schemaname is None and table.relname not in ctes:
            # Redshift: WITH NO SCHEMA BINDING needs schema-qualified tables and views
            # (DG:r_CREATE_VIEW).
            raise RedshiftError(
                "All the relations in a late binding view must be qualified with a schema name",
                "42P01",
                hint=f'"{table.relname}" has no schema',
            )


# ---------------------------------------------------------------------------------------
# Materialized views


@part.statement(
    "create materialized view",
    id="materialized-view-attributes",
    page="materialized-view-create-sql-command",
    see=("r_STV_MV_INFO", "r_SVV_MV_INFO"),
    does="`CREATE MATERIALIZED VIEW mv [BACKUP {YES | NO}] [DISTSTYLE ...] [DISTKEY (c)] "
    "[[COMPOUND | INTERLEAVED] SORTKEY (c, ...)] [AUTO REFRESH {YES | NO}] AS query`; the "
    "options are shown in STV_MV_INFO / SVV_MV_INFO and SVV_TABLE_INFO",
    fidelity=PARTLY,
    gap="AUTO REFRESH is recorded: nothing refreshes the view by itself (REFRESH "
    "MATERIALIZED VIEW recomputes it in full)",
    tests=(
        f"{_DDL_RULES}::test_materialized_view_attributes_are_recorded",
        _ddl_refusal("mv_distkey_twice"),
        _comment_kept("mv_attributes"),
    ),
)
def materialized_view(stmt: Statement) -> None:
    toks = stmt.tokens
    i = next(k for k, t in enumerate(toks) if t.word == "view") + 1
    if is_words(toks, i, "if", "not", "exists"):
        i += 3
    end = _name_end(toks, i)
    meta = TableMeta(table=short_name(toks[end - 1].ident))
    autorefresh = False
    as_at = next((k for k in range(end, len(toks)) if toks[k].word == "as"), len(toks))
    for k in range(end, as_at - 2):
        if is_words(toks, k, "auto", "refresh"):
            autorefresh = toks[k + 2].word == "yes"
            stmt.replace(toks[k].start, toks[k + 2].end, "")
    table_attributes(stmt, toks[: as_at + 1], end, meta)
    check_distribution(meta)
    data: dict[str, Any] = {"name": meta.table, "autorefresh": autorefresh}
    for key in ("diststyle", "distkey", "sortkind", "backup"):
        if getattr(meta, key) is not None:
            data[key] = getattr(meta, key)
    if meta.sortkey:
        data["sortkey"] = meta.sortkey
    _append(stmt, relation_comment(data))


@part.statement(
    "alter materialized view",
    id="alter-materialized-view-auto-refresh",
    page="r_ALTER_MATERIALIZED_VIEW",
    does="`ALTER MATERIALIZED VIEW mv AUTO REFRESH { YES | NO }`, shown in SVV_MV_INFO",
    fidelity=PARTLY,
    gap="recorded: nothing refreshes the view by itself",
    tests=(f"{_DDL_RULES}::test_materialized_view_attributes_are_recorded",),
    words=("refresh",),
)
def alter_materialized_view(stmt: Statement) -> None:
    toks = stmt.tokens
    end = _name_end(toks, 3)
    if _last(toks) == end + 3 and is_words(toks, end, "auto", "refresh"):
        value = toks[end + 2].word
        if value not in ("yes", "no"):
            raise syntax_error(toks[end + 2].text, "AUTO REFRESH is YES or NO")
        name = name_sql(toks[3:end]).replace("'", "''")
        stmt.replace_statement(
            f"CALL {SCHEMA}.set_mv_autorefresh('{name}'::regclass, {value == 'yes'})",
            tag="ALTER MATERIALIZED VIEW",
        )


@part.node(
    ast.CreateTableAsStmt,
    kinds=("create materialized view",),
    id="materialized-view-limits",
    page="materialized-view-create-sql-command",
    does="A materialized view's query has no ORDER BY, LIMIT or OFFSET",
    fidelity=PARTLY,
    gap="the other limits (views, temporary tables, user-defined functions in the query) "
    "are not checked",
    answer="0A000 ORDER BY / LIMIT / OFFSET is not supported in a materialized view",
    source=STYLE,
    tests=(_ddl_refusal("mv_order_by"), _ddl_refusal("mv_limit")),
    words=("order", "limit", "offset"),
)
def materialized_view_limits(stmt: Statement, node: ast.CreateTableAsStmt) -> None:
    query = node.query
    if node.objtype != ObjectType.OBJECT_MATVIEW or not isinstance(query, ast.SelectStmt):
        return
    for clause, what in (("sortClause", "ORDER BY"), ("limitCount", "LIMIT"),
                         ("limitOffset", "OFFSET")):  # fmt: skip
        if getattr(query, clause):
            # Redshift: no ORDER BY, LIMIT or OFFSET in a materialized view
            # (DG:materialized-view-create-sql-command).
            raise RedshiftError(f"{what} is not supported in a materialized view", "0A000")


# ---------------------------------------------------------------------------------------
# #name temporary tables


_OPERANDS = frozenset({"IDENT", "ICONST", "FCONST", "SCONST", "BCONST", "XCONST", "PARAM"})


@part.statement(
    id="hash-temporary-tables",
    page="r_CREATE_TABLE_NEW",
    does="`CREATE TABLE #name` makes a temporary table, found by `#name` in every statement",
    fidelity=FULL,
    gap="the table is PostgreSQL's temporary table named `#name`",
    tests=(f"{_DDL_RULES}::test_hash_names_are_temporary_tables", _comment_kept("hash_table")),
    screen="#[a-z_]",
)
def hash_temporary_tables(stmt: Statement) -> None:
    toks = stmt.tokens
    temp = stmt.kind == "create table" and not {"temp", "temporary"} & set(stmt.words[:4])
    for k in range(len(toks) - 1):
        t, name = toks[k], toks[k + 1]
        if t.text != "#" or name.start != t.end or not (name.word or name.name == "IDENT"):
            continue
        if k and (toks[k - 1].name in _OPERANDS or toks[k - 1].text in (")", "]")):
            continue  # a # b: Redshift's bitwise XOR
        quoted = '"#' + name.ident.replace('"', '""') + '"'
        stmt.replace(t.start, name.end, quoted)
        if temp and k and toks[k - 1].word == "table":
            # Redshift: a table name beginning with '#' is a temporary table
            # (DG:r_CREATE_TABLE_NEW).
            stmt.insert(toks[k - 1].start, "TEMP ")
            temp = False


# ---------------------------------------------------------------------------------------
# Views are read-only and cannot be locked

part.rule(
    id="views-are-read-only",
    page="r_CREATE_VIEW",
    does="A view cannot be inserted into, updated or deleted from",
    fidelity=PARTLY,
    gap="refused upstream by an INSTEAD OF trigger the emulator's event trigger puts on "
    "every view (bookkeeping.py): a row trigger, so an UPDATE or DELETE that matches no row "
    "is not refused",
    answer='0A000 cannot insert a view: "v" is a view',
    source=STYLE,
    tests=(
        _ddl_refusal("insert_into_view"),
        _ddl_refusal("update_view"),
        _ddl_refusal("delete_view"),
    ),
)
part.rule(
    id="views-are-not-locked",
    page="r_LOCK",
    does="`LOCK` takes tables, not views",
    fidelity=PARTLY,
    gap="refused for ordinary users, with PostgreSQL's `42501 permission denied for view v` "
    "(the view's owner loses the UPDATE / DELETE / TRUNCATE and MAINTAIN rights LOCK "
    "needs); a Redshift "
    "superuser, who may write every table upstream, can lock a view. LOCK itself goes "
    "upstream unscanned: a check before it would take the transaction's snapshot before the "
    "lock",
    answer="42501 permission denied for view v",
    source="PostgreSQL",
    tests=(f"{_DDL_RULES}::test_an_ordinary_user_cannot_lock_a_view",),
)
