"""SQL functions, operators and conditions (the guide's "SQL functions reference" and
"Conditions").

The part's other modules: :mod:`.functions_more` (CONCAT, EXTRACT, DECODE, MEDIAN, TOP,
MINUS, ...), :mod:`.leader_node` (leader-node-only functions: add a name to its
``LEADER_NODE_ONLY``) and :mod:`.windows` (what an OVER clause may say).
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import A_Expr_Kind
from pglast.visitors import Visitor

from ..catalog import DATEPARTS, SCHEMA
from .declare import FULL, PARTLY, STYLE, Part
from .errors import RedshiftError, no_such_function, syntax_error
from .pipeline import Statement
from .source import elements, matching

part = Part(
    "functions",
    "Functions, operators and conditions",
    "SQL functions (window functions included), operators and conditions.",
    order=3,
)


def _name(node: ast.FuncCall) -> list[str]:
    return [n.sval or "" for n in node.funcname or () if isinstance(n, ast.String)]


_TESTS = "tests/emulator/test_sql_rules.py::test_redshift_function"


def _function(fid: str, page: str, does: str, *cases: str, **more: Any) -> None:
    """A Redshift function the emulator's schema provides (emulator/catalog.py)."""
    tests = more.pop("tests", ())
    part.rule(
        id=fid,
        page=page,
        does=does,
        fidelity=more.pop("fidelity", FULL),
        tests=(*(f"{_TESTS}[{c}]" for c in cases), *tests),
        **more,
    )


_function("getdate", "r_GETDATE", "`GETDATE()`: the statement's start, no fractional seconds, "
          "TIMESTAMP", "getdate")  # fmt: skip
_function(
    "dateadd",
    "r_DATEADD_function",
    "`DATEADD(part, n, d)`: the datepart bare or quoted, any abbreviation of "
    "DG:r_Dateparts_for_datetime_functions; the month's end kept as Redshift keeps it",
    "dateadd",
    "dateadd_month",
    "dateadd_abbrev",
    tests=("tests/emulator/test_rules.py::test_function_rewrites",),
)
_function(
    "datediff",
    "r_DATEDIFF_function",
    "`DATEDIFF(part, a, b)`: the datepart boundaries crossed, BIGINT; weeks start on Monday",
    "datediff_day",
    "datediff_year",
    "datediff_week",
    "datediff_qtr",
    "datediff_literals",
)
_function(
    "date-part",
    "r_DATE_PART_function",
    "`DATE_PART(part, d)` and `DATE_TRUNC('part', d)` take Redshift's dateparts and "
    "abbreviations, bare or quoted",
    "date_part_bare",
)
_function(
    "convert-timezone",
    "CONVERT_TIMEZONE",
    "`CONVERT_TIMEZONE([source,] target, ts)`; the source defaults to UTC",
    "convert_timezone",
    "convert_timezone_2",
)
_function(
    "json-parse-serialize",
    "JSON_PARSE",
    "`JSON_PARSE`, `JSON_SERIALIZE`, `CAN_JSON_PARSE` on JSON text; invalid JSON is an "
    "error (`invalid json object ...`)",
    "json_parse",
    "can_json_parse",
    see=("JSON_SERIALIZE", "CAN_JSON_PARSE"),
)
_function(
    "json-extract-path-text",
    "JSON_EXTRACT_PATH_TEXT",
    "`JSON_EXTRACT_PATH_TEXT(json, p1 ... p5 [, null_if_invalid])` on VARCHAR and SUPER; a "
    "missing path is NULL; path elements are object keys",
    "json_path_varchar",
    "json_path_invalid_null",
    tests=(
        "tests/emulator/test_suite_rules.py::test_json_extract_path_text_elements_are_object_keys",
    ),
)
_function(
    "json-extract-array-element-text",
    "JSON_EXTRACT_ARRAY_ELEMENT_TEXT",
    "`JSON_EXTRACT_ARRAY_ELEMENT_TEXT(json, i [, null_if_invalid])`: zero-based, NULL out of "
    "bounds",
    tests=("tests/emulator/test_sql_rules.py::test_json_extract_array_element_text",),
)
_function(
    "is-valid-json",
    "IS_VALID_JSON",
    "`IS_VALID_JSON` (objects only) and `IS_VALID_JSON_ARRAY`",
    "is_valid_json",
    "is_valid_json_obj",
    "is_valid_json_array",
    see=("IS_VALID_JSON_ARRAY",),
)
_function(
    "to-from-varbyte",
    "r_TO_VARBYTE",
    "`TO_VARBYTE` and `FROM_VARBYTE` with hex, binary, utf8/utf-8 and base64",
    "to_from_varbyte",
    see=("r_FROM_VARBYTE",),
    tests=("tests/emulator/test_sql_rules.py::test_varbyte_and_timetz_columns",),
)
_function(
    "regexp-functions",
    "REGEXP_COUNT",
    "`REGEXP_COUNT/INSTR/SUBSTR/REPLACE` with the parameters string (c, i, e, p); "
    "REGEXP_REPLACE replaces every match",
    "regexp_count_i",
    "regexp_count_c",
    "regexp_instr",
    "regexp_substr_e",
    "regexp_substr_none",
    "regexp_replace_all",
    "regexp_replace_pos_i",
    fidelity=PARTLY,
    gap="`p` (PCRE) is PostgreSQL's ARE, which covers the common Perl syntax only",
    see=("REGEXP_INSTR", "REGEXP_SUBSTR", "REGEXP_REPLACE"),
)
_function("len-charindex", "r_LEN", "`LEN` (trailing blanks of CHAR only ignored) and "
          "`CHARINDEX`", "len", "len_char", "charindex", see=("r_CHARINDEX",))  # fmt: skip
_function(
    "sha1-md5",
    "SHA1",
    "`SHA1`, `FUNC_SHA1` and `MD5`: hex digests of the string's UTF-8 bytes",
    fidelity=FULL,
    gap="SHA-1 in PL/pgSQL, as the embedded PostgreSQL has no pgcrypto",
    see=("FUNC_SHA1", "r_MD5"),
    tests=("tests/emulator/test_sql_rules.py::test_sha1_func_sha1_and_md5",),
)
_function(
    "sha2-round",
    "SHA2",
    "`SHA2(s, bits)` (hex text; an empty string for bits other than 0, 224, 256, 384, 512); "
    "`ROUND` of a DOUBLE PRECISION is DOUBLE PRECISION",
    see=("r_ROUND",),
    tests=(
        "tests/emulator/test_sql_rules.py::test_sha2_and_round_of_double",
        "tests/emulator/test_functions_rules.py::test_redshift_semantics[sha2_invalid_bits]",
        "tests/emulator/test_functions_rules.py::test_redshift_semantics[sha2_zero_bits]",
    ),
)
_function(
    "version",
    "r_VERSION",
    "`version()` is `PostgreSQL 8.0.2 on i686-pc-linux-gnu, ..., Redshift 1.0.<build>`",
    tests=("tests/emulator/test_sql_rules.py::test_version_is_redshift_like",),
)

# Redshift functions defined in the emulator's schema; calls are qualified so a client's own
# search_path does not hide them, and so pg_catalog's same-named functions do not win.
OWN_FUNCTIONS = frozenset(
    {
        "getdate", "dateadd", "datediff", "convert_timezone", "len", "charindex", "json_parse",
        "json_serialize", "json_extract_path_text", "json_extract_array_element_text",
        "can_json_parse", "is_valid_json", "is_valid_json_array", "to_varbyte", "from_varbyte",
        "regexp_count", "regexp_instr", "regexp_substr", "regexp_replace", "version",
        "sha1", "sha2", "func_sha1", "replicate", "add_months", "json_typeof",
    }
)  # fmt: skip


@part.node(
    ast.FuncCall,
    id="redshift-functions",
    page="c_SQL_functions",
    does="Redshift's own functions are there whatever the session's search_path",
    fidelity=FULL,
    gap="each is a function in the emulator's schema (emulator/catalog.py); calls of the "
    "ones PostgreSQL has under the same name are qualified",
    tests=(
        "tests/emulator/test_rules.py::test_function_rewrites",
        "tests/emulator/test_rules.py::test_json_parse_in_a_multi_row_insert_is_edited_not_reprinted",
    ),
    words=tuple(sorted(OWN_FUNCTIONS)),
)
def redshift_functions(stmt: Statement, node: ast.FuncCall) -> None:
    names = _name(node)
    if len(names) != 1 or names[0].lower() not in OWN_FUNCTIONS:
        return
    fname = names[0].lower()
    if fname == "version" and node.args:
        return
    # An insertion needs no tokens: a multi-row INSERT of JSON_PARSE(...) values is not
    # scanned for it.
    stmt.insert(stmt.position(node), f"{SCHEMA}.")


@part.node(
    ast.FuncCall,
    id="dateparts",
    page="r_Dateparts_for_datetime_functions",
    does="Dateparts are bare words or strings, with Redshift's names and abbreviations",
    fidelity=FULL,
    answer='0A000 date part "fortnight" is not supported',
    source=STYLE,
    tests=(
        "tests/emulator/test_rules.py::test_unknown_datepart_is_refused",
        "tests/emulator/test_rules.py::test_function_rewrites",
        f"{_TESTS}[dateadd_abbrev]",
        f"{_TESTS}[date_part_bare]",
    ),
    words=("dateadd", "datediff", "date_part", "date_trunc"),
)
def dateparts(stmt: Statement, node: ast.FuncCall) -> None:
    names = _name(node)
    fname = names[0].lower() if len(names) == 1 else ""
    if fname not in ("dateadd", "datediff", "date_part", "date_trunc") or not node.args:
        return
    first = node.args[0]
    if fname == "date_trunc" and isinstance(first, ast.A_Const):
        return
    bare = isinstance(first, ast.ColumnRef) and len(first.fields or ()) == 1
    quoted = isinstance(first, ast.A_Const) and isinstance(first.val, ast.String)
    if not (bare or quoted):
        return
    call = stmt.call(node)
    start, end = stmt.span(*call.args[0])
    text = stmt.source_text(start, end)
    word = text[1:-1].replace("''", "'") if quoted else text
    if bare and word.startswith('"'):
        word = word[1:-1]
    canon = DATEPARTS.get(word.lower())
    if canon is None:
        raise RedshiftError(f'date part "{word}" is not supported', "0A000")
    stmt.replace(start, end, f"'{canon}'")


@part.node(
    ast.FuncCall,
    id="nvl",
    page="r_NVL_function",
    see=("r_NVL2",),
    does="`NVL(expr, expr, ...)` is COALESCE; `NVL2(expr, not_null, null)`",
    fidelity=FULL,
    tests=(
        f"{_TESTS}[nvl]",
        f"{_TESTS}[nvl2]",
        "tests/emulator/test_rules.py::test_function_rewrites",
    ),
    words=("nvl", "nvl2"),
)
def nvl(stmt: Statement, node: ast.FuncCall) -> None:
    names = _name(node)
    fname = names[0].lower() if len(names) == 1 else ""
    if fname == "nvl":
        # Redshift: NVL(expr, expr, ...) is COALESCE (DG:r_NVL_function).
        first, past = stmt.call(node).name
        stmt.replace(*stmt.span(first, past), "COALESCE")
    elif fname == "nvl2":
        call = stmt.call(node)
        if len(call.args) != 3:
            raise RedshiftError("function nvl2 requires 3 arguments", "42883")
        a, b, c = (stmt.span_text(*arg) for arg in call.args)
        # Redshift: NVL2(expr, not_null_value, null_value) (DG:r_NVL2).
        stmt.replace(
            stmt.tokens[call.name[0]].start,
            stmt.tokens[call.close].end,
            f"(CASE WHEN ({a}) IS NOT NULL THEN ({b}) ELSE ({c}) END)",
        )


@part.statement(
    id="listagg",
    page="r_LISTAGG",
    does="`LISTAGG([DISTINCT] x [, delimiter]) [WITHIN GROUP (ORDER BY ...)]`",
    fidelity=PARTLY,
    gap="becomes `string_agg(x::text, delimiter ORDER BY ...)` (with DISTINCT, the distinct "
    "values' array joined); the 65,535-byte limit and the leader-node error are not imitated",
    tests=(
        "tests/emulator/test_sql_rules.py::test_listagg_within_group",
        "tests/emulator/test_rules.py::test_function_rewrites",
        "tests/emulator/test_functions_rules.py::test_listagg_distinct",
    ),
    words=("listagg",),
)
def listagg(stmt: Statement) -> None:
    # A statement rule: PostgreSQL's parser refuses DISTINCT with WITHIN GROUP.
    toks = stmt.tokens
    for i, t in enumerate(toks[:-1]):
        if t.word == "listagg" and toks[i + 1].text == "(" and (i == 0 or toks[i - 1].text != "."):
            _listagg(stmt, i)


def _listagg(stmt: Statement, name_i: int) -> None:
    toks = stmt.tokens
    close = matching(toks, name_i + 1)
    args = elements(toks, name_i + 1, close)
    if not args or len(args) > 2:
        raise RedshiftError("function listagg requires 1 or 2 arguments", "42883")
    first = args[0]
    distinct = toks[first[0]].word == "distinct"
    if distinct:
        first = (first[0] + 1, first[1])
    value = stmt.span_text(*first)
    delimiter = stmt.span_text(*args[1]) if len(args) == 2 else "''"
    order, end = "", close
    within = close + 1
    if within + 2 < len(toks) and toks[within].word == "within" and toks[within + 2].text == "(":
        close_i = matching(toks, within + 2)
        order = " " + stmt.span_text(within + 3, close_i)
        end = close_i
    # Redshift: LISTAGG (DG:r_LISTAGG) is string_agg with the ORDER BY inside the call.
    # With DISTINCT, PostgreSQL wants the ORDER BY among the arguments: the distinct
    # values are ordered as their own type, then joined.
    agg = (
        f"pg_catalog.array_to_string(pg_catalog.array_agg(DISTINCT {value}{order}), {delimiter})"
        if distinct
        else f"pg_catalog.string_agg(CAST({value} AS text), {delimiter}{order})"
    )
    stmt.replace(toks[name_i].start, toks[end].end, agg)


# ---------------------------------------------------------------------------------------
# COLLATE(string, 'case_sensitive' | 'cs' | 'case_insensitive' | 'ci') (DG:r_COLLATE)

_COLLATION_NAMES = {"case_sensitive": "cs", "cs": "cs", "case_insensitive": "ci", "ci": "ci"}
_COLLATE_TESTS = (
    "tests/emulator/test_suite_rules.py::test_collate_function_ci_compares_case_insensitively",
    "tests/emulator/test_suite_rules.py::test_collate_function_keeps_the_value_and_cs_orders_by_bytes",
    "tests/emulator/test_suite_rules.py::test_collate_function_refuses_other_names",
)


@part.statement(
    id="collate-function",
    page="r_COLLATE",
    does="`COLLATE(s, 'case_insensitive' | 'ci' | 'case_sensitive' | 'cs')` compares and "
    "orders without or with case",
    fidelity=FULL,
    gap="the statement is parsed again and printed from its tree (comments are dropped)",
    answer="42704 COLLATE() takes a string and 'case_sensitive', 'cs', 'case_insensitive' or 'ci'",
    source=STYLE,
    tests=_COLLATE_TESTS,
    words=("collate",),
)
def collate_call(stmt: Statement) -> None:
    toks = stmt.tokens
    for i, t in enumerate(toks[:-1]):
        if t.word == "collate" and toks[i + 1].text == "(":
            # COLLATE is reserved in PostgreSQL: the call is qualified to parse, and the
            # node rule below replaces it.
            stmt.replace(t.start, t.end, f"{SCHEMA}.collate")


def _collation(node: Any) -> str | None:
    """'ci' / 'cs' for a (qualified) COLLATE(string, name) call, else None."""
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


@part.node(
    ast.FuncCall,
    id="collate-function-calls",
    page="r_COLLATE",
    does="A case-insensitive `COLLATE()` makes the whole comparison it is in case-insensitive",
    fidelity=FULL,
    tests=_COLLATE_TESTS,
    words=("collate",),
)
def collate_calls(stmt: Statement, node: ast.FuncCall) -> None:
    if _collation(node) is not None and not stmt.facts.get("collate"):
        stmt.facts["collate"] = True
        stmt.transform(_CollateRewriter())


def _lower(node: Any) -> ast.FuncCall:
    return ast.FuncCall(funcname=(ast.String(sval="lower"),), args=(node,))


def _collate_arg(node: Any) -> Any:
    return node.args[0] if _collation(node) is not None else node


class _CollateRewriter(Visitor):
    """The slow path (stmt.transform): comparisons with a case-insensitive side are made on
    lower-cased sides; elsewhere COLLATE() keeps the value, case-sensitive order being byte
    order."""

    def visit_A_Expr(self, ancestors: object, node: ast.A_Expr) -> None:
        right = node.rexpr if isinstance(node.rexpr, list | tuple) else (node.rexpr,)
        if any(_collation(side) == "ci" for side in (node.lexpr, *right)):
            node.lexpr = _lower(_collate_arg(node.lexpr))
            lowered = tuple(_lower(_collate_arg(side)) for side in right)
            node.rexpr = lowered if isinstance(node.rexpr, list | tuple) else lowered[0]

    def visit_SortBy(self, ancestors: object, node: ast.SortBy) -> None:
        if _collation(node.node) == "ci":
            node.node = _lower(_collate_arg(node.node))

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> ast.Node | None:
        kind = _collation(node)
        if kind is None:
            return None
        arg = _collate_arg(node)
        if kind == "ci":
            return arg
        return ast.CollateClause(arg=arg, collname=(ast.String(sval="C"),))


# ---------------------------------------------------------------------------------------
# What Redshift does not have

_NO_SUCH_FUNCTION = {
    # Redshift: DG:c_unsupported-postgresql-functions.
    "string_agg": "use LISTAGG(expr, delimiter) WITHIN GROUP (ORDER BY ...)",
    "array_agg": "use LISTAGG(expr, delimiter) WITHIN GROUP (ORDER BY ...)",
    "nextval": "Amazon Redshift has no sequences; use an IDENTITY column",
    "currval": "Amazon Redshift has no sequences",
    "lastval": "Amazon Redshift has no sequences",
    "setval": "Amazon Redshift has no sequences",
}
_UNSUPPORTED_GROUPS = {
    "aggregate function": "every xmlagg corr covar_pop covar_samp regr_avgx regr_avgy "
    "regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy",
    "array function": "array_append array_cat array_dims array_fill array_length array_lower "
    "array_ndims array_position array_positions array_prepend array_remove array_replace "
    "array_to_string array_upper cardinality string_to_array unnest",
    "date/time function": "clock_timestamp justify_days justify_hours justify_interval "
    "pg_sleep transaction_timestamp",
    "math function": "div setseed width_bucket",
    "set-returning function": "generate_subscripts",
    "string function": "bit_length overlay convert convert_from convert_to encode format "
    "quote_nullable regexp_matches regexp_split_to_array regexp_split_to_table",
    "advisory lock function": "pg_advisory_lock pg_advisory_lock_shared pg_advisory_unlock "
    "pg_advisory_unlock_all pg_advisory_xact_lock pg_try_advisory_lock "
    "pg_try_advisory_xact_lock",
    "database object size function": "pg_column_size pg_database_size pg_indexes_size "
    "pg_relation_size pg_size_pretty pg_table_size pg_total_relation_size",
}
for _group, _names in _UNSUPPORTED_GROUPS.items():
    for _fname in _names.split():
        _NO_SUCH_FUNCTION[_fname] = f"Amazon Redshift has no PostgreSQL {_group} {_fname}()"


@part.node(
    ast.FuncCall,
    id="no-postgresql-only-functions",
    page="c_unsupported-postgresql-functions",
    does="PostgreSQL functions Redshift lacks are refused: STRING_AGG, ARRAY_AGG, the "
    "sequence functions, and the aggregate, array, date/time, math, set-returning, string, "
    "advisory lock and object size functions the guide lists",
    fidelity=PARTLY,
    gap="the guide's groups without named functions (geometric, network, range, text search, "
    "XML, ...) are PostgreSQL's errors or answers; GENERATE_SERIES is leader-node only",
    answer="42883 function string_agg does not exist",
    source=STYLE,
    tests=(
        *(
            f"tests/emulator/test_sql_rules.py::test_refused_like_redshift[{k}]"
            for k in ("string_agg", "array_agg", "nextval", "currval", "lastval")
        ),
        "tests/emulator/test_functions_rules.py::test_unsupported_postgresql_functions",
    ),
    words=tuple(sorted(_NO_SUCH_FUNCTION)),
)
def no_postgresql_only_functions(stmt: Statement, node: ast.FuncCall) -> None:
    names = _name(node)
    if len(names) == 1 and names[0].lower() in _NO_SUCH_FUNCTION:
        fname = names[0].lower()
        raise no_such_function(fname, _NO_SUCH_FUNCTION[fname])


@part.node(
    ast.FuncCall,
    id="no-aggregate-filter",
    page="c_Aggregate_Functions",
    does="No aggregate `FILTER (WHERE ...)` clause",
    fidelity=FULL,
    answer='42601 syntax error at or near "FILTER"',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[filter]",),
    words=("filter",),
)
def no_aggregate_filter(stmt: Statement, node: ast.FuncCall) -> None:
    if node.agg_filter is not None:
        raise syntax_error("FILTER", "Amazon Redshift has no aggregate FILTER clause; use CASE")


@part.node(
    ast.A_Expr,
    id="no-case-insensitive-regex-operators",
    page="pattern-matching-conditions-posix",
    does="Only `~` and `!~`: no `~*` or `!~*`",
    fidelity=FULL,
    answer="42883 operator does not exist: ~*",
    source=STYLE,
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[iregex]",
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[not_iregex]",
    ),
    words=("~*", "!~*"),
)
def no_iregex(stmt: Statement, node: ast.A_Expr) -> None:
    ops = {n.sval for n in node.name or () if isinstance(n, ast.String)}
    for op in ("~*", "!~*"):
        if op in ops:
            raise RedshiftError(
                f"operator does not exist: {op}",
                "42883",
                hint="Amazon Redshift has no ~* or !~*; use REGEXP_COUNT(s, p, 1, 'i') > 0",
            )


@part.node(
    ast.A_Expr,
    id="no-is-distinct-from",
    page="c_unsupported-postgresql-functions",
    does="No `IS [NOT] DISTINCT FROM`",
    fidelity=FULL,
    answer='42601 syntax error at or near "DISTINCT"',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[is_distinct]",),
    screen=r"is\s+(?:not\s+)?distinct\s+from",
)
def no_is_distinct_from(stmt: Statement, node: ast.A_Expr) -> None:
    if node.kind in (A_Expr_Kind.AEXPR_DISTINCT, A_Expr_Kind.AEXPR_NOT_DISTINCT):
        raise syntax_error("DISTINCT", "Amazon Redshift has no IS [NOT] DISTINCT FROM")


@part.node(
    ast.ColumnRef,
    id="sysdate",
    page="r_SYSDATE",
    does="`SYSDATE` (no parentheses): the transaction's start, with microseconds",
    fidelity=FULL,
    tests=(f"{_TESTS}[sysdate]", "tests/emulator/test_rules.py::test_function_rewrites"),
    words=("sysdate",),
)
def sysdate(stmt: Statement, node: ast.ColumnRef) -> None:
    keyword_function(stmt, node, "sysdate")


def keyword_function(stmt: Statement, node: ast.ColumnRef, word: str) -> None:
    """A Redshift keyword written without parentheses (SYSDATE, CURRENT_USER_ID), read by
    PostgreSQL as a column: the emulator's function of that name."""
    fields = node.fields or ()
    first = fields[0] if len(fields) == 1 else None
    if isinstance(first, ast.String) and (first.sval or "").lower() == word:
        t = stmt.tokens[stmt.token_index(stmt.position(node))]
        stmt.replace(t.start, t.end, f"{SCHEMA}.{word}()")


@part.node(
    ast.JsonSerializeExpr,
    id="json-serialize-function",
    page="JSON_SERIALIZE",
    does="`JSON_SERIALIZE(super)` is a function from SUPER to VARCHAR",
    fidelity=FULL,
    gap="PostgreSQL 16+ reads it as SQL/JSON syntax; it is sent as the emulator's function",
    tests=("tests/emulator/test_sql_rules.py::test_super_holds_json", f"{_TESTS}[json_parse]"),
    words=("json_serialize",),
)
def json_serialize(stmt: Statement, node: Any) -> None:
    t = stmt.tokens[stmt.token_index(stmt.position(node))]
    stmt.replace(t.start, t.end, f"{SCHEMA}.json_serialize")
