"""More of the guide's SQL functions reference: functions whose Redshift semantics differ
from PostgreSQL's (CONCAT, EXTRACT, DECODE), Redshift's own syntax (APPROXIMATE COUNT,
MEDIAN, CURRENT_USER_ID, SELECT TOP, MINUS) and the backslashes of regular expressions.

The functions that exist upstream are in :mod:`..sqlfunctions`.
"""

from __future__ import annotations

from typing import Any

from pglast import ast

from ..catalog import DATEPARTS, SCHEMA
from .declare import FULL, PARTLY, STYLE
from .errors import RedshiftError
from .functions import _function, _name, keyword_function, part
from .pipeline import Statement
from .source import Token, matching

_T = "tests/emulator/test_functions_rules.py"


def _single(node: ast.FuncCall) -> str:
    names = _name(node)
    return names[0].lower() if len(names) == 1 else ""


# ---------------------------------------------------------------------------------------
# Functions defined upstream (sqlfunctions.py)

_CASES = f"{_T}::test_redshift_semantics"


def _own(fid: str, page: str, does: str, *cases: str, **more: Any) -> None:
    """A Redshift function the emulator's schema provides (sqlfunctions.py), with the
    cases of test_redshift_semantics that prove it."""
    tests = (*(f"{_CASES}[{c}]" for c in cases), *more.pop("tests", ()))
    _function(fid, page, does, tests=tests, **more)


_own(
    "add-months",
    "r_ADD_MONTHS",
    "`ADD_MONTHS(date | timestamp, n)`: TIMESTAMP; from "
    "the last day of a month, the last day of the result's month",
    "add_months",
    "add_months_last_day",
    "add_months_short_month",
    "add_months_literal",
)
_own(
    "trunc-timestamp",
    "r_TRUNC_date",
    "`TRUNC(timestamp)` is the DATE; `TRUNC(number)` as before",
    "trunc_timestamp",
    "trunc_number",
    fidelity=PARTLY,
    gap="found on the search_path, like PostgreSQL's numeric TRUNC",
)
_own("replicate", "r_REPLICATE", "`REPLICATE(s, n)` is `REPEAT(s, n)`", "replicate")
_own(
    "to-hex",
    "r_TO_HEX",
    "`TO_HEX(number)` and `TO_HEX(varbyte)`: hexadecimal text",
    "to_hex_int",
    "to_hex_varbyte",
)
_own(
    "json-typeof",
    "JSON_TYPEOF",
    "`JSON_TYPEOF(super)`: object, array, string, number, boolean or null",
    "json_typeof_object",
    "json_typeof_array",
    "json_typeof_number",
)
_own(
    "current-user-id",
    "r_CURRENT_USER_ID",
    "`CURRENT_USER_ID` (no parentheses): the session user's id, as PG_USER.USESYSID",
    tests=(f"{_T}::test_current_user_id",),
)


@part.node(
    ast.ColumnRef,
    id="current-user-id-keyword",
    page="r_CURRENT_USER_ID",
    does="`CURRENT_USER_ID` is a keyword, written without parentheses",
    fidelity=FULL,
    tests=(f"{_T}::test_current_user_id",),
    words=("current_user_id",),
)
def current_user_id(stmt: Statement, node: ast.ColumnRef) -> None:
    keyword_function(stmt, node, "current_user_id")


# ---------------------------------------------------------------------------------------
# CONCAT (DG:r_CONCAT)


@part.node(
    ast.FuncCall,
    id="concat-two-arguments",
    page="r_CONCAT",
    does="`CONCAT(a, b)` takes exactly two arguments and is NULL when either is NULL",
    fidelity=FULL,
    answer="42883 function concat does not exist",
    source=STYLE,
    tests=(
        f"{_T}::test_redshift_semantics[concat]",
        f"{_T}::test_redshift_semantics[concat_null]",
        f"{_T}::test_refused[concat_three]",
        f"{_T}::test_refused[concat_one]",
    ),
    words=("concat",),
)
def concat(stmt: Statement, node: ast.FuncCall) -> None:
    if _single(node) != "concat":
        return
    call = stmt.call(node)
    if len(call.args) != 2:
        raise RedshiftError(
            "function concat does not exist",
            "42883",
            hint="CONCAT takes exactly two arguments on Amazon Redshift; nest CONCAT calls or "
            "use ||",
        )
    # Redshift: CONCAT(a, b) is a || b: NULL when either is NULL (DG:r_CONCAT), where
    # PostgreSQL's concat() skips NULLs. Only the call's own tokens are edited, so a CONCAT
    # nested in an argument is rewritten too.
    toks = stmt.tokens
    comma = toks[call.args[0][1]]
    stmt.replace(toks[call.name[0]].start, toks[call.open].end, "((")
    stmt.replace(comma.start, comma.end, ") || (")
    stmt.replace(toks[call.close].start, toks[call.close].end, "))")


# ---------------------------------------------------------------------------------------
# EXTRACT (DG:r_EXTRACT_function, DG:r_Dateparts_for_datetime_functions)


@part.statement(
    id="extract",
    page="r_EXTRACT_function",
    see=("r_Dateparts_for_datetime_functions",),
    does="`EXTRACT(part FROM x)` is the part alone, an INTEGER (DOUBLE PRECISION for "
    "TIMESTAMPTZ): SECOND without its fraction, MILLISECOND and MICROSECOND without the "
    "seconds, DECADE on the common calendar; Redshift's datepart abbreviations",
    fidelity=PARTLY,
    gap="EPOCH beyond 2038 overflows the INTEGER",
    answer='0A000 date part "fortnight" is not supported',
    source=STYLE,
    tests=(
        f"{_T}::test_redshift_semantics[extract_second]",
        f"{_T}::test_redshift_semantics[extract_ms]",
        f"{_T}::test_redshift_semantics[extract_us]",
        f"{_T}::test_redshift_semantics[extract_abbrev]",
        f"{_T}::test_redshift_semantics[extract_decade]",
        f"{_T}::test_redshift_semantics[extract_decade_1999]",
        f"{_T}::test_redshift_semantics[extract_century]",
        f"{_T}::test_redshift_semantics[extract_mil]",
        f"{_T}::test_redshift_semantics[extract_tz_double]",
        f"{_T}::test_redshift_semantics[date_part_seconds]",
        f"{_T}::test_extract_types",
        f"{_T}::test_refused[extract_unknown_part]",
    ),
    words=("extract",),
)
def extract(stmt: Statement) -> None:
    # A statement rule: PostgreSQL's grammar takes only some keywords as EXTRACT's field
    # (not DEC, one of Redshift's abbreviations), so the call is rewritten before the parse.
    toks = stmt.tokens
    for i, t in enumerate(toks[:-3]):
        if t.word == "extract" and toks[i + 1].text == "(" and (i == 0 or toks[i - 1].text != "."):
            _extract(stmt, i)


def _extract(stmt: Statement, first: int) -> None:
    toks = stmt.tokens
    open_i = first + 1
    close = matching(toks, open_i)
    if open_i + 2 >= close or toks[open_i + 2].word != "from":
        return
    part_tok = toks[open_i + 1]
    word = part_tok.text[1:-1] if part_tok.text[:1] in ("'", '"') else part_tok.text
    canon = DATEPARTS.get(word.lower())
    if canon is None:
        raise RedshiftError(f'date part "{word}" is not supported', "0A000")
    stmt.replace(toks[first].start, toks[open_i + 2].end, f"{SCHEMA}.extract('{canon}', (")
    stmt.replace(toks[close].start, toks[close].end, "))")


# ---------------------------------------------------------------------------------------
# DECODE (DG:r_DECODE_expression), MEDIAN (DG:r_MEDIAN), APPROXIMATE COUNT (DG:r_COUNT)


@part.node(
    ast.FuncCall,
    id="decode",
    page="r_DECODE_expression",
    does="`DECODE(expr, search, result [, search, result]... [, default])` is a CASE in which "
    "a NULL expression matches a NULL search",
    fidelity=FULL,
    answer="42883 function decode requires at least 3 arguments",
    source=STYLE,
    tests=(
        f"{_T}::test_redshift_semantics[decode]",
        f"{_T}::test_redshift_semantics[decode_default]",
        f"{_T}::test_redshift_semantics[decode_null]",
        f"{_T}::test_redshift_semantics[decode_no_default]",
        f"{_T}::test_refused[decode_two]",
    ),
    words=("decode",),
)
def decode(stmt: Statement, node: ast.FuncCall) -> None:
    if _single(node) != "decode":
        return
    call = stmt.call(node)
    args = [stmt.span_text(*a) for a in call.args]
    if len(args) < 3:
        raise RedshiftError(
            "function decode requires at least 3 arguments",
            "42883",
            hint="DECODE(expression, search, result [, search, result]... [, default]) "
            "(Amazon Redshift has no DECODE of an encoded string)",
        )
    expr, rest = args[0], args[1:]
    default = rest.pop() if len(rest) % 2 else "NULL"
    whens = " ".join(
        f"WHEN ({expr}) = ({s}) OR (({expr}) IS NULL AND ({s}) IS NULL) THEN ({r})"
        for s, r in zip(rest[::2], rest[1::2], strict=True)
    )
    stmt.replace(
        stmt.tokens[call.name[0]].start,
        stmt.tokens[call.close].end,
        f"(CASE {whens} ELSE ({default}) END)",
    )


@part.node(
    ast.FuncCall,
    id="median",
    page="r_MEDIAN",
    does="`MEDIAN(x)`: the median, interpolated between the two middle values",
    fidelity=PARTLY,
    gap="it is `PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x)`: DOUBLE PRECISION for every "
    "input type (Redshift: DECIMAL for integer and DECIMAL input); no MEDIAN window function",
    tests=(f"{_T}::test_median_and_approximate_count",),
    words=("median",),
)
def median(stmt: Statement, node: ast.FuncCall) -> None:
    if _single(node) != "median" or node.over is not None:
        return
    call = stmt.call(node)
    if len(call.args) != 1:
        raise RedshiftError("function median requires 1 argument", "42883")
    toks = stmt.tokens
    stmt.replace(
        toks[call.name[0]].start,
        toks[call.open].end,
        "pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY ",
    )


@part.statement(
    "select",
    "with",
    "insert",
    "create",
    id="approximate-count-distinct",
    page="r_COUNT",
    does="`APPROXIMATE COUNT(DISTINCT x)`: HyperLogLog's estimate of the distinct count",
    fidelity=FULL,
    gap="the count is exact, which is within the estimate's error",
    tests=(f"{_T}::test_median_and_approximate_count",),
    words=("approximate",),
)
def approximate_count(stmt: Statement) -> None:
    toks = stmt.tokens
    for i, t in enumerate(toks[:-2]):
        if t.word == "approximate" and toks[i + 1].word == "count" and toks[i + 2].text == "(":
            # Redshift: APPROXIMATE COUNT(DISTINCT ...) (DG:r_COUNT); the exact count is an
            # answer within its error.
            stmt.replace(t.start, toks[i + 1].start, "")


# ---------------------------------------------------------------------------------------
# SELECT TOP n (DG:r_TOP_clause), MINUS (DG:r_UNION)


def _scope_end(toks: list[Token], i: int) -> int:
    """The index of the token that ends the query starting at ``i``: the ``)`` closing the
    parenthesis it is in, or the statement's end (len)."""
    depth = 0
    for k in range(i, len(toks)):
        if toks[k].text == "(":
            depth += 1
        elif toks[k].text == ")":
            if depth == 0:
                return k
            depth -= 1
        elif toks[k].text == ";" and depth == 0:
            return k
    return len(toks)


@part.statement(
    "select",
    "with",
    "insert",
    "create",
    id="select-top",
    page="r_TOP_clause",
    see=("r_SELECT_list",),
    does="`SELECT [ALL | DISTINCT] TOP n ...` returns the first n rows, as LIMIT n",
    fidelity=PARTLY,
    gap="TOP in one input of a set operation limits the whole set operation",
    tests=(f"{_T}::test_select_top", f"{_T}::test_redshift_semantics[top]"),
    words=("top",),
)
def select_top(stmt: Statement) -> None:
    toks = stmt.tokens
    for i, t in enumerate(toks):
        if t.word != "select":
            continue
        k = i + 1
        if k < len(toks) and toks[k].word in ("all", "distinct"):
            k += 1
        if k + 1 < len(toks) and toks[k].word == "top" and toks[k + 1].name == "ICONST":
            count = toks[k + 1].text
            end = _scope_end(toks, k + 2)
            # Redshift: TOP n is LIMIT n (DG:r_TOP_clause).
            stmt.replace(toks[k].start, toks[k + 1].end, "")
            at = toks[end - 1].end
            stmt.insert(at, f" LIMIT {count}")


@part.statement(
    "select",
    "with",
    "insert",
    "create",
    id="minus",
    page="r_UNION",
    does="`MINUS` is EXCEPT",
    fidelity=FULL,
    tests=(f"{_T}::test_redshift_semantics[minus]",),
    words=("minus",),
)
def minus(stmt: Statement) -> None:
    toks = stmt.tokens
    for i, t in enumerate(toks[:-1]):
        after = toks[i + 1]
        if (
            t.word == "minus"
            and t.name == "IDENT"
            and (after.word == "select" or after.text == "(")
        ):
            # Redshift: MINUS and EXCEPT are synonyms (DG:r_UNION).
            stmt.replace(t.start, t.end, "EXCEPT")


# ---------------------------------------------------------------------------------------
# Regular expressions: Redshift reads a backslash in a literal as an escape, so a pattern
# written '\\d' is the class \d (the examples of DG:REGEXP_COUNT and the other REGEXP pages;
# DG:pattern-matching-conditions-posix).

_REGEXP = {
    "regexp_count": (1,),
    "regexp_instr": (1,),
    "regexp_substr": (1,),
    "regexp_replace": (1, 2),
}


@part.node(
    ast.FuncCall,
    ast.A_Expr,
    id="regexp-backslashes",
    page="pattern-matching-conditions-posix",
    see=("REGEXP_COUNT", "REGEXP_SUBSTR", "REGEXP_REPLACE"),
    does="In a regular expression written as a literal, `\\\\` is one backslash: `'\\\\d'` is "
    "the class `\\d`, `'\\\\.'` a dot",
    fidelity=PARTLY,
    gap="only pattern literals of REGEXP_* and of `~` / `!~`; a lone backslash is kept",
    tests=(
        f"{_T}::test_redshift_semantics[regexp_digit_class]",
        f"{_T}::test_redshift_semantics[regexp_escaped_dot]",
        f"{_T}::test_redshift_semantics[regexp_replace_class]",
        f"{_T}::test_redshift_semantics[regex_operator_class]",
    ),
    screen="\\\\",
)
def regexp_backslashes(stmt: Statement, node: ast.FuncCall | ast.A_Expr) -> None:
    toks = stmt.tokens
    if isinstance(node, ast.FuncCall):
        fname = _single(node)
        if fname not in _REGEXP:
            return
        call = stmt.call(node)
        for n in _REGEXP[fname]:
            if n < len(call.args):
                _unescape(stmt, call.args[n])
        return
    ops = {n.sval for n in node.name or () if isinstance(n, ast.String)}
    if not ops & {"~", "!~", "~*", "!~*"} or node.rexpr is None:
        return
    # A_Const has no location: the pattern is the one string token right of the operator.
    i = stmt.token_index(stmt.position(node))
    if i + 1 < len(toks) and toks[i].text in ops and toks[i + 1].name == "SCONST":
        _unescape(stmt, (i + 1, i + 2))


def _unescape(stmt: Statement, arg: tuple[int, int]) -> None:
    first, past = arg
    if past - first != 1:
        return
    t = stmt.tokens[first]
    if t.name == "SCONST" and t.text.startswith("'") and "\\\\" in t.text:
        stmt.replace(t.start, t.end, t.text.replace("\\\\", "\\"))
