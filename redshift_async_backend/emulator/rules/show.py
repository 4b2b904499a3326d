"""Redshift's SHOW metadata commands (the guide's SQL commands SHOW DATABASES, SHOW SCHEMAS,
SHOW TABLES, SHOW COLUMNS, SHOW CONSTRAINTS, SHOW FUNCTIONS, SHOW PROCEDURES), part of the
catalog's rules.

Each becomes a call of its set-returning function in emulator/show.py:
``SHOW TABLES FROM SCHEMA dev.public LIKE 'o%' LIMIT 5`` is sent as
``SELECT * FROM redshift_emulator.show_tables('dev', 'public', 'o%') LIMIT 5``. Names and
patterns may be bind parameters (redshift_connector sends ``SHOW SCHEMAS FROM DATABASE $1``).
PostgreSQL's own SHOW (``SHOW search_path``) goes on as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import SCHEMA
from .catalog import part
from .declare import PARTLY, STYLE
from .errors import syntax_error
from .pipeline import Statement
from .source import Token


@dataclass(frozen=True)
class Form:
    """One SHOW command's grammar: what follows its words, and its function."""

    page: str
    source: tuple[str, ...]  # "FROM <source>" words, () for none
    parts: int  # the dotted name's parts after them


FORMS = {
    "databases": Form("r_SHOW_DATABASES", (), 0),
    "schemas": Form("r_SHOW_SCHEMAS", ("from", "database"), 1),
    "tables": Form("r_SHOW_TABLES", ("from", "schema"), 2),
    "columns": Form("r_SHOW_COLUMNS", ("from", "table"), 3),
    "functions": Form("r_SHOW_FUNCTIONS", ("from", "schema"), 2),
    "procedures": Form("r_SHOW_PROCEDURES", ("from", "schema"), 2),
}


def _value(t: Token) -> str:
    """A name part or pattern as SQL: a bind parameter stays one, a name is a literal."""
    if t.name in ("PARAM", "SCONST"):
        return t.text
    if not t.word and t.name != "IDENT":
        raise _bad(t.text)
    return "'" + t.ident.replace("'", "''") + "'"


def _bad(near: str) -> Exception:
    return syntax_error(
        near,
        "SHOW DATABASES / SCHEMAS FROM DATABASE db / TABLES, FUNCTIONS, PROCEDURES FROM SCHEMA "
        "db.schema / COLUMNS, CONSTRAINTS ... FROM TABLE db.schema.table [LIKE 'pattern'] "
        "[LIMIT n]",
    )


class _Reader:
    def __init__(self, toks: list[Token]) -> None:
        # A trailing ';' is not part of the command.
        while toks and toks[-1].text == ";":
            toks = toks[:-1]
        self.toks = toks
        self.i = 0

    def word(self, *words: str) -> bool:
        if self.i < len(self.toks) and self.toks[self.i].word in words:
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> None:
        for w in words:
            if not self.word(w):
                raise _bad(self.near())

    def near(self) -> str:
        return self.toks[self.i].text if self.i < len(self.toks) else "end of input"

    def take(self) -> Token:
        if self.i >= len(self.toks):
            raise _bad("end of input")
        t = self.toks[self.i]
        self.i += 1
        return t

    def name(self, parts: int) -> list[str]:
        out = [_value(self.take())]
        while len(out) < parts:
            if self.take().text != ".":
                raise _bad(self.toks[self.i - 1].text)
            out.append(_value(self.take()))
        return out

    def tail(self, like: bool) -> tuple[str | None, str]:
        """[LIKE pattern] [LIMIT n]: the pattern's SQL and the LIMIT clause."""
        pattern = None
        if like and self.word("like"):
            t = self.take()
            if t.name not in ("SCONST", "PARAM"):
                raise _bad(t.text)
            pattern = _value(t)
        limit = ""
        if self.word("limit"):
            t = self.take()
            if t.name not in ("ICONST", "PARAM"):
                raise _bad(t.text)
            limit = f" LIMIT {t.text}"
        if self.i < len(self.toks):
            raise _bad(self.near())
        return pattern, limit


@part.statement(
    "show",
    id="show-metadata-commands",
    page="r_SHOW_TABLES",
    see=(
        "r_SHOW_DATABASES",
        "r_SHOW_SCHEMAS",
        "r_SHOW_COLUMNS",
        "r_SHOW_CONSTRAINTS",
        "r_SHOW_FUNCTIONS",
        "r_SHOW_PROCEDURES",
        "r_SHOW_TABLE",
    ),
    does="SHOW DATABASES, SHOW SCHEMAS FROM DATABASE, SHOW TABLES / FUNCTIONS / PROCEDURES "
    "FROM SCHEMA, SHOW COLUMNS and SHOW CONSTRAINTS PRIMARY KEYS / FOREIGN KEYS [EXPORTED] "
    "FROM TABLE, with LIKE and LIMIT, answer with their pages' columns; SHOW TABLE with the "
    "CREATE TABLE statement",
    fidelity=PARTLY,
    gap="another database than the current one has no rows (no datashares); the FROM "
    "DATABASE batch forms (show_discovery 5) and SHOW PARAMETERS / GRANTS / VIEW are not "
    "emulated; SHOW TABLE leaves out defaults, IDENTITY, foreign keys and BACKUP, and shows "
    "nothing for a table that does not exist",
    answer='42601 syntax error at or near "..." for a malformed command',
    source=STYLE,
    tests=(
        "tests/emulator/test_tool_rules.py::test_show_commands",
        "tests/emulator/test_tool_rules.py::test_show_with_bind_parameters",
        "tests/emulator/test_tool_rules.py::test_malformed_show_is_a_syntax_error",
        "tests/emulator/test_tool_rules.py::test_show_table",
        "tests/emulator/test_show.py::test_show_tables",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[show]",
        "tests/clients/test_redshift_connector.py::test_get_imported_keys",
        "tests/clients/test_redshift_connector.py::test_get_functions",
    ),
)
def show_metadata(stmt: Statement) -> None:
    toks = stmt.tokens
    if len(toks) < 2:
        return
    what = toks[1].word
    r = _Reader(toks[2:])
    if what == "constraints":
        sql = _constraints(r)
    elif what == "table":
        # Redshift: SHOW TABLE [schema_name.]table_name (DG:r_SHOW_TABLE).
        first = _value(r.take())
        name = ["NULL", first, "current_schemas(false)"]
        if r.i < len(r.toks) and r.toks[r.i].text == ".":
            r.take()
            name = [first, _value(r.take())]
        r.tail(False)
        sql = f"SELECT * FROM {SCHEMA}.show_table({', '.join(name)})"
    elif what in FORMS:
        form = FORMS[what]
        # Redshift: SHOW <what> FROM <source> name [LIKE 'pattern'] [LIMIT n]
        # (DG:r_SHOW_TABLES and the other pages of FORMS).
        if form.source:
            r.expect(*form.source)
        args = r.name(form.parts) if form.parts else []
        pattern, limit = r.tail(True)
        if pattern is not None:
            args.append(pattern)
        sql = f"SELECT * FROM {SCHEMA}.show_{what}({', '.join(args)}){limit}"
    else:
        return  # PostgreSQL's SHOW of a parameter
    # The command's tokens become the query; comments around them stay.
    stmt.replace(toks[0].start, r.toks[-1].end if r.toks else toks[1].end, sql)


def _constraints(r: _Reader) -> str:
    # Redshift: SHOW CONSTRAINTS {PRIMARY KEYS | FOREIGN KEYS [EXPORTED]} FROM TABLE
    # db.schema.table [LIMIT n] (DG:r_SHOW_CONSTRAINTS).
    if r.word("primary"):
        r.expect("keys", "from", "table")
        args = r.name(3)
        _, limit = r.tail(False)
        return f"SELECT * FROM {SCHEMA}.show_primary_keys({', '.join(args)}){limit}"
    r.expect("foreign", "keys")
    exported = r.word("exported")
    r.expect("from", "table")
    args = [*r.name(3), "true" if exported else "false"]
    _, limit = r.tail(False)
    return f"SELECT * FROM {SCHEMA}.show_foreign_keys({', '.join(args)}){limit}"


part.rule(
    id="show-discovery-at-login",
    page="r_SHOW_TABLES",
    does="A session's ParameterStatus messages include show_discovery, the SHOW commands' "
    "version that redshift_connector's metadata API checks",
    fidelity=PARTLY,
    gap="the emulator announces version 4 (per-schema and per-table SHOW commands)",
    tests=(
        "tests/emulator/test_tool_rules.py::test_show_discovery_is_announced",
        "tests/clients/test_redshift_connector.py::test_get_functions",
    ),
)
