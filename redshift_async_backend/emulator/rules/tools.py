"""What Redshift's own tools send: SQL Redshift's parser takes that PostgreSQL's refuses.

sqlalchemy-redshift, redshift_connector and psql send catalog queries that rely on Redshift's
parser: a select-list alias used in WHERE or later in the same select list (Redshift
documents the latter, DG:r_SELECT_list), ``WHERE 1 AND ...``, a FROM subquery without an
alias. Where AWS does not document the leniency, the rule is declared "accepted because
Redshift's tools send it", and kept to the catalog queries those tools send (a query naming
a ``pg_`` / ``svv_`` / ``stv_`` / ``stl_`` / ``svl_`` / ``information_schema`` relation), so
that everyday SQL keeps PostgreSQL's (and Redshift's documented) meaning and cost.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from pglast import ast

from .declare import FULL, PARTLY, Part
from .errors import RedshiftError
from .pipeline import Screening, Statement, descendants
from .source import Token, matching

part = Part(
    "tools",
    "What Redshift's tools send",
    "SQL that Redshift's own drivers and tools send and Redshift's parser takes.",
    order=7,
)

CATALOG_PREFIXES = ("pg_", "svv_", "stv_", "stl_", "svl_", "information_schema")
TOOLS = "accepted because Redshift's tools send it"


def catalog_query(seen: Screening) -> bool:
    """Screen: the statement names a catalog relation (or schema)."""
    return any(w.startswith(CATALOG_PREFIXES) for w in seen.words)


def _nodes(root: Any, kind: type) -> Iterator[Any]:
    """Nodes of ``kind`` under ``root``, not inside a nested SELECT (another scope)."""
    return descendants(root, kind, skip=(ast.SelectStmt,))


# ---------------------------------------------------------------------------------------
# WHERE <integer>


@part.statement(
    "select",
    id="where-integer",
    page="r_WHERE_clause",
    does=f"`WHERE 1 AND ...`: an integer as the WHERE condition, or the first operand of its "
    f"AND / OR, is true unless 0 ({TOOLS}: sqlalchemy-redshift's reflection queries)",
    fidelity=PARTLY,
    gap="AWS documents a WHERE condition as a boolean; only an integer literal right after "
    "WHERE is taken as one",
    tests=(
        "tests/emulator/test_tool_rules.py::test_where_integer",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[where_integer]",
        "tests/clients/test_sqlalchemy.py::test_inspector_tables_views_and_options",
    ),
    screen=r"where\s+\d",
)
def where_integer(stmt: Statement) -> None:
    toks = stmt.tokens
    for i, t in enumerate(toks[:-1]):
        nxt = toks[i + 1]
        if t.word != "where" or nxt.name != "ICONST":
            continue
        after = toks[i + 2] if i + 2 < len(toks) else None
        if after is None or after.word in _ENDS_CONDITION or after.text in (")", ";"):
            # An integer where Redshift's tools put one, as a condition: true unless 0.
            stmt.replace(nxt.start, nxt.end, f"({nxt.text} <> 0)")


_ENDS_CONDITION = frozenset(
    {"and", "or", "group", "order", "limit", "union", "intersect", "except", "minus", "having"}
)


# ---------------------------------------------------------------------------------------
# 4WHEN

_RUN_IN = re.compile(r"[0-9](?:when|then|else|end|and|or|as|from|limit)\b")


def _number_runs_into_a_word(seen: Screening) -> bool:
    return catalog_query(seen) and _RUN_IN.search(seen.low) is not None


@part.statement(
    "select",
    id="number-runs-into-a-word",
    page="r_numeric_literals201",
    does=f"A number written right before a keyword (`THEN 4WHEN`) is the number and the "
    f"keyword ({TOOLS}: redshift_connector's get_columns for clusters without SHOW)",
    fidelity=PARTLY,
    gap="only in queries that name a catalog relation; PostgreSQL 15+ refuses it elsewhere "
    "(trailing junk after numeric literal)",
    tests=(
        "tests/emulator/test_tool_rules.py::test_number_runs_into_a_word",
        "tests/clients/test_redshift_connector.py::test_get_columns_legacy_query",
    ),
    screen=_number_runs_into_a_word,
)
def number_runs_into_a_word(stmt: Statement) -> None:
    toks = stmt.tokens
    for a, b in itertools.pairwise(toks):
        if a.name in ("ICONST", "FCONST") and a.end == b.start and b.word:
            stmt.insert(a.end, " ")


# ---------------------------------------------------------------------------------------
# Select-list aliases


@part.node(
    ast.SelectStmt,
    id="lateral-column-alias",
    page="r_SELECT_list",
    does="A select-list alias can be used later in the same select list (a lateral alias "
    "reference); Redshift's tools also use one in WHERE",
    fidelity=PARTLY,
    gap="only in queries that name a catalog relation (where the tools send them; elsewhere "
    "PostgreSQL's error that the column does not exist); the alias is read as its "
    "expression, which is copied, so a column of the same name as an alias of another "
    f"expression reads the alias; the WHERE use is {TOOLS} (AWS documents the select-list one)",
    tests=(
        "tests/emulator/test_tool_rules.py::test_alias_later_in_the_select_list",
        "tests/emulator/test_tool_rules.py::test_alias_in_where",
        "tests/emulator/test_tool_rules.py::test_aliases_stay_out_of_other_queries",
        "tests/clients/test_redshift_connector.py::test_get_tables_legacy_query",
        "tests/clients/test_sqlalchemy.py::test_inspector_constraints",
    ),
    screen=catalog_query,
)
def lateral_aliases(stmt: Statement, node: ast.SelectStmt) -> None:
    if not node.targetList:
        return
    aliases: dict[str, str] = {}  # alias -> its expression's text, earlier aliases resolved
    for res in node.targetList:
        if not isinstance(res, ast.ResTarget):
            continue
        # Redshift: an alias is known right after its definition in the select list
        # (DG:r_SELECT_list).
        uses = [
            (stmt.tokens[stmt.token_index(stmt.position(ref))], aliases[name])
            for ref in _nodes(res.val, ast.ColumnRef)
            if (name := _bare_name(ref)) in aliases
        ]
        for tok, text in uses:
            stmt.replace(tok.start, tok.end, f"({text})")
        if res.name and res.name not in aliases and not _same_name(res):
            span = _expression(stmt, res)
            if span is not None:
                aliases[res.name] = _resolved(stmt, span, uses)
    # Redshift's tools use an alias in WHERE as well.
    for ref in _nodes(node.whereClause, ast.ColumnRef):
        name = _bare_name(ref)
        if name in aliases:
            tok = stmt.tokens[stmt.token_index(stmt.position(ref))]
            stmt.replace(tok.start, tok.end, f"({aliases[name]})")


def _resolved(stmt: Statement, span: tuple[int, int], uses: list[tuple[Token, str]]) -> str:
    """The text of ``span`` with the alias uses in it replaced by their expressions."""
    start, end = span
    out, at = [], start
    for tok, text in sorted(uses, key=lambda u: u[0].start):
        if start <= tok.start and tok.end <= end:
            out += [stmt.source_text(at, tok.start), f"({text})"]
            at = tok.end
    out.append(stmt.source_text(at, end))
    return "".join(out)


def _bare_name(ref: ast.ColumnRef) -> str | None:
    fields = ref.fields or ()
    if len(fields) == 1 and isinstance(fields[0], ast.String):
        return str(fields[0].sval)
    return None


def _same_name(res: ast.ResTarget) -> bool:
    """``c.relname AS relname``, ``relnatts + 1 AS relnatts``: the alias is the name of a
    column its expression reads, so that name is an input column, which takes precedence."""
    for ref in _nodes(res.val, ast.ColumnRef):
        last = (ref.fields or (None,))[-1]
        if isinstance(last, ast.String) and last.sval == res.name:
            return True
    return False


def _expression(stmt: Statement, res: ast.ResTarget) -> tuple[int, int] | None:
    """The byte span of an aliased select-list item's expression."""
    toks = stmt.tokens
    first = j = stmt.token_index(stmt.position(res))
    depth = 0
    while j < len(toks):
        t = toks[j]
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (t.text in (",", ";") or t.word in ("from", "into")):
            break
        j += 1
    if j - first < 2 or toks[j - 1].ident != res.name:
        return None
    end = j - 2 if toks[j - 2].word == "as" else j - 1
    return stmt.span(first, end) if end > first else None


# ---------------------------------------------------------------------------------------
# FROM (subquery) without an alias


@part.node(
    ast.RangeSubselect,
    id="subquery-without-alias",
    page="r_FROM_clause30",
    does=f"A subquery in FROM without an alias ({TOOLS}: redshift_connector's get_columns)",
    fidelity=PARTLY,
    gap="only in queries that name a catalog relation; AWS's FROM page writes an alias; the "
    "subquery gets a name of its own (`_subquery1`, ...)",
    tests=(
        "tests/emulator/test_tool_rules.py::test_subquery_without_alias",
        "tests/emulator/test_tool_rules.py::test_aliases_stay_out_of_other_queries",
    ),
    screen=catalog_query,
)
def subquery_alias(stmt: Statement, node: ast.RangeSubselect) -> None:
    if node.alias is not None:
        return
    inner = node.subquery
    while isinstance(inner, ast.SelectStmt) and not inner.targetList and inner.larg:
        inner = inner.larg
    if not isinstance(inner, ast.SelectStmt) or not inner.targetList:
        return
    toks = stmt.tokens
    j = stmt.token_index(stmt.position(inner.targetList[0]))
    while j >= 0 and toks[j].text != "(":
        j -= 1
    if j < 0:
        return
    close = matching(toks, j)
    n = stmt.facts["subqueries"] = stmt.facts.get("subqueries", 0) + 1
    stmt.insert(toks[close].end, f" AS _subquery{n}")


@part.node(
    ast.RangeSubselect,
    id="subquery-needs-an-alias",
    page="r_FROM_clause30",
    does="Elsewhere a subquery in FROM needs an alias, as in PostgreSQL before 16, whose "
    "parser Redshift's keeps (PostgreSQL 16 and later accept it without one)",
    fidelity=FULL,
    answer="42601 subquery in FROM must have an alias",
    source="PostgreSQL before 16",
    tests=("tests/emulator/test_tool_rules.py::test_aliases_stay_out_of_other_queries",),
    # A subquery in FROM follows FROM, JOIN or a comma: WHERE x IN (SELECT ...) is not one,
    # and stays unparsed.
    screen=r"(?:from|join|,)\s*\(\s*select",
)
def subquery_needs_an_alias(stmt: Statement, node: ast.RangeSubselect) -> None:
    if node.alias is not None or node.lateral:
        return
    if any(t.name == "IDENT" and t.ident.startswith(CATALOG_PREFIXES) for t in stmt.tokens):
        return  # subquery-without-alias names it
    raise RedshiftError(
        "subquery in FROM must have an alias",
        "42601",
        hint="For example, FROM (SELECT ...) [AS] foo.",
    )
