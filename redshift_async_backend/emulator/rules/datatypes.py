"""Data types and their lengths (the guide's "Data types" and "Unsupported PostgreSQL data
types")."""

from __future__ import annotations

from pglast import ast

from ..catalog import SCHEMA
from .declare import FULL, PARTLY, STYLE, Part
from .errors import RedshiftError, syntax_error, unsupported
from .pipeline import Statement
from .source import Token, is_words, matching

part = Part("datatypes", "Data types", "Types, their spellings and their limits.", order=4)

# VARBYTE(MAX) / VARBINARY(MAX) need no edit of their own: column_type replaces the type.
_VARCHARS = ("varchar", "nvarchar")


@part.statement(
    id="varchar-max",
    page="r_Character_types",
    does="`VARCHAR(MAX)` (and `NVARCHAR`, `VARBYTE`, `VARBINARY`, `CHARACTER VARYING`) is "
    "the type's maximum length, 65535",
    fidelity=FULL,
    tests=(
        "tests/emulator/test_sql_rules.py::test_varchar_max_text_and_plain_varchar_sizes",
        "tests/emulator/test_suite_rules.py::test_svv_columns_shows_case_insensitive_columns_as_declared",
    ),
    words=("varchar", "nvarchar", "varying"),  # not "max": SELECT MAX(...) is everywhere
)
def varchar_max(stmt: Statement) -> None:
    toks = stmt.tokens
    for i, t in enumerate(toks):
        if t.word == "max" and i >= 2 and toks[i - 1].text == "(" and i + 1 < len(toks):
            prev = toks[i - 2].word
            if toks[i + 1].text == ")" and (
                prev in _VARCHARS or (prev == "varying" and toks[i - 3].word == "character")
            ):
                stmt.replace(t.start, t.end, "65535")


CHARACTER_TYPES = part.rule(
    id="character-type-spellings",
    page="r_Character_types",
    does="`TEXT` and `VARCHAR` without a length are `VARCHAR(256)`; `NVARCHAR`, `NCHAR` are "
    "`VARCHAR`, `CHAR`; `BPCHAR` is `CHAR(256)`",
    fidelity=FULL,
    tests=("tests/emulator/test_sql_rules.py::test_varchar_max_text_and_plain_varchar_sizes",),
)
SUPER_TYPE = part.rule(
    id="super-type",
    page="r_SUPER_type",
    does="`SUPER` holds semi-structured values (JSON documents)",
    fidelity=PARTLY,
    gap="a domain over text holding serialized JSON (what both drivers hand to Python); "
    "JSON_PARSE stores compact JSON in document order. PartiQL navigation (`col.key`, "
    "`col[0]`) is not emulated; a plain string inserted without JSON_PARSE is stored as "
    "text (JSON_SERIALIZE then quotes it unless it parses as JSON)",
    tests=(
        "tests/emulator/test_sql_rules.py::test_super_holds_json",
        "tests/emulator/test_rules.py::test_super_and_varbyte_types",
    ),
)
VARBYTE_TYPE = part.rule(
    id="varbyte-type",
    page="r_VARBYTE_type",
    does="`VARBYTE(n)` / `VARBINARY` / `BINARY VARYING` hold binary values of up to 1,024,000 "
    "bytes",
    fidelity=PARTLY,
    gap="a bytea domain with Redshift's 1,024,000-byte cap; the per-column `n` is not "
    "enforced; the result OID is bytea's",
    tests=(
        "tests/emulator/test_sql_rules.py::test_varbyte_and_timetz_columns",
        "tests/emulator/test_rules.py::test_super_and_varbyte_types",
    ),
)
part.rule(
    id="timetz-type",
    page="r_Datetime_types",
    does="`TIMETZ` is a time of day with a time zone",
    fidelity=FULL,
    gap="PostgreSQL's own type, unchanged",
    tests=("tests/emulator/test_sql_rules.py::test_varbyte_and_timetz_columns",),
)


# Redshift: the widest CHAR and VARCHAR, in bytes (DG:r_Character_types); DECIMAL's
# precision (DG:r_Numeric_types201).
MAX_CHAR = 4096
MAX_VARCHAR = 65535
MAX_PRECISION = 38
_LIMITS = {"bpchar": ("char", MAX_CHAR), "varchar": ("varchar", MAX_VARCHAR)}
# Redshift's spatial and HyperLogLog types (DG:GeometryType-function,
# DG:r_HLLSKETCH_type): domains of the emulator's schema.
SPATIAL_TYPES = ("geometry", "geography", "hllsketch")


def _typmods(node: ast.TypeName) -> list[int] | None:
    out: list[int] = []
    for mod in node.typmods or ():
        val = getattr(mod, "val", None)
        if not isinstance(val, ast.Integer) or val.ival is None:
            return None
        out.append(val.ival)
    return out


@part.node(
    ast.TypeName,
    id="type-limits",
    page="r_Character_types",
    see=("r_Numeric_types201",),
    does="`CHAR(n)` takes n <= 4096 and `VARCHAR(n)` n <= 65535, in DDL and casts",
    fidelity=FULL,
    answer="22023 length for type varchar cannot exceed 65535",
    source=STYLE,
    tests=(
        "tests/emulator/test_types_names.py::test_refused_like_redshift[varchar_too_wide]",
        "tests/emulator/test_types_names.py::test_refused_like_redshift[char_too_wide]",
        "tests/emulator/test_types_names.py::test_refused_like_redshift[cast_too_wide]",
        "tests/emulator/test_types_names.py::test_type_limits_and_defaults",
    ),
    words=("char", "character", "nchar", "bpchar", "varchar", "nvarchar", "varying"),
)
def type_limits(stmt: Statement, node: ast.TypeName) -> None:
    names = _type_names(node)
    limit = _LIMITS.get(names[-1]) if len(names) == 2 and names[0] == "pg_catalog" else None
    mods = _typmods(node) if limit else None
    if limit and mods and mods[0] > limit[1]:
        # Redshift: CHAR is at most 4096 bytes, VARCHAR 65535 (DG:r_Character_types).
        raise RedshiftError(
            f"length for type {limit[0]} cannot exceed {limit[1]}",
            "22023",
            hint=f"Amazon Redshift's {limit[0].upper()} is at most {limit[1]} bytes",
        )


@part.node(
    ast.TypeName,
    id="decimal-default-precision",
    page="r_Numeric_types201",
    does="`DECIMAL` / `NUMERIC` without a precision is `DECIMAL(18, 0)`; the precision is "
    "at most 38",
    fidelity=FULL,
    answer="22023 NUMERIC precision 39 must be between 1 and 38",
    source=STYLE,
    tests=(
        "tests/emulator/test_types_names.py::test_bare_decimal_is_18_0",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[bare_decimal]",
        "tests/emulator/test_types_names.py::test_refused_like_redshift[decimal_too_precise]",
        "tests/emulator/test_types_names.py::test_type_limits_and_defaults",
    ),
    words=("decimal", "numeric", "dec"),
)
def decimal_default(stmt: Statement, node: ast.TypeName) -> None:
    if _type_names(node) != ["pg_catalog", "numeric"] or node.arrayBounds:
        return
    mods = _typmods(node)
    if mods is None:
        return
    if not mods:
        toks = stmt.tokens
        i = stmt.token_index(stmt.position(node))
        if toks[i].word in ("decimal", "numeric", "dec"):
            # Redshift: DECIMAL without precision is DECIMAL(18, 0) (DG:r_Numeric_types201).
            stmt.insert(toks[i].end, "(18,0)")
    elif mods[0] > MAX_PRECISION:
        raise RedshiftError(
            f"NUMERIC precision {mods[0]} must be between 1 and {MAX_PRECISION}", "22023"
        )


SPATIAL = part.rule(
    id="geometry-geography-hllsketch",
    page="r_HLLSKETCH_type",
    see=("GeometryType-function", "c_Supported_data_types"),
    does="`GEOMETRY`, `GEOGRAPHY` and `HLLSKETCH` columns are accepted",
    fidelity=PARTLY,
    gap="domains over bytea (GEOMETRY, GEOGRAPHY) and text (HLLSKETCH): the columns exist and "
    "hold values, but no spatial or HLL function works on them",
    tests=("tests/emulator/test_types_names.py::test_geometry_geography_hllsketch_columns",),
)


def column_type(stmt: Statement, toks: list[Token], i: int) -> int:
    """Rewrite the type that starts at ``toks[i]`` (a column's, or a cast's); return the
    index past it."""
    w = toks[i].word
    has_len = i + 1 < len(toks) and toks[i + 1].text == "("
    end = matching(toks, i + 1) + 1 if has_len else i + 1
    if w in SPATIAL_TYPES and not has_len:
        stmt.replace(toks[i].start, toks[i].end, f"{SCHEMA}.{w}")
        return end
    if w == "binary" and is_words(toks, i + 1, "varying"):
        w, end = "varbinary", i + 2
        has_len = end < len(toks) and toks[end].text == "("
        if has_len:
            end = matching(toks, end) + 1
    if w == "character" and is_words(toks, i + 1, "varying"):
        has_len = i + 2 < len(toks) and toks[i + 2].text == "("
        if not has_len:
            stmt.replace(toks[i].start, toks[i + 1].end, "varchar(256)")
        return matching(toks, i + 2) + 1 if has_len else i + 2
    # Redshift (DG:r_Character_types): TEXT is VARCHAR(256); VARCHAR without a length is
    # VARCHAR(256); NVARCHAR/NCHAR are VARCHAR/CHAR; BPCHAR is CHAR(256).
    if w in ("text", "varchar", "nvarchar") and not has_len:
        stmt.replace(toks[i].start, toks[i].end, "varchar(256)")
    elif w == "nvarchar":
        stmt.replace(toks[i].start, toks[i].end, "varchar")
    elif w == "nchar":
        stmt.replace(toks[i].start, toks[i].end, "char")
    elif w == "bpchar" and not has_len:
        stmt.replace(toks[i].start, toks[i].end, "char(256)")
    elif w in ("varbyte", "varbinary"):
        # Redshift: DG:r_VARBYTE_type. A domain takes no length; the domain's CHECK holds
        # Redshift's 1,024,000 maximum.
        stmt.replace(toks[i].start, toks[end - 1].end, f"{SCHEMA}.varbyte")
    elif w == "super":
        # Redshift: DG:r_SUPER_type.
        stmt.replace(toks[i].start, toks[i].end, f"{SCHEMA}.super")
    return end


_CAST_TYPES = ("super", "varbyte", "varbinary", "nvarchar", "nchar", *SPATIAL_TYPES)


@part.statement(
    id="redshift-types-in-casts",
    page="r_CAST_function",
    does="Redshift's type names (`SUPER`, `VARBYTE`, `NVARCHAR`, ...) can be cast to with "
    "`::` and `CAST(... AS ...)`",
    fidelity=FULL,
    tests=("tests/emulator/test_rules.py::test_super_and_varbyte_types",),
    words=(*_CAST_TYPES, "binary"),
)
def cast_types(stmt: Statement) -> None:
    toks = stmt.tokens
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
            if after in _CAST_TYPES or (after == "binary" and is_words(toks, i + 2, "varying")):
                column_type(stmt, toks, i + 1)


# ---------------------------------------------------------------------------------------
# Types Redshift does not have

_REFUSED_TYPES = {
    # Redshift: DG:c_unsupported-postgresql-datatypes.
    "uuid", "json", "jsonb", "inet", "cidr", "bytea", "money", "xml", "macaddr", "macaddr8",
    "hstore", "tsvector", "tsquery", "bit", "varbit", "txid_snapshot", "point", "line",
    "lseg", "box", "path", "polygon", "circle", "int4range", "int8range", "numrange",
    "tsrange", "tstzrange", "daterange",
}  # fmt: skip
_SERIAL = {"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"}


def _type_names(node: ast.TypeName) -> list[str]:
    return [n.sval or "" for n in node.names or () if isinstance(n, ast.String)]


@part.node(
    ast.TypeName,
    id="no-serial-types",
    page="c_unsupported-postgresql-datatypes",
    does="No serial types (`SERIAL`, `BIGSERIAL`, ...): IDENTITY columns instead",
    fidelity=FULL,
    answer='42704 type "serial" does not exist',
    source=STYLE,
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[serial]",
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[bigserial]",
    ),
    words=tuple(sorted(_SERIAL)),
)
def no_serial(stmt: Statement, node: ast.TypeName) -> None:
    names = _type_names(node)
    last = names[-1].lower() if names else ""
    if last in _SERIAL:
        raise RedshiftError(
            f'type "{last}" does not exist',
            "42704",
            hint="Amazon Redshift has no serial types; use IDENTITY(seed, step)",
        )


@part.node(
    ast.TypeName,
    id="no-postgresql-only-types",
    page="c_unsupported-postgresql-datatypes",
    does="PostgreSQL types Redshift lacks (uuid, json, jsonb, inet, cidr, bytea, money, xml, "
    "geometric, range, bit-string, text-search types) are refused, in DDL and in casts",
    fidelity=FULL,
    answer='42704 type "uuid" does not exist',
    source=STYLE,
    tests=tuple(
        f"tests/emulator/test_sql_rules.py::test_refused_like_redshift[{k}]"
        for k in ("uuid", "json", "jsonb", "inet", "cidr", "bytea", "money", "xml", "uuid_cast")
    ),
    words=tuple(sorted(_REFUSED_TYPES)),
)
def no_postgresql_only_types(stmt: Statement, node: ast.TypeName) -> None:
    names = _type_names(node)
    last = names[-1].lower() if names else ""
    if last in _REFUSED_TYPES and (len(names) == 1 or names[0] == "pg_catalog"):
        raise RedshiftError(
            f'type "{last}" does not exist',
            "42704",
            hint=f"Amazon Redshift has no {last} type (DG:c_unsupported-postgresql-datatypes)",
        )


@part.node(
    ast.TypeName,
    id="no-array-types",
    page="c_unsupported-postgresql-datatypes",
    does="No array types",
    fidelity=FULL,
    answer='42601 syntax error at or near "["',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[array]",),
    words=("[",),
)
def no_arrays(stmt: Statement, node: ast.TypeName) -> None:
    if node.arrayBounds:
        raise syntax_error("[", "Amazon Redshift has no array types")


LENGTHS_IN_BYTES = part.rule(
    id="lengths-in-bytes",
    page="r_Character_types",
    does="`VARCHAR(n)` and `CHAR(n)` hold n bytes of UTF-8 (a 3-byte character does not fit "
    "in `VARCHAR(2)`: `value too long for type character varying(2)`); `CHAR` holds "
    "single-byte characters only",
    fidelity=PARTLY,
    gap="checked at the row by a trigger the DDL event trigger writes (emulator/lengths.py); "
    "the rows CREATE TABLE AS writes are not checked, and an explicit cast "
    "(`'€'::varchar(2)`) truncates by characters as PostgreSQL does",
    answer="22001 value too long for type character varying(2)",
    source="PostgreSQL's text, which Redshift's is too; for CHAR Redshift's load error text",
    tests=(
        "tests/emulator/test_types_names.py::test_lengths_are_bytes",
        "tests/emulator/test_types_names.py::test_byte_lengths_follow_alter_table",
        "tests/emulator/test_types_names.py::test_a_referenced_table_with_a_length_check_truncates",
    ),
)


@part.node(
    ast.A_ArrayExpr,
    id="no-array-constructor",
    page="c_unsupported-postgresql-datatypes",
    does="No `ARRAY[...]` constructor (Redshift has no array types; SUPER arrays are built "
    "with the ARRAY() function)",
    fidelity=FULL,
    answer='42601 syntax error at or near "["',
    source=STYLE,
    tests=("tests/emulator/test_types_names.py::test_refused_like_redshift[array_constructor]",),
    words=("[",),
)
def no_array_constructor(stmt: Statement, node: ast.A_ArrayExpr) -> None:
    raise syntax_error("[", "Amazon Redshift has no array types: no ARRAY[...] constructor")


@part.node(
    ast.RowExpr,
    id="no-row-constructor",
    page="c_unsupported-postgresql-datatypes",
    does="No `ROW(...)` constructor (Redshift has no row types)",
    fidelity=FULL,
    answer="0A000 ROW(...) constructors is not supported",
    source=STYLE,
    tests=("tests/emulator/test_types_names.py::test_refused_like_redshift[row_constructor]",),
    words=("row",),
)
def no_row_constructor(stmt: Statement, node: ast.RowExpr) -> None:
    toks = stmt.tokens
    i = stmt.token_index(stmt.position(node))
    if toks[i].word == "row":
        raise unsupported("ROW(...) constructors", "Amazon Redshift has no row types")


part.not_emulated(
    id="trailing-blanks-insignificant",
    page="r_Character_types",
    does="Trailing blanks are insignificant when VARCHAR values are compared: `'a ' = 'a'`",
    gap="PostgreSQL compares VARCHAR with its trailing blanks (`'a '::varchar = 'a'` is false "
    "here); an operator of the emulator's own would change every comparison's plan, "
    "indexes, GROUP BY and DISTINCT apart. CHAR values compare without them, as on Redshift",
)
