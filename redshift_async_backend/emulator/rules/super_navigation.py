"""SUPER navigation (DG:query-super): ``doc.key``, ``doc[0]`` and chains of them, on a SUPER
column, become the emulator's ``super_get(doc, path)`` (emulator/sqlfunctions.py).

PostgreSQL reads ``doc.key`` as column ``key`` of a table ``doc``: the rule tells them
apart by the statement's FROM items. A name that is no table, alias or CTE of the statement
is a column, and what follows it is a path into its value.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pglast import ast

from ..catalog import SCHEMA
from .declare import PARTLY
from .functions import part
from .pipeline import Screening, Statement
from .source import Token

_T = "tests/emulator/test_functions_rules.py"
_NAME = r'(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)'
# name.name: the qualifier; a FROM item after FROM, JOIN, UPDATE, INTO or AS, and the name
# after it (its alias), looked at without being consumed.
# String literals are stepped over whole (their dots are no names).
_QUALIFIER = re.compile(rf"'[^']*'|({_NAME})\s*\.\s*[\"a-z_]")
_SOURCE = re.compile(
    rf"(?:from|join|update|into|as)\s+({_NAME})(?:\s*\.\s*({_NAME}))?"
    rf"(?=(?:\s+(?:as\s+)?({_NAME}))?)"
)
_THREE = re.compile(rf"{_NAME}\s*\.\s*{_NAME}\s*\.\s*{_NAME}")


def _unquote(name: str) -> str:
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def maybe_super_path(seen: Screening) -> bool:
    """A dotted name whose qualifier is no FROM item (or alias) seen in the text, or three
    names in a chain: cheap enough for every statement with a dot."""
    low = seen.low
    if "." not in low:
        return False
    words = seen.words
    if "[" in words:
        return True
    if "values" in words and "select" not in words:
        return False  # INSERT ... VALUES (the large statements) reads no SUPER path
    if _THREE.search(low):
        return True
    qualifiers = {_unquote(m) for m in _QUALIFIER.findall(low) if m}
    if not qualifiers:
        return False
    sources = {_unquote(n) for m in _SOURCE.findall(low) for n in m if n}
    return not qualifiers <= sources


@part.node(
    ast.ColumnRef,
    ast.RangeVar,
    ast.RangeSubselect,
    ast.CommonTableExpr,
    id="super-navigation",
    page="query-super",
    see=("r_SUPER_type",),
    does="`doc.key`, `doc[0]` and chains of them navigate a SUPER value; a missing key or "
    "index, or a step into a scalar, is NULL",
    fidelity=PARTLY,
    gap="the result is SUPER's JSON text: a string compares with a VARCHAR only after "
    "JSON_SERIALIZE or a cast; keys are matched as written (lower case unless quoted)",
    tests=(
        f"{_T}::test_super_navigation",
        f"{_T}::test_super_navigation_keeps_table_columns",
    ),
    screen=maybe_super_path,
)
def super_navigation(stmt: Statement, node: Any) -> None:
    facts = stmt.facts
    if isinstance(node, ast.ColumnRef):
        fields = node.fields or ()
        if fields and all(isinstance(f, ast.String) for f in fields):
            facts.setdefault("column_refs", []).append(node)
    elif isinstance(node, ast.RangeVar):
        names = facts.setdefault("range_names", set())
        names.add(node.relname)
        if node.alias is not None:
            names.add(node.alias.aliasname)
    elif isinstance(node, ast.RangeSubselect):
        if node.alias is not None:
            facts.setdefault("range_names", set()).add(node.alias.aliasname)
    else:
        facts.setdefault("range_names", set()).add(node.ctename)
    if not facts.get("super_check"):
        facts["super_check"] = True
        stmt.at_end(_rewrite_paths)


def _rewrite_paths(stmt: Statement) -> None:
    ranges = stmt.facts.get("range_names", set())
    toks = stmt.tokens
    for ref in stmt.facts.get("column_refs", ()):
        fields = [f.sval for f in ref.fields]
        # The column: the first name that is not a FROM item (table.column, or
        # schema.table.column, name columns the PostgreSQL way).
        if fields[0] in ranges:
            column = 1
        elif len(fields) >= 3 and fields[1] in ranges:
            column = 2
        else:
            column = 0
        first = stmt.token_index(stmt.position(ref))
        path, past = _path(toks, first + 2 * column + 1)
        if not path:
            continue
        base = stmt.span_text(first, first + 2 * column + 1)
        literal = json.dumps(path).replace("'", "''")
        # Redshift: PartiQL navigation of SUPER (DG:query-super).
        stmt.replace(
            toks[first].start, toks[past - 1].end, f"{SCHEMA}.super_get({base}, '{literal}')"
        )


def _path(toks: list[Token], i: int) -> tuple[list[str | int], int]:
    """The steps ``.key`` / ``[n]`` from token ``i``, and the index past them."""
    steps: list[str | int] = []
    while i + 1 < len(toks):
        if toks[i].text == "." and (toks[i + 1].name == "IDENT" or toks[i + 1].word):
            steps.append(toks[i + 1].ident)
            i += 2
        elif toks[i].text == "[" and i + 2 < len(toks) and toks[i + 1].name == "ICONST":
            if toks[i + 2].text != "]":
                break
            steps.append(int(toks[i + 1].text))
            i += 3
        else:
            break
    return steps, i
