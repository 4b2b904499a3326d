"""Data definition, continued: ALTER TABLE, TRUNCATE, VACUUM, ANALYZE (the guide's pages of
those commands). Same part of the guide as ddl.py."""

from __future__ import annotations

import json
from typing import Any

from pglast import ast
from pglast.enums import AlterTableType, ConstrType

from ..catalog import SCHEMA
from .ddl import (
    _CONSTRAINT_WORDS,
    _RULES,
    _SQL_RULES,
    TableMeta,
    _append,
    _comment_kept,
    _refusal,
    column_def,
    identity_on_add,
    part,
)
from .declare import FULL, PARTLY, STYLE
from .errors import RedshiftError, syntax_error, unsupported
from .identifiers import name_sql, short_name
from .pipeline import Statement
from .source import Token, is_words, matching

_META_WORDS = ("distkey", "diststyle", "sortkey", "compound", "interleaved", "encode")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@part.statement(
    "alter table",
    id="alter-distkey-sortkey-encode",
    page="r_ALTER_TABLE",
    does="`ALTER DISTKEY`, `ALTER DISTSTYLE {ALL | EVEN | AUTO | KEY DISTKEY c}`, "
    "`ALTER [COMPOUND] SORTKEY (...) | AUTO | NONE`, `ALTER ENCODE AUTO`, `ALTER COLUMN c "
    "ENCODE e [, ...]`, several combined; `ADD COLUMN ... ENCODE e`",
    fidelity=FULL,
    gap="recorded in the catalog, transactionally, with no physical effect",
    tests=(
        f"{_SQL_RULES}::test_alter_distkey_diststyle_sortkey",
        f"{_SQL_RULES}::test_alter_encode_and_alter_column_encode",
        f"{_SQL_RULES}::test_add_column_with_encode_and_default",
        f"{_SQL_RULES}::test_metadata_follows_the_transaction",
        f"{_RULES}::test_alter_redshift_clauses_become_a_metadata_call",
        _comment_kept("alter_diststyle"),
        _comment_kept("alter_distkey"),
    ),
)
def alter_table(stmt: Statement) -> None:
    toks = stmt.tokens
    i = 2
    if is_words(toks, i, "if", "exists"):
        i += 2
    if is_words(toks, i, "only"):
        i += 1
    name_start = i
    while i < len(toks) and (toks[i].text == "." or i == name_start or toks[i - 1].text == "."):
        i += 1
    table_sql = name_sql(toks[name_start:i])
    stmt.facts["table_sql"] = table_sql
    rest = toks[i:]
    if not rest:
        return
    if (
        is_words(rest, 0, "alter")
        and len(rest) > 1
        and (
            rest[1].word in _META_WORDS
            or (rest[1].word == "column" and any(t.word == "encode" for t in rest))
            or (len(rest) > 2 and rest[2].word == "encode")
        )
    ):
        stmt.replace_statement(alter_meta(table_sql, rest), tag="ALTER TABLE")
        return
    if is_words(rest, 0, "append"):
        if stmt.in_transaction:
            raise RedshiftError("ALTER TABLE APPEND cannot run inside a transaction block", "25001")
        return
    if is_words(rest, 0, "alter"):
        j = 2 if is_words(rest, 1, "column") else 1
        if j < len(rest):
            stmt.facts["column"] = short_name(rest[j].ident)
    if rest[0].word == "add" and not (len(rest) > 1 and rest[1].word in _CONSTRAINT_WORDS):
        j = 2 if is_words(rest, 1, "column") else 1
        if is_words(rest, j, "if", "not", "exists"):
            j += 3
        meta = TableMeta(table=short_name(toks[i - 1].ident))
        column_def(stmt, rest[j:], meta, adding=True)
        if meta.columns:
            _append(stmt, meta.comment())


part.rule(
    id="alter-table-append-outside-transactions",
    page="r_ALTER_TABLE_APPEND",
    does="ALTER TABLE APPEND cannot run inside a transaction block",
    fidelity=PARTLY,
    gap="outside a block the statement reaches PostgreSQL, which has no APPEND (a syntax error)",
    answer="25001 ALTER TABLE APPEND cannot run inside a transaction block",
    source="Redshift",
    tests=(f"{_RULES}::test_alter_table_append_only_outside_a_transaction",),
)


def alter_meta(table_sql: str, rest: list[Token]) -> str:
    """ALTER DISTKEY / DISTSTYLE / [COMPOUND] SORTKEY / ENCODE AUTO / ALTER COLUMN ENCODE."""
    change: dict[str, object] = {}
    columns: dict[str, str] = {}
    i = 0
    while i < len(rest):
        if rest[i].text in (",", ";"):
            i += 1
            continue
        if rest[i].word != "alter":
            raise syntax_error(rest[i].text, "unexpected ALTER TABLE clause")
        i += 1
        w = rest[i].word if i < len(rest) else ""
        if w == "distkey":
            change["distkey"] = short_name(rest[i + 1].ident)
            i += 2
        elif w == "diststyle":
            style = rest[i + 1].word.upper()
            if style == "KEY":
                if not is_words(rest, i + 2, "distkey"):
                    raise RedshiftError("DISTSTYLE KEY requires a DISTKEY column", "42601")
                change["distkey"] = short_name(rest[i + 3].ident)
                i += 4
            elif style in ("ALL", "EVEN", "AUTO"):
                change["diststyle"] = style
                i += 2
            else:
                raise syntax_error(rest[i + 1].text, "DISTSTYLE is AUTO, EVEN, KEY or ALL")
        elif w in ("compound", "sortkey", "interleaved"):
            if w == "interleaved":
                # Redshift: ALTER SORTKEY cannot make an INTERLEAVED key (DG:r_ALTER_TABLE).
                raise unsupported("ALTER INTERLEAVED SORTKEY", "use a COMPOUND sort key")
            j = i + 1 if w == "compound" else i
            if rest[j + 1].word in ("auto", "none"):
                change["sortkind"] = rest[j + 1].word.upper()
                i = j + 2
            else:
                close = matching(rest, j + 1)
                change["sortkind"] = "COMPOUND"
                change["sortkey"] = [
                    short_name(t.ident) for t in rest[j + 2 : close] if t.text != ","
                ]
                i = close + 1
        elif w == "encode":
            change["encode_auto"] = True
            i += 2
        elif w == "column" or (i + 1 < len(rest) and rest[i + 1].word == "encode"):
            if w == "column":
                i += 1
            if not is_words(rest, i + 1, "encode"):
                raise syntax_error(rest[i + 1].text, "only ALTER COLUMN ... ENCODE combines")
            columns[short_name(rest[i].ident)] = rest[i + 2].text.lower()
            i += 3
        else:
            raise syntax_error(rest[i].text if i < len(rest) else "", "unexpected ALTER clause")
    if columns:
        change["columns"] = columns
    body = json.dumps(change, separators=(",", ":"))
    return f"CALL {SCHEMA}.alter_meta({_literal(table_sql)}::regclass, {_literal(body)})"


ONE_ACTION = part.rule(
    id="one-action-per-alter-table",
    page="r_ALTER_TABLE",
    see=("c_redshift-sql-implementated-differently",),
    does="One action per ALTER TABLE statement (one ADD COLUMN at a time)",
    fidelity=FULL,
    answer='42601 syntax error at or near ","',
    source=STYLE,
    tests=(_refusal("two_adds"),),
)


@part.node(
    ast.AlterTableStmt,
    kinds=("alter table",),
    id="alter-column-type",
    page="r_ALTER_TABLE",
    does="`ALTER COLUMN c TYPE VARCHAR(n)` widens a VARCHAR, outside a transaction block; "
    "other types, a `USING` clause, a column with a default or in a UNIQUE / PRIMARY KEY / "
    "FOREIGN KEY are refused",
    fidelity=PARTLY,
    gap="the BYTEDICT / RUNLENGTH / TEXT255 / TEXT32K encodings that Redshift refuses a type "
    "change on are not checked",
    answer="25001 ALTER TABLE ALTER COLUMN cannot run inside a transaction block; 0A000 "
    "ALTER TABLE ALTER COLUMN does not support USING expression",
    source="Redshift: flyway/flyway#2438, dbeaver/dbeaver#9449",
    tests=(
        f"{_SQL_RULES}::test_alter_column_type_widens_varchar_outside_a_transaction",
        f"{_RULES}::test_alter_varchar_type_checks_the_column_first",
        _refusal("alter_type_int"),
        _refusal("two_adds"),
    ),
)
def alter_commands(stmt: Statement, node: ast.AlterTableStmt) -> None:
    cmds = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    adds = [c for c in cmds if c.subtype == AlterTableType.AT_AddColumn]
    if len(adds) > 1:
        # Redshift: one ADD COLUMN per ALTER TABLE (DG:c_redshift-sql-implementated-
        # differently).
        raise syntax_error(",", "Amazon Redshift adds one column per ALTER TABLE statement")
    if len(cmds) > 1:
        raise syntax_error(",", "Amazon Redshift runs one action per ALTER TABLE statement")
    for cmd in cmds:
        sub = cmd.subtype
        if sub in (AlterTableType.AT_SetNotNull, AlterTableType.AT_DropNotNull):
            # Redshift: no ALTER COLUMN SET/DROP NOT NULL (DG:r_ALTER_TABLE).
            raise RedshiftError("ALTER COLUMN SET/DROP NOT NULL is not supported", "0A000")
        if sub == AlterTableType.AT_ColumnDefault:
            # Redshift's text, as reported in jazzband/django-redshift-backend#96.
            raise RedshiftError("ALTER COLUMN SET/DROP DEFAULT is not supported", "0A000")
        if sub == AlterTableType.AT_AlterColumnType:
            _alter_type(stmt, cmd)
        if sub == AlterTableType.AT_AddColumn:
            _add_column(cmd.def_)
        if sub == AlterTableType.AT_AddIdentity:
            raise identity_on_add()


part.rule(
    id="no-set-not-null",
    page="r_ALTER_TABLE",
    does="No `ALTER COLUMN SET NOT NULL / DROP NOT NULL`",
    fidelity=FULL,
    answer="0A000 ALTER COLUMN SET/DROP NOT NULL is not supported",
    source="style, by analogy with SET/DROP DEFAULT",
    tests=(_refusal("set_not_null"), _refusal("drop_not_null")),
)
part.rule(
    id="no-set-default",
    page="r_ALTER_TABLE",
    does="No `ALTER COLUMN SET DEFAULT / DROP DEFAULT`",
    fidelity=FULL,
    answer="0A000 ALTER COLUMN SET/DROP DEFAULT is not supported",
    source="Redshift: jazzband/django-redshift-backend#96",
    tests=(_refusal("set_default"), _refusal("drop_default")),
)


def _alter_type(stmt: Statement, cmd: ast.AlterTableCmd) -> None:
    if stmt.in_transaction:
        # Redshift's text (flyway/flyway#2438, SQLMesh/sqlmesh#5572; DG:r_ALTER_TABLE).
        raise RedshiftError(
            "ALTER TABLE ALTER COLUMN cannot run inside a transaction block", "25001"
        )
    coldef: Any = cmd.def_
    if coldef is not None and coldef.raw_default is not None:
        # Redshift's text (dbeaver/dbeaver#9449).
        raise RedshiftError("ALTER TABLE ALTER COLUMN does not support USING expression", "0A000")
    names = [n.sval for n in coldef.typeName.names] if coldef and coldef.typeName else []
    if not names or names[-1] != "varchar":
        target = names[-1] if names else "?"
        raise RedshiftError(
            f'target data type "{target}" is not supported',
            "0A000",
            hint="Amazon Redshift only changes the size of a VARCHAR column",
        )
    table = stmt.facts.get("table_sql")
    column = stmt.facts.get("column", cmd.name or "")
    if table:
        stmt.prelude.append(
            f"SELECT {SCHEMA}.check_alter_type({_literal(table)}::regclass, {_literal(column)})"
        )


ADD_COLUMN = part.rule(
    id="add-column-limits",
    page="r_ALTER_TABLE",
    does="ADD COLUMN takes no UNIQUE, PRIMARY KEY, REFERENCES or IDENTITY, and a NOT NULL "
    "column needs a non-null DEFAULT",
    fidelity=FULL,
    answer="0A000 ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default "
    "expression",
    source="Redshift: redshift-sql.md §3.1, Trino's testRedshiftAddNotNullColumn",
    tests=(
        _refusal("add_not_null"),
        _refusal("add_identity"),
        _refusal("add_generated"),
        _comment_kept("add_not_null"),
    ),
)


def _add_column(coldef: Any) -> None:
    if coldef is None:
        return
    constraints = list(coldef.constraints or ())
    kinds = {c.contype for c in constraints}
    if kinds & {ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_FOREIGN}:
        # Redshift: an added column can't carry UNIQUE, PRIMARY KEY or REFERENCES
        # (DG:r_ALTER_TABLE).
        raise RedshiftError(
            "ALTER TABLE ADD COLUMN does not support UNIQUE, PRIMARY KEY or REFERENCES", "0A000"
        )
    if ConstrType.CONSTR_IDENTITY in kinds:
        raise identity_on_add()
    not_null = ConstrType.CONSTR_NOTNULL in kinds
    defaults = [c for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT]
    null_default = not defaults or (
        isinstance(defaults[0].raw_expr, ast.A_Const) and defaults[0].raw_expr.isnull
    )
    if not_null and null_default:
        # Redshift's text, from Trino's testRedshiftAddNotNullColumn (redshift-sql.md §3.1).
        raise RedshiftError(
            "ALTER TABLE ADD COLUMN defined as NOT NULL must have a non-null default expression",
            "0A000",
        )


part.rule(
    id="no-drop-of-distkey-or-sortkey-columns",
    page="r_ALTER_TABLE",
    does="A DISTKEY or SORTKEY column cannot be dropped",
    fidelity=FULL,
    gap="refused upstream, by the emulator's sql_drop event trigger (emulator/catalog.py)",
    answer='0A000 cannot drop distkey column "a"',
    source=STYLE,
    tests=(f"{_SQL_RULES}::test_drop_of_distkey_or_sortkey_column_is_refused",),
)


# ---------------------------------------------------------------------------------------
# TRUNCATE, VACUUM, ANALYZE


@part.statement(
    "truncate",
    id="truncate-commits",
    page="r_TRUNCATE",
    does="TRUNCATE commits the open transaction, and takes one table",
    fidelity=FULL,
    answer='42601 syntax error at or near "," (two tables)',
    source=STYLE,
    tests=(
        f"{_SQL_RULES}::test_truncate_commits_the_open_transaction",
        f"{_RULES}::test_truncate_commits_only_inside_a_transaction",
        _refusal("truncate_two"),
        _comment_kept("truncate"),
    ),
)
def truncate(stmt: Statement) -> None:
    toks = stmt.tokens
    depth = 0
    for t in toks:
        depth += (t.text == "(") - (t.text == ")")
        if t.text == "," and depth == 0:
            raise syntax_error(",", "Amazon Redshift truncates one table per TRUNCATE statement")
    if stmt.in_transaction:
        # Redshift: TRUNCATE commits the transaction in which it runs (DG:r_TRUNCATE).
        stmt.prelude.append("COMMIT")
    name = toks[2:] if is_words(toks, 1, "table") else toks[1:]
    if name and name[-1].text == ";":
        name = name[:-1]
    if name and all(t.text == "." or t.name == "IDENT" or t.word for t in name):
        # PostgreSQL refuses to truncate a table an FK references, even an FK whose
        # triggers never fire; Redshift's FKs are informational (DG:t_Defining_constraints).
        # PostgreSQL 18 skips the check for its NOT ENFORCED FKs only while the table has no
        # trigger at all, and the length check (emulator/lengths.py) is one.
        stmt.replace_statement(
            f"CALL {SCHEMA}.truncate_table({_literal(name_sql(name))}::regclass)",
            tag="TRUNCATE TABLE",
        )


_VACUUM_WORDS = {"full", "sort", "delete", "only", "reindex", "recluster", "boost", "to",
                 "percent"}  # fmt: skip


@part.statement(
    "vacuum",
    id="vacuum-forms",
    page="r_VACUUM_command",
    does="`VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [table] [TO n PERCENT] "
    "[BOOST]`, outside a transaction block",
    fidelity=FULL,
    gap="PostgreSQL's plain VACUUM of the same table (space reclaimed, nothing visible changes)",
    answer="25001 VACUUM cannot run inside a transaction block",
    source="Redshift",
    tests=(
        f"{_SQL_RULES}::test_vacuum_forms_outside_a_transaction",
        f"{_RULES}::test_vacuum_options_are_mapped",
        f"{_RULES}::test_transaction_state_is_followed_within_one_query",
    ),
)
def vacuum(stmt: Statement) -> None:
    if stmt.in_transaction:
        # Redshift: VACUUM cannot run inside a transaction block (DG:r_VACUUM_command).
        raise RedshiftError("VACUUM cannot run inside a transaction block", "25001")
    table = [
        t
        for t in stmt.tokens[1:]
        if t.word not in _VACUUM_WORDS and t.name not in ("ICONST", "FCONST") and t.text != ";"
    ]
    stmt.replace_statement("VACUUM " + name_sql(table) if table else "VACUUM", tag="VACUUM")


@part.statement(
    "analyze",
    "analyse",
    id="analyze-forms",
    page="r_ANALYZE",
    see=("r_ANALYZE_COMPRESSION",),
    does="`ANALYZE [VERBOSE] [table [(columns)]] [PREDICATE COLUMNS | ALL COLUMNS]`; "
    "`ANALYZE COMPRESSION` reports suggested encodings",
    fidelity=PARTLY,
    gap="ANALYZE COMPRESSION answers an empty report",
    tests=(
        f"{_RULES}::test_analyze_forms",
        f"{_SQL_RULES}::test_analyze_forms",
    ),
)
def analyze(stmt: Statement) -> None:
    toks = stmt.tokens
    if toks and toks[-1].text == ";":
        toks = toks[:-1]
    if is_words(toks, 1, "compression"):
        stmt.replace_statement(
            'SELECT NULL::text AS "Table" WHERE false', tag="ANALYZE COMPRESSION"
        )
    elif len(toks) >= 3 and toks[-1].word == "columns" and toks[-2].word in ("predicate", "all"):
        stmt.replace(toks[-3].end, toks[-1].end, "")
