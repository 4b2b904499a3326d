"""Column rules of CREATE TABLE and ALTER TABLE ADD COLUMN that depend on the column's
type: which compression encodings a type takes, and which types can be a sort or
distribution key (the guide's "Compression encodings" and SUPER limitations pages). Called
from ddl.py's one walk over a table's columns; same part of the guide.
"""

from __future__ import annotations

from .errors import RedshiftError
from .source import Token

# The type families of the guide's table of encodings (DG:c_Compression_encodings).
_FAMILIES = {
    "smallint": "smallint", "int2": "smallint",
    "integer": "integer", "int": "integer", "int4": "integer",
    "bigint": "bigint", "int8": "bigint",
    "decimal": "decimal", "numeric": "decimal",
    "real": "real", "float4": "real",
    "double": "double", "float8": "double", "float": "double",
    "boolean": "boolean", "bool": "boolean",
    "char": "char", "character": "char", "nchar": "char", "bpchar": "char",
    "varchar": "varchar", "nvarchar": "varchar", "text": "varchar",
    "date": "date",
    "timestamp": "timestamp", "timestamptz": "timestamptz",
    "time": "time", "timetz": "timetz",
    "super": "super",
    "varbyte": "varbyte", "varbinary": "varbyte",
    "geometry": "geometry", "geography": "geography", "hllsketch": "hllsketch",
}  # fmt: skip

_INTS = {"smallint", "integer", "bigint"}
_NUMBERS = _INTS | {"decimal"}
_DATES = {"date", "timestamp", "timestamptz"}
_STRINGS = {"char", "varchar"}
_FLOATS = {"real", "double"}

# Redshift: the data types each encoding applies to (DG:c_Compression_encodings). RAW
# applies to every type.
ENCODINGS: dict[str, frozenset[str]] = {
    "az64": frozenset(_NUMBERS | _DATES),
    "bytedict": frozenset(_NUMBERS | _FLOATS | _STRINGS | _DATES),
    "delta": frozenset(_NUMBERS | {"date", "timestamp"}),
    "delta32k": frozenset({"integer", "bigint", "decimal", "date", "timestamp"}),
    "lzo": frozenset(_NUMBERS | _STRINGS | _DATES | {"super"}),
    "mostly8": frozenset(_NUMBERS),
    "mostly16": frozenset({"integer", "bigint", "decimal"}),
    "mostly32": frozenset({"bigint", "decimal"}),
    "runlength": frozenset(_NUMBERS | _FLOATS | {"boolean"} | _STRINGS | _DATES),
    "text255": frozenset({"varchar"}),
    "text32k": frozenset({"varchar"}),
    "zstd": frozenset(_NUMBERS | _FLOATS | {"boolean"} | _STRINGS | _DATES | {"super"}),
}
# The types the table lists: for the others (TIME, VARBYTE, GEOMETRY, ...) the guide's
# pages differ over time, so their encodings are not checked.
_LISTED = frozenset().union(*ENCODINGS.values())


def type_family(toks: list[Token]) -> str:
    """The family of the column type whose tokens these are ('' if unknown)."""
    words = [t.word for t in toks if t.word]
    if not words:
        return ""
    first = words[0]
    if first == "character" and "varying" in words[1:2]:
        return "varchar"
    if first == "binary" and "varying" in words[1:2]:
        return "varbyte"
    if first in ("timestamp", "time") and "with" in words[1:2]:
        return first + "tz"
    if first == "float" and len(toks) > 2 and toks[1].text == "(":
        return "real" if toks[2].text.isdigit() and int(toks[2].text) <= 24 else "double"
    return _FAMILIES.get(first, "")


def check_encoding(column: str, family: str, encoding: str) -> None:
    """Refuse an encoding Redshift does not have, or one the column's type does not take."""
    if encoding == "raw":
        return
    types = ENCODINGS.get(encoding)
    if types is None:
        raise RedshiftError(
            f'invalid encoding type "{encoding}" for column "{column}"',
            "42704",
            hint="Amazon Redshift's encodings: RAW, AZ64, BYTEDICT, DELTA, DELTA32K, LZO, "
            "MOSTLY8, MOSTLY16, MOSTLY32, RUNLENGTH, TEXT255, TEXT32K, ZSTD",
        )
    if family in _LISTED and family not in types:
        # Redshift: each encoding applies to the data types of DG:c_Compression_encodings.
        raise RedshiftError(
            f'encoding {encoding.upper()} is not valid for column "{column}" of type '
            f"{family.upper()}",
            "0A000",
        )


def check_keys(types: dict[str, str], keys: list[str]) -> None:
    """Refuse a SUPER column among the distribution and sort keys (DG:limitations-super)."""
    for key in keys:
        if types.get(key) == "super":
            raise RedshiftError(
                f'column "{key}" of type SUPER cannot be a DISTKEY or SORTKEY', "0A000"
            )
