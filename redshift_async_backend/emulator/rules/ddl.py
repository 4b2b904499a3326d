"""Data definition: CREATE TABLE, constraints, and the commands Redshift lacks (the guide's
SQL commands that define tables); ALTER TABLE, TRUNCATE, VACUUM and ANALYZE are in
ddl_alter.py, the same part of the guide.

DISTKEY/SORTKEY/ENCODE/BACKUP/COLLATE choices are recorded upstream in
``pg_catalog.redshift_emulator_table_meta`` and ``..._column_meta`` (emulator/bookkeeping.py):
CREATE TABLE and ADD COLUMN carry them in a trailing comment that a ``ddl_command_end``
event trigger reads back, so the record is written in the same transaction as the DDL;
ALTER DISTKEY / SORTKEY / ENCODE become ``CALL redshift_emulator.alter_meta(...)``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import ConstrType

from ..catalog import SCHEMA
from .datatypes import column_type
from .declare import FULL, PARTLY, STYLE, Part
from .errors import RedshiftError, syntax_error
from .identifiers import short_name
from .pipeline import Statement
from .source import Token, elements, is_words, matching

part = Part(
    "ddl",
    "DDL: tables and their maintenance",
    "CREATE TABLE, ALTER TABLE, TRUNCATE, VACUUM, ANALYZE, constraints, and the DDL "
    "Redshift does not have.",
    order=1,
)

_SQL_RULES = "tests/emulator/test_sql_rules.py"
_RULES = "tests/emulator/test_rules.py"


def _refusal(key: str) -> str:
    return f"{_SQL_RULES}::test_refused_like_redshift[{key}]"


def _comment_kept(key: str) -> str:
    return f"{_RULES}::test_a_leading_comment_keeps_every_rule[{key}]"


# ---------------------------------------------------------------------------------------
# Commands Redshift does not have, or not in a transaction block


@part.statement(
    "create index",
    id="no-indexes",
    page="c_unsupported-postgresql-features",
    does="No indexes (`CREATE INDEX`): sort keys instead",
    fidelity=FULL,
    answer='42601 syntax error at or near "INDEX"',
    source=STYLE,
    tests=(_refusal("create_index"),),
)
def no_indexes(stmt: Statement) -> None:
    raise syntax_error("INDEX", "Amazon Redshift has no CREATE INDEX; use SORTKEY")


@part.statement(
    "create sequence",
    id="no-sequences",
    page="c_unsupported-postgresql-features",
    does="No sequences (`CREATE SEQUENCE`): IDENTITY columns instead",
    fidelity=FULL,
    answer='42601 syntax error at or near "SEQUENCE"',
    source=STYLE,
    tests=(_refusal("create_sequence"),),
)
def no_sequences(stmt: Statement) -> None:
    raise syntax_error("SEQUENCE", "Amazon Redshift has no sequences; use an IDENTITY column")


@part.statement(
    "create database",
    "drop database",
    id="database-ddl-outside-transactions",
    page="r_CREATE_DATABASE",
    see=("r_DROP_DATABASE",),
    does="CREATE DATABASE and DROP DATABASE cannot run inside a transaction block",
    fidelity=FULL,
    answer="25001 CREATE DATABASE cannot run inside a transaction block",
    source="Redshift",
    tests=(f"{_SQL_RULES}::test_database_ddl_refused_in_a_transaction",),
)
def database_ddl(stmt: Statement) -> None:
    if stmt.in_transaction:
        verb = stmt.words[0].upper()
        raise RedshiftError(f"{verb} DATABASE cannot run inside a transaction block", "25001")


# ---------------------------------------------------------------------------------------
# CREATE TABLE

_CONSTRAINT_WORDS = {"constraint", "primary", "unique", "foreign", "check", "like", "exclude"}


@dataclass
class TableMeta:
    """What a CREATE TABLE or ADD COLUMN records beyond PostgreSQL's DDL."""

    table: str = ""
    diststyle: str | None = None
    distkey: str | None = None
    sortkind: str | None = None
    sortkey: list[str] = field(default_factory=list)
    backup: bool | None = None
    columns: dict[str, dict[str, object]] = field(default_factory=dict)

    def comment(self) -> str:
        data: dict[str, object] = {"table": self.table}
        for key in ("diststyle", "distkey", "sortkind", "backup"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        if self.sortkey:
            data["sortkey"] = self.sortkey
        if self.columns:
            data["columns"] = self.columns
        # '*' is escaped so the JSON can never close the comment early.
        body = json.dumps(data, separators=(",", ":")).replace("*", "\\u002a")
        return f" /*{SCHEMA}:{body}*/"


def _append(stmt: Statement, text: str) -> None:
    """Add ``text`` after the statement's last token (before a ';', and before a trailing
    comment, which would swallow it)."""
    toks = stmt.tokens
    last = toks[-1]
    stmt.insert(last.start if last.text == ";" and len(toks) > 1 else last.end, text)


TABLE_ATTRIBUTES = "table-attributes-recorded"


@part.statement(
    "create table",
    id=TABLE_ATTRIBUTES,
    page="r_CREATE_TABLE_NEW",
    does="`ENCODE`, `DISTSTYLE`, `DISTKEY`, `[COMPOUND | INTERLEAVED] SORTKEY`, `SORTKEY AUTO "
    "| NONE`, `BACKUP`, `ENCODE AUTO`, with the default encodings (RAW for sort keys, "
    "BOOLEAN, REAL, DOUBLE, temporary tables; AZ64 numbers and dates; LZO strings)",
    fidelity=FULL,
    gap="recorded and shown in the catalog, with no physical effect",
    tests=(
        f"{_SQL_RULES}::test_distkey_sortkey_encode_backup_are_recorded",
        f"{_SQL_RULES}::test_default_encodings_and_auto_styles",
        f"{_SQL_RULES}::test_interleaved_sortkey_and_diststyle_all",
        f"{_SQL_RULES}::test_sortkey_auto_and_none",
        f"{_RULES}::test_redshift_clauses_are_stripped_and_recorded",
        f"{_RULES}::test_metadata_comment_cannot_be_closed_by_a_name",
        _comment_kept("diststyle"),
        _comment_kept("encode"),
        _comment_kept("backup"),
        "tests/emulator/test_sql_rules.py::test_dbt_query_comment_keeps_table_attributes",
    ),
)
def create_table(stmt: Statement) -> None:
    toks = stmt.tokens
    meta = TableMeta()
    i = next(k for k, t in enumerate(toks) if t.word == "table") + 1
    if is_words(toks, i, "if", "not", "exists"):
        i += 3
    names: list[Token] = []
    while i < len(toks) and (toks[i].name == "IDENT" or toks[i].text == "." or toks[i].word):
        if toks[i].text != "." and toks[i].word in _ATTRIBUTE_WORDS:
            break
        names.append(toks[i])
        i += 1
    if not names:
        return
    meta.table = short_name(names[-1].ident)
    if i < len(toks) and toks[i].text == "(":
        close = matching(toks, i)
        for first, past in elements(toks, i, close):
            if toks[first].word not in _CONSTRAINT_WORDS:
                column_def(stmt, toks[first:past], meta, adding=False)
        i = close + 1
    table_attributes(stmt, toks, i, meta)
    check_distribution(meta)
    _append(stmt, meta.comment())


_ATTRIBUTE_WORDS = {"as", "backup", "diststyle", "distkey", "sortkey", "compound", "interleaved"}

IDENTITY = part.rule(
    id="identity-seed-step",
    page="r_CREATE_TABLE_NEW",
    does="`IDENTITY(seed, step)`: values from seed by step, NOT NULL; an explicit value is refused",
    fidelity=PARTLY,
    gap="values are contiguous: Redshift's gaps under a parallel `INSERT ... SELECT` are not "
    "imitated",
    answer="0A000 cannot set an identity column to a value",
    source="Redshift: embulk/embulk#486",
    tests=(
        f"{_SQL_RULES}::test_identity_generates_and_refuses_explicit_values",
        f"{_RULES}::test_identity_becomes_generated_always",
        f"{_RULES}::test_translate_identity_error",
    ),
)
part.rule(
    id="generated-by-default-identity",
    page="r_CREATE_TABLE_NEW",
    does="`GENERATED BY DEFAULT AS IDENTITY(seed, step)`: explicit values accepted, not "
    "checked, and the generator not advanced by them",
    fidelity=FULL,
    tests=(
        f"{_SQL_RULES}::test_generated_by_default_identity_accepts_explicit_values",
        f"{_RULES}::test_generated_by_default_keeps_its_meaning",
        f"{_SQL_RULES}::test_svv_columns_shows_identity_default_as_redshift_does",
    ),
)
COLLATE_COLUMN = part.rule(
    id="collate-case-insensitive-columns",
    page="r_CREATE_TABLE_NEW",
    does="`COLLATE CASE_INSENSITIVE | CI` (and `CASE_SENSITIVE | CS`) on a column",
    fidelity=PARTLY,
    gap="with ICU a nondeterministic ICU collation (`und-u-ks-level2`), on which LIKE and "
    "regular expressions fail before PostgreSQL 18; without ICU (the embedded PostgreSQL) "
    "the column becomes `citext` (case-insensitive `=`, `LIKE`, ORDER BY; VARCHAR length not "
    "enforced). pg_table_def still shows the declared type",
    tests=(
        f"{_SQL_RULES}::test_collate_case_insensitive_compares_without_case",
        f"{_RULES}::test_collate_case_insensitive_uses_the_emulator_collation",
        "tests/emulator/test_suite_rules.py::test_svv_columns_shows_case_insensitive_columns_as_declared",
    ),
)


def _identity(stmt: Statement, toks: list[Token], i: int, always: bool, start: int) -> int:
    """``toks[i]`` is the '(' of Redshift's (seed, step); replace from ``start`` to its ')'."""
    close = matching(toks, i)
    parts = "".join(t.text for t in toks[i + 1 : close]).split(",")
    if len(parts) != 2:
        return close + 1  # PostgreSQL's own (START WITH ...) form: leave it
    try:
        seed, step = int(parts[0]), int(parts[1])
    except ValueError as exc:
        raise syntax_error(toks[i + 1].text, "IDENTITY(seed, step) takes two integers") from exc
    bound = f"MINVALUE {min(seed, 1)}" if step > 0 else f"MAXVALUE {max(seed, -1)}"
    kind = "ALWAYS" if always else "BY DEFAULT"
    stmt.replace(
        start,
        toks[close].end,
        f"GENERATED {kind} AS IDENTITY (START WITH {seed} INCREMENT BY {step} {bound})",
    )
    return close + 1


def column_def(stmt: Statement, toks: list[Token], meta: TableMeta, *, adding: bool) -> None:
    """One column definition: name type [attributes]."""
    col = short_name(toks[0].ident)
    i = column_type(stmt, toks, 1) if len(toks) > 1 else 1
    info: dict[str, object] = {}
    while i < len(toks):
        t = toks[i]
        w = t.word
        if w == "encode" and i + 1 < len(toks):
            info["encode"] = toks[i + 1].text.lower()
            stmt.replace(t.start, toks[i + 1].end, "")
            i += 2
        elif w == "distkey":
            if meta.distkey is not None:
                raise RedshiftError("Only one column can be the DISTKEY", "42601")
            meta.distkey = col
            stmt.replace(t.start, t.end, "")
            i += 1
        elif w == "sortkey":
            meta.sortkey.append(col)
            meta.sortkind = meta.sortkind or "COMPOUND"
            stmt.replace(t.start, t.end, "")
            i += 1
        elif (
            w == "identity"
            and i + 1 < len(toks)
            and toks[i + 1].text == "("
            and (toks[i - 1].word != "as")
        ):
            if adding:
                raise identity_on_add()
            i = _identity(stmt, toks, i + 1, True, t.start)
        elif is_words(toks, i, "generated", "by", "default", "as", "identity"):
            if adding:
                raise identity_on_add()
            j = i + 5
            i = (
                _identity(stmt, toks, j, False, t.start)
                if j < len(toks) and (toks[j].text == "(")
                else j
            )
        elif is_words(toks, i, "generated", "always") and adding:
            raise identity_on_add()
        elif w == "collate" and i + 1 < len(toks) and toks[i + 1].text != "(":
            name = toks[i + 1].ident.lower()
            # Redshift: COLLATE { CASE_SENSITIVE | CS | CASE_INSENSITIVE | CI }
            # (DG:r_CREATE_TABLE_NEW).
            if name in ("case_insensitive", "ci"):
                info["ci"] = True
                stmt.replace(t.start, toks[i + 1].end, f"COLLATE {SCHEMA}.case_insensitive")
            elif name in ("case_sensitive", "cs"):
                stmt.replace(t.start, toks[i + 1].end, "")
            i += 2
        elif t.text == "(":
            i = matching(toks, i) + 1
        else:
            i += 1
    if info:
        meta.columns[col] = info


def identity_on_add() -> RedshiftError:
    # Redshift: ALTER TABLE ADD COLUMN can't carry IDENTITY or GENERATED BY DEFAULT AS
    # IDENTITY (DG:r_ALTER_TABLE).
    return RedshiftError(
        "ALTER TABLE ADD COLUMN does not support columns with type IDENTITY", "0A000"
    )


def table_attributes(stmt: Statement, toks: list[Token], i: int, meta: TableMeta) -> None:
    """Redshift's table attributes after the column list (or before AS in CTAS)."""
    while i < len(toks):
        t = toks[i]
        w = t.word
        if w == "as" or t.text == ";":
            return
        start = t.start
        if w == "backup" and i + 1 < len(toks):
            meta.backup = toks[i + 1].word == "yes"
            i += 2
        elif w == "diststyle" and i + 1 < len(toks):
            style = toks[i + 1].word.upper()
            if style not in ("AUTO", "EVEN", "KEY", "ALL"):
                raise syntax_error(toks[i + 1].text, "DISTSTYLE is AUTO, EVEN, KEY or ALL")
            meta.diststyle = style
            i += 2
        elif w == "distkey" and i + 1 < len(toks) and toks[i + 1].text == "(":
            close = matching(toks, i + 1)
            cols = [short_name(x.ident) for x in toks[i + 2 : close] if x.text != ","]
            if len(cols) != 1 or (meta.distkey and meta.distkey != cols[0]):
                raise RedshiftError("Only one column can be the DISTKEY", "42601")
            meta.distkey = cols[0]
            i = close + 1
        elif w in ("compound", "interleaved", "sortkey"):
            kind = "COMPOUND" if w != "interleaved" else "INTERLEAVED"
            j = i + 1 if w != "sortkey" else i
            if j >= len(toks) or toks[j].word != "sortkey":
                raise syntax_error(toks[min(j, len(toks) - 1)].text, "expected SORTKEY")
            if j + 1 < len(toks) and toks[j + 1].word in ("auto", "none"):
                meta.sortkind = toks[j + 1].word.upper()
                i = j + 2
            else:
                close = matching(toks, j + 1)
                if meta.sortkey:
                    raise RedshiftError(
                        "SORTKEY is defined both on a column and for the table", "42601"
                    )
                meta.sortkey = [short_name(x.ident) for x in toks[j + 2 : close] if x.text != ","]
                meta.sortkind = kind
                # Redshift: at most 8 INTERLEAVED, 400 COMPOUND columns (DG:r_CREATE_TABLE_NEW)
                if kind == "INTERLEAVED" and len(meta.sortkey) > 8:
                    raise RedshiftError("An INTERLEAVED SORTKEY has at most 8 columns", "42601")
                i = close + 1
        elif w == "encode" and i + 1 < len(toks) and toks[i + 1].word == "auto":
            i += 2
        else:
            i += 1
            continue
        stmt.replace(start, toks[i - 1].end, "")


DISTRIBUTION = part.rule(
    id="distribution-rules",
    page="r_CREATE_TABLE_NEW",
    does="DISTSTYLE KEY needs one DISTKEY; a DISTKEY only with DISTSTYLE KEY; at most 8 "
    "INTERLEAVED sort key columns; a SORTKEY on columns or on the table, not both",
    fidelity=FULL,
    answer="42601 DISTSTYLE KEY requires a DISTKEY column (and the like)",
    source=STYLE,
    tests=(f"{_RULES}::test_distribution_rules",),
)


def check_distribution(meta: TableMeta) -> None:
    # Redshift: DISTSTYLE KEY needs a DISTKEY; a DISTKEY means DISTSTYLE KEY
    # (DG:r_CREATE_TABLE_NEW).
    if meta.distkey and meta.diststyle not in (None, "KEY"):
        raise RedshiftError(f"DISTKEY cannot be used with DISTSTYLE {meta.diststyle}", "42601")
    if meta.diststyle == "KEY" and not meta.distkey:
        raise RedshiftError("DISTSTYLE KEY requires a DISTKEY column", "42601")
    if meta.distkey:
        meta.diststyle = "KEY"


_TABLE_DDL = ("create table", "alter table")


@part.node(
    ast.Constraint,
    kinds=_TABLE_DDL,
    id="no-check-constraints",
    page="r_CREATE_TABLE_NEW",
    see=("c_unsupported-postgresql-features",),
    does="No CHECK or exclusion constraints; constraints are not deferrable",
    fidelity=FULL,
    answer='42601 syntax error at or near "CHECK"',
    source=STYLE,
    tests=(_refusal("check"), _refusal("deferrable")),
    words=("check", "exclude", "deferrable", "initially"),
)
def no_check_constraints(stmt: Statement, node: ast.Constraint) -> None:
    if node.contype == ConstrType.CONSTR_CHECK:
        raise syntax_error("CHECK", "Amazon Redshift has no CHECK constraints")
    if node.contype == ConstrType.CONSTR_EXCLUSION:
        raise syntax_error("EXCLUDE", "Amazon Redshift has no exclusion constraints")
    if node.deferrable or node.contype in (
        ConstrType.CONSTR_ATTR_DEFERRABLE,
        ConstrType.CONSTR_ATTR_DEFERRED,
        ConstrType.CONSTR_ATTR_IMMEDIATE,
    ):
        raise syntax_error("DEFERRABLE", "Amazon Redshift constraints are not deferrable")


@part.node(
    ast.ColumnDef,
    kinds=_TABLE_DDL,
    id="identity-is-an-integer",
    page="r_CREATE_TABLE_NEW",
    does="An IDENTITY column is INT or BIGINT",
    fidelity=FULL,
    answer="42601 Identity column must be of type INT or BIGINT",
    source=STYLE,
    tests=(f"{_RULES}::test_identity_must_be_an_integer",),
    words=("identity",),
)
def identity_is_an_integer(stmt: Statement, node: ast.ColumnDef) -> None:
    names = [n.sval for n in node.typeName.names or ()] if node.typeName else []
    identity = any(c.contype == ConstrType.CONSTR_IDENTITY for c in node.constraints or ())
    if identity and names[-1:] not in (["int4"], ["int8"]):
        raise RedshiftError("Identity column must be of type INT or BIGINT", "42601")


_FK_ACTIONS = {"cascade": 1, "restrict": 1, "no": 2, "set": 2}


@part.node(
    ast.Constraint,
    kinds=_TABLE_DDL,
    id="foreign-keys-are-informational",
    page="t_Defining_constraints",
    see=("r_TRUNCATE",),
    does="FOREIGN KEY ... REFERENCES is informational: orphans are accepted, referenced rows "
    "can be deleted and the referenced table truncated; the key is in the catalog",
    fidelity=PARTLY,
    gap="on PostgreSQL 18, `NOT ENFORCED`. Before 18, an event trigger disables the key's "
    "RI triggers (bookkeeping.py), `ALTER TABLE ... ADD ... FOREIGN KEY` gets `NOT VALID` "
    "(existing orphans are not checked), and `TRUNCATE t` becomes `CALL truncate_table(t)`, "
    "which DELETEs when another table references `t`",
    tests=(
        f"{_SQL_RULES}::test_foreign_keys_are_informational",
        f"{_RULES}::test_foreign_keys_are_informational_on_every_postgresql",
    ),
    words=("references",),
)
def informational_foreign_keys(stmt: Statement, node: ast.Constraint) -> None:
    if node.contype != ConstrType.CONSTR_FOREIGN:
        return
    old = stmt.server_version_num < 180000
    if old and stmt.kind != "alter table":
        return  # the event trigger disables the new key's RI triggers (bookkeeping.py)
    toks = stmt.tokens
    i = stmt.token_index(stmt.position(node))
    while i < len(toks) and toks[i].word != "references":
        i += 1
    j = i + 2  # the referenced table's name
    while j + 1 < len(toks) and toks[j].text == ".":
        j += 2
    if j < len(toks) and toks[j].text == "(":
        j = matching(toks, j) + 1
    while j < len(toks):
        if toks[j].word == "match":
            j += 2
        elif toks[j].word == "on" and j + 2 < len(toks):
            j += 2 + _FK_ACTIONS.get(toks[j + 2].word, 1)
            if j < len(toks) and toks[j].text == "(":
                j = matching(toks, j) + 1
        else:
            break
    if old:
        if not is_words(toks, j, "not", "valid"):
            stmt.insert(toks[j - 1].end, " NOT VALID")
    elif not (is_words(toks, j, "not", "enforced") or is_words(toks, j, "enforced")):
        stmt.insert(toks[j - 1].end, " NOT ENFORCED")


@part.error(
    "428C9",
    id="identity-values-refused",
    page="c_Examples_of_INSERT_30",
    does="An explicit value for an IDENTITY column is refused: `cannot set an identity "
    "column to a value`",
    fidelity=FULL,
    source="Redshift: embulk/embulk#486, SQLSTATE 0A000",
    tests=(
        f"{_RULES}::test_translate_identity_error",
        f"{_SQL_RULES}::test_identity_generates_and_refuses_explicit_values",
    ),
)
def identity_values(fields: dict[str, str]) -> dict[str, str]:
    # PostgreSQL refuses a value for a GENERATED ALWAYS identity column; Redshift's text.
    out = {k: v for k, v in fields.items() if k not in ("D", "H", "P")}
    out.update(C="0A000", M="cannot set an identity column to a value")
    return out


_CONSTRAINTS = "tests/emulator/test_server_constraints.py"
part.rule(
    id="unique-and-primary-keys-are-informational",
    page="t_Defining_constraints",
    does="UNIQUE and PRIMARY KEY are informational: duplicates are accepted, NOT NULL is "
    "enforced; the keys stay in the catalog (pg_constraint, information_schema, "
    "introspection)",
    fidelity=FULL,
    gap="an event trigger marks each key's unique index not immediate (bookkeeping.py)",
    tests=(
        f"{_CONSTRAINTS}::test_duplicate_keys_and_orphans_are_accepted_not_null_is_enforced",
        f"{_CONSTRAINTS}::test_constraints_stay_in_the_catalog",
        f"{_CONSTRAINTS}::test_backend_introspection_sees_them",
        f"{_CONSTRAINTS}::test_rollback_and_renames",
    ),
)
part.rule(
    id="add-key-over-duplicates",
    page="r_ALTER_TABLE",
    see=("t_Defining_constraints",),
    does="ALTER TABLE ... ADD PRIMARY KEY / UNIQUE succeeds over rows that already break it "
    "(the rows are not checked), and foreign keys may then reference the key",
    fidelity=FULL,
    tests=(
        f"{_CONSTRAINTS}::test_add_primary_key_over_duplicates",
        f"{_CONSTRAINTS}::test_foreign_keys_added_later_and_to_unique_keys",
    ),
)
part.not_emulated(
    id="hash-temporary-tables",
    page="r_CREATE_TABLE_NEW",
    does="`CREATE TABLE #name` makes a temporary table",
    gap="`#` is an operator to PostgreSQL: a syntax error",
)
