"""SQL snippets for Redshift (date/time functions, flush, names, adapters)."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DataError, NotSupportedError
from django.db.backends.postgresql.operations import DatabaseOperations as PGDatabaseOperations
from django.db.backends.postgresql.operations import get_json_dumps
from django.db.backends.utils import split_tzname_delta

from . import high_water
from .drivers.psycopg import SuperValue

if TYPE_CHECKING:
    from .base import DatabaseWrapper

# Redshift: VARCHAR(MAX) is 65,535 bytes (DG:r_Character_types).
VARCHAR_MAX_BYTES = 65535

TEXT_INTERNAL_TYPES = frozenset(
    {
        "CharField",
        "TextField",
        "SlugField",
        "FileField",
        "FilePathField",
        "UUIDField",
        "GenericIPAddressField",
        "IPAddressField",
        "EmailField",
        "URLField",
    }
)


class DatabaseOperations(PGDatabaseOperations):
    connection: DatabaseWrapper

    compiler_module = "redshift_async_backend.compiler"
    # CAST(x AS varchar) would be VARCHAR(256) (DG:r_Character_types).
    cast_char_field_without_max_length = "varchar(max)"
    cast_data_types = {
        "AutoField": "integer",
        "BigAutoField": "bigint",
        "SmallAutoField": "integer",
    }
    explain_prefix = "EXPLAIN"
    explain_options = frozenset({"VERBOSE"})

    # -- names and types ----------------------------------------------------------------

    def max_name_length(self) -> int:
        # Redshift: identifiers up to 127 bytes, longer ones silently truncated (DG:r_names).
        return 127

    def unification_cast_sql(self, output_field: Any) -> str:
        # PostgreSQL's casts to the type's name without its length (uuid, inet); here a
        # UUIDField is CHAR(36), and CHAR alone is CHAR(1) (DG:r_Character_types).
        if output_field.get_internal_type() == "UUIDField":
            return "CAST(%s AS " + output_field.db_type(self.connection) + ")"
        return super().unification_cast_sql(output_field)

    def varchar_length(self, max_length: int | None) -> int:
        """Bytes for a CharField of ``max_length`` characters (Redshift counts bytes).

        ``OPTIONS["varchar_bytes_per_char"]``, else the prior art's
        ``settings.REDSHIFT_VARCHAR_LENGTH_MULTIPLIER``, else 1; capped at 65535
        (DG:r_Character_types). ``None`` means VARCHAR(MAX).
        """
        if max_length is None:
            return VARCHAR_MAX_BYTES
        per_char = self.connection.redshift_options.varchar_bytes_per_char or 1
        return min(max_length * per_char, VARCHAR_MAX_BYTES)

    # -- dates and times ----------------------------------------------------------------
    # DG:r_EXTRACT_function, DG:r_DATE_TRUNC, DG:CONVERT_TIMEZONE. EXTRACT is cast to
    # INTEGER: Redshift returns DOUBLE for TIMESTAMPTZ input.

    def _extract(self, part: str, sql: str) -> str:
        return f"CAST(EXTRACT({part} FROM {sql}) AS INTEGER)"

    def date_extract_sql(self, lookup_type: str, sql: str, params: Any) -> tuple[str, Any]:
        if lookup_type == "week_day":
            # Django: Sunday=1 .. Saturday=7; Redshift DOW: Sunday=0.
            return f"({self._extract('DOW', sql)} + 1)", params
        if lookup_type == "iso_week_day":
            return f"(({self._extract('DOW', sql)} + 6) %% 7 + 1)", params
        if lookup_type == "iso_year":
            # DG:r_FORMAT_strings: IYYY is the ISO 8601 year.
            return f"CAST(TO_CHAR({sql}, 'IYYY') AS INTEGER)", params
        if lookup_type == "second":
            return f"CAST(FLOOR(EXTRACT(SECOND FROM {sql})) AS INTEGER)", params
        part = lookup_type.upper()
        if not self._extract_format_re.fullmatch(part):  # type: ignore[attr-defined]  # private
            raise ValueError(f"Invalid lookup type: {lookup_type!r}")
        if part == "EPOCH":
            return f"EXTRACT(EPOCH FROM {sql})", params
        return self._extract(part, sql), params

    def _convert_sql_to_tz(self, sql: str, params: Any, tzname: str | None) -> tuple[str, Any]:
        if tzname and settings.USE_TZ:
            # Sessions run in UTC (base.py), so the timestamptz reads as UTC wall time.
            return (
                f"CONVERT_TIMEZONE('UTC', %s, {sql})",
                (self._prepare_tzname_delta(tzname), *params),
            )
        return sql, params

    def _prepare_tzname_delta(self, tzname: str) -> str:
        # CONVERT_TIMEZONE reads 'UTC+03' POSIX-style, like PostgreSQL (DG:CONVERT_TIMEZONE).
        name, sign, offset = split_tzname_delta(tzname)
        if offset:
            return f"{name}{'-' if sign == '+' else '+'}{offset}"
        return tzname

    _TRUNC_KINDS = frozenset(
        {"year", "quarter", "month", "week", "day", "hour", "minute", "second"}
    )

    def _check_trunc_kind(self, lookup_type: str) -> None:
        # Django's kinds only; anything else never reaches the SQL (DG:r_DATE_TRUNC). A
        # DataError, as the server gives for a date part it does not know.
        if lookup_type.lower() not in self._TRUNC_KINDS:
            raise DataError(f"Invalid date part for DATE_TRUNC: {lookup_type!r}")

    def date_trunc_sql(
        self, lookup_type: str, sql: str, params: Any, tzname: str | None = None
    ) -> tuple[str, Any]:
        self._check_trunc_kind(lookup_type)
        sql, params = self._convert_sql_to_tz(sql, params, tzname)
        return f"CAST(DATE_TRUNC(%s, {sql}) AS DATE)", (lookup_type, *params)

    def datetime_cast_date_sql(self, sql: str, params: Any, tzname: str | None) -> tuple[str, Any]:
        sql, params = self._convert_sql_to_tz(sql, params, tzname)
        return f"CAST({sql} AS DATE)", params

    def datetime_cast_time_sql(self, sql: str, params: Any, tzname: str | None) -> tuple[str, Any]:
        sql, params = self._convert_sql_to_tz(sql, params, tzname)
        return f"CAST({sql} AS TIME)", params

    def datetime_extract_sql(
        self, lookup_type: str, sql: str, params: Any, tzname: str | None
    ) -> tuple[str, Any]:
        sql, params = self._convert_sql_to_tz(sql, params, tzname)
        return self.date_extract_sql(lookup_type, sql, params)

    # datetime_trunc_sql, time_extract_sql and time_trunc_sql return (sql, params) since
    # Django 4.1; django-stubs still say str.
    def datetime_trunc_sql(  # type: ignore[override]
        self, lookup_type: str, sql: str, params: Any, tzname: str | None
    ) -> tuple[str, Any]:
        self._check_trunc_kind(lookup_type)
        sql, params = self._convert_sql_to_tz(sql, params, tzname)
        return f"DATE_TRUNC(%s, {sql})", (lookup_type, *params)

    def time_extract_sql(  # type: ignore[override]
        self, lookup_type: str, sql: str, params: Any
    ) -> tuple[str, Any]:
        return self.date_extract_sql(lookup_type, sql, params)

    def time_trunc_sql(  # type: ignore[override]
        self, lookup_type: str, sql: str, params: Any, tzname: str | None = None
    ) -> tuple[str, Any]:
        self._check_trunc_kind(lookup_type)
        sql, params = self._convert_sql_to_tz(sql, params, tzname)
        # DATE_TRUNC takes a timestamp: put the time on a fixed day and cut it back out.
        return (
            f"CAST(DATE_TRUNC(%s, DATE '2000-01-01' + CAST({sql} AS TIME)) AS TIME)",
            (lookup_type, *params),
        )

    def subtract_temporals(self, internal_type: str, lhs: Any, rhs: Any) -> tuple[str, Any]:
        # Durations are bigint microseconds; DATEDIFF returns BIGINT (DG:r_DATEDIFF_function).
        lhs_sql, lhs_params = lhs
        rhs_sql, rhs_params = rhs
        return (
            f"DATEDIFF(microsecond, {rhs_sql}, {lhs_sql})",
            (*rhs_params, *lhs_params),
        )

    # -- lookups ------------------------------------------------------------------------

    def lookup_cast(self, lookup_type: str, internal_type: str | None = None) -> str:
        lookup = "%s"
        if (
            lookup_type
            in (
                "iexact",
                "contains",
                "icontains",
                "startswith",
                "istartswith",
                "endswith",
                "iendswith",
                "regex",
                "iregex",
            )
            and internal_type not in TEXT_INTERNAL_TYPES
        ):
            lookup = "CAST(%s AS VARCHAR(MAX))"
        if lookup_type in ("iexact", "icontains", "istartswith", "iendswith"):
            lookup = f"UPPER({lookup})"
        return lookup

    def regex_lookup(self, lookup_type: str) -> str:
        # No ~* in Redshift; REGEXP_COUNT takes the 'i' flag
        # (DG:pattern-matching-conditions-posix, DG:REGEXP_COUNT).
        if lookup_type == "regex":
            return "%s ~ %s"
        return "REGEXP_COUNT(%s, %s, 1, 'i') > 0"

    def distinct_sql(self, fields: Sequence[str], params: Any) -> tuple[list[str], list[Any]]:
        if fields:
            raise NotSupportedError(
                "DISTINCT ON fields is not supported by Redshift (DG:r_SELECT_list); use "
                "a window function such as ROW_NUMBER() instead."
            )
        return ["DISTINCT"], []

    def window_frame_range_start_end(self, start: Any = None, end: Any = None) -> Any:
        # Django's checks of the values come first (ValueError, then NotSupportedError for
        # n PRECEDING / n FOLLOWING); the RANGE frames ROWS can say exactly never get here
        # (functions._window).
        super().window_frame_range_start_end(start, end)
        raise NotSupportedError(
            "Redshift window frames are ROWS only (DG:c_Window_functions): use RowRange, "
            "not ValueRange."
        )

    def deferrable_sql(self) -> str:
        return ""

    def on_conflict_suffix_sql(
        self, fields: Any, on_conflict: Any, update_fields: Any, unique_fields: Any
    ) -> str:
        if on_conflict:
            raise NotSupportedError(
                "Redshift has no INSERT ... ON CONFLICT (DG:r_INSERT_30); use MERGE."
            )
        return ""

    def return_insert_columns(self, fields: Any) -> tuple[str, tuple[Any, ...]]:
        return "", ()

    def explain_query_prefix(self, format: str | None = None, **options: Any) -> str:
        if format:
            # Django's message and exception for an unknown format: Redshift's EXPLAIN has
            # no FORMAT option (DG:r_EXPLAIN).
            raise ValueError(
                f"{format.upper()} is not a recognized format. "
                f"{self.connection.display_name} does not support any formats."
            )
        unknown = sorted(k for k in options if k.upper() not in self.explain_options)
        if unknown:
            raise ValueError("Unknown options: " + ", ".join(unknown))
        prefix = self.explain_prefix
        if options.get("verbose") or options.get("VERBOSE"):
            prefix += " VERBOSE"
        return prefix

    # -- inserts ------------------------------------------------------------------------

    def last_insert_id(self, cursor: Any, table_name: str, pk_name: str) -> Any:
        # Only reached with OPTIONS["last_insert_id"] = "max" (the prior art's way, racy
        # under concurrency); "lock" allocates pks in compiler.py.
        cursor.execute(f"SELECT MAX({self.quote_name(pk_name)}) FROM {self.quote_name(table_name)}")
        return cursor.fetchone()[0]

    def bulk_batch_size(self, fields: Sequence[Any], objs: Sequence[Any]) -> int:
        """Rows per INSERT: when the driver binds parameters server-side, within
        Redshift's 32,767 (DG:amazon-redshift-limits). psycopg quotes values into the
        text, so it has no such limit. The 16 MB statement limit (DG:r_INSERT_30) is kept
        by the insert compiler, which splits a batch by its values' size."""
        if not objs:
            return 1
        if not self.connection.driver.binds_server_side:
            return len(objs)
        n_fields = max(len(fields), 1)
        if not any(getattr(field, "primary_key", False) for field in fields):
            # Rows without their auto pk get one more column from the compiler ("lock"
            # mode allocates the pks: compiler.prepare_allocation).
            n_fields += 1
        return max(min(len(objs), self.connection.features.max_query_params // n_fields), 1)

    # -- flush and sequences ------------------------------------------------------------

    def sql_flush(
        self,
        style: Any,
        tables: Sequence[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        # Redshift: TRUNCATE takes one table and commits the current transaction
        # (DG:r_TRUNCATE). Inside an atomic block DELETE keeps the caller's transaction.
        if not tables:
            return []
        if self.connection.in_atomic_block:
            sql = [
                f"{style.SQL_KEYWORD('DELETE')} {style.SQL_KEYWORD('FROM')} "
                f"{style.SQL_FIELD(self.quote_name(t))};"
                for t in tables
            ]
        else:
            sql = [
                f"{style.SQL_KEYWORD('TRUNCATE')} {style.SQL_FIELD(self.quote_name(t))};"
                for t in tables
            ]
        if reset_sequences and high_water.exists(self.connection):
            # What a sequence reset is here: the tables' pks start again at 1.
            sql.append(high_water.reset_sql(tables) + ";")
        return sql

    def execute_sql_flush(self, sql_list: Iterable[str]) -> None:
        # Each TRUNCATE commits by itself, so no outer atomic block (Django wraps one).
        with self.connection.cursor() as cursor:
            for sql in sql_list:
                cursor.execute(sql)

    def sequence_reset_by_name_sql(self, style: Any, sequences: Any) -> list[str]:
        # No sequences (DG:c_unsupported-postgresql-features): what stands for one is the
        # tables' pk high-water marks (TransactionTestCase.reset_sequences).
        tables = [s["table"] for s in sequences]
        if tables and high_water.exists(self.connection):
            return [high_water.reset_sql(tables)]
        return []

    def sequence_reset_sql(self, style: Any, model_list: Any) -> list[str]:
        return []

    # -- adapters and converters --------------------------------------------------------

    def adapt_json_value(self, value: Any, encoder: Any) -> Any:
        # None here is JSON null (Value(None, JSONField())); Django keeps SQL NULL out of it.
        return SuperValue(get_json_dumps(encoder)(value))

    def adapt_ipaddressfield_value(self, value: Any) -> Any:
        return str(value) if value else None

    def get_db_converters(self, expression: Any) -> list[Callable[..., Any]]:
        converters = super().get_db_converters(expression)
        internal_type = expression.output_field.get_internal_type()
        if internal_type == "UUIDField":
            converters.append(self.convert_uuidfield_value)
        elif internal_type == "BinaryField":
            converters.append(self.convert_binaryfield_value)
        return converters

    def format_for_duration_arithmetic(self, sql: str) -> str:
        # Durations are already bigint microseconds (base.py data_types).
        return sql

    def convert_durationfield_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # AVG/SUM of the bigint microseconds come back as DECIMAL.
        if value is not None:
            return datetime.timedelta(microseconds=int(value))
        return value

    def convert_uuidfield_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is not None and not isinstance(value, uuid.UUID):
            value = uuid.UUID(value.strip())
        return value

    def convert_binaryfield_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # Redshift sends VARBYTE as hex text (DG:r_VARBYTE_type).
        if value is None or isinstance(value, bytes):
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        text = value[2:] if value.startswith("\\x") else value
        return bytes.fromhex(text)
