"""AWS ``redshift_connector`` as the Redshift driver.

Django's PostgreSQL code expects psycopg's behaviour; this module gives redshift_connector
the same surface so nothing outside ``drivers/`` knows which driver runs
(reference: redshift-sql.md §6.1 and §6.2):

- **Transactions.** The driver's own ``autocommit=False`` mode sends ``begin transaction``
  before a statement whenever the server is idle. Django manages transactions itself, so the
  raw connection always stays in autocommit and :class:`Connection` sends ``BEGIN`` before
  the first statement when Django has turned autocommit off, then ``COMMIT``/``ROLLBACK``.
- **Server-side binding.** Every statement is Parse/Bind/Execute with ``$n`` parameters
  (RC:``core.py`` ``execute``), so a prepared statement holds one command: a string with
  several statements (the LOCK/INSERT/MAX allocation sends ``BEGIN; LOCK ...; SELECT ...``)
  is split here and run one statement after another, its results reachable with
  ``nextset()`` as with psycopg. DDL never binds parameters: the schema editor inlines its
  own literals.
- **Parameters.** ``%s`` (format paramstyle, RC:``__init__.py`` ``paramstyle``). SUPER values
  become ``JSON_PARSE(%s)`` (DG:JSON_PARSE) and bytes ``TO_VARBYTE(%s, 'hex')``
  (DG:r_TO_VARBYTE), as the psycopg driver renders them; UUIDs are sent as text (the driver
  has no UUID adapter); psycopg's ``Int2``/``Int4``/``Int8`` wrappers become plain ints.
- **Results.** VARBYTE is read as hex text and returned as ``bytes`` (the driver's own reader
  UTF-8-decodes it, RC:``utils/type_utils.py`` ``varbytehex_recv``); INTERVAL as
  ``timedelta``; rows as tuples; ``description`` items with ``.name`` and ``.type_code``.
- **Errors.** The driver raises ``ProgrammingError`` for nearly every server error, with the
  server's fields dict (``C`` SQLSTATE, ``M`` message, ``D`` detail, ...) in ``args[0]``.
  They are re-raised as the DB-API class the SQLSTATE calls for (23 -> IntegrityError,
  22 -> DataError, 40/08/53/57 -> OperationalError, ...), with a readable message and
  ``sqlstate``/``fields`` attributes, so Django maps them exactly as it maps psycopg's.
- **Options.** Every ``connect()`` argument is accepted with the driver's meaning (its type
  and range checked at start-up), except those the backend sets (``user``, ``host``, ...)
  and ``numeric_to_float``; ``connect_timeout`` is read with libpq's meaning too (a limit
  on connecting), so one ``OPTIONS`` serves both drivers.
- **TLS.** ``ssl=False`` turns TLS off and ``ssl=True`` requires it, as in the driver;
  ``sslmode`` takes libpq's values: ``disable``; ``allow``/``prefer`` (the default off AWS)
  try TLS and fall back to plain text if the server declines it; ``require`` and
  ``verify-ca`` verify the chain, ``verify-full`` the name too (the default for a Redshift
  endpoint). The driver always verifies certificates against the system store plus its
  bundled Redshift CA and has no ``sslrootcert``: a private CA is trusted through
  OpenSSL's ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import contextlib
import datetime
import inspect
import re
import typing
import uuid
import zoneinfo
from collections import namedtuple
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

import redshift_connector
from django.core.exceptions import ImproperlyConfigured
from redshift_connector.config import ClientProtocolVersion

from . import (
    REDSHIFT_DEFAULT_SSLMODE,
    SSLMODES,
    Driver,
    is_redshift_host,
    rc_pipeline,
    without_frames,
)
from .params import (
    BOOLEAN,
    CONNECT_TIMEOUT,
    STRING,
    STRINGS,
    Rule,
    check_port,
    check_rules,
    integer,
    one_of,
    seconds,
)
from .psycopg import SuperValue, VarbyteValue

Database = redshift_connector

# Redshift type OIDs (RC:``utils/oids.py``) and PostgreSQL's bytea (the emulator's VARBYTE).
VARBYTE_OID = 6551
BYTEA_OID = 17
INTERVAL_OID = 1186
TIMESTAMPTZ_OID = 1184

Column = namedtuple("Column", "name type_code display_size internal_size precision scale null_ok")


# -- errors --------------------------------------------------------------------------------

# SQLSTATE class -> DB-API exception, as psycopg (and PostgreSQL's errcodes) classify them.
_ERROR_CLASSES: dict[str, type[Exception]] = {
    "08": Database.OperationalError,  # connection exception
    "0A": Database.NotSupportedError,
    "21": Database.ProgrammingError,  # cardinality violation
    "22": Database.DataError,
    "23": Database.IntegrityError,
    "24": Database.InternalError,  # invalid cursor state
    "25": Database.InternalError,  # invalid transaction state
    "26": Database.ProgrammingError,
    "28": Database.OperationalError,  # invalid authorization
    "2B": Database.InternalError,
    "2D": Database.InternalError,
    "2F": Database.InternalError,
    "34": Database.ProgrammingError,
    "38": Database.InternalError,
    "39": Database.InternalError,
    "3D": Database.ProgrammingError,  # invalid catalog (database) name
    "3F": Database.ProgrammingError,
    "40": Database.OperationalError,  # transaction rollback, 40001 serialization failure
    "42": Database.ProgrammingError,
    "53": Database.OperationalError,
    "54": Database.OperationalError,
    "55": Database.OperationalError,
    "57": Database.OperationalError,  # operator intervention, 57014 query canceled
    "58": Database.OperationalError,
    "F0": Database.OperationalError,
    "XX": Database.InternalError,  # Redshift's ERROR 1023 serialization failure is XX000
}


def server_fields(exc: BaseException) -> dict[str, str] | None:
    """The server's error fields redshift_connector puts in ``args[0]``, if any."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], dict):
        return args[0]
    return None


def _error_text(fields: Mapping[str, str]) -> str:
    text = fields.get("M", "")
    if fields.get("D"):
        text += f"\nDETAIL:  {fields['D']}"
    if fields.get("H"):
        text += f"\nHINT:  {fields['H']}"
    return text


def translate_error(exc: BaseException, *, connecting: bool = False) -> BaseException:
    """The DB-API exception Django should see for a redshift_connector failure."""
    fields = server_fields(exc)
    if fields is not None:
        sqlstate = fields.get("C", "")
        cls = _ERROR_CLASSES.get(sqlstate[:2], Database.DatabaseError)
        new: BaseException = cls(_error_text(fields))
        new.sqlstate = sqlstate  # type: ignore[attr-defined]
        new.fields = dict(fields)  # type: ignore[attr-defined]
        return new
    if isinstance(exc, OSError | EOFError | Database.InterfaceError):
        # The driver's InterfaceErrors are socket failures ("BrokenPipe: server socket
        # closed", "communication error", "connection is closed"); psycopg reports a lost or
        # refused connection as OperationalError, and so do we.
        what = "connection failed" if connecting else "connection lost"
        return Database.OperationalError(f"{what}: {exc}")
    return exc


def _close_abandoned_socket(exc: BaseException) -> None:
    """Close the socket of a connection whose ``__init__`` raised (the driver leaves it open)."""
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, Database.Connection):
            sock = getattr(candidate, "_usock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()
            return
        tb = tb.tb_next


# -- SQL text: statements and placeholders -------------------------------------------------

_TOKEN_RE = re.compile(
    r"'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?|--[^\n]*|/\*.*?(?:\*/|$)"
    r"|\$(?P<tag>[A-Za-z_]\w*)?\$.*?\$(?P=tag)?\$"  # a $$...$$ or $tag$...$tag$ body
    r"|%%|%\((?P<name>[^)]*)\)s|%s|%|;",
    re.S,
)


def _adapt(value: Any) -> tuple[str, Any]:
    """(placeholder SQL, value to bind) for one parameter."""
    if value is None or isinstance(value, bool | str | float):
        return "%s", value
    if isinstance(value, int):
        return "%s", int(value)  # psycopg's Int2/Int4/Int8 are int subclasses
    if isinstance(value, SuperValue):
        return "JSON_PARSE(%s)", value.text
    if isinstance(value, VarbyteValue):
        return "TO_VARBYTE(%s, 'hex')", value.data.hex()
    if isinstance(value, bytes | bytearray | memoryview):
        return "TO_VARBYTE(%s, 'hex')", bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return "%s", str(value)
    return "%s", value


def prepare(
    sql: str, params: Sequence[Any] | Mapping[str, Any] | None
) -> list[tuple[str, tuple[Any, ...] | None]]:
    """Split ``sql`` into single statements and adapt each one's parameters, with
    psycopg's conventions: ``%s`` with a sequence, ``%(name)s`` with a mapping (a name may
    repeat), and ``%%`` for ``%``, inside quoted strings too.

    With ``params=None`` the text is not a format string (``%`` stays ``%``), as in psycopg
    and redshift_connector; only the statements are split.
    """
    if (
        isinstance(params, Sequence)
        and ";" not in sql
        and "%%" not in sql
        and "%(" not in sql
        and sql.count("%s") == len(params)
        and not _needs_rewrite(params)
    ):
        return [(sql, tuple(_adapt(p)[1] for p in params))]
    if params is None and ";" not in sql:
        return [(sql, None)]
    named = params if isinstance(params, Mapping) else None
    values = None if params is None or named is not None else list(params)
    statements: list[tuple[str, tuple[Any, ...] | None]] = []
    out: list[str] = []
    bound: list[Any] = []
    index = 0
    pos = 0
    for match in _TOKEN_RE.finditer(sql):
        token = match.group()
        out.append(sql[pos : match.start()])
        pos = match.end()
        if token == ";":
            text = "".join(out).strip()
            if text:
                statements.append((text, None if params is None else tuple(bound)))
            out, bound = [], []
        elif params is None:
            out.append(token)
        elif token == "%s" and values is not None:
            if index >= len(values):
                raise Database.ProgrammingError("not enough parameters for the SQL statement")
            placeholder, value = _adapt(values[index])
            index += 1
            out.append(placeholder)
            bound.append(value)
        elif match.group("name") is not None and named is not None:
            key = match.group("name")
            if key not in named:
                raise Database.ProgrammingError(f"no parameter named {key!r} was given")
            placeholder, value = _adapt(named[key])
            out.append(placeholder)
            bound.append(value)
        elif token in ("%s", "%%") or token.startswith("%("):
            if token != "%%":
                kind = "positional" if token == "%s" else "named"
                raise Database.ProgrammingError(
                    f"{token!r} needs {kind} parameters; the SQL mixes the two styles"
                )
            out.append(token)
        elif token.startswith("'"):
            # psycopg turns %% into % wherever it is, quoted strings included; the driver
            # leaves quoted strings alone.
            out.append(token.replace("%%", "%"))
        else:
            out.append(token)
    out.append(sql[pos:])
    text = "".join(out).strip()
    if text or not statements:
        statements.append((text, None if params is None else tuple(bound)))
    if values is not None and index != len(values):
        raise Database.ProgrammingError(
            f"the SQL statement has {index} placeholders but {len(values)} parameters were given"
        )
    return statements


def _needs_rewrite(params: Sequence[Any]) -> bool:
    return any(
        isinstance(p, SuperValue | VarbyteValue | bytes | bytearray | memoryview) for p in params
    )


def _literal(value: Any) -> str:
    """An approximate SQL literal, only for showing a query (``last_executed_query``)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


# -- result types --------------------------------------------------------------------------

_INTERVAL_RE = re.compile(
    r"(?P<num>[+-]?\d+)\s+(?P<unit>year|mon|day)s?|"
    r"(?P<sign>[+-])?(?P<h>\d+):(?P<m>\d+)(?::(?P<s>\d+(?:\.\d+)?))?"
)


def parse_interval(text: str) -> datetime.timedelta:
    """PostgreSQL-style interval text -> timedelta; a month is 30 days, a year 365 (as psycopg)."""
    days = 0
    seconds = 0.0
    micros = 0
    for m in _INTERVAL_RE.finditer(text):
        if m.group("unit"):
            n = int(m.group("num"))
            days += n * {"year": 365, "mon": 30, "day": 1}[m.group("unit")]
        else:
            sign = -1 if m.group("sign") == "-" else 1
            sec = m.group("s") or "0"
            whole, _, frac = sec.partition(".")
            seconds += sign * (int(m.group("h")) * 3600 + int(m.group("m")) * 60 + int(whole))
            micros += sign * int((frac + "000000")[:6]) if frac else 0
    return datetime.timedelta(days=days, seconds=seconds, microseconds=micros)


def _text(data: bytes, offset: int, length: int) -> str:
    return bytes(data[offset : offset + length]).decode()


def _hex_bytes(data: bytes, offset: int, length: int) -> bytes:
    text = _text(data, offset, length)
    return bytes.fromhex(text[2:] if text.startswith("\\x") else text)


def _interval(data: bytes, offset: int, length: int) -> datetime.timedelta:
    return parse_interval(_text(data, offset, length))


def _wall_clock_zone() -> datetime.tzinfo:
    """USE_TZ = False: the session runs in TIME_ZONE (Django sets it at connect)."""
    from django.conf import settings

    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _install_readers(raw: Any) -> None:
    fc_text = 0
    raw.redshift_types[VARBYTE_OID] = (fc_text, _hex_bytes)
    raw.redshift_types[BYTEA_OID] = (fc_text, _hex_bytes)
    raw.redshift_types[INTERVAL_OID] = (fc_text, _interval)
    # TIMESTAMPTZ comes back from the driver in UTC; Cursor puts it in the zone Django's
    # loader asks for (_zone_mapper).


@lru_cache(maxsize=64)
def _zone(name: str | None) -> datetime.tzinfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _zone_mapper(session: datetime.tzinfo, label: datetime.tzinfo | None) -> Any:
    """What psycopg with Django's loader returns for a TIMESTAMPTZ value: the wall-clock
    time in the session's zone, labelled with the loader's zone (None: naive)."""
    if label is session:
        return lambda value: value.astimezone(session)

    def convert(value: Any) -> Any:
        return value.astimezone(session).replace(tzinfo=label)

    return convert


# -- connection and cursor -----------------------------------------------------------------


class _Query:
    """``cursor._query.query``, which Django reads for ``connection.queries``."""

    def __init__(self, sql: str, params: Any) -> None:
        self._sql = sql
        self._params = params

    @property
    def query(self) -> bytes:
        params = self._params
        if params is None:
            return self._sql.encode()
        try:
            if isinstance(params, Mapping):
                return (self._sql % {k: _literal(v) for k, v in params.items()}).encode()
            return (self._sql % tuple(_literal(p) for p in params)).encode()
        except (TypeError, ValueError, KeyError):
            return self._sql.encode()


class Cursor:
    """A DB-API cursor over redshift_connector with psycopg's conventions."""

    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._raw = connection.raw.cursor()
        self._results: list[tuple[list[Column] | None, list[tuple[Any, ...]], int]] = []
        self._set = 0
        self._rows: list[tuple[Any, ...]] = []
        self._pos = 0
        self._query: _Query | None = None
        self.lastrowid = None
        self.closed = False
        self.adapters = _Adapters(None, parent=connection.adapters)

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        while (row := self.fetchone()) is not None:
            yield row

    @property
    def description(self) -> list[Column] | None:
        return self._results[self._set][0] if self._results else None

    @property
    def rowcount(self) -> int:
        return self._results[self._set][2] if self._results else -1

    def execute(self, sql: str, params: Any = None) -> Cursor:
        if self.closed:
            raise Database.InterfaceError("the cursor is closed")
        self._query = _Query(sql, params)
        statements = prepare(sql, params)
        results: list[tuple[list[Column] | None, list[tuple[Any, ...]], int]] = []
        try:
            self.connection.begin_if_needed()
            index = None
            if len(statements) > 1:
                index = rc_pipeline.run(self.connection.raw, self._raw, statements)
            if index is not None:
                # One round trip; one statement's rows (and no row counts) come back.
                results = [(None, [], -1)] * len(statements)
                results[index] = self._result()
                statements = []
            for text, args in statements:
                self._raw.execute(text, args)
                results.append(self._result())
        except Exception as exc:
            new = translate_error(exc)
            if new is exc:
                raise
            raise new from exc
        self._results = results
        self._select(0)
        return self

    def _result(self) -> tuple[list[Column] | None, list[tuple[Any, ...]], int]:
        """What the raw cursor holds after a statement: description, rows, row count."""
        raw_desc = self._raw.description
        if not raw_desc:
            return None, [], self._raw.rowcount
        desc = [Column(*d[:7]) for d in raw_desc]
        return desc, self._rows_in_zone(desc, self._raw.fetchall()), self._raw.rowcount

    def _rows_in_zone(self, desc: list[Column], rows: Any) -> list[tuple[Any, ...]]:
        zoned = [i for i, col in enumerate(desc) if col.type_code == TIMESTAMPTZ_OID]
        if not zoned:
            return [tuple(r) for r in rows]
        label = self.adapters.get_loader(TIMESTAMPTZ_OID, None).timezone
        convert = _zone_mapper(self.connection.session_zone(), label)
        out = []
        for r in rows:
            row = list(r)
            for i in zoned:
                if isinstance(row[i], datetime.datetime):
                    row[i] = convert(row[i])
            out.append(tuple(row))
        return out

    def callproc(self, procname: str, params: Sequence[Any] | None = None) -> Any:
        """As psycopg: ``SELECT * FROM procname(%s, ...)``; the params back."""
        args = list(params or ())
        self.execute(f"SELECT * FROM {procname}({', '.join(['%s'] * len(args))})", args)
        return params

    def executemany(self, sql: str, param_list: Sequence[Sequence[Any]]) -> Cursor:
        total = 0
        for params in param_list:
            self.execute(sql, params)
            total += max(self.rowcount, 0)
        if self._results:
            desc, rows, _ = self._results[-1]
            self._results = [(desc, rows, total)]
            self._select(0)
        return self

    def _select(self, index: int) -> None:
        self._set = index
        self._rows = self._results[index][1]
        self._pos = 0

    def nextset(self) -> bool | None:
        if self._set + 1 < len(self._results):
            self._select(self._set + 1)
            return True
        return None

    def _check_rows(self) -> None:
        if not self._results or self._results[self._set][0] is None:
            raise Database.ProgrammingError("the last operation didn't produce a result")

    def fetchone(self) -> tuple[Any, ...] | None:
        self._check_rows()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        self._check_rows()
        size = self.arraysize if size is None else size
        rows = self._rows[self._pos : self._pos + size]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        self._check_rows()
        rows = self._rows[self._pos :]
        self._pos = len(self._rows)
        return rows

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self.closed = True
        self._results = []
        self._rows = []
        with contextlib.suppress(Database.Error):
            self._raw.close()


class _Info:
    """The part of psycopg's ``ConnectionInfo`` Django reads."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def parameter_status(self, name: str) -> str | None:
        key = name.encode()
        value = None
        for k, v in self._raw.parameter_statuses:  # oldest first; the last one wins
            if k == key:
                value = v
        return value.decode() if value is not None else None

    @property
    def server_version(self) -> int:
        # PostgreSQL's integer form: "8.0.2" -> 80002 (Redshift reports 8.0.2).
        text = self.parameter_status("server_version") or "0"
        parts = [int(p) for p in re.findall(r"\d+", text)[:3]] + [0, 0]
        return parts[0] * 10000 + (parts[1] * 100 + parts[2] if parts[0] < 10 else parts[1])


class _Loader:
    def __init__(self, timezone: Any) -> None:
        self.timezone = timezone


class _Adapters:
    """The part of psycopg's adapters Django uses: which zone TIMESTAMPTZ values come back
    in (``get_loader``), and a cursor's own zone (``register_loader``, from Django's
    ``register_tzloader`` when the settings' zone changed after the connection opened)."""

    def __init__(self, timezone: Any, parent: _Adapters | None = None) -> None:
        self._loader: Any = _Loader(timezone)
        self._parent = parent
        self._own = False

    def get_loader(self, oid: int, format: Any) -> Any:
        if self._own or self._parent is None:
            return self._loader
        return self._parent.get_loader(oid, format)

    def register_loader(self, name: str | int, loader: Any) -> None:
        if name not in ("timestamptz", TIMESTAMPTZ_OID):
            raise Database.NotSupportedError(f"no loader can be registered for {name!r}")
        self._loader, self._own = loader, True


class Connection:
    """A redshift_connector connection with the surface Django's PostgreSQL code uses."""

    def __init__(self, raw: Any, timezone: Any = None, session_zone: Any = None) -> None:
        """``timezone``: the zone TIMESTAMPTZ values are labelled with (None: naive);
        ``session_zone``: the session's zone when the server reports none zoneinfo knows."""
        self.raw = raw
        # Redshift: Django sends BEGIN/COMMIT itself (see the module docstring).
        raw.autocommit = True
        self._autocommit = True
        self.isolation_level: Any = None
        self.info = _Info(raw)
        self.adapters = _Adapters(timezone)
        self.connect_zone: datetime.tzinfo = session_zone or timezone or datetime.UTC
        self.closed = False

    def session_zone(self) -> datetime.tzinfo:
        """The zone the server reports for the session (SET TIME ZONE changes it)."""
        return _zone(self.info.parameter_status("TimeZone")) or self.connect_zone

    @property
    def autocommit(self) -> bool:
        return self._autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._autocommit = bool(value)

    @property
    def in_transaction(self) -> bool:
        return bool(self.raw.in_transaction)

    def cursor(self, *args: Any, **kwargs: Any) -> Cursor:
        if args or kwargs:
            raise Database.NotSupportedError("named (server-side) cursors are not supported")
        return Cursor(self)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        return self.cursor().execute(sql, params)

    def _run(self, sql: str) -> None:
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql)
        except Exception as exc:
            new = translate_error(exc)
            if new is exc:
                raise
            raise new from exc
        finally:
            cursor.close()

    def begin_if_needed(self) -> None:
        if self._autocommit or self.raw.in_transaction:
            return
        level = getattr(self.isolation_level, "name", self.isolation_level)
        # Redshift: BEGIN [ISOLATION LEVEL ...] (DG:r_BEGIN).
        if level:
            self._run(f"BEGIN ISOLATION LEVEL {str(level).replace('_', ' ').upper()}")
        else:
            self._run("BEGIN")

    def commit(self) -> None:
        if self.raw.in_transaction:
            self._run("COMMIT")

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self._run("ROLLBACK")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Database.Error, OSError):
            self.raw.close()


class PoolAdapter:
    """``pool``'s redshift_connector adapter, applied to the raw connection inside ours."""

    def __init__(self) -> None:
        from pool import RedshiftConnectorAdapter

        self.raw = RedshiftConnectorAdapter()

    def state(self, conn: Connection) -> Any:
        from pool import ConnState

        return ConnState.BROKEN if conn.closed else self.raw.state(conn.raw)

    def rollback(self, conn: Connection) -> None:
        conn.rollback()

    def check(self, conn: Connection) -> None:
        self.raw.check(conn.raw)

    def close(self, conn: Connection) -> None:
        conn.close()

    def is_fatal(self, conn: Connection, exc: BaseException) -> bool:
        # The pool's adapter walks the whole chain: Django's OperationalError from ours
        # (translate_error) from the driver's InterfaceError.
        return conn.closed or self.raw.is_fatal(conn.raw, exc)


# -- the driver ----------------------------------------------------------------------------


def _tls_params(options: Mapping[str, Any], redshift_host: bool) -> dict[str, Any]:
    """connect()'s ``ssl``/``sslmode`` for OPTIONS' ``ssl`` (the driver's switch) and
    ``sslmode`` (libpq's six values, or the driver's two)."""
    ssl, mode = options.get("ssl"), options.get("sslmode")
    if mode is None:
        if ssl is False:
            mode = "disable"
        elif redshift_host:
            mode = REDSHIFT_DEFAULT_SSLMODE
        elif ssl is None:
            mode = "prefer"
        else:
            return {"ssl": True}  # ssl=True alone: TLS with the driver's own sslmode
    if mode == "disable":
        return {"ssl": False}
    if mode in ("allow", "prefer"):
        return {"ssl": True, "sslmode": "verify-ca", "_ssl_fallback": True}
    if mode == "require":
        # libpq's require verifies the chain as verify-ca does when it has a root
        # certificate; this driver always has one (its Redshift bundle and the system store).
        return {"ssl": True, "sslmode": "verify-ca"}
    return {"ssl": True, "sslmode": mode}


# connect() arguments the backend sets itself, and what to use instead.
_MANAGED = {
    "user": "set USER (or OPTIONS['iam'])",
    "password": "set PASSWORD (or OPTIONS['iam'])",
    "host": "set HOST",
    "port": "set PORT",
    "database": "set NAME",
    "numeric_to_float": (
        "it would return every NUMERIC value, DecimalField's included, as a float; for a "
        "float column use FloatField, or Cast(expression, FloatField()) in a query"
    ),
}
# Read by the backend besides connect()'s own: libpq's connect_timeout, with libpq's meaning
# (a limit on connecting only), so the same OPTIONS work with psycopg.
_EXTRA = {"connect_timeout": CONNECT_TIMEOUT}
# sslmode takes libpq's six values (see connect_params()); disable/allow/prefer need TLS off
# or optional, so they contradict ssl=True.
_SSL_OPTIONAL = ("disable", "allow", "prefer")
# Values connect() accepts, where its type annotation says less (RC: __init__.py connect()
# and its validate_keepalive_values(); plugins refuse idp_response_timeout under 10).
_RANGES: dict[str, Rule] = {
    "timeout": seconds(what=": the socket's timeout on every read and write"),
    "max_prepared_statements": integer(0),
    "tcp_keepalive_idle": integer(1, what=", in seconds"),
    "tcp_keepalive_interval": integer(1, what=", in seconds"),
    "tcp_keepalive_count": integer(1),
    "idp_response_timeout": integer(10, what=", in seconds"),
    "listen_port": integer(0, 65535),
    "client_protocol_version": one_of(*ClientProtocolVersion.list()),
    "sslmode": one_of(*SSLMODES),
}
# The driver's own rules on its login plugins (RC: __init__.py connect()).
_IDC_PLUGINS = getattr(Database, "IDC_PLUGINS_LIST", ())
_TLS_ONLY_PLUGINS = getattr(Database, "IDC_OR_NATIVE_IDP_PLUGINS_LIST", ())


_BY_TYPE: dict[Any, Rule] = {int: integer(), bool: BOOLEAN, str: STRING}


@lru_cache(maxsize=1)
def _rules() -> dict[str, Rule]:
    """A rule for each connect() argument, from its annotation (``Optional[int]``,
    ``Optional[bool]``, ``Optional[str]``, ``Optional[List[str]]``) and ``_RANGES``."""
    hints = typing.get_type_hints(Database.connect)
    rules: dict[str, Rule] = {}
    for name in inspect.signature(Database.connect).parameters:
        kinds = [k for k in typing.get_args(hints.get(name)) if k is not type(None)]
        kind = kinds[0] if kinds else hints.get(name)
        if typing.get_origin(kind) is list:
            rules[name] = STRINGS
        elif kind in _BY_TYPE:
            rules[name] = _BY_TYPE[kind]
    rules.update(_RANGES)
    rules.update(_EXTRA)
    return rules


class RedshiftConnectorDriver(Driver):
    name = "redshift_connector"
    Database = Database
    paramstyle = "format"

    def check_options(
        self, options: Mapping[str, Any], settings_dict: Mapping[str, Any] | None = None
    ) -> None:
        allowed = frozenset(inspect.signature(Database.connect).parameters) | set(_EXTRA)
        for key in options:
            if key in _MANAGED:
                raise ImproperlyConfigured(
                    f"DATABASES OPTIONS[{key!r}] is managed by the Redshift backend with the "
                    f"redshift_connector driver: {_MANAGED[key]}."
                )
            if key == "sslrootcert":
                raise ImproperlyConfigured(
                    "DATABASES OPTIONS['sslrootcert'] is not supported by the redshift_connector "
                    "driver: it trusts the system certificate store plus its bundled Redshift CA. "
                    "Add your CA there, or point OpenSSL's SSL_CERT_FILE environment variable at "
                    "it, or use the psycopg driver."
                )
            if key not in allowed:
                from ..options import BACKEND_KEYS, suggest

                raise ImproperlyConfigured(
                    f"DATABASES OPTIONS[{key!r}] is not an option of the Redshift backend nor a "
                    "redshift_connector.connect() argument."
                    f"{suggest(key, allowed | BACKEND_KEYS)}"
                )
        check_rules(options, _rules(), self.name)
        check_port(settings_dict or {}, self.name)
        self._check_login(options, (settings_dict or {}).get("OPTIONS") or {})

    def _check_login(self, options: Mapping[str, Any], all_options: Mapping[str, Any]) -> None:
        """What connect() would refuse about TLS and logins, said before it runs."""
        ssl, mode = options.get("ssl"), options.get("sslmode")
        if (ssl is False and mode not in (None, "disable")) or (
            ssl is True and mode in _SSL_OPTIONAL
        ):
            raise ImproperlyConfigured(
                f"DATABASES OPTIONS['ssl'] = {ssl!r} and OPTIONS['sslmode'] = {mode!r} "
                "contradict each other with the redshift_connector driver: set one of them "
                "(ssl=False is sslmode='disable')."
            )
        tls_off = ssl is False or mode == "disable"
        iam = options.get("iam") is True
        provider = options.get("credentials_provider")
        if tls_off and (iam or provider in _TLS_ONLY_PLUGINS):
            what = "OPTIONS['iam'] = True" if iam else f"credentials_provider {provider!r}"
            raise ImproperlyConfigured(
                f"DATABASES OPTIONS: redshift_connector refuses {what} without TLS: remove "
                "ssl=False / sslmode='disable'."
            )
        if iam and provider in _IDC_PLUGINS:
            raise ImproperlyConfigured(
                f"DATABASES OPTIONS['credentials_provider'] = {provider!r} is an IAM Identity "
                "Center plugin, which redshift_connector refuses with OPTIONS['iam'] = True: "
                "remove 'iam'."
            )
        if options.get("ssl_insecure") and not iam:
            raise ImproperlyConfigured(
                "DATABASES OPTIONS['ssl_insecure'] = True is not valid with the "
                "redshift_connector driver without OPTIONS['iam'] = True: it turns off the check "
                "of the identity provider's certificate (idp_host) in the driver's own IAM "
                "login, not of the server's. For the server's certificate use sslmode "
                "('require' checks the chain but not the name; 'disable' turns TLS off)."
            )
        if isinstance(all_options.get("iam"), Mapping) and provider is not None:
            raise ImproperlyConfigured(
                "DATABASES OPTIONS['iam'] (the backend's IAM login) and "
                "OPTIONS['credentials_provider'] (redshift_connector's identity-provider "
                "login) both supply the login: use one of them."
            )

    def connect_params(
        self,
        settings_dict: Mapping[str, Any],
        options: Mapping[str, Any],
        *,
        use_tz: bool,
        timezone: Any,
    ) -> dict[str, Any]:
        mine = ("ssl", "sslmode", "connect_timeout")
        params: dict[str, Any] = {k: v for k, v in options.items() if k not in mine}
        if settings_dict.get("NAME"):
            params["database"] = settings_dict["NAME"]
        if settings_dict.get("USER"):
            params["user"] = settings_dict["USER"]
        if settings_dict.get("PASSWORD"):
            params["password"] = settings_dict["PASSWORD"]
        if settings_dict.get("HOST"):
            params["host"] = settings_dict["HOST"]
        if settings_dict.get("PORT"):
            params["port"] = int(settings_dict["PORT"])
        params.update(_tls_params(options, is_redshift_host(params.get("host"))))
        connect_timeout = options.get("connect_timeout")
        if connect_timeout is not None and int(connect_timeout) > 0:
            # libpq's meaning: a limit on connecting (at least 2 s, as libpq), after which
            # the socket gets the driver's own ``timeout`` (None: none) back.
            params["timeout"] = max(2, int(connect_timeout))
            params["_socket_timeout"] = options.get("timeout")
        params["_timezone"] = timezone if use_tz else _wall_clock_zone()
        params["_naive"] = not use_tz
        return params

    def connect(self, params: Mapping[str, Any]) -> Connection:
        kwargs = dict(params)
        timezone = kwargs.pop("_timezone", None)
        naive = kwargs.pop("_naive", False)
        fallback = kwargs.pop("_ssl_fallback", False)
        limit_connect = "_socket_timeout" in kwargs
        socket_timeout = kwargs.pop("_socket_timeout", None)
        try:
            try:
                raw = Database.connect(**kwargs)
            except Database.InterfaceError as exc:
                # sslmode=prefer: a server that answers the SSLRequest with "N" gets plain text.
                if not (fallback and "refuses SSL" in str(exc)):
                    raise
                # The declined attempt's socket would otherwise stay open until collected.
                _close_abandoned_socket(exc)
                raw = Database.connect(**{**kwargs, "ssl": False})
        except Exception as exc:
            # Neither the driver's frames (their locals hold the password) nor its
            # exception (chained under ours) go with the error.
            raise without_frames(translate_error(exc, connecting=True)) from None
        if limit_connect:
            raw._usock.settimeout(socket_timeout)
        _install_readers(raw)
        return Connection(raw, None if naive else timezone, session_zone=timezone)

    def in_transaction(self, connection: Any) -> bool:
        return bool(connection.in_transaction)

    def pool_adapter(self) -> Any:
        return PoolAdapter()

    def sqlstate(self, exc: BaseException) -> str | None:
        code = getattr(exc, "sqlstate", None)
        if code is None:
            fields = server_fields(exc)
            code = fields.get("C") if fields else None
        return code

    def message(self, exc: BaseException) -> str:
        fields = getattr(exc, "fields", None) or server_fields(exc)
        if fields:
            return f"{fields.get('M', '')} {fields.get('D', '')}".strip()
        return str(exc)


driver = RedshiftConnectorDriver()
