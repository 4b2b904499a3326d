"""Names, identifiers, literals and session parameters (the guide's "Basic elements":
Names and identifiers, Literals; and its "Configuration reference").

Hooks for rules to come. A session parameter a rule must follow (such as
``enable_case_sensitive_identifier``, DG:r_enable_case_sensitive_identifier) is recorded by
the rule that sees the ``SET`` (``stmt.set_session(name, value)``) and read by any rule
(``stmt.setting(name)``); the result cache keys on the recorded settings, so a statement
rewritten under one value is not reused under another.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pglast import ast

from .declare import FULL, PARTLY, STYLE, Part
from .errors import syntax_error
from .pipeline import TEXT_PASSES, Screening, Statement
from .source import Edits, Source, Token, tokens

part = Part(
    "identifiers",
    "Names, literals and session",
    "Names and identifiers, literals, session parameters.",
    order=5,
)

# ---------------------------------------------------------------------------------------
# Long identifiers
#
# Redshift: names are up to 127 bytes; longer ones are truncated (DG:r_names). PostgreSQL
# keeps 63 (NAMEDATALEN - 1) and truncates the rest, so two names sharing 63 bytes collide.
# A name longer than 63 bytes is replaced, in every statement, by a deterministic 63-byte
# form: its first 52 bytes, "_" and 10 hex digits of its SHA-1. Errors name the long form
# again (the error rule below); catalog views and result column labels show the short form.

MAX_PG_NAME = 63
MAX_REDSHIFT_NAME = 127
# short form -> the (Redshift-truncated) long name, for error messages.
LONG_NAMES: dict[str, str] = {}


def short_name(name: str) -> str:
    """The name PostgreSQL gets for a Redshift identifier (unchanged if it fits)."""
    raw = name.encode("utf-8", "surrogateescape")
    if len(raw) <= MAX_PG_NAME:
        return name
    raw = raw[:MAX_REDSHIFT_NAME]
    long = raw.decode("utf-8", "ignore")
    digest = hashlib.sha1(long.encode("utf-8")).hexdigest()[:10]
    short = raw[:52].decode("utf-8", "ignore") + "_" + digest
    LONG_NAMES.setdefault(short, long)
    return short


_CATALOG_PREFIXES = ("pg_", "stv_", "svv_", "stl_", "svl_", "information_schema")
_QUOTED_OR_WORD = re.compile(r"""'[^']*(?:''[^']*)*'|"[^"]*(?:""[^"]*)*"|[\w$]{16,}""")
_NAME_LIKE = re.compile(r"[^\s'\"]+")


def _too_long(text: str) -> bool:
    """More than PostgreSQL's 63 bytes?"""
    if text.isascii():
        return len(text) > MAX_PG_NAME
    return len(text) > MAX_PG_NAME // 4 and len(text.encode("utf-8", "surrogatepass")) > MAX_PG_NAME


def maybe_long_name(seen: Screening) -> bool:
    """Screen: a name over 63 bytes (16 characters at least) may occur outside string
    constants, or inside one in a catalog query, which names relations in strings."""
    catalog = False
    for w in seen.words:
        if len(w) >= 16 and _too_long(w.strip('"')):
            return True
        catalog = catalog or w.startswith(_CATALOG_PREFIXES)
    if not catalog:
        return False
    return any(
        m.group()[0] == "'" and _too_long(m.group()[1:-1])
        for m in _QUOTED_OR_WORD.finditer(seen.text)
    )


def name_sql(toks: list[Token]) -> str:
    """The SQL of a (maybe qualified) name's tokens, each part PostgreSQL's form of it."""
    return "".join(
        '"' + short_name(t.ident).replace('"', '""') + '"'
        if t.name == "IDENT" and _too_long(t.ident)
        else t.text
        for t in toks
    )


@part.statement(
    id="names-up-to-127-bytes",
    page="r_names",
    does="Names are up to 127 bytes; longer ones are truncated to 127 bytes",
    fidelity=PARTLY,
    gap="a name over 63 bytes (PostgreSQL's limit) is replaced in every statement by a "
    "deterministic 63-byte form (its first 52 bytes, `_`, 10 hex digits of its SHA-1), so "
    "names sharing 63 bytes stay distinct, and error messages name the long form again; but "
    "catalog views, `pg_class` and result column labels show the short form, and the "
    "short-to-long map for error texts lives in the emulator process (filled as statements "
    "mention the names)",
    tests=(
        "tests/emulator/test_sql_rules.py::test_identifiers_up_to_127_bytes_stay_distinct",
        "tests/emulator/test_rules.py::test_long_identifiers_get_a_deterministic_short_form",
        "tests/emulator/test_rules.py::test_long_quoted_names_are_shortened_in_a_multi_row_insert_too",
        "tests/emulator/test_suite_rules.py::test_catalog_query_finds_a_table_by_its_long_name",
    ),
    screen=maybe_long_name,
)
def long_names(stmt: Statement) -> None:
    toks = stmt.tokens
    # A catalog query names relations and constraints in string constants too (relname =
    # '...', table_name = '...'): a long name there is looked up by its short form.
    catalog = any(t.name == "IDENT" and t.ident.startswith(_CATALOG_PREFIXES) for t in toks)
    for t in toks:
        if t.name == "IDENT":
            ident = t.ident
            if _too_long(ident):
                stmt.replace(t.start, t.end, '"' + short_name(ident).replace('"', '""') + '"')
        elif catalog and t.name == "SCONST" and t.text.startswith("'"):
            value = t.text[1:-1].replace("''", "'")
            if _too_long(value) and _NAME_LIKE.fullmatch(value):
                stmt.replace(t.start, t.end, "'" + short_name(value).replace("'", "''") + "'")


@part.error(
    id="errors-name-long-names",
    page="r_names",
    does="Error messages name an identifier as the client wrote it (up to 127 bytes)",
    fidelity=FULL,
    tests=(
        "tests/emulator/test_rules.py::test_long_identifiers_get_a_deterministic_short_form",
        "tests/emulator/test_sql_rules.py::test_identifiers_up_to_127_bytes_stay_distinct",
    ),
)
def long_names_in_errors(fields: dict[str, str]) -> dict[str, str]:
    if not LONG_NAMES or "_" not in fields.get("M", ""):
        return fields
    fields = dict(fields)
    for key in ("M", "D"):
        text = fields.get(key)
        if text:
            for short, long in LONG_NAMES.items():
                if short in text:
                    text = text.replace(short, long)
            fields[key] = text
    return fields


# ---------------------------------------------------------------------------------------
# Literals


@part.statement(
    id="no-escape-string-literals",
    page="r_Literals",
    does="No `E'...'` escape string literals (Redshift's parser is PostgreSQL 8.0.2's)",
    fidelity=FULL,
    answer='42601 syntax error at or near "..."',
    source=STYLE,
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[e_string]",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[e_string]",
    ),
    # E'...': the E is a word of its own outside the literal.
    words=("e",),
)
def no_escape_strings(stmt: Statement) -> None:
    for t in stmt.tokens:
        if t.name == "SCONST" and t.text[:1] in "eE":
            # Redshift: E'...' escape strings are PostgreSQL 8.1+; Redshift is 8.0.2-based
            # and rejects them (redshift-sql.md §5.3, jakob/Postico#73).
            raise syntax_error(
                t.text[1:40], "Amazon Redshift does not accept E'...' escape string literals"
            )


# ---------------------------------------------------------------------------------------
# Not emulated

# ---------------------------------------------------------------------------------------
# Case folding
#
# Redshift: ASCII letters of names fold to lower case, quoted names too, unless the session
# sets enable_case_sensitive_identifier (DG:r_names, DG:r_enable_case_sensitive_identifier).
# A user name in double quotes keeps its case whatever the setting. PostgreSQL keeps a
# quoted name's case: so before any rule, the quoted names of a statement are folded.

_QUOTED_UPPER = re.compile(r'"[^"]*[A-Z]')
# Statements about users name them, and a quoted user name keeps its case.
_USER_KINDS = frozenset({"create user", "alter user", "drop user", "create group",
                         "alter group", "drop group"})  # fmt: skip
# A name right after these words is a user's (CREATE SCHEMA ... AUTHORIZATION "Bob"); and
# after TO in GRANT and ALTER (OWNER TO "Bob"), FROM in REVOKE.
_USER_BEFORE = frozenset({"user", "authorization", "group"})
_USER_AFTER_TO = ("grant", "alter")

CASE_FOLDING = part.rule(
    id="identifiers-fold-to-lower-case",
    page="r_names",
    see=("r_enable_case_sensitive_identifier",),
    does="Quoted and unquoted names fold to lower case (their ASCII letters) unless "
    "`enable_case_sensitive_identifier` is on; a quoted user name keeps its case",
    fidelity=PARTLY,
    gap="a quoted name right after USER, GROUP, AUTHORIZATION, TO (in GRANT and ALTER) or "
    "FROM (in REVOKE) is taken for a user name and keeps its case (so does the new name of "
    "`ALTER TABLE ... RENAME TO`); the setting is "
    "followed as last SET, whatever the transaction does",
    tests=(
        "tests/emulator/test_settings.py::test_quoted_names_fold_unless_case_sensitive",
        "tests/emulator/test_types_names.py::test_quoted_names_fold_to_lower_case",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[quoted_name]",
    ),
)


def fold_quoted_names(text: str, kind: str, key: tuple[Any, ...]) -> str:
    """The statement with its quoted names' ASCII letters in lower case (Redshift's
    folding), unless the session is case-sensitive."""
    if '"' not in text or kind in _USER_KINDS or not _QUOTED_UPPER.search(text):
        return text
    if ("enable_case_sensitive_identifier", "on") in key[2:]:
        return text
    source = Source(text)
    edits = Edits()
    previous = ""
    first = kind.split(" ", 1)[0]
    users = set(_USER_BEFORE)
    if first in _USER_AFTER_TO:
        users.add("to")
    elif first == "revoke":
        users.add("from")
    for t in tokens(source):
        if t.name == "IDENT" and t.text.startswith('"') and previous not in users:
            low = t.text.translate(_ASCII_LOWER)
            if low != t.text:
                edits.replace(t.start, t.end, low)
        previous = t.word
    return edits.apply(source) if edits else text


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
TEXT_PASSES.append(fold_quoted_names)


# ---------------------------------------------------------------------------------------
# Reserved words
#
# Redshift: its reserved words are names only in double quotes (DG:r_pg_keywords). Those
# PostgreSQL reserves too it refuses itself; these are the ones it would take as names.

REDSHIFT_RESERVED = frozenset(
    {
        "aes128", "aes256", "allowoverwrite", "az64", "backup", "between", "blanksasnull",
        "bytedict", "bzip2", "credentials", "current_user_id", "defrag", "deflate", "delta",
        "delta32k", "disable", "emptyasnull", "enable", "encode", "encrypt", "encryption",
        "explicit", "globaldict256", "globaldict64k", "gzip", "identity", "ignore", "interval",
        "lun", "luns", "lzo", "lzop", "minus", "mostly16", "mostly32", "mostly8", "new", "nulls",
        "off", "offline", "oid", "old", "open", "parallel", "partition", "percent", "permissions",
        "pivot", "raw", "readratio", "recover", "rejectlog", "resort", "respect", "restore",
        "snapshot", "sysdate", "system", "tag", "tdes", "text255", "text32k", "timestamp", "top",
        "truncatecolumns", "unnest", "unpivot", "wallet", "without",
    }
)  # fmt: skip


def _bare_reserved(stmt: Statement, location: int, parts: int) -> None:
    toks = stmt.tokens
    i = stmt.token_index(location)
    for k in range(i, min(i + 2 * parts, len(toks)), 2):
        t = toks[k]
        if t.word in REDSHIFT_RESERVED:
            raise syntax_error(
                t.text,
                f"{t.text.upper()} is a reserved word in Amazon Redshift: write it in double "
                "quotes to use it as a name (DG:r_pg_keywords)",
            )


@part.node(
    ast.ColumnDef,
    ast.CreateStmt,
    ast.CreateTableAsStmt,
    ast.ViewStmt,
    kinds=("create", "alter table"),
    id="reserved-words-are-not-names",
    page="r_pg_keywords",
    see=("r_names",),
    does="Redshift's reserved words (`OPEN`, `TAG`, `TIMESTAMP`, `PARTITION`, `OID`, ...) "
    "are names only in double quotes",
    fidelity=PARTLY,
    gap="checked where DDL names a table, view or column (CREATE TABLE, CREATE TABLE AS, "
    "CREATE VIEW, ALTER TABLE ADD COLUMN); a bare reserved word as a column reference or an "
    "alias in a query is accepted",
    answer='42601 syntax error at or near "open"',
    source=STYLE,
    tests=(
        "tests/emulator/test_types_names.py::test_refused_like_redshift[reserved_column]",
        "tests/emulator/test_types_names.py::test_refused_like_redshift[reserved_table]",
        "tests/emulator/test_types_names.py::test_refused_like_redshift[reserved_added]",
        "tests/emulator/test_types_names.py::test_reserved_words_in_double_quotes_are_names",
    ),
    words=tuple(sorted(REDSHIFT_RESERVED)),
)
def reserved_words(stmt: Statement, node: Any) -> None:
    if isinstance(node, ast.ColumnDef):
        if isinstance(node.location, int) and node.location >= 0:
            _bare_reserved(stmt, node.location, 1)
        return
    if isinstance(node, ast.ViewStmt):
        rel = node.view
    elif isinstance(node, ast.CreateTableAsStmt):
        rel = node.into.rel if node.into is not None else None
    else:
        rel = node.relation
    if rel is not None and isinstance(rel.location, int) and rel.location >= 0:
        parts = 1 + (rel.schemaname is not None) + (rel.catalogname is not None)
        _bare_reserved(stmt, rel.location, parts)
