"""``as_redshift`` for Django expressions whose generic SQL Redshift does not accept.

With ``vendor = "redshift"`` Django skips every ``as_postgresql`` (django-internals.md §1),
so each expression either gets the PostgreSQL variant back, or SQL written for Redshift.
Imported by ``base.py``; registration is idempotent.
"""

from __future__ import annotations

from typing import Any

from django.db.models import DecimalField, FloatField, Func, TextField, Value, Window
from django.db.models.expressions import ExpressionList, OrderBy, RowRange, ValueRange
from django.db.models.functions import (
    SHA224,
    SHA256,
    SHA384,
    SHA512,
    Cast,
    Coalesce,
    Collate,
    ConcatPair,
    FirstValue,
    LastValue,
    Log,
    Mod,
    Now,
    NthValue,
    StrIndex,
)


def _now(self: Now, compiler: Any, connection: Any, **extra: Any) -> Any:
    # NOW()/CURRENT_TIMESTAMP are leader-node only (DG:Date_functions_header); GETDATE()
    # is the statement's start time in UTC.
    return self.as_sql(compiler, connection, template="GETDATE()", **extra)


def _concat_pair(self: ConcatPair, compiler: Any, connection: Any, **extra: Any) -> Any:
    # CONCAT takes exactly two arguments and propagates NULL (DG:r_CONCAT); Django treats
    # NULL as ''.
    copy = self.copy()
    copy.set_source_expressions(
        [Coalesce(Cast(e, TextField()), Value("")) for e in copy.get_source_expressions()]
    )
    return Func.as_sql(copy, compiler, connection, function="CONCAT", **extra)


def _sha2(bits: int) -> Any:
    def as_redshift(self: Func, compiler: Any, connection: Any, **extra: Any) -> Any:
        # DG:SHA2: SHA2(string, bits).
        return self.as_sql(compiler, connection, template=f"SHA2(%(expressions)s, {bits})", **extra)

    return as_redshift


def _log(self: Log, compiler: Any, connection: Any, **extra: Any) -> Any:
    # Redshift's LOG() is base 10 and leader-node only (DG:c_SQL_functions_leader_node_only).
    base, number = self.get_source_expressions()
    base_sql, base_params = compiler.compile(base)
    number_sql, number_params = compiler.compile(number)
    return f"(LN({number_sql}) / LN({base_sql}))", (*number_params, *base_params)


def _mod(self: Mod, compiler: Any, connection: Any, **extra: Any) -> Any:
    # Redshift: MOD takes INTEGER, SMALLINT, BIGINT or DECIMAL arguments (DG:r_MOD); a
    # float is cast to the widest DECIMAL (38 digits, DG:r_Numeric_types201).
    copy = self.copy()
    copy.set_source_expressions(
        [
            Cast(e, DecimalField(max_digits=38, decimal_places=15))
            if isinstance(e.output_field, FloatField)
            else e
            for e in copy.get_source_expressions()
        ]
    )
    return copy.as_sql(compiler, connection, **extra)


def _collate(self: Any, compiler: Any, connection: Any, **extra: Any) -> Any:
    # Redshift has only its two collations, as a function: COLLATE(string, 'case_sensitive'
    # | 'cs' | 'case_insensitive' | 'ci') (DG:r_COLLATE); no `expr COLLATE name`.
    from django.db import NotSupportedError

    name = self.collation.lower()
    if name not in ("case_sensitive", "cs", "case_insensitive", "ci"):
        raise NotSupportedError(
            f"Redshift has no collation {self.collation!r}: COLLATE() takes "
            "'case_sensitive' or 'case_insensitive' (DG:r_COLLATE)."
        )
    return Func.as_sql(
        self, compiler, connection, template=f"COLLATE(%(expressions)s, '{name}')", **extra
    )


_FRAME_REQUIRED = (FirstValue, LastValue, NthValue)


def _is_unbounded_or_current(value: Any) -> bool:
    return value is None or (type(value) is int and value == 0)


def _all_rows_are_peers(window: Any) -> bool:
    """True when every row of a partition is a peer of every other for ``window``.

    That is when it has no ORDER BY, or orders only by expressions it also partitions by
    (each partition then holds one value of each ORDER BY key).
    """
    if window.order_by is None:
        return True
    partition = window.partition_by.get_source_expressions() if window.partition_by else []
    for item in window.order_by.get_source_expressions():
        key = item.expression if isinstance(item, OrderBy) else item
        if key not in partition:
            return False
    return True


def _is_constant(expression: Any) -> bool:
    """A Value, or a function of Values only: the same for every row."""
    if isinstance(expression, Value):
        return True
    sources = expression.get_source_expressions() if isinstance(expression, Func) else []
    return bool(sources) and all(_is_constant(e) for e in sources)


def _without_constant_partitions(window: Any) -> Any:
    """``window`` without the PARTITION BY expressions that are constants: Redshift refuses
    them ("constant expressions are not supported in partition by clauses",
    DG:r_Window_function_synopsis), and a constant puts every row in one partition anyway."""
    if window.partition_by is None:
        return window
    keys = window.partition_by.get_source_expressions()
    kept = [e for e in keys if not _is_constant(e)]
    if len(kept) == len(keys):
        return window
    copy = window.copy()
    copy.partition_by = ExpressionList(*kept) if kept else None
    return copy


# self: a Window; Any, as django-stubs omit Window.source_expression and Window.frame.
def _window(self: Any, compiler: Any, connection: Any, **extra: Any) -> Any:
    self = _without_constant_partitions(self)
    # Redshift frames are ROWS only, and a frame clause follows an ORDER BY
    # (DG:r_Window_function_synopsis). An aggregate window function (and FIRST_VALUE,
    # LAST_VALUE, NTH_VALUE) with ORDER BY needs one (DG:c_Window_functions); without
    # one, Django means SQL's default, RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW,
    # whose frame takes in the current row's peers (ties of the ORDER BY).
    frame = self.frame
    peers = _all_rows_are_peers(self)
    whole_partition = False
    if isinstance(frame, ValueRange):
        start, end = self.frame.start.value, self.frame.end.value
        # A RANGE frame that reaches no further than the current row's peers in either
        # direction, when all rows are peers or both ends are unbounded, is the whole
        # partition: that ROWS can say. Anything else goes on to ValueRange.as_sql, where
        # Django checks the values (ValueError) and the backend refuses the frame
        # (db_operations.window_frame_range_start_end).
        whole_partition = (start is None and end is None) or (
            peers and _is_unbounded_or_current(start) and _is_unbounded_or_current(end)
        )
    elif frame is None and self.order_by is not None:
        source = self.source_expression
        if getattr(source, "contains_aggregate", False) or isinstance(source, _FRAME_REQUIRED):
            # Redshift requires a frame here. When all rows are peers, SQL's default is
            # the whole partition; otherwise ROWS BETWEEN UNBOUNDED PRECEDING AND
            # CURRENT ROW, which is the same except among ties of the ORDER BY.
            if peers:
                whole_partition = True
            else:
                frame = RowRange(start=None, end=0)
    if whole_partition:
        # Without ORDER BY a window is the whole partition and takes no frame clause.
        frame = RowRange(start=None, end=None) if self.order_by is not None else None
    if frame is not self.frame:
        copy = self.copy()
        copy.frame = frame
        return copy.as_sql(compiler, connection, **extra)
    return self.as_sql(compiler, connection, **extra)


def register() -> None:
    Now.as_redshift = _now  # type: ignore[attr-defined]
    ConcatPair.as_redshift = _concat_pair  # type: ignore[attr-defined]
    # STRPOS(string, substring) (DG:r_STRPOS) instead of the generic INSTR.
    StrIndex.as_redshift = StrIndex.as_postgresql  # type: ignore[attr-defined]
    for cls, bits in ((SHA224, 224), (SHA256, 256), (SHA384, 384), (SHA512, 512)):
        cls.as_redshift = _sha2(bits)  # type: ignore[union-attr]
    Log.as_redshift = _log  # type: ignore[attr-defined]
    Mod.as_redshift = _mod  # type: ignore[attr-defined]
    Window.as_redshift = _window  # type: ignore[attr-defined]
    Collate.as_redshift = _collate  # type: ignore[attr-defined]


register()


# -- JSONField on SUPER -------------------------------------------------------------------
# Key paths read the document as text: JSON_SERIALIZE(super) (DG:JSON_SERIALIZE), then
# JSON_EXTRACT_PATH_TEXT for keys and JSON_EXTRACT_ARRAY_ELEMENT_TEXT for indexes
# (DG:JSON_EXTRACT_PATH_TEXT, DG:JSON_EXTRACT_ARRAY_ELEMENT_TEXT). A string value comes
# back unquoted, other values as JSON text.


def _key_chain(expression: Any) -> tuple[Any, list[str]]:
    """The expression under a chain of KeyTransforms, and the chain's keys from the root."""
    from django.db.models.fields.json import KeyTransform

    keys: list[str] = []
    while isinstance(expression, KeyTransform):
        keys.insert(0, expression.key_name)
        expression = expression.lhs
    return expression, keys


def _path_sql(compiler: Any, root: Any, keys: list[str]) -> tuple[str, list[Any]]:
    sql, params = compiler.compile(root)
    sql, params = f"JSON_SERIALIZE({sql})", list(params)
    # null_if_invalid = true: an inner value that is not an object (or not an array) gives
    # NULL, not an error, as a missing key does in Django's other backends.
    for key in keys:
        try:
            index = int(key)
        except ValueError:
            sql = f"JSON_EXTRACT_PATH_TEXT({sql}, %s, true)"
            params.append(str(key))
        else:
            sql = f"JSON_EXTRACT_ARRAY_ELEMENT_TEXT({sql}, {index}, true)"
    return sql, params


def _key_path_sql(transform: Any, compiler: Any) -> tuple[str, list[Any]]:
    root, keys = _key_chain(transform)
    return _path_sql(compiler, root, keys)


def _key_transform(self: Any, compiler: Any, connection: Any) -> Any:
    return _key_path_sql(self, compiler)


def _json_text(value: Any) -> str:
    import json

    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _json_literal(value: Any) -> tuple[bool, Any]:
    """(True, python value) for a plain value or a Value(..., JSONField()); else (False, _)."""
    from django.db.models import JSONField

    if isinstance(value, Value) and isinstance(value.output_field, JSONField):
        return True, value.value
    return not hasattr(value, "resolve_expression"), value


def _key_exact(self: Any, compiler: Any, connection: Any) -> Any:
    literal, value = _json_literal(self.rhs)
    if not literal:
        return self.as_sql(compiler, connection)
    lhs, params = self.process_lhs(compiler, connection)
    if value is None:
        # JSON_EXTRACT_PATH_TEXT gives NULL for a JSON null and for a missing key alike.
        return f"COALESCE({lhs}, 'null') = 'null'", params
    return f"{lhs} = %s", (*params, _json_text(value))


def _key_in(self: Any, compiler: Any, connection: Any) -> Any:
    # Key paths read as text (above), so the list items are compared as JSON text too:
    # strings bare, other values serialized.
    from django.core.exceptions import EmptyResultSet

    if not self.rhs_is_direct_value():
        return self.as_sql(compiler, connection)
    lhs, params = self.process_lhs(compiler, connection)
    items, all_params = [], list(params)
    for item in self.rhs:
        literal, value = _json_literal(item)
        if literal and value is None:
            continue  # x IN (NULL) never matches, as in Django's In lookup
        if literal:
            items.append("%s")
            all_params.append(_json_text(value))
        else:
            sql, item_params = compiler.compile(value)
            items.append(sql)
            all_params.extend(item_params)
    if not items:
        raise EmptyResultSet
    return f"{lhs} IN ({', '.join(items)})", tuple(all_params)


def _key_compare(self: Any, compiler: Any, connection: Any) -> Any:
    lhs, params = self.process_lhs(compiler, connection)
    value = self.rhs
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        lhs = f"CAST({lhs} AS DOUBLE PRECISION)"
    else:
        value = _json_text(value)
    return "{} {}".format(lhs, connection.operators[self.lookup_name] % "%s"), (*params, value)


def _has_key(self: Any, compiler: Any, connection: Any) -> Any:
    # A key given as a KeyTransform is a path (Django's HasKeyLookup); the last key is
    # always an object key. A key holding JSON null reads as missing: see _key_exact.
    from django.db.models.fields.json import KeyTransform

    root, lhs_keys = _key_chain(self.lhs)
    keys = self.rhs if isinstance(self.rhs, (list, tuple)) else [self.rhs]
    parts, all_params = [], []
    for key in keys:
        rhs_keys = _key_chain(key)[1] if isinstance(key, KeyTransform) else [str(key)]
        *inner, final = [*lhs_keys, *rhs_keys]
        sql, params = _path_sql(compiler, root, inner)
        parts.append(f"JSON_EXTRACT_PATH_TEXT({sql}, %s, true) IS NOT NULL")
        all_params += [*params, final]
    joiner = f" {(self.logical_operator or 'AND').strip()} "
    return "(" + joiner.join(parts) + ")", tuple(all_params)


def register_json() -> None:
    from django.db.models.fields import json as json_fields

    json_fields.KeyTransform.as_redshift = _key_transform  # type: ignore[attr-defined]
    json_fields.KeyTransformExact.as_redshift = _key_exact  # type: ignore[attr-defined]
    json_fields.KeyTransformIn.as_redshift = _key_in  # type: ignore[attr-defined]
    for cls in (
        json_fields.KeyTransformLt,
        json_fields.KeyTransformLte,
        json_fields.KeyTransformGt,
        json_fields.KeyTransformGte,
    ):
        cls.as_redshift = _key_compare  # type: ignore[union-attr]
    for has_key in (json_fields.HasKey, json_fields.HasKeys, json_fields.HasAnyKeys):
        has_key.as_redshift = _has_key  # type: ignore[union-attr]


register_json()


# -- durations (bigint microseconds) --------------------------------------------------------

_TEMPORAL = ("DateField", "DateTimeField", "TimeField")


def _internal_type(expression: Any) -> str | None:
    from django.core.exceptions import FieldError

    try:
        return expression.output_field.get_internal_type()
    except (AttributeError, FieldError):
        return None


def _combined(self: Any, compiler: Any, connection: Any, **extra: Any) -> Any:
    # A date/time plus or minus a duration: DATEADD(microsecond, n, t) (DG:r_DATEADD_function),
    # since durations are stored as bigint microseconds.
    from django.db.models.expressions import Combinable

    types = (_internal_type(self.lhs), _internal_type(self.rhs))
    if self.connector in (Combinable.ADD, Combinable.SUB) and "DurationField" in types:
        other = types[1] if types[0] == "DurationField" else types[0]
        if other in _TEMPORAL:
            if types[0] == "DurationField":
                duration, moment = self.lhs, self.rhs
            else:
                duration, moment = self.rhs, self.lhs
            d_sql, d_params = compiler.compile(duration)
            m_sql, m_params = compiler.compile(moment)
            sign = "-" if self.connector == Combinable.SUB else ""
            zone = _wall_clock_zone(moment, connection)
            if zone:
                # A naive datetime (USE_TZ = False) moves on the wall clock of its zone,
                # as in Python; DATEADD on the TIMESTAMPTZ column would add elapsed time
                # and be an hour off across a DST change. AT TIME ZONE turns the column
                # into local wall time and back (DG:r_AT_TIME_ZONE).
                m_sql, m_params = f"({m_sql}) AT TIME ZONE %s", (*m_params, zone)
            sql = f"DATEADD(microsecond, {sign}CAST({d_sql} AS BIGINT), {m_sql})"
            params: tuple[Any, ...] = (*d_params, *m_params)
            if zone:
                sql, params = f"({sql}) AT TIME ZONE %s", (*params, zone)
            # The cast types a NULL duration parameter (client-side binding).
            return sql, params
    return self.as_sql(compiler, connection, **extra)


def _wall_clock_zone(moment: Any, connection: Any) -> str | None:
    """The session's zone when ``moment`` is a DateTimeField column read as naive time."""
    from django.conf import settings
    from django.db.models.expressions import Col

    if settings.USE_TZ or not isinstance(moment, Col):
        return None
    if _internal_type(moment) != "DateTimeField":
        return None
    zone = connection.timezone_name
    return None if zone in (None, "UTC") else zone


def register_durations() -> None:
    from django.db.models.expressions import CombinedExpression

    CombinedExpression.as_redshift = _combined  # type: ignore[attr-defined]


register_durations()
