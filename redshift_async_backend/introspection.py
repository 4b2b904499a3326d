"""Introspection from Redshift's catalog (DG:r_PG_TABLE_DEF, DG:r_SVV_COLUMNS,
information_schema; redshift-sql.md §5.4).

Only catalog queries: no ``SELECT * FROM <user table> LIMIT 1`` (the prior art's way to
get ``cursor.description``), and nothing Redshift's 8.0-era pg_catalog lacks (unnest WITH
ORDINALITY, array_agg, attidentity, pg_collation, pg_am).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db.backends.base.introspection import BaseDatabaseIntrospection
from django.db.backends.postgresql.introspection import (
    DatabaseIntrospection as PGDatabaseIntrospection,
)
from django.db.backends.postgresql.introspection import TableInfo
from django.db.backends.utils import strip_quotes

if TYPE_CHECKING:
    from .base import DatabaseWrapper


class RedshiftFieldInfo(NamedTuple):
    # Django's FieldInfo fields, then PostgreSQL's two, then Redshift's keys.
    name: str
    type_code: Any
    display_size: int | None
    internal_size: int | None
    precision: int | None
    scale: int | None
    null_ok: bool
    default: str | None
    collation: str | None
    is_autofield: bool
    comment: str | None
    distkey: bool
    sortkey: int


# Redshift shows an identity column's default as "identity"(oid, 0, '1,1'::text)
# (redshift-sql.md §2.1).
_IDENTITY_RE = re.compile(r'"?identity"?\s*\(', re.IGNORECASE)


def run_catalog_query(cursor: Any, sql: str, names: Sequence[str]) -> None:
    """A catalog query with the names it looks up written into it as string literals.

    Identifiers are not user data; writing them into the text gives both drivers the same
    statement (psycopg binds client-side anyway), and lets the emulator map a name over
    PostgreSQL's 63 bytes (Redshift allows 127, DG:r_names) wherever it appears.
    """
    literals = iter("'" + name.replace("'", "''") + "'" for name in names)
    cursor.execute(re.sub(r"%s", lambda _: next(literals), sql))


def base_type(type_name: str) -> str:
    """``character varying(10)`` -> ``character varying``."""
    return type_name.split("(", 1)[0].strip().lower()


class DatabaseIntrospection(PGDatabaseIntrospection):
    connection: DatabaseWrapper

    # Keyed by type name (svv_columns.data_type / pg_table_def.type), not OID as the
    # PostgreSQL parent (and its stub) has it.
    data_types_reverse: dict[str, str] = {  # type: ignore[assignment]
        "boolean": "BooleanField",
        "smallint": "SmallIntegerField",
        "integer": "IntegerField",
        "bigint": "BigIntegerField",
        "real": "FloatField",
        "double precision": "FloatField",
        "numeric": "DecimalField",
        "character": "CharField",
        "char": "CharField",
        "bpchar": "CharField",
        "character varying": "CharField",
        "varchar": "CharField",
        "text": "TextField",
        "date": "DateField",
        "time without time zone": "TimeField",
        "time": "TimeField",
        "time with time zone": "TimeField",
        "timetz": "TimeField",
        "timestamp without time zone": "DateTimeField",
        "timestamp": "DateTimeField",
        "timestamp with time zone": "DateTimeField",
        "timestamptz": "DateTimeField",
        "super": "JSONField",
        "varbyte": "BinaryField",
        "binary varying": "BinaryField",
        "bytea": "BinaryField",
    }

    def get_field_type(self, data_type: Any, description: Any) -> str:
        name = base_type(str(data_type))
        field_type = self.data_types_reverse.get(name)
        if field_type is None:
            return BaseDatabaseIntrospection.get_field_type(self, name, description)
        if description.is_autofield or (
            description.default and _IDENTITY_RE.search(str(description.default))
        ):
            if field_type == "BigIntegerField":
                return "BigAutoField"
            return "AutoField"
        if field_type == "CharField" and description.internal_size == 65535:
            return "TextField"
        return field_type

    # PostgreSQL's TableInfo (with comment), as Django's own backend returns it.
    def get_table_list(self, cursor: Any) -> list[TableInfo]:  # type: ignore[override]
        cursor.execute(
            """
            SELECT c.relname,
                   CASE WHEN c.relkind = 'v' THEN 'v' ELSE 't' END,
                   d.description
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_catalog.pg_description d
                     ON d.objoid = c.oid AND d.objsubid = 0
             WHERE c.relkind IN ('r', 'v')
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast',
                                     'redshift_emulator')
               AND n.nspname NOT LIKE 'pg_temp%%'
               AND pg_catalog.pg_table_is_visible(c.oid)
            """
        )
        return [TableInfo(*row) for row in cursor.fetchall()]

    def _table_schema(self, cursor: Any, table_name: str) -> str | None:
        run_catalog_query(
            cursor,
            """
            SELECT n.nspname FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relname = %s AND pg_catalog.pg_table_is_visible(c.oid)
            """,
            [table_name],
        )
        row = cursor.fetchone()
        return row[0] if row else None

    def _table_keys(self, cursor: Any, schema: str, table_name: str) -> dict[str, tuple[bool, int]]:
        # DISTKEY / SORTKEY per column (DG:r_PG_TABLE_DEF; search_path tables only).
        run_catalog_query(
            cursor,
            'SELECT "column", distkey, sortkey FROM pg_table_def '
            "WHERE schemaname = %s AND tablename = %s",
            [schema, table_name],
        )
        return {name: (bool(dist), int(sort or 0)) for name, dist, sort in cursor.fetchall()}

    def get_table_description(self, cursor: Any, table_name: str) -> list[Any]:
        table_name = strip_quotes(table_name)  # Meta.db_table = '"name"'
        schema = self._table_schema(cursor, table_name)
        if schema is None:
            # As Django's other backends do for a table that is not there.
            from django.db import ProgrammingError

            raise ProgrammingError(f'relation "{table_name}" does not exist')
        keys = self._table_keys(cursor, schema, table_name)
        run_catalog_query(
            cursor,
            """
            SELECT column_name, data_type, character_maximum_length, numeric_precision,
                   numeric_scale, is_nullable, column_default, remarks, collation_name
              FROM svv_columns
             WHERE table_schema = %s AND table_name = %s
             ORDER BY ordinal_position
            """,
            [schema, table_name],
        )
        result = []
        for (
            name,
            data_type,
            max_len,
            precision,
            scale,
            nullable,
            default,
            comment,
            collation,
        ) in cursor.fetchall():
            distkey, sortkey = keys.get(name, (False, 0))
            is_auto = bool(default and _IDENTITY_RE.search(default))
            result.append(
                RedshiftFieldInfo(
                    name,
                    data_type,
                    self._display_size(max_len),
                    max_len,
                    precision,
                    scale,
                    nullable == "YES",
                    None if is_auto else default,
                    # SVV_COLUMNS.collation_name (DG:r_SVV_COLUMNS): Redshift's two
                    # collations; the database default reads as None, as in Django.
                    collation if collation in ("case_sensitive", "case_insensitive") else None,
                    is_auto,
                    comment,
                    distkey,
                    sortkey,
                )
            )
        return result

    def _display_size(self, max_len: int | None) -> int | None:
        """A character column's length in characters, as Django's max_length means it.

        SVV_COLUMNS gives a VARCHAR's declared length, which Redshift counts in bytes
        (DG:r_SVV_COLUMNS, DG:r_Character_types); the schema editor declares a CharField
        of n characters as n * varchar_bytes_per_char bytes (ops.varchar_length), so this
        is the inverse, rounded up so that the column it implies is never shorter.
        """
        if max_len is None:
            return None
        per_char = self.connection.redshift_options.varchar_bytes_per_char or 1
        return -(-int(max_len) // per_char)

    def get_sequences(self, cursor: Any, table_name: str, table_fields: Any = ()) -> list[Any]:
        # No sequences on Redshift; identity columns are reported like PostgreSQL's.
        for info in self.get_table_description(cursor, table_name):
            if info.is_autofield:
                return [{"name": None, "table": table_name, "column": info.name}]
        return []

    def get_relations(self, cursor: Any, table_name: str) -> dict[str, tuple[str, str]]:
        return {
            columns[0]: info["foreign_key"][::-1]
            for info in self.get_constraints(cursor, table_name).values()
            if info["foreign_key"] and (columns := info["columns"])
        }

    # Entries may carry an extra "interleaved" key (SORTKEY), beyond the stub's TypedDict.
    def get_constraints(  # type: ignore[override]
        self, cursor: Any, table_name: str
    ) -> dict[str, dict[str, Any]]:
        table_name = strip_quotes(table_name)  # Meta.db_table = '"name"'
        schema = self._table_schema(cursor, table_name)
        if schema is None:
            return {}
        constraints: dict[str, dict[str, Any]] = {}
        run_catalog_query(
            cursor,
            """
            SELECT tc.constraint_name, tc.constraint_type, kcu.column_name
              FROM information_schema.table_constraints tc
              JOIN information_schema.key_column_usage kcu
                ON kcu.constraint_schema = tc.constraint_schema
               AND kcu.constraint_name = tc.constraint_name
               AND kcu.table_name = tc.table_name
             WHERE tc.table_schema = %s AND tc.table_name = %s
               AND tc.constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY')
             ORDER BY tc.constraint_name, kcu.ordinal_position
            """,
            [schema, table_name],
        )
        for name, kind, column in cursor.fetchall():
            entry = constraints.setdefault(
                name,
                {
                    "columns": [],
                    "primary_key": kind == "PRIMARY KEY",
                    "unique": kind in ("PRIMARY KEY", "UNIQUE"),
                    "foreign_key": None,
                    "check": False,
                    "index": False,
                    "definition": None,
                    "options": None,
                },
            )
            entry["columns"].append(column)
        foreign = [name for name, info in constraints.items() if not info["unique"]]
        if foreign:
            run_catalog_query(
                cursor,
                """
                SELECT ccu.constraint_name, ccu.table_name, ccu.column_name
                  FROM information_schema.constraint_column_usage ccu
                 WHERE ccu.constraint_schema = %s AND ccu.constraint_name IN ({})
                """.format(", ".join(["%s"] * len(foreign))),
                [schema, *foreign],
            )
            for name, ref_table, ref_column in cursor.fetchall():
                constraints[name]["foreign_key"] = (ref_table, ref_column)
        keys = self._table_keys(cursor, schema, table_name)
        distkey = [col for col, (dist, _) in keys.items() if dist]
        sort = sorted((abs(order), order < 0, col) for col, (_, order) in keys.items() if order)
        if distkey:
            constraints[f"{table_name}_distkey"] = self._key_entry(distkey, "distkey")
        if sort:
            entry = self._key_entry([col for _, _, col in sort], "sortkey")
            entry["interleaved"] = any(interleaved for _, interleaved, _ in sort)
            constraints[f"{table_name}_sortkey"] = entry
        return constraints

    @staticmethod
    def _key_entry(columns: list[str], kind: str) -> dict[str, Any]:
        # Reported as an index of type "distkey"/"sortkey"; the inspectdb command turns
        # them into DistKey/SortKey in Meta.indexes.
        return {
            "columns": columns,
            "primary_key": False,
            "unique": False,
            "foreign_key": None,
            "check": False,
            "index": True,
            "type": kind,
            "orders": [],
            "definition": None,
            "options": None,
        }
