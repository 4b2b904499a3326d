"""psycopg 3 as the Redshift driver.

Redshift differences handled here (reference: redshift-sql.md §6.4):

- the server reports ``client_encoding`` as ``UNICODE``, which Python has no codec for, so
  ``client_encoding=UTF8`` is always sent;
- no ``DEALLOCATE ALL`` (DG:r_DEALLOCATE): prepared statements stay off
  (``prepare_threshold=None``);
- client-side binding: psycopg quotes a string containing a backslash as ``E'...'``, which
  Redshift (PostgreSQL 8.0.2 based) does not accept, and whether a backslash escapes inside
  ``'...'`` depends on ``standard_conforming_strings``. Strings are therefore quoted with
  only ``''`` doubling, and each backslash is written as ``CHR(92)`` (DG:r_CHR), which reads
  the same under either setting;
- TLS: a Redshift endpoint gets ``sslmode=verify-full`` unless OPTIONS sets ``sslmode``, and
  (libpq 16 or later) ``sslrootcert=system``: Redshift's certificates are issued by ACM and
  chain to the Amazon roots in the system store (MG:connecting-ssl-support);
- JSONField and BinaryField values carry their own SQL: ``JSON_PARSE('...')`` for SUPER
  (DG:JSON_PARSE: a plain string would be stored as a SUPER string scalar) and
  ``TO_VARBYTE('hex', 'hex')`` for VARBYTE (DG:r_TO_VARBYTE).
"""

from __future__ import annotations

import datetime
import decimal
import math
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import psycopg
import psycopg.types.numeric
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql.base import Cursor as DjangoCursor
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg import adapt, pq
from psycopg._queries import PostgresClientQuery, QueryPart
from psycopg.adapt import PyFormat, Transformer

from pool.adapters import AsyncPsycopgAdapter

from . import (
    REDSHIFT_DEFAULT_SSLMODE,
    SSLMODES,
    AsyncConnection,
    AsyncResult,
    Driver,
    is_redshift_host,
    without_frames,
)
from .params import (
    CONNECT_TIMEOUT,
    PATH,
    PORT,
    STRING,
    Rule,
    check_port,
    check_rules,
    integer,
    one_of,
)

# Characters that stand for the backslashes of a string literal, the first one the string
# does not hold; REPLACE() puts the backslashes back (quote_str).
_STAND_INS = [chr(c) for c in (*range(1, 9), *range(14, 32))]


def quote_str(value: str) -> str:
    """A Redshift string literal without ``E''``: quotes doubled, and backslashes, which
    read differently with ``standard_conforming_strings`` on or off, written as a character
    the string does not hold and put back by ``REPLACE(..., CHR(92))`` (DG:r_REPLACE,
    DG:r_CHR): one function call however many backslashes there are (a ``|| CHR(92) ||``
    per backslash nests one expression per backslash, past the server's stack at a few
    thousand)."""
    if "\x00" in value:
        # The statement's text ends at a NUL (the wire protocol's strings are
        # NUL-terminated): refuse it as psycopg's own text dumper does.
        raise psycopg.DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    body = value.replace("'", "''")
    if "\\" not in body:
        return "'" + body + "'"
    for stand_in in _STAND_INS:
        if stand_in not in body:
            return f"REPLACE('{body.replace(chr(92), stand_in)}', CHR({ord(stand_in)}), CHR(92))"
    # Every stand-in is in the string: the pieces joined as a balanced tree of ||, so
    # the expression nests about log2(pieces) deep.
    return _joined([f"'{part}'" for part in body.split("\\")])


def _joined(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    middle = len(parts) // 2
    return f"({_joined(parts[:middle])} || CHR(92) || {_joined(parts[middle:])})"


class RedshiftStrDumper(adapt.Dumper):
    """str -> unknown-typed literal, so the server infers the type as for ``'...'``."""

    oid = 0

    def dump(self, obj: str) -> bytes:
        return obj.encode()

    def quote(self, obj: str) -> bytes:
        return quote_str(obj).encode()


class UUIDDumper(RedshiftStrDumper):
    """UUIDs are stored as their 36-character text (Redshift has no UUID type)."""

    def dump(self, obj: uuid.UUID) -> bytes:  # type: ignore[override]
        return str(obj).encode()

    def quote(self, obj: uuid.UUID) -> bytes:  # type: ignore[override]
        return b"'" + str(obj).encode() + b"'"


class SuperValue:
    """A JSON document bound for a SUPER column; rendered as ``JSON_PARSE('...')``."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"SuperValue({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SuperValue) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


class VarbyteValue:
    """Bytes bound for a VARBYTE column; rendered as ``TO_VARBYTE('<hex>', 'hex')``."""

    __slots__ = ("data",)

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytes(data)

    def __repr__(self) -> str:
        return f"VarbyteValue({self.data!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VarbyteValue) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


class SuperDumper(adapt.Dumper):
    oid = 0

    def dump(self, obj: SuperValue) -> bytes:
        return obj.text.encode()

    def quote(self, obj: SuperValue) -> bytes:
        return b"JSON_PARSE(" + quote_str(obj.text).encode() + b")"


class VarbyteDumper(adapt.Dumper):
    oid = 0

    def dump(self, obj: VarbyteValue) -> bytes:
        return obj.data.hex().encode()

    def quote(self, obj: VarbyteValue) -> bytes:
        return b"TO_VARBYTE('" + obj.data.hex().encode() + b"', 'hex')"


class BytesDumper(VarbyteDumper):
    def dump(self, obj: Any) -> bytes:
        return bytes(obj).hex().encode()

    def quote(self, obj: Any) -> bytes:
        return b"TO_VARBYTE('" + bytes(obj).hex().encode() + b"', 'hex')"


class BinaryDumper(VarbyteDumper):
    """``psycopg.Binary`` (what Django's BinaryField sends) -> VARBYTE."""

    def dump(self, obj: Any) -> bytes:
        return bytes(obj.obj).hex().encode()

    def quote(self, obj: Any) -> bytes:
        return b"TO_VARBYTE('" + self.dump(obj) + b"', 'hex')"


class FloatDumper(psycopg.types.numeric.FloatDumper):
    """psycopg writes -0.0 as ``-0.0``, a NUMERIC zero negated, which is 0 (NUMERIC has no
    negative zero): written as a FLOAT8 here, so the sign is kept."""

    def quote(self, obj: float) -> bytes:
        if obj == 0 and math.copysign(1.0, obj) < 0:
            return b"'-0'::float8"
        return bytes(super().quote(obj))


class _Context:
    """An adaptation context without a connection (psycopg's AdaptContext)."""

    def __init__(self, adapters: adapt.AdaptersMap) -> None:
        self.adapters = adapters
        self.connection = None


def literal_renderer(use_tz: bool, timezone: Any) -> Callable[[Any], str]:
    """A function giving each value's SQL literal exactly as the connection's ClientCursor
    would write it (psycopg's own Transformer, with this module's dumpers), with the
    commonest types of a bulk insert rendered here directly."""
    as_literal = Transformer(_Context(adapters_for(use_tz, timezone))).as_literal

    def render(value: Any) -> str:
        kind = type(value)
        if kind is str:
            return quote_str(value)
        if kind is int or (kind is decimal.Decimal and value.is_finite()):
            text = str(value)
            # psycopg: a space before a minus, so "- -1" never becomes a comment "--1".
            return " " + text if text[0] == "-" else text
        if kind is datetime.datetime and value.tzinfo is not None:
            return "'" + str(value) + "'::timestamptz"
        if value is None:
            return "NULL"
        return as_literal(value).decode()

    return render


@lru_cache
def adapters_for(use_tz: bool, timezone: Any) -> adapt.AdaptersMap:
    ctx = adapt.AdaptersMap(get_adapters_template(use_tz, timezone))
    ctx.register_dumper(str, RedshiftStrDumper)
    ctx.register_dumper(float, FloatDumper)
    ctx.register_dumper(uuid.UUID, UUIDDumper)
    ctx.register_dumper(SuperValue, SuperDumper)
    ctx.register_dumper(VarbyteValue, VarbyteDumper)
    for cls in (bytes, bytearray, memoryview):
        ctx.register_dumper(cls, BytesDumper)
    ctx.register_dumper(psycopg.Binary, BinaryDumper)
    return ctx


class PositionalClientQuery(PostgresClientQuery):
    """psycopg's client-side binding, without its placeholder scan for long ``%s`` queries.

    psycopg finds the placeholders of a query in Python (``_split_query``), about 40 µs per
    row of a multi-row INSERT: a third of a 100,000-row ``bulk_create``. Django writes only
    ``%s`` and ``%%``; for such a query psycopg's template is the query itself, so when
    bytes methods show that it is, the query is used as the template directly. Anything
    else (named placeholders, ``%b``/``%t``, short queries) takes psycopg's own path.
    """

    def convert(self, query: Any, vars: Any) -> None:
        if isinstance(query, str) and len(query) > _LONG_QUERY and isinstance(vars, list | tuple):
            raw = query.encode(self._tx.encoding)
            plain = raw.replace(b"%%", b"")
            if plain.count(b"%s") == len(vars) and b"%" not in plain.replace(b"%s", b""):
                self.template, self._order = raw, None
                self._parts = [_POSITIONAL_PART] * (len(vars) + 1)
                self.dump(vars)
                return
        super().convert(query, vars)


# psycopg caches the conversion of queries up to 4096 bytes: below that the scan is paid once.
_LONG_QUERY = 4096
_POSITIONAL_PART = QueryPart(b"", 0, PyFormat.AUTO)


class Cursor(DjangoCursor):
    _query_cls = PositionalClientQuery


class AsyncClientCursor(psycopg.AsyncClientCursor[Any]):
    _query_cls = PositionalClientQuery


# Python-level keyword arguments of psycopg.Connection.connect() besides libpq's conninfo.
_PY_KWARGS = frozenset(
    {"autocommit", "row_factory", "cursor_factory", "context", "prepare_threshold"}
)
# Those the backend sets itself, and why.
_MANAGED = {
    "autocommit": "Django turns autocommit on and off itself (AUTOCOMMIT, transaction.atomic)",
    "context": "the backend's adapters write Redshift literals (JSON_PARSE, TO_VARBYTE, CHR(92))",
    "cursor_factory": "the backend's cursor binds parameters on the client for Redshift",
    "row_factory": "Django reads rows as tuples",
}

_ONE_OR_ZERO = one_of("0", "1", text=True)
# libpq's connection parameters whose values are restricted (libpq-connect.html, "Parameter
# Key Words"); the others are strings. Integers may be written as strings, as in a conninfo.
_LIBPQ_RULES: dict[str, Rule] = {
    "port": Rule(
        lambda v: (
            all(PORT.test(p) or p == "" for p in str(v).split(",")) and not isinstance(v, bool)
        ),
        "use a port number from 1 to 65535, or a comma-separated list of them",
    ),
    "connect_timeout": CONNECT_TIMEOUT,
    "keepalives": _ONE_OR_ZERO,
    "keepalives_idle": integer(0, text=True, what=", in seconds"),
    "keepalives_interval": integer(0, text=True, what=", in seconds"),
    "keepalives_count": integer(0, text=True),
    "tcp_user_timeout": integer(0, text=True, what=", in milliseconds"),
    "sslmode": one_of(*SSLMODES),
    "sslnegotiation": one_of("postgres", "direct"),
    "sslcompression": _ONE_OR_ZERO,
    "sslsni": _ONE_OR_ZERO,
    "sslcertmode": one_of("disable", "allow", "require"),
    "channel_binding": one_of("disable", "prefer", "require"),
    "gssencmode": one_of("disable", "prefer", "require"),
    "gssdelegation": _ONE_OR_ZERO,
    "ssl_min_protocol_version": one_of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
    "ssl_max_protocol_version": one_of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"),
    "target_session_attrs": one_of(
        "any", "read-write", "read-only", "primary", "standby", "prefer-standby"
    ),
    "load_balance_hosts": one_of("disable", "random"),
    "prepare_threshold": Rule(
        lambda v: v is None,
        "Redshift has no DEALLOCATE ALL (DG:r_DEALLOCATE), so prepared statements must stay "
        "off (None)",
    ),
    "client_encoding": Rule(
        lambda v: str(v).replace("-", "").upper() == "UTF8",
        "the backend talks UTF8 to Redshift",
    ),
}
_PATH_KEYS = frozenset(
    {"passfile", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir", "sslkeylogfile"}
)


@lru_cache(maxsize=1)
def _conninfo_keys() -> frozenset[str]:
    return frozenset(opt.keyword.decode() for opt in pq.Conninfo.get_defaults())


@lru_cache(maxsize=1)
def _rules() -> dict[str, Rule]:
    """A rule for every conninfo key of the libpq in use (strings unless restricted)."""
    rules = {key: PATH if key in _PATH_KEYS else STRING for key in _conninfo_keys()}
    rules.update({k: v for k, v in _LIBPQ_RULES.items() if k in rules or k in _PY_KWARGS})
    return rules


class PsycopgDriver(Driver):
    name = "psycopg"
    # ClientCursor: every value is quoted into the statement's text (module docstring).
    binds_server_side = False

    def literal_renderer(self, use_tz: bool, timezone: Any) -> Callable[[Any], str] | None:
        return literal_renderer(use_tz, timezone)

    Database = psycopg
    paramstyle = "pyformat"

    def check_options(
        self, options: Mapping[str, Any], settings_dict: Mapping[str, Any] | None = None
    ) -> None:
        allowed = _conninfo_keys() | _PY_KWARGS
        for key in options:
            if key in _MANAGED:
                raise ImproperlyConfigured(
                    f"DATABASES OPTIONS[{key!r}] is managed by the Redshift backend with the "
                    f"psycopg driver ({_MANAGED[key]}); remove it."
                )
            if key == "iam":
                raise ImproperlyConfigured(
                    "DATABASES OPTIONS['iam'] = True is redshift_connector's own IAM switch; "
                    "the backend's IAM login, on either driver, is a dict: OPTIONS['iam'] = "
                    "{'cluster_identifier': ..., 'db_user': ..., 'region': ...} or "
                    "{'workgroup': ...} (docs/iam.md)."
                )
            if key == "ssl":
                raise ImproperlyConfigured(
                    "DATABASES OPTIONS['ssl'] is redshift_connector's argument, not a libpq "
                    "parameter: with psycopg use OPTIONS['sslmode'] ('disable' for ssl=False, "
                    "'require' or 'verify-full' for ssl=True)."
                )
            if key not in allowed:
                from ..options import BACKEND_KEYS, suggest

                raise ImproperlyConfigured(
                    f"DATABASES OPTIONS[{key!r}] is not an option of the Redshift backend nor "
                    f"a psycopg/libpq connection parameter.{suggest(key, allowed | BACKEND_KEYS)}"
                )
        check_rules(options, _rules(), self.name)
        check_port(settings_dict or {}, self.name, many=True)

    def connect_params(
        self,
        settings_dict: Mapping[str, Any],
        options: Mapping[str, Any],
        *,
        use_tz: bool,
        timezone: Any,
    ) -> dict[str, Any]:
        params: dict[str, Any] = dict(options)
        if settings_dict.get("NAME"):
            params["dbname"] = settings_dict["NAME"]
        for setting, key in (
            ("USER", "user"),
            ("PASSWORD", "password"),
            ("HOST", "host"),
            ("PORT", "port"),
        ):
            if settings_dict.get(setting):
                params[key] = settings_dict[setting]
        # Redshift reports UNICODE, which Python cannot decode (psycopg/psycopg#122).
        params["client_encoding"] = "UTF8"
        if "sslmode" not in options and is_redshift_host(params.get("host")):
            params["sslmode"] = REDSHIFT_DEFAULT_SSLMODE
            if "sslrootcert" not in options and pq.version() >= 160000:
                params["sslrootcert"] = "system"
        params["prepare_threshold"] = None
        params["context"] = adapters_for(use_tz, timezone)
        return params

    def connect(self, params: Mapping[str, Any]) -> psycopg.Connection[Any]:
        try:
            # django-stubs declare Cursor without its psycopg.ClientCursor base.
            return psycopg.Connection.connect(cursor_factory=Cursor, **params)  # type: ignore[arg-type]
        except psycopg.Error as exc:
            raise without_frames(exc) from None

    async def aconnect(self, params: Mapping[str, Any]) -> AsyncConnection:
        import sniffio

        # psycopg's AsyncConnection runs on asyncio only; elsewhere (trio) the blocking
        # connection runs in worker threads.
        if sniffio.current_async_library() != "asyncio":
            return await super().aconnect(params)
        # Client-side binding and the same adapters as the sync connections (connect()).
        try:
            raw = await psycopg.AsyncConnection.connect(
                cursor_factory=AsyncClientCursor, autocommit=True, **params
            )
        except psycopg.Error as exc:
            raise without_frames(exc) from None
        return PsycopgAsyncConnection(self, raw)

    def in_transaction(self, connection: Any) -> bool:
        return bool(connection.info.transaction_status != pq.TransactionStatus.IDLE)

    def pool_adapter(self) -> Any:
        from pool import PsycopgAdapter

        return PsycopgAdapter()

    def sqlstate(self, exc: BaseException) -> str | None:
        return getattr(exc, "sqlstate", None)

    def message(self, exc: BaseException) -> str:
        diag = getattr(exc, "diag", None)
        parts = [str(exc)]
        if diag is not None:
            parts += [diag.message_primary or "", diag.message_detail or ""]
        return " ".join(parts)


class PsycopgAsyncConnection(AsyncConnection):
    """psycopg's ``AsyncConnection``: queries run on the event loop, no threads. On
    cancellation psycopg asks the server to cancel the running query and waits for it."""

    async def execute(self, sql: str, params: Any = None) -> AsyncResult:
        async with self.raw.cursor() as cursor:
            await cursor.execute(sql, params)
            first: AsyncResult | None = None
            sets: list[list[tuple[Any, ...]]] = []
            while True:
                # psycopg builds a new description (Column objects) on each access.
                description = cursor.description
                if description is not None:
                    sets.append(await cursor.fetchall())
                    first = first or AsyncResult(description, sets[0], cursor.rowcount, sets)
                if not cursor.nextset():
                    return first or AsyncResult(None, [], cursor.rowcount, sets)

    def state(self) -> Any:
        return _ASYNC_ADAPTER.state(self.raw)

    async def rollback(self) -> None:
        await self.raw.rollback()

    async def check(self) -> None:
        await _ASYNC_ADAPTER.check(self.raw)

    async def close(self) -> None:
        await self.raw.close()

    def is_fatal(self, exc: BaseException) -> bool:
        return bool(self.raw.closed)


_ASYNC_ADAPTER = AsyncPsycopgAdapter()

driver = PsycopgDriver()
