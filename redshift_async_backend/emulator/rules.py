"""Redshift SQL on PostgreSQL: rewrite what Redshift accepts, refuse what it refuses.

Pure code (no I/O). The emulator's server calls :func:`rewrite` for every statement a client
sends and :func:`translate_error` for every error the upstream PostgreSQL returns.

How a statement is handled:

1. A cheap first look (the statement's first word and one keyword scan) lets ordinary DML
   through untouched. Results are cached.
2. Otherwise the statement is split with PostgreSQL's own scanner (pglast). Redshift-only
   DDL clauses (ENCODE, DISTKEY, SORTKEY, IDENTITY(seed, step), ...) are removed or replaced
   token by token; the result is parsed with PostgreSQL's parser (pglast), the tree is
   checked for what Redshift refuses, and Redshift functions PostgreSQL lacks are rewritten
   in the tree, which is then printed back as SQL.

Error texts: where the reference (redshift-sql.md) or a public Redshift error report gives
Redshift's text, it is used verbatim; elsewhere the text is Redshift's parser's style
("syntax error at or near ...") for syntax its grammar lacks. docs/emulator-sql.md lists
which is which.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pglast import ast, parse_sql
from pglast.enums import A_Expr_Kind, AlterTableType, ConstrType, NullTestType
from pglast.parser import ParseError, scan, split
from pglast.stream import RawStream
from pglast.visitors import Visitor

from ..limits import MAX_STATEMENT_BYTES
from .catalog import DATEPARTS, SCHEMA


@dataclass
class SessionState:
    """Per client connection, kept by the server."""

    in_transaction: bool = False
    # The upstream's server_version_num (the server reads it at connect). Some rules depend
    # on it: PostgreSQL 18 has NOT ENFORCED foreign keys, older versions need other means.
    server_version_num: int = 180000


@dataclass(frozen=True)
class Rewrite:
    sql: str
    prelude: tuple[str, ...] = ()
    tag: str | None = None


class RedshiftError(Exception):
    """A refusal, sent to the client as an ErrorResponse."""

    def __init__(
        self,
        message: str,
        sqlstate: str = "XX000",
        *,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.sqlstate = sqlstate
        self.detail = detail
        self.hint = hint

    def __repr__(self) -> str:
        return f"RedshiftError({self.message!r}, {self.sqlstate!r})"


def _syntax(near: str, why: str) -> RedshiftError:
    return RedshiftError(f'syntax error at or near "{near}"', "42601", hint=why)


def _unsupported(what: str, why: str) -> RedshiftError:
    return RedshiftError(f"{what} is not supported", "0A000", hint=why)


# ---------------------------------------------------------------------------------------
# First look

_DML = frozenset({"select", "insert", "update", "delete", "with", "values", "table"})
_PASS = frozenset(
    {"begin", "commit", "end", "rollback", "abort", "start", "show", "reset", "set", "lock"}
)
_FIRST_WORD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*([A-Za-z_]+)", re.S)
# Anything that may need a rewrite or a refusal. A hit only costs a full parse.
_TRIGGER = re.compile(
    r"""\b(?:returning|for\s+(?:update|share|no\s+key|key)|distinct\s+on|on\s+conflict
        |savepoint|release|rollback\s+to|constraints|filter|is\s+(?:not\s+)?distinct
        |sysdate|super|varbyte|varbinary|nvarchar|nchar|uuid|jsonb?|inet|cidr|bytea|money
        |xml|\w*serial\d?|pg_table_def|svv_\w+|stv_\w+
        |(?:string_agg|array_agg|generate_series|nextval|currval|lastval|setval|getdate
        |dateadd|datediff|date_part|date_trunc|convert_timezone|listagg|nvl2?|len|charindex
        |json_\w+|can_json_parse|is_valid_json\w*|to_varbyte|from_varbyte|regexp_\w+
        |version|collate)\s*\()
        |~\*|\[|\(\s*max\s*\)|\be'""",
    re.I | re.X,
)


# Longer statements (bulk inserts, each one different) are not kept in the rewrite cache.
_CACHED_CHARS = 64 * 1024


def rewrite(sql: str, state: SessionState) -> Rewrite:
    """Rewrite one client Query (maybe several statements) or one Parse statement."""
    if len(sql) > _CACHED_CHARS:
        size = len(sql) if sql.isascii() else len(sql.encode("utf-8", "surrogateescape"))
        if size > MAX_STATEMENT_BYTES:
            raise RedshiftError(
                f"Statement is too large. Statement Size: {size} bytes. "
                f"Maximum Allowed: {MAX_STATEMENT_BYTES} bytes",
                "54000",
            )
        result = _cached.__wrapped__(sql, state.in_transaction, state.server_version_num)
    else:
        result = _cached(sql, state.in_transaction, state.server_version_num)
    if isinstance(result, RedshiftError):
        raise RedshiftError(result.message, result.sqlstate, detail=result.detail, hint=result.hint)
    return result


@lru_cache(maxsize=4096)
def _cached(sql: str, in_transaction: bool, pg: int = 180000) -> Rewrite | RedshiftError:
    single = ";" not in sql.rstrip().rstrip(";")
    if single and _plain(sql):
        return Rewrite(sql)
    try:
        return _rewrite_all(sql, in_transaction, pg)
    except RedshiftError as exc:
        return exc


def _plain(stmt: str) -> bool:
    """No rule can apply to this statement: it goes to PostgreSQL unparsed."""
    return (
        _first_word(stmt) in _DML | _PASS
        and not _TRIGGER.search(stmt)
        and not _has_long_name(stmt)
        and (stmt.isascii() or not _MAYBE_LONG_WORD.search(stmt))
        # A catalog query with a long name in a string constant (see _shorten_names).
        and not (_CATALOG_WORD.search(stmt) and _LONG_WORD.search(stmt))
    )


_CATALOG_WORD = re.compile(r"\b(?:pg_|stv_|svv_|stl_|svl_|information_schema)", re.I)


def _rewrite_all(sql: str, in_tx: bool, pg: int = 180000) -> Rewrite:
    try:
        statements = split(sql, with_parser=False)
    except ParseError:
        return Rewrite(sql)  # the upstream reports the lexical error
    if not statements:
        return Rewrite(sql)
    out: list[str] = []
    prelude: list[str] = []
    tag: str | None = None
    changed = False
    for stmt in statements:
        # A plain statement in a string of several (the backend's "INSERT ...; COMMIT")
        # skips the parse, as it does alone.
        one = Rewrite(stmt) if _plain(stmt) else _rewrite_one(_shorten_names(stmt), in_tx, pg)
        changed = changed or one.sql != stmt or bool(one.prelude) or one.tag is not None
        out.append(one.sql)
        prelude.extend(one.prelude)
        tag = one.tag
        word = _first_word(stmt)
        if word in ("begin", "start"):
            in_tx = True
        elif word in ("commit", "end", "rollback", "abort"):
            in_tx = False
    if not changed:
        return Rewrite(sql)
    return Rewrite("; ".join(out), tuple(prelude), tag if len(statements) == 1 else None)


# ---------------------------------------------------------------------------------------
# Long identifiers
#
# Redshift: names are up to 127 bytes; longer ones are truncated (DG:r_names). PostgreSQL
# keeps 63 (NAMEDATALEN - 1) and truncates the rest, so two names sharing 63 bytes collide.
# A name longer than 63 bytes is replaced, in every statement, by a deterministic 63-byte
# form: its first 52 bytes, "_" and 10 hex digits of its SHA-1. Errors name the long form
# again (translate_error); catalog views and result column labels show the short form.

_MAX_PG_NAME = 63
_MAX_REDSHIFT_NAME = 127
_LONG_WORD = re.compile(r'[\w$]{64}|"[^"]{64}')
_MAYBE_LONG_WORD = re.compile(r'[\w$]{22}|"[^"]{22}')  # multi-byte letters: up to 3 bytes
# _LONG_WORD also fires between two quoted names ('") VALUES (...'): a long INSERT would
# always take the full parse. This one steps over string constants and pairs the quotes.
_QUOTED_OR_LONG = re.compile(r"""'[^']*(?:''[^']*)*'|"[^"]*(?:""[^"]*)*"|[\w$]{64,}""")


def _has_long_name(sql: str) -> bool:
    """A word or quoted name of 64+ characters outside string constants (maybe too long
    for PostgreSQL)."""
    if "--" in sql or "/*" in sql or "$" in sql:
        # Comments and dollar quotes are not paired here: the cruder test.
        return _LONG_WORD.search(sql) is not None
    for m in _QUOTED_OR_LONG.finditer(sql):
        text = m.group()
        if text[0] != "'" and len(text) >= (_MAX_PG_NAME + 3 if text[0] == '"' else 64):
            return True
    return False


# short form -> the (Redshift-truncated) long name, for error messages.
LONG_NAMES: dict[str, str] = {}


def short_name(name: str) -> str:
    """The name PostgreSQL gets for a Redshift identifier (unchanged if it fits)."""
    raw = name.encode("utf-8")
    if len(raw) <= _MAX_PG_NAME:
        return name
    raw = raw[:_MAX_REDSHIFT_NAME]
    long = raw.decode("utf-8", "ignore")
    digest = hashlib.sha1(long.encode("utf-8")).hexdigest()[:10]
    short = raw[:52].decode("utf-8", "ignore") + "_" + digest
    LONG_NAMES.setdefault(short, long)
    return short


def _shorten_names(stmt: str) -> str:
    if not _LONG_WORD.search(stmt) and (stmt.isascii() or not _MAYBE_LONG_WORD.search(stmt)):
        return stmt
    try:
        toks = _tokens(stmt)
    except ParseError:
        return stmt
    edits = _Edits(stmt)
    # A catalog query names relations and constraints in string constants too (relname =
    # '...', table_name = '...'): a long name there is looked up by its short form.
    catalog = any(t.name == "IDENT" and t.ident.startswith(_CATALOG_PREFIXES) for t in toks)
    for t in toks:
        if t.name == "IDENT" and len(t.ident.encode("utf-8")) > _MAX_PG_NAME:
            edits.replace(t.start, t.end, '"' + short_name(t.ident).replace('"', '""') + '"')
        elif catalog and t.name == "SCONST" and t.text.startswith("'"):
            value = t.text[1:-1].replace("''", "'")
            if len(value.encode("utf-8")) > _MAX_PG_NAME and _NAME_LIKE.fullmatch(value):
                edits.replace(t.start, t.end, "'" + short_name(value).replace("'", "''") + "'")
    return edits.apply() if edits.edits else stmt


_NAME_LIKE = re.compile(r"[^\s'\"]+")


def _first_word(stmt: str) -> str:
    m = _FIRST_WORD.match(stmt)
    return m.group(1).lower() if m else ""


# ---------------------------------------------------------------------------------------
# Tokens


@dataclass
class _Tok:
    start: int
    end: int  # exclusive
    name: str  # scanner token name: IDENT, SCONST, ASCII_40 ('('), or the keyword
    text: str

    @property
    def word(self) -> str:
        """Lower-cased unquoted word, or '' for anything else."""
        if self.name == "IDENT" and not self.text.startswith('"'):
            return self.text.lower()
        if self.name not in ("IDENT", "SCONST", "ICONST", "FCONST", "Op") and (
            self.text.isidentifier()
        ):
            return self.text.lower()
        return ""

    @property
    def ident(self) -> str:
        """The identifier as PostgreSQL resolves it."""
        if self.text.startswith('"'):
            return self.text[1:-1].replace('""', '"')
        return self.text.lower()


def _tokens(stmt: str) -> list[_Tok]:
    return [_Tok(t.start, t.end + 1, t.name, stmt[t.start : t.end + 1]) for t in scan(stmt)]


class _Edits:
    def __init__(self, text: str) -> None:
        self.text = text
        self.edits: list[tuple[int, int, str]] = []

    def replace(self, start: int, end: int, new: str) -> None:
        self.edits.append((start, end, new))

    def apply(self) -> str:
        out = self.text
        for start, end, new in sorted(self.edits, reverse=True):
            out = out[:start] + new + out[end:]
        return out


def _matching(toks: list[_Tok], i: int) -> int:
    """Index of the ')' matching the '(' at toks[i]."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].text == "(":
            depth += 1
        elif toks[j].text == ")":
            depth -= 1
            if depth == 0:
                return j
    raise _syntax("end of input", "unbalanced parentheses")


def _is(toks: list[_Tok], i: int, *words: str) -> bool:
    return all(i + k < len(toks) and toks[i + k].word == w for k, w in enumerate(words))


_VARCHARS = ("varchar", "nvarchar", "varbyte", "varbinary")


def _type_edits(toks: list[_Tok], edits: _Edits) -> None:
    """Redshift type spellings PostgreSQL lacks, wherever a type may appear."""
    for i, t in enumerate(toks):
        w = t.word
        # Redshift: VARCHAR(MAX) is VARCHAR(65535) (DG:r_Character_types).
        if w == "max" and i >= 2 and toks[i - 1].text == "(" and i + 1 < len(toks):
            prev = toks[i - 2].word
            if toks[i + 1].text == ")" and (
                prev in _VARCHARS or (prev == "varying" and toks[i - 3].word == "character")
            ):
                edits.replace(t.start, t.end, "65535")


def _column_type(toks: list[_Tok], i: int, edits: _Edits) -> int:
    """Rewrite the column type starting at toks[i]; return the index after it."""
    w = toks[i].word
    has_len = i + 1 < len(toks) and toks[i + 1].text == "("
    end = _matching(toks, i + 1) + 1 if has_len else i + 1
    if w == "binary" and _is(toks, i + 1, "varying"):
        w, end = "varbinary", i + 2
        has_len = end < len(toks) and toks[end].text == "("
        if has_len:
            end = _matching(toks, end) + 1
    if w == "character" and _is(toks, i + 1, "varying"):
        has_len = i + 2 < len(toks) and toks[i + 2].text == "("
        if not has_len:
            edits.replace(toks[i].start, toks[i + 1].end, "varchar(256)")
        return _matching(toks, i + 2) + 1 if has_len else i + 2
    # Redshift (DG:r_Character_types): TEXT is VARCHAR(256); VARCHAR without a length is
    # VARCHAR(256); NVARCHAR/NCHAR are VARCHAR/CHAR; BPCHAR is CHAR(256).
    if w in ("text", "varchar", "nvarchar") and not has_len:
        edits.replace(toks[i].start, toks[i].end, "varchar(256)")
    elif w == "nvarchar":
        edits.replace(toks[i].start, toks[i].end, "varchar")
    elif w == "nchar":
        edits.replace(toks[i].start, toks[i].end, "char")
    elif w == "bpchar" and not has_len:
        edits.replace(toks[i].start, toks[i].end, "char(256)")
    elif w in ("varbyte", "varbinary"):
        # A domain takes no length; the domain's CHECK holds Redshift's 1,024,000 maximum.
        edits.replace(toks[i].start, toks[end - 1].end, f"{SCHEMA}.varbyte")
    elif w == "super":
        edits.replace(toks[i].start, toks[i].end, f"{SCHEMA}.super")
    return end


# ---------------------------------------------------------------------------------------
# Per statement


def _rewrite_one(stmt: str, in_tx: bool, pg: int = 180000) -> Rewrite:
    try:
        toks = _tokens(stmt)
    except ParseError:
        return Rewrite(stmt)
    if not toks:
        return Rewrite(stmt)
    w0 = toks[0].word
    w1 = toks[1].word if len(toks) > 1 else ""
    if w0 == "savepoint" or w0 == "release":
        # Redshift: no SAVEPOINT (DG:c_unsupported-postgresql-functions, DG:c_SQL_commands).
        raise _syntax(toks[0].text, "Amazon Redshift has no savepoints")
    if w0 == "rollback" and any(t.word == "to" for t in toks[1:3]):
        raise _syntax("TO", "Amazon Redshift has no ROLLBACK TO SAVEPOINT")
    if w0 == "set" and w1 == "constraints":
        raise _syntax(toks[1].text, "Amazon Redshift does not enforce or defer constraints")
    if w0 in ("create", "drop") and w1 == "database" and in_tx:
        # Redshift: CREATE/DROP DATABASE cannot run inside a transaction block
        # (DG:r_CREATE_DATABASE, DG:r_DROP_DATABASE).
        raise RedshiftError(f"{w0.upper()} DATABASE cannot run inside a transaction block", "25001")
    if w0 == "create":
        return _create(stmt, toks, in_tx, pg)
    if w0 == "alter" and w1 == "table":
        return _alter_table(stmt, toks, in_tx, pg)
    if w0 == "truncate":
        return _truncate(stmt, toks, in_tx, pg)
    if w0 == "vacuum":
        return _vacuum(stmt, toks, in_tx)
    if w0 == "analyze" or w0 == "analyse":
        return _analyze(stmt, toks)
    return _generic(stmt, toks)


def _generic(stmt: str, toks: list[_Tok]) -> Rewrite:
    _check_tokens(toks)
    edits = _Edits(stmt)
    _type_edits(toks, edits)
    _cast_type_edits(toks, edits)
    for i, t in enumerate(toks[:-1]):
        if t.word == "collate" and toks[i + 1].text == "(":
            # Redshift: COLLATE(string, 'case_sensitive' | 'cs' | 'case_insensitive' |
            # 'ci') is a function (DG:r_COLLATE); COLLATE is reserved in PostgreSQL, so the
            # call is qualified to parse, and the tree rewriter replaces it.
            edits.replace(t.start, t.end, f"{SCHEMA}.collate")
    text = edits.apply()
    try:
        tree = parse_sql(text)
    except ParseError:
        return Rewrite(text)  # the upstream reports it, with PostgreSQL's position
    fixer = _TreeRewriter()
    for raw in tree:
        fixer(raw)
    if not fixer.changed:
        return Rewrite(text)
    return Rewrite(RawStream()(tree[0]) if len(tree) == 1 else text)


def _check_tokens(toks: list[_Tok]) -> None:
    for t in toks:
        if t.name == "SCONST" and t.text[:1] in "eE":
            # Redshift: E'...' escape strings are PostgreSQL 8.1+; Redshift is 8.0.2-based
            # and rejects them (redshift-sql.md §5.3, jakob/Postico#73).
            raise _syntax(
                t.text[1:40], "Amazon Redshift does not accept E'...' escape string literals"
            )
        if t.name == "Op" and t.text in ("~*", "!~*"):
            # Redshift: only ~ and !~ (DG:pattern-matching-conditions-posix).
            raise RedshiftError(
                f"operator does not exist: {t.text}",
                "42883",
                hint="Amazon Redshift has no ~* or !~*; use REGEXP_COUNT(s, p, 1, 'i') > 0",
            )


_CAST_TYPES = ("super", "varbyte", "varbinary", "nvarchar", "nchar")


def _cast_type_edits(toks: list[_Tok], edits: _Edits) -> None:
    """Redshift-only type names after '::' or in CAST(... AS type)."""
    stack: list[bool] = []
    for i, t in enumerate(toks):
        if t.text == "(":
            stack.append(i > 0 and toks[i - 1].word in ("cast", "try_cast", "convert"))
        elif t.text == ")" and stack:
            stack.pop()
        elif i + 1 < len(toks) and (
            t.name == "TYPECAST" or (t.word == "as" and stack and stack[-1])
        ):
            after = toks[i + 1].word
            if after in _CAST_TYPES or (after == "binary" and _is(toks, i + 2, "varying")):
                _column_type(toks, i + 1, edits)


# ---------------------------------------------------------------------------------------
# The tree: refusals and function rewrites

_NO_SUCH_FUNCTION = {
    # Redshift: DG:c_unsupported-postgresql-functions.
    "string_agg": "use LISTAGG(expr, delimiter) WITHIN GROUP (ORDER BY ...)",
    "array_agg": "use LISTAGG(expr, delimiter) WITHIN GROUP (ORDER BY ...)",
    "nextval": "Amazon Redshift has no sequences; use an IDENTITY column",
    "currval": "Amazon Redshift has no sequences",
    "lastval": "Amazon Redshift has no sequences",
    "setval": "Amazon Redshift has no sequences",
}
_REFUSED_TYPES = {
    # Redshift: DG:c_unsupported-postgresql-datatypes.
    "uuid", "json", "jsonb", "inet", "cidr", "bytea", "money", "xml", "macaddr", "macaddr8",
    "hstore", "tsvector", "tsquery", "bit", "varbit", "txid_snapshot", "point", "line",
    "lseg", "box", "path", "polygon", "circle", "int4range", "int8range", "numrange",
    "tsrange", "tstzrange", "daterange",
}  # fmt: skip
_SERIAL = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}
# Redshift functions defined in the emulator's schema; calls are qualified so a client's own
# search_path does not hide them, and so pg_catalog's same-named functions do not win.
_OWN_FUNCTIONS = {
    "getdate", "dateadd", "datediff", "convert_timezone", "len", "charindex", "json_parse",
    "json_serialize", "json_extract_path_text", "json_extract_array_element_text",
    "can_json_parse", "is_valid_json",
    "is_valid_json_array", "to_varbyte", "from_varbyte", "regexp_count", "regexp_instr",
    "regexp_substr", "regexp_replace", "version",
}  # fmt: skip
_OWN_RELATIONS = {"pg_table_def", "svv_table_info", "svv_columns", "stv_db_isolation_level"}
_CATALOG_PREFIXES = ("pg_", "stv_", "svv_", "stl_", "svl_", "information_schema")


def _name(node: ast.Node | None) -> list[str]:
    return [
        n.sval or "" for n in getattr(node, "funcname", None) or () if isinstance(n, ast.String)
    ]


_COLLATION_NAMES = {"case_sensitive": "cs", "cs": "cs", "case_insensitive": "ci", "ci": "ci"}


def _collation(node: Any) -> str | None:
    """'ci' / 'cs' for a (rewritten) COLLATE(string, name) call, else None."""
    if not isinstance(node, ast.FuncCall) or _name(node) != [SCHEMA, "collate"]:
        return None
    args = list(node.args or ())
    name = args[1] if len(args) == 2 else None
    value = getattr(getattr(name, "val", None), "sval", None)
    kind = _COLLATION_NAMES.get(str(value).lower()) if value is not None else None
    if kind is None:
        # Redshift: only these four names (DG:r_COLLATE).
        raise RedshiftError(
            "COLLATE() takes a string and 'case_sensitive', 'cs', 'case_insensitive' or 'ci'",
            "42704",
        )
    return kind


def _collate_arg(node: Any) -> Any:
    return node.args[0] if _collation(node) is not None else node


def _lower(node: Any) -> ast.FuncCall:
    return ast.FuncCall(funcname=(ast.String(sval="lower"),), args=(node,))


def _str_const(value: str) -> ast.A_Const:
    return ast.A_Const(isnull=False, val=ast.String(sval=value))


def _datepart_arg(arg: ast.Node) -> ast.Node:
    """DATEADD(day, ...): Redshift's datepart is a bare word (or a string)."""
    word = None
    fields = arg.fields or () if isinstance(arg, ast.ColumnRef) else ()
    if len(fields) == 1:
        f = fields[0]
        word = f.sval if isinstance(f, ast.String) else None
    elif isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
        word = arg.val.sval
    if word is None:
        return arg
    canon = DATEPARTS.get(word.lower())
    if canon is None:
        raise RedshiftError(f'date part "{word}" is not supported', "0A000")
    return _str_const(canon)


class _TreeRewriter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.changed = False
        self.touches_tables = False
        self.series = False

    def __call__(self, node: Any) -> None:
        super().__call__(node)
        if self.series and self.touches_tables:
            # Redshift: generate_series runs on the leader node only; with a user table the
            # query fails (DG:c_unsupported-postgresql-functions).
            raise RedshiftError(
                "Specified types or functions (one per INFO message) not supported on "
                "Redshift tables.",
                "0A000",
            )

    def visit_SelectStmt(self, ancestors: object, node: ast.SelectStmt) -> None:
        if node.distinctClause and any(x is not None for x in node.distinctClause):
            # Redshift: SELECT [ALL | DISTINCT], no DISTINCT ON (DG:r_SELECT_list).
            raise _syntax("ON", "Amazon Redshift has no SELECT DISTINCT ON")
        if node.lockingClause:
            # Redshift: no locking clause in SELECT (DG:r_SELECT_synopsis).
            raise _syntax("FOR", "Amazon Redshift has no SELECT ... FOR UPDATE/SHARE; use LOCK")

    def visit_InsertStmt(self, ancestors: object, node: ast.InsertStmt) -> None:
        if node.onConflictClause:
            raise _syntax("ON", "Amazon Redshift has no INSERT ... ON CONFLICT; use MERGE")
        self._returning(node)

    def visit_UpdateStmt(self, ancestors: object, node: ast.UpdateStmt) -> None:
        self._returning(node)

    def visit_DeleteStmt(self, ancestors: object, node: ast.DeleteStmt) -> None:
        self._returning(node)

    def _returning(self, node: ast.Node) -> None:
        if getattr(node, "returningList", None) or getattr(node, "returningClause", None):
            # Redshift: no RETURNING (DG:r_INSERT_30, DG:r_UPDATE, DG:r_DELETE).
            raise _syntax("RETURNING", "Amazon Redshift has no RETURNING clause")

    def visit_A_Expr(self, ancestors: object, node: ast.A_Expr) -> None:
        if node.kind in (A_Expr_Kind.AEXPR_DISTINCT, A_Expr_Kind.AEXPR_NOT_DISTINCT):
            # Redshift: IS [NOT] DISTINCT FROM is unsupported (DG:c_unsupported-
            # postgresql-functions).
            raise _syntax("DISTINCT", "Amazon Redshift has no IS [NOT] DISTINCT FROM")
        ops = {n.sval for n in node.name or () if isinstance(n, ast.String)}
        right = node.rexpr if isinstance(node.rexpr, list | tuple) else (node.rexpr,)
        if any(_collation(side) == "ci" for side in (node.lexpr, *right)):
            # A case-insensitive comparison: every side lower-cased.
            node.lexpr = _lower(_collate_arg(node.lexpr))
            lowered = tuple(_lower(_collate_arg(side)) for side in right)
            node.rexpr = lowered if isinstance(node.rexpr, list | tuple) else lowered[0]
            self.changed = True
        if ops & {"~*", "!~*"}:
            raise RedshiftError(
                f"operator does not exist: {next(iter(ops))}",
                "42883",
                hint="Amazon Redshift has no ~* or !~*; use REGEXP_COUNT(s, p, 1, 'i') > 0",
            )

    def visit_TypeName(self, ancestors: object, node: ast.TypeName) -> None:
        names = [n.sval for n in node.names or () if isinstance(n, ast.String)]
        last = (names[-1] or "").lower() if names else ""
        if last in _SERIAL:
            raise RedshiftError(
                f'type "{last}" does not exist',
                "42704",
                hint="Amazon Redshift has no serial types; use IDENTITY(seed, step)",
            )
        if last in _REFUSED_TYPES and (len(names) == 1 or names[0] == "pg_catalog"):
            raise RedshiftError(
                f'type "{last}" does not exist',
                "42704",
                hint=f"Amazon Redshift has no {last} type (DG:c_unsupported-postgresql-datatypes)",
            )
        if node.arrayBounds:
            raise _syntax("[", "Amazon Redshift has no array types")

    def visit_RangeVar(self, ancestors: object, node: ast.RangeVar) -> ast.Node | None:
        name = node.relname or ""
        if node.schemaname is None and name.lower() in _OWN_RELATIONS:
            self.changed = True
            return ast.RangeVar(
                schemaname=SCHEMA,
                relname=name.lower(),
                inh=node.inh,
                relpersistence=node.relpersistence,
                alias=node.alias,
            )
        schema = node.schemaname or ""
        if not (schema.startswith(_CATALOG_PREFIXES) or name.startswith(_CATALOG_PREFIXES)):
            self.touches_tables = True
        return None

    def visit_JsonSerializeExpr(self, ancestors: object, node: Any) -> ast.Node:
        # PostgreSQL 16+ reads JSON_SERIALIZE(x) as SQL/JSON syntax; Redshift's is a function
        # from SUPER to VARCHAR (DG:JSON_SERIALIZE).
        self.changed = True
        return ast.FuncCall(
            funcname=(ast.String(sval=SCHEMA), ast.String(sval="json_serialize")),
            args=(node.expr.raw_expr,),
        )

    def visit_ColumnRef(self, ancestors: object, node: ast.ColumnRef) -> ast.Node | None:
        fields = node.fields or ()
        if (
            len(fields) == 1
            and isinstance(fields[0], ast.String)
            and (fields[0].sval or "").lower() == "sysdate"
        ):
            # Redshift: SYSDATE takes no parentheses (DG:r_SYSDATE).
            self.changed = True
            return ast.FuncCall(
                funcname=(ast.String(sval=SCHEMA), ast.String(sval="sysdate")), args=None
            )
        return None

    def visit_SortBy(self, ancestors: object, node: ast.SortBy) -> None:
        if _collation(node.node) == "ci":
            node.node = _lower(_collate_arg(node.node))
            self.changed = True

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> ast.Node | None:
        names = _name(node)
        if not names:
            return None
        kind = _collation(node)
        if kind is not None:
            # Elsewhere COLLATE() keeps the value (DG:r_COLLATE); case-sensitive order is
            # byte order.
            self.changed = True
            arg = _collate_arg(node)
            if kind == "ci":
                return arg
            return ast.CollateClause(arg=arg, collname=(ast.String(sval="C"),))
        fname = names[-1].lower()
        if len(names) == 1 and fname in _NO_SUCH_FUNCTION:
            raise RedshiftError(
                f"function {fname} does not exist", "42883", hint=_NO_SUCH_FUNCTION[fname]
            )
        if node.agg_filter is not None:
            # Redshift: aggregate FILTER (WHERE ...) is not in its grammar.
            raise _syntax("FILTER", "Amazon Redshift has no aggregate FILTER clause; use CASE")
        if len(names) > 1:
            return None
        if fname == "generate_series":
            self.series = True
            return None
        args = list(node.args or ())
        if fname in ("nvl", "nvl2"):
            return self._nvl(fname, args)
        if fname == "listagg":
            return self._listagg(node, args)
        if fname in ("dateadd", "datediff", "date_part", "date_trunc") and args:
            new_first = _datepart_arg(args[0])
            if fname == "date_trunc" and isinstance(args[0], ast.A_Const):
                new_first = args[0]
            if new_first is not args[0]:
                args[0] = new_first
                node.args = tuple(args)
                self.changed = True
        if fname in _OWN_FUNCTIONS:
            if fname == "version" and args:
                return None
            node.funcname = (ast.String(sval=SCHEMA), ast.String(sval=fname))
            self.changed = True
        return None

    def _nvl(self, fname: str, args: list[ast.Node]) -> ast.Node:
        self.changed = True
        if fname == "nvl":
            # Redshift: NVL(expr, expr, ...) is COALESCE (DG:r_NVL_function).
            return ast.CoalesceExpr(args=tuple(args))
        if len(args) != 3:
            raise RedshiftError("function nvl2 requires 3 arguments", "42883")
        # Redshift: NVL2(expr, not_null_value, null_value) (DG:r_NVL2).
        return ast.CaseExpr(
            args=(
                ast.CaseWhen(
                    expr=ast.NullTest(arg=args[0], nulltesttype=NullTestType.IS_NOT_NULL),
                    result=args[1],
                ),
            ),
            defresult=args[2],
        )

    def _listagg(self, node: ast.FuncCall, args: list[ast.Node]) -> ast.Node:
        # Redshift: LISTAGG([DISTINCT] expr [, delimiter]) [WITHIN GROUP (ORDER BY ...)]
        # (DG:r_LISTAGG) is string_agg with an ORDER BY inside the call.
        self.changed = True
        if not args or len(args) > 2:
            raise RedshiftError("function listagg requires 1 or 2 arguments", "42883")
        value = ast.TypeCast(arg=args[0], typeName=ast.TypeName(names=(ast.String(sval="text"),)))
        delim = args[1] if len(args) == 2 else _str_const("")
        return ast.FuncCall(
            funcname=(ast.String(sval="pg_catalog"), ast.String(sval="string_agg")),
            args=(value, delim),
            agg_order=node.agg_order,
            agg_distinct=node.agg_distinct,
            over=node.over,
            agg_within_group=False,
        )


# ---------------------------------------------------------------------------------------
# CREATE

_CONSTRAINT_WORDS = {"constraint", "primary", "unique", "foreign", "check", "like", "exclude"}


def _create(stmt: str, toks: list[_Tok], in_tx: bool, pg: int = 180000) -> Rewrite:
    words = [t.word for t in toks[:6]]
    if "index" in words[:3]:
        # Redshift: no indexes (DG:c_unsupported-postgresql-features).
        raise _syntax("INDEX", "Amazon Redshift has no CREATE INDEX; use SORTKEY")
    if "sequence" in words[:4]:
        raise _syntax("SEQUENCE", "Amazon Redshift has no sequences; use an IDENTITY column")
    if "table" in words[:4]:
        return _create_table(stmt, toks, pg)
    return _generic(stmt, toks)


@dataclass
class _TableMeta:
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


def _identity(toks: list[_Tok], i: int, always: bool, edits: _Edits, start: int) -> int:
    """toks[i] is '(' of Redshift's (seed, step); replace from start to its ')'."""
    close = _matching(toks, i)
    inner = [t.text for t in toks[i + 1 : close]]
    parts = "".join(inner).split(",")
    if len(parts) != 2:
        return close + 1  # PostgreSQL's own (START WITH ...) form: leave it
    try:
        seed, step = int(parts[0]), int(parts[1])
    except ValueError as exc:
        raise _syntax(toks[i + 1].text, "IDENTITY(seed, step) takes two integers") from exc
    bound = f"MINVALUE {min(seed, 1)}" if step > 0 else f"MAXVALUE {max(seed, -1)}"
    kind = "ALWAYS" if always else "BY DEFAULT"
    edits.replace(
        start,
        toks[close].end,
        f"GENERATED {kind} AS IDENTITY (START WITH {seed} INCREMENT BY {step} {bound})",
    )
    return close + 1


def _column_def(toks: list[_Tok], edits: _Edits, meta: _TableMeta, *, adding: bool) -> None:
    """One column definition: name type [attributes]."""
    col = toks[0].ident
    i = _column_type(toks, 1, edits) if len(toks) > 1 else 1
    info: dict[str, object] = {}
    while i < len(toks):
        t = toks[i]
        w = t.word
        if w == "encode" and i + 1 < len(toks):
            info["encode"] = toks[i + 1].text.lower()
            edits.replace(t.start, toks[i + 1].end, "")
            i += 2
        elif w == "distkey":
            if meta.distkey is not None:
                raise RedshiftError("Only one column can be the DISTKEY", "42601")
            meta.distkey = col
            edits.replace(t.start, t.end, "")
            i += 1
        elif w == "sortkey":
            meta.sortkey.append(col)
            meta.sortkind = meta.sortkind or "COMPOUND"
            edits.replace(t.start, t.end, "")
            i += 1
        elif (
            w == "identity"
            and i + 1 < len(toks)
            and toks[i + 1].text == "("
            and (toks[i - 1].word != "as")
        ):
            if adding:
                raise _identity_on_add()
            i = _identity(toks, i + 1, True, edits, t.start)
        elif _is(toks, i, "generated", "by", "default", "as", "identity"):
            if adding:
                raise _identity_on_add()
            j = i + 5
            if j < len(toks) and toks[j].text == "(":
                i = _identity(toks, j, False, edits, t.start)
            else:
                i = j
        elif _is(toks, i, "generated", "always") and adding:
            raise _identity_on_add()
        elif w == "collate" and i + 1 < len(toks):
            name = toks[i + 1].ident.lower()
            # Redshift: COLLATE { CASE_SENSITIVE | CS | CASE_INSENSITIVE | CI }
            # (DG:r_CREATE_TABLE_NEW).
            if name in ("case_insensitive", "ci"):
                info["ci"] = True
                edits.replace(t.start, toks[i + 1].end, f"COLLATE {SCHEMA}.case_insensitive")
            elif name in ("case_sensitive", "cs"):
                edits.replace(t.start, toks[i + 1].end, "")
            i += 2
        elif t.text == "(":
            i = _matching(toks, i) + 1
        else:
            i += 1
    if info:
        meta.columns[col] = info


def _identity_on_add() -> RedshiftError:
    # Redshift: ALTER TABLE ADD COLUMN can't carry IDENTITY or GENERATED BY DEFAULT AS
    # IDENTITY (DG:r_ALTER_TABLE).
    return RedshiftError(
        "ALTER TABLE ADD COLUMN does not support columns with type IDENTITY", "0A000"
    )


def _split_elements(toks: list[_Tok], open_i: int, close_i: int) -> list[list[_Tok]]:
    elements: list[list[_Tok]] = [[]]
    depth = 0
    for t in toks[open_i + 1 : close_i]:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        if t.text == "," and depth == 0:
            elements.append([])
        else:
            elements[-1].append(t)
    return [e for e in elements if e]


def _table_attributes(toks: list[_Tok], i: int, edits: _Edits, meta: _TableMeta) -> None:
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
                raise _syntax(toks[i + 1].text, "DISTSTYLE is AUTO, EVEN, KEY or ALL")
            meta.diststyle = style
            i += 2
        elif w == "distkey" and i + 1 < len(toks) and toks[i + 1].text == "(":
            close = _matching(toks, i + 1)
            cols = [x.ident for x in toks[i + 2 : close] if x.text != ","]
            if len(cols) != 1 or (meta.distkey and meta.distkey != cols[0]):
                raise RedshiftError("Only one column can be the DISTKEY", "42601")
            meta.distkey = cols[0]
            i = close + 1
        elif w in ("compound", "interleaved", "sortkey"):
            kind = "COMPOUND" if w != "interleaved" else "INTERLEAVED"
            j = i + 1 if w != "sortkey" else i
            if toks[j].word != "sortkey":
                raise _syntax(toks[j].text, "expected SORTKEY")
            if j + 1 < len(toks) and toks[j + 1].word in ("auto", "none"):
                meta.sortkind = toks[j + 1].word.upper()
                i = j + 2
            else:
                close = _matching(toks, j + 1)
                if meta.sortkey:
                    raise RedshiftError(
                        "SORTKEY is defined both on a column and for the table", "42601"
                    )
                meta.sortkey = [x.ident for x in toks[j + 2 : close] if x.text != ","]
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
        edits.replace(start, toks[i - 1].end, "")


def _check_dist(meta: _TableMeta) -> None:
    # Redshift: DISTSTYLE KEY needs a DISTKEY; a DISTKEY means DISTSTYLE KEY
    # (DG:r_CREATE_TABLE_NEW).
    if meta.distkey and meta.diststyle not in (None, "KEY"):
        raise RedshiftError(f"DISTKEY cannot be used with DISTSTYLE {meta.diststyle}", "42601")
    if meta.diststyle == "KEY" and not meta.distkey:
        raise RedshiftError("DISTSTYLE KEY requires a DISTKEY column", "42601")
    if meta.distkey:
        meta.diststyle = "KEY"


def _create_table(stmt: str, toks: list[_Tok], pg: int = 180000) -> Rewrite:
    _check_tokens(toks)
    edits = _Edits(stmt)
    _type_edits(toks, edits)
    meta = _TableMeta()
    i = next(k for k, t in enumerate(toks) if t.word == "table") + 1
    if _is(toks, i, "if", "not", "exists"):
        i += 3
    name_toks: list[_Tok] = []
    while i < len(toks) and (toks[i].name == "IDENT" or toks[i].text == "." or toks[i].word):
        if toks[i].text != "." and toks[i].word in (
            "as",
            "backup",
            "diststyle",
            "distkey",
            "sortkey",
            "compound",
            "interleaved",
        ):
            break
        name_toks.append(toks[i])
        i += 1
    if not name_toks:
        return _generic(stmt, toks)
    meta.table = name_toks[-1].ident
    if i < len(toks) and toks[i].text == "(":
        close = _matching(toks, i)
        for element in _split_elements(toks, i, close):
            if element[0].word in _CONSTRAINT_WORDS:
                continue
            _column_def(element, edits, meta, adding=False)
        i = close + 1
    _table_attributes(toks, i, edits, meta)
    _check_dist(meta)
    text = edits.apply().rstrip()
    _check_tree(text)
    return Rewrite(_informational_fks(text, pg, alter=False) + meta.comment())


_FK_ACTIONS = {"cascade": 1, "restrict": 1, "no": 2, "set": 2}


def _informational_fks(text: str, pg: int = 180000, *, alter: bool = True) -> str:
    """Make every FOREIGN KEY ... REFERENCES informational.

    Redshift: foreign keys are informational only; orphans are accepted and a referenced
    table can be truncated (DG:t_Defining_constraints, DG:r_TRUNCATE).

    PostgreSQL 18+: NOT ENFORCED. Older versions: the upstream sessions run with
    ``session_replication_role=replica`` (no RI triggers fire, see catalog.upstream_options),
    an FK added by ALTER TABLE is NOT VALID (existing orphans are not checked), and TRUNCATE
    of a referenced table becomes a DELETE (see :func:`_truncate`).
    """
    if pg < 180000 and not alter:
        return text
    try:
        toks = _tokens(text)
    except ParseError:
        return text
    edits = _Edits(text)
    i = 0
    while i < len(toks):
        if toks[i].word != "references":
            i += 1
            continue
        j = i + 2  # the referenced table's name
        while j + 1 < len(toks) and toks[j].text == ".":
            j += 2
        if j < len(toks) and toks[j].text == "(":
            j = _matching(toks, j) + 1
        while j < len(toks):
            if toks[j].word == "match":
                j += 2
            elif toks[j].word == "on" and j + 2 < len(toks):
                j += 2 + _FK_ACTIONS.get(toks[j + 2].word, 1)
                if j < len(toks) and toks[j].text == "(":
                    j = _matching(toks, j) + 1
            else:
                break
        if pg < 180000:
            if not _is(toks, j, "not", "valid"):
                edits.replace(toks[j - 1].end, toks[j - 1].end, " NOT VALID")
        elif not (_is(toks, j, "not", "enforced") or _is(toks, j, "enforced")):
            edits.replace(toks[j - 1].end, toks[j - 1].end, " NOT ENFORCED")
        i = j
    return edits.apply()


def _check_tree(text: str) -> None:
    """Refusals visible in PostgreSQL's parse tree of (rewritten) DDL."""
    try:
        tree = parse_sql(text)
    except ParseError:
        return
    _DDLChecker()(tree)
    _TreeRewriter()(tree)


class _DDLChecker(Visitor):
    def visit_Constraint(self, ancestors: object, node: ast.Constraint) -> None:
        if node.contype == ConstrType.CONSTR_CHECK:
            # Redshift: no CHECK constraints (DG:r_CREATE_TABLE_NEW,
            # DG:c_unsupported-postgresql-features).
            raise _syntax("CHECK", "Amazon Redshift has no CHECK constraints")
        if node.contype == ConstrType.CONSTR_EXCLUSION:
            raise _syntax("EXCLUDE", "Amazon Redshift has no exclusion constraints")
        if node.deferrable or node.contype in (
            ConstrType.CONSTR_ATTR_DEFERRABLE,
            ConstrType.CONSTR_ATTR_DEFERRED,
            ConstrType.CONSTR_ATTR_IMMEDIATE,
        ):
            raise _syntax("DEFERRABLE", "Amazon Redshift constraints are not deferrable")

    def visit_ColumnDef(self, ancestors: object, node: ast.ColumnDef) -> None:
        names = [n.sval for n in node.typeName.names or ()] if node.typeName else []
        identity = any(c.contype == ConstrType.CONSTR_IDENTITY for c in node.constraints or ())
        if identity and names[-1:] not in (["int4"], ["int8"]):
            # Redshift: an IDENTITY column must be INT or BIGINT (DG:r_CREATE_TABLE_NEW).
            raise RedshiftError("Identity column must be of type INT or BIGINT", "42601")


# ---------------------------------------------------------------------------------------
# ALTER TABLE


def _alter_table(stmt: str, toks: list[_Tok], in_tx: bool, pg: int = 180000) -> Rewrite:
    _check_tokens(toks)
    i = 2
    if _is(toks, i, "if", "exists"):
        i += 2
    if _is(toks, i, "only"):
        i += 1
    name_start = i
    while i < len(toks) and (toks[i].text == "." or (i == name_start or toks[i - 1].text == ".")):
        i += 1
    table_sql = stmt[toks[name_start].start : toks[i - 1].end]
    table = toks[i - 1].ident
    rest = toks[i:]
    if rest and rest[0].word == "alter" and len(rest) > 1 and rest[1].word in (
        "distkey", "diststyle", "sortkey", "compound", "interleaved", "encode",
    ):  # fmt: skip
        return _alter_meta(table_sql, rest)
    if _is(rest, 0, "alter", "column") and any(t.word == "encode" for t in rest):
        return _alter_meta(table_sql, rest)
    if _is(rest, 0, "alter") and len(rest) > 2 and rest[2].word == "encode":
        return _alter_meta(table_sql, rest)
    if _is(rest, 0, "append"):
        if in_tx:
            raise RedshiftError("ALTER TABLE APPEND cannot run inside a transaction block", "25001")
        return Rewrite(stmt)
    edits = _Edits(stmt)
    _type_edits(toks, edits)
    meta = _TableMeta(table=table)
    if rest and rest[0].word == "add" and not (len(rest) > 1 and rest[1].word in _CONSTRAINT_WORDS):
        j = 2 if _is(rest, 1, "column") else 1
        if _is(rest, j, "if", "not", "exists"):
            j += 3
        _column_def(rest[j:], edits, meta, adding=True)
    text = edits.apply().rstrip()
    try:
        tree = parse_sql(text)
    except ParseError:
        return Rewrite(text)
    node = tree[0].stmt
    prelude: list[str] = []
    if isinstance(node, ast.AlterTableStmt):
        prelude = _check_alter_cmds(node, in_tx, table_sql)
    _DDLChecker()(tree)
    _TreeRewriter()(tree)
    text = _informational_fks(text, pg)
    if meta.columns:
        text += meta.comment()
    return Rewrite(text, tuple(prelude))


def _check_alter_cmds(node: ast.AlterTableStmt, in_tx: bool, table_sql: str) -> list[str]:
    cmds = [c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd)]
    adds = [c for c in cmds if c.subtype == AlterTableType.AT_AddColumn]
    if len(adds) > 1:
        # Redshift: one ADD COLUMN per ALTER TABLE (DG:c_redshift-sql-implementated-
        # differently).
        raise _syntax(",", "Amazon Redshift adds one column per ALTER TABLE statement")
    if len(cmds) > 1:
        raise _syntax(",", "Amazon Redshift runs one action per ALTER TABLE statement")
    prelude: list[str] = []
    for cmd in cmds:
        sub = cmd.subtype
        if sub in (AlterTableType.AT_SetNotNull, AlterTableType.AT_DropNotNull):
            # Redshift: no ALTER COLUMN SET/DROP NOT NULL (DG:r_ALTER_TABLE).
            raise RedshiftError("ALTER COLUMN SET/DROP NOT NULL is not supported", "0A000")
        if sub == AlterTableType.AT_ColumnDefault:
            # Redshift's text, as reported in jazzband/django-redshift-backend#96.
            raise RedshiftError("ALTER COLUMN SET/DROP DEFAULT is not supported", "0A000")
        if sub == AlterTableType.AT_AlterColumnType:
            prelude += _check_alter_type(cmd, in_tx, table_sql)
        if sub == AlterTableType.AT_AddColumn:
            _check_add_column(cmd.def_)
        if sub == AlterTableType.AT_AddIdentity:
            raise _identity_on_add()
    return prelude


def _check_alter_type(cmd: ast.AlterTableCmd, in_tx: bool, table_sql: str) -> list[str]:
    if in_tx:
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
    table_lit = "'" + table_sql.replace("'", "''") + "'"
    col_lit = "'" + (cmd.name or "").replace("'", "''") + "'"
    return [f"SELECT {SCHEMA}.check_alter_type({table_lit}::regclass, {col_lit})"]


def _check_add_column(coldef: Any) -> None:
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
        raise _identity_on_add()
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


def _alter_meta(table_sql: str, rest: list[_Tok]) -> Rewrite:
    """ALTER DISTKEY / DISTSTYLE / [COMPOUND] SORTKEY / ENCODE AUTO / ALTER COLUMN ENCODE."""
    change: dict[str, object] = {}
    columns: dict[str, str] = {}
    i = 0
    while i < len(rest):
        if rest[i].text == ",":
            i += 1
            continue
        if rest[i].word != "alter":
            raise _syntax(rest[i].text, "unexpected ALTER TABLE clause")
        i += 1
        w = rest[i].word if i < len(rest) else ""
        if w == "distkey":
            change["distkey"] = rest[i + 1].ident
            i += 2
        elif w == "diststyle":
            style = rest[i + 1].word.upper()
            if style == "KEY":
                if not _is(rest, i + 2, "distkey"):
                    raise RedshiftError("DISTSTYLE KEY requires a DISTKEY column", "42601")
                change["distkey"] = rest[i + 3].ident
                i += 4
            elif style in ("ALL", "EVEN", "AUTO"):
                change["diststyle"] = style
                i += 2
            else:
                raise _syntax(rest[i + 1].text, "DISTSTYLE is AUTO, EVEN, KEY or ALL")
        elif w in ("compound", "sortkey", "interleaved"):
            if w == "interleaved":
                # Redshift: ALTER SORTKEY cannot make an INTERLEAVED key (DG:r_ALTER_TABLE).
                raise _unsupported("ALTER INTERLEAVED SORTKEY", "use a COMPOUND sort key")
            j = i + 1 if w == "compound" else i
            if rest[j + 1].word in ("auto", "none"):
                change["sortkind"] = rest[j + 1].word.upper()
                i = j + 2
            else:
                close = _matching(rest, j + 1)
                change["sortkind"] = "COMPOUND"
                change["sortkey"] = [t.ident for t in rest[j + 2 : close] if t.text != ","]
                i = close + 1
        elif w == "encode":
            change["encode_auto"] = True
            i += 2
        elif w == "column" or (i + 1 < len(rest) and rest[i + 1].word == "encode"):
            if w == "column":
                i += 1
            if not _is(rest, i + 1, "encode"):
                raise _syntax(rest[i + 1].text, "only ALTER COLUMN ... ENCODE combines")
            columns[rest[i].ident] = rest[i + 2].text.lower()
            i += 3
        else:
            raise _syntax(rest[i].text if i < len(rest) else "", "unexpected ALTER clause")
    if columns:
        change["columns"] = columns
    body = json.dumps(change, separators=(",", ":")).replace("'", "''")
    table_lit = "'" + table_sql.replace("'", "''") + "'"
    return Rewrite(f"CALL {SCHEMA}.alter_meta({table_lit}::regclass, '{body}')", tag="ALTER TABLE")


# ---------------------------------------------------------------------------------------
# TRUNCATE, VACUUM, ANALYZE


def _truncate(stmt: str, toks: list[_Tok], in_tx: bool, pg: int = 180000) -> Rewrite:
    # Redshift: TRUNCATE [TABLE] name: one table (DG:r_TRUNCATE).
    depth = 0
    for t in toks:
        depth += (t.text == "(") - (t.text == ")")
        if t.text == "," and depth == 0:
            raise _syntax(",", "Amazon Redshift truncates one table per TRUNCATE statement")
    # Redshift: TRUNCATE commits the transaction in which it runs (DG:r_TRUNCATE).
    prelude: tuple[str, ...] = ("COMMIT",) if in_tx else ()
    name = toks[2:] if _is(toks, 1, "table") else toks[1:]
    if name and name[-1].text == ";":
        name = name[:-1]
    if pg < 180000 and name and all(t.text == "." or t.name == "IDENT" or t.word for t in name):
        # PostgreSQL < 18 refuses to truncate a table an FK references, even an FK whose
        # triggers never fire; Redshift's FKs are informational (DG:t_Defining_constraints).
        table = "'" + stmt[name[0].start : name[-1].end].replace("'", "''") + "'"
        return Rewrite(
            f"CALL {SCHEMA}.truncate_table({table}::regclass)", prelude, tag="TRUNCATE TABLE"
        )
    return Rewrite(stmt, prelude)


_VACUUM_WORDS = {"full", "sort", "delete", "only", "reindex", "recluster", "boost", "to",
                 "percent"}  # fmt: skip


def _vacuum(stmt: str, toks: list[_Tok], in_tx: bool) -> Rewrite:
    if in_tx:
        # Redshift: VACUUM cannot run inside a transaction block (DG:r_VACUUM_command).
        raise RedshiftError("VACUUM cannot run inside a transaction block", "25001")
    # Redshift: VACUUM [FULL | SORT ONLY | DELETE ONLY | REINDEX | RECLUSTER] [[schema.]table]
    # [TO threshold PERCENT] [BOOST] (DG:r_VACUUM_command): PostgreSQL's plain VACUUM of the
    # same table has the meaning that matters here (space reclaimed, nothing visible changes).
    table = [
        t.text
        for t in toks[1:]
        if t.word not in _VACUUM_WORDS and t.name not in ("ICONST", "FCONST")
    ]
    return Rewrite("VACUUM " + "".join(table) if table else "VACUUM", tag="VACUUM")


def _analyze(stmt: str, toks: list[_Tok]) -> Rewrite:
    # Redshift: ANALYZE [VERBOSE] [table [(columns)]] [PREDICATE COLUMNS | ALL COLUMNS]
    # (DG:r_ANALYZE).
    if _is(toks, 1, "compression"):
        return Rewrite('SELECT NULL::text AS "Table" WHERE false', tag="ANALYZE COMPRESSION")
    keep = toks
    if len(toks) >= 2 and toks[-1].word == "columns" and toks[-2].word in ("predicate", "all"):
        keep = toks[:-2]
    return Rewrite(stmt[: keep[-1].end] if keep is not toks else stmt)


# ---------------------------------------------------------------------------------------
# Errors from the upstream


def translate_error(fields: dict[str, str]) -> dict[str, str]:
    """Upstream ErrorResponse fields -> what a Redshift client would see."""
    code = fields.get("C", "")
    message = fields.get("M", "")
    if LONG_NAMES and "_" in message:
        fields = dict(fields)
        for key in ("M", "D"):
            text = fields.get(key)
            if text:
                for short, long in LONG_NAMES.items():
                    if short in text:
                        text = text.replace(short, long)
                fields[key] = text
        message = fields["M"]
    if code == "428C9":
        # PostgreSQL refuses a value for a GENERATED ALWAYS identity column; Redshift's text
        # for an explicit value in an IDENTITY column (embulk/embulk#486, SQLSTATE 0A000).
        out = {k: v for k, v in fields.items() if k not in ("D", "H", "P")}
        out.update(C="0A000", M="cannot set an identity column to a value")
        return out
    if code == "40001":
        out = {k: v for k, v in fields.items() if k not in ("D", "H")}
        if "concurrent update" in message or "concurrent delete" in message:
            # Redshift under snapshot isolation (aws/amazon-redshift-jdbc-driver#147).
            out.update(
                C="XX000", M="could not complete because of conflict with concurrent transaction"
            )
        else:
            # Redshift under serializable isolation (redshift-sql.md §4.2).
            out.update(
                C="XX000",
                M="1023",
                D="Serializable isolation violation on table - 0, transactions "
                "forming the cycle are: (pid:0)",
            )
        return out
    return fields
