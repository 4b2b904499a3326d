"""ALTER TABLE ... ADD PRIMARY KEY / UNIQUE over rows that already break it. Pure code.

Redshift does not enforce uniqueness when a table is populated (DG:t_Defining_constraints),
and adding the constraint does not check the rows either. PostgreSQL builds the key's
unique index and fails on the first duplicate, so the statement (once the rules have
rewritten it) becomes

    CALL redshift_emulator.add_key('<table>'::regclass, '<name>', 'p'|'u', '{cols}')

which builds a plain index, declares it unique and attaches the constraint to it
(``ADD CONSTRAINT ... USING INDEX``); the event trigger then makes it informational like
every other key (:mod:`.bookkeeping`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType
from pglast.parser import ParseError

from .catalog import SCHEMA

_MAYBE = re.compile(r"\s*alter\s+table\b.*\badd\b.*\b(?:primary\s+key|unique)\b", re.I | re.S)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def add_key_call(sql: str) -> str | None:
    """The procedure call for one ALTER TABLE that only adds a PRIMARY KEY or UNIQUE
    constraint on plain columns; None for anything else."""
    if not _MAYBE.match(sql):
        return None
    try:
        statements = parse_sql(sql)
    except ParseError:
        return None
    if len(statements) != 1 or not isinstance(statements[0].stmt, ast.AlterTableStmt):
        return None
    stmt: Any = statements[0].stmt
    if stmt.missing_ok or len(stmt.cmds or ()) != 1:
        return None
    cmd = stmt.cmds[0]
    con = cmd.def_
    if cmd.subtype != AlterTableType.AT_AddConstraint or not isinstance(con, ast.Constraint):
        return None
    if con.contype not in (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE):
        return None
    if con.indexname or con.including or con.options or con.indexspace or not con.keys:
        return None
    table = ".".join(
        _quote_ident(part) for part in (stmt.relation.schemaname, stmt.relation.relname) if part
    )
    kind = "p" if con.contype == ConstrType.CONSTR_PRIMARY else "u"
    columns = json.dumps([key.sval for key in con.keys])
    return (
        f"CALL {SCHEMA}.add_key({_literal(table)}::regclass, {_literal(con.conname or '')}, "
        f"{_literal(kind)}, {_literal(columns)}::jsonb)"
    )
