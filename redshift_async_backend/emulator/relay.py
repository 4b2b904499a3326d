"""The wire relay of one session, once it is logged in: client messages go upstream
through the statement pipeline, responses come back translated.

* Client to upstream (:meth:`Relay.on_client_data`): each Query or Parse is rewritten
  (:mod:`.pipeline`); a refused statement (or an injected fault) is replaced upstream by a
  statement that fails to parse, and that error by the Redshift one. So PostgreSQL itself
  does what it does on any error: discards extended-protocol messages until Sync, aborts
  an explicit transaction, rolls back an implicit one, and reports the right transaction
  status in ReadyForQuery.
* Upstream to client (:meth:`Relay.on_upstream_data`): responses are relayed, dropping the
  ones that answer the emulator's own preludes, swapping command tags and error texts.

The two agree through a queue of :class:`Unit` objects: one per client message that
PostgreSQL answers, appended in the order they are written upstream, so the upstream side
always knows which request a response belongs to.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import pipeline, refusals
from . import protocol as pq
from .catalog import SCHEMA
from .faults import ConnectionStats

if TYPE_CHECKING:
    from .session import ClientConnection

logger = logging.getLogger("redshift_async_backend.emulator")

# A statement that fails in PostgreSQL's raw parser: it stands in for a refused one.
FAIL_SQL = "REDSHIFT_EMULATOR_REFUSED"
_PRELUDE_STATEMENT = "_redshift_emulator_prelude"
_TXN_WORDS = {
    "begin": True,
    "start": True,
    "commit": False,
    "end": False,
    "rollback": False,
    "abort": False,
}


class Peer(asyncio.Protocol):
    """One socket of a connection (the client's or the upstream's).

    During startup, bytes collect in ``buffer`` for the connection's coroutine; once the
    session is set up, ``relay`` handles them as they arrive, with no task switch.
    """

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.buffer = pq.MessageBuffer()
        self.pending: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self.relay: Callable[[bytes], None] | None = None
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.conn.peer_made(self)

    def data_received(self, data: bytes) -> None:
        if self.relay is not None:
            self.relay(data)
            return
        self.buffer.feed(data)
        self._wake()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._wake()
        self.conn.peer_lost(self)

    def pause_writing(self) -> None:
        self.conn.flow(self, paused=True)

    def resume_writing(self) -> None:
        self.conn.flow(self, paused=False)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_data(self) -> None:
        if self.closed:
            raise ConnectionError("connection closed")
        self._waiter = asyncio.get_running_loop().create_future()
        await self._waiter
        if self.closed and not len(self.buffer):
            raise ConnectionError("connection closed")

    async def startup_frame(self) -> bytes:
        while True:
            frame = self.buffer.startup_frame()
            if frame is not None:
                return frame
            await self.wait_data()

    async def frame(self) -> tuple[bytes, bytes]:
        while not self.pending:
            self.pending.extend(self.buffer.frames())
            if not self.pending:
                await self.wait_data()
        return self.pending.popleft()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class Unit:
    """One request PostgreSQL will answer, in the order it was sent upstream.

    kind: 'Q' (simple Query or FunctionCall, answered up to ReadyForQuery), 'S' (Sync),
    'P' Parse, 'B' Bind, 'E' Execute, 'D' Describe, 'C' Close.
    """

    __slots__ = ("error", "future", "got_error", "kind", "swallow", "tag")

    def __init__(
        self,
        kind: str,
        *,
        swallow: bool = False,
        tag: str | None = None,
        error: dict[str, str] | None = None,
        future: asyncio.Future[tuple[dict[str, str] | None, str]] | None = None,
    ) -> None:
        self.kind = kind
        self.swallow = swallow
        self.tag = tag
        self.error = error
        self.future = future
        self.got_error: dict[str, str] | None = None


PLAIN = {kind: Unit(kind) for kind in "QSPBEDC"}


class Relay:
    """The relay of one logged-in session between ``client`` and ``upstream``."""

    def __init__(self, conn: ClientConnection, stats: ConnectionStats) -> None:
        assert conn.upstream is not None
        self.conn = conn
        self.server = conn.server
        self.client = conn.client
        self.upstream = conn.upstream
        self.stats = stats
        self.state = conn.state
        self.units: collections.deque[Unit] = collections.deque()
        self.in_transaction = False
        # Extended protocol bookkeeping, only for statements with preludes/tags or faults.
        self.statement_extra: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self.portal_extra: dict[str, tuple[tuple[str, ...], str | None]] = {}
        # The SQL of each prepared statement (the Parse frame of a long one), for faults.
        self.statement_sql: dict[str, str | bytes] = {}
        self.portal_statement: dict[str, str] = {}
        self._client_frames: collections.deque[tuple[bytes, bytes]] = collections.deque()
        self.blocked = False  # waiting (latency, a prelude, a rewrite): client reading paused
        self.slow: asyncio.Future[None] | None = None

    def start(self) -> None:
        client, upstream = self.client, self.upstream
        client.relay = self.on_client_data
        upstream.relay = self.on_upstream_data
        # Bytes that came with the startup exchange.
        if upstream.pending or len(upstream.buffer):
            leftover = list(upstream.pending)
            upstream.pending.clear()
            self._on_upstream_frames(leftover + upstream.buffer.frames())
        self._client_frames.extend(client.pending)
        client.pending.clear()
        self._client_frames.extend(client.buffer.frames())
        if self._client_frames:
            self._pump()

    # ------------------------------------------------------------------ client -> upstream

    def _rewrite(self, sql: str) -> Any:
        self.state.in_transaction = self.in_transaction
        return pipeline.rewrite(sql, self.state)

    def _uppercase_names(self) -> bool:
        return (
            bool(self.state.settings)
            and self.state.setting("describe_field_name_in_uppercase") == "on"
        )

    def _note_sql(self, sql: str) -> None:
        """Cheap look at transaction control in a statement."""
        head = sql[:24].lstrip().split(None, 1)
        if head:
            word = head[0].lower().rstrip(";")
            txn = _TXN_WORDS.get(word)
            if txn is not None:
                self.in_transaction = txn

    def on_client_data(self, data: bytes) -> None:
        buf = self.client.buffer
        try:
            self._client_frames.extend(buf.frames_from(data))
        except pq.ProtocolError:
            self.conn.fatal_and_close("invalid frontend message length", "08P01")
            return
        if not self.blocked:
            self._pump()

    def _pump(self) -> None:
        """Translate queued client frames and send them; go async only when needed."""
        try:
            out, trips, slow = self._translate_client(self._client_frames)
        except (ValueError, IndexError, pq.ProtocolError):
            # A message that does not parse (a Parse without its terminator, say): as
            # PostgreSQL does, FATAL and close.
            self.conn.fatal_and_close("invalid frontend message format", "08P01")
            return
        self.stats.round_trips += trips
        delay = self.server.latency * trips
        if slow is None and not delay:
            if out:
                self.upstream.write(b"".join(out) if len(out) > 1 else out[0])
            return
        self.blocked = True
        self.conn.update_client_reading()
        self.slow = asyncio.ensure_future(self._continue(out, delay, slow))

    async def _continue(self, out: list[bytes], delay: float, slow: Any) -> None:
        try:
            if delay:
                # Redshift: every round trip pays the leader node's overhead.
                await asyncio.sleep(delay)
            if out:
                self.upstream.write(b"".join(out))
            if slow is not None:
                await slow()
        except (ConnectionError, asyncio.CancelledError):
            self.conn.abort()
            return
        self.blocked = False
        if self._client_frames:
            self._pump()
        self.conn.update_client_reading()

    def _translate_client(
        self, frames: collections.deque[tuple[bytes, bytes]]
    ) -> tuple[list[bytes], int, Any]:
        """Frames to send upstream, round trips, and a coroutine function to await after
        sending them (a prelude, or a rewrite off the event loop), which ends the batch."""
        server = self.server
        stats = self.stats
        units = self.units
        out: list[bytes] = []
        trips = 0
        while frames:
            kind, frame = frames[0]
            if kind == b"Q":
                frames.popleft()
                trips += 1
                stats.statements += 1
                long = server.pipeline.off_loop(frame)
                # A long statement is decoded where it is rewritten, unless a fault needs it.
                sql = pq.parse_query(frame if not long or server.faults else frame[:69] + b"\0")
                self._note_sql(sql)
                fault = server.faults.match(sql) if server.faults else None
                if fault is not None:
                    units.append(Unit("Q", error=fault))
                    out.append(pq.query(FAIL_SQL))
                    continue
                if long:
                    return out, trips, functools.partial(self._query_off_loop, frame)
                rw = self._outcome(sql)
                if isinstance(rw, dict):
                    units.append(Unit("Q", error=rw))
                    out.append(pq.query(FAIL_SQL))
                elif rw.prelude:
                    return (
                        out,
                        trips,
                        functools.partial(
                            self._simple_with_prelude, rw.prelude, rw.tag, pq.query(rw.sql)
                        ),
                    )
                else:
                    self._query(frame, sql, rw, out)
            elif kind == b"P":
                frames.popleft()
                if server.pipeline.off_loop(frame):
                    name, head = pq.parse_parse_head(frame)
                    self._note_sql(head)
                    self.statement_sql[name] = frame
                    return out, trips, functools.partial(self._parse_off_loop, frame, name)
                msg = pq.parse_parse(frame)
                self._note_sql(msg.sql)
                self.statement_sql[msg.name] = msg.sql
                rw = self._outcome(msg.sql)
                if isinstance(rw, dict):
                    self._parsed(msg.name, error=rw, out=out)
                else:
                    changed = (
                        None if rw.sql == msg.sql else pq.parse(msg.name, rw.sql, msg.param_types)
                    )
                    self._parsed(msg.name, changed or frame, rw.prelude, rw.tag, out=out)
            else:
                frames.popleft()
                trips += self._translate_other(kind, frame, out)
                if kind == b"X":
                    frames.clear()
        return out, trips, None

    def _translate_other(self, kind: bytes, frame: bytes, out: list[bytes]) -> int:
        """Every message but Query and Parse; returns the round trips it makes."""
        units = self.units
        if kind == b"B":
            if self.statement_extra or self.portal_extra or self.server.faults:
                self._client_bind(frame, out)
            else:
                units.append(PLAIN["B"])
                out.append(frame)
        elif kind == b"E":
            self.stats.statements += 1
            self._client_execute(frame, out)
        elif kind == b"S":
            units.append(PLAIN["S"])
            out.append(frame)
            return 1
        elif kind == b"D" or kind == b"C":
            units.append(PLAIN[kind.decode()])
            out.append(frame)
        elif kind == b"F":  # FunctionCall: answered up to ReadyForQuery
            self.stats.statements += 1
            units.append(PLAIN["Q"])
            out.append(frame)
            return 1
        else:  # Flush, Terminate, CopyData/CopyDone/CopyFail: no answer of their own
            out.append(frame)
        return 0

    def _outcome(self, sql: str) -> Any:
        """The Rewrite of ``sql``, or the error fields that answer it instead."""
        try:
            return self._rewrite(sql)
        except pipeline.InternalError as exc:
            return pipeline.internal_error_fields(str(exc), pipeline.size_of(sql))
        except Exception as exc:  # a refusal (rules.RedshiftError)
            return pipeline.refusal_fields(exc)

    async def _rewritten(self, kind: bytes, frame: bytes) -> pipeline.FrameRewrite:
        self.state.in_transaction = self.in_transaction
        return await self.server.pipeline.rewrite_off_loop(kind, frame, self.state)

    def _query(self, frame: bytes, sql: str, rw: Any, out: list[bytes]) -> None:
        if rw is None or (rw.tag is None and rw.sql == sql):
            self.units.append(PLAIN["Q"])
            out.append(frame)
        else:
            self.units.append(Unit("Q", tag=rw.tag) if rw.tag else PLAIN["Q"])
            out.append(frame if rw.sql == sql else pq.query(rw.sql))

    async def _query_off_loop(self, frame: bytes) -> None:
        result = await self._rewritten(b"Q", frame)
        if result.error is not None:
            self.units.append(Unit("Q", error=result.error))
            self.upstream.write(pq.query(FAIL_SQL))
        elif result.prelude:
            await self._simple_with_prelude(result.prelude, result.tag, result.frame or frame)
        else:
            self.units.append(Unit("Q", tag=result.tag) if result.tag else PLAIN["Q"])
            self.upstream.write(result.frame or frame)

    async def _parse_off_loop(self, frame: bytes, name: str) -> None:
        result = await self._rewritten(b"P", frame)
        out: list[bytes] = []
        self._parsed(name, result.frame or frame, result.prelude, result.tag, result.error, out)
        self.upstream.write(out[0])

    async def _simple_with_prelude(
        self, prelude: tuple[str, ...], tag: str | None, query: bytes
    ) -> None:
        """A simple Query with a prelude: each prelude statement runs and is waited for,
        since the statement must not run if one fails."""
        error = None
        for statement in prelude:
            error = await self._run_simple_prelude(statement)
            if error is not None:
                break
        if error is not None:
            self.units.append(Unit("Q", error=error))
            self.upstream.write(pq.query(FAIL_SQL))
        else:
            self.units.append(Unit("Q", tag=tag) if tag else PLAIN["Q"])
            self.upstream.write(query)

    def _parsed(
        self,
        name: str,
        frame: bytes = b"",
        prelude: tuple[str, ...] = (),
        tag: str | None = None,
        error: dict[str, str] | None = None,
        out: list[bytes] | None = None,
    ) -> None:
        """A Parse goes upstream as ``frame``, or fails with ``error``; its prelude and tag
        are kept for each Bind and Execute of the statement."""
        assert out is not None
        if error is not None:
            self.statement_extra.pop(name, None)
            self.units.append(Unit("P", error=error))
            out.append(pq.parse(name, FAIL_SQL))
            return
        if prelude or tag is not None:
            self.statement_extra[name] = (prelude, tag)
        else:
            self.statement_extra.pop(name, None)
        self.units.append(PLAIN["P"])
        out.append(frame)

    def _client_bind(self, frame: bytes, out: list[bytes]) -> None:
        portal, statement = pq.parse_bind_names(frame)
        self.portal_statement[portal] = statement
        extra = self.statement_extra.get(statement)
        if extra is None:
            self.portal_extra.pop(portal, None)
        else:
            prelude, tag = extra
            if tag is None:
                self.portal_extra.pop(portal, None)
            else:
                self.portal_extra[portal] = extra
            # Before the client's Bind: a COMMIT in the prelude would drop its portal. The
            # prelude uses its own statement and portal names so the client's survive.
            name = _PRELUDE_STATEMENT.encode() + b"\x00"
            for sql in prelude:
                out.append(pq.parse(_PRELUDE_STATEMENT, sql))
                out.append(pq.bind(_PRELUDE_STATEMENT, _PRELUDE_STATEMENT))
                out.append(pq.execute(_PRELUDE_STATEMENT))
                out.append(pq.message(b"C", b"P" + name))
                out.append(pq.message(b"C", b"S" + name))
                for kind in "PBECC":
                    self.units.append(Unit(kind, swallow=True))
        self.units.append(PLAIN["B"])
        out.append(frame)

    def _client_execute(self, frame: bytes, out: list[bytes]) -> None:
        units = self.units
        faults = self.server.faults
        portal = ""
        if self.portal_extra or faults:
            portal, _ = pq.parse_execute(frame)
        if faults:
            sql = self.statement_sql.get(self.portal_statement.get(portal, ""), "")
            if isinstance(sql, bytes):  # a long statement's Parse frame
                sql = pq.parse_parse(sql).sql
            fault = faults.match(sql) if sql else None
            if fault is not None:
                # A Parse that fails stands in for the Execute (see the module docstring).
                units.append(Unit("E", error=fault))
                out.append(pq.parse(_PRELUDE_STATEMENT, FAIL_SQL))
                return
        extra = self.portal_extra.get(portal) if self.portal_extra else None
        if extra is None:
            units.append(PLAIN["E"])
        else:
            units.append(Unit("E", tag=extra[1]))
        out.append(frame)

    async def _run_simple_prelude(self, statement: str) -> dict[str, str] | None:
        """Run one prelude statement and wait: the main statement must not run if it fails."""
        future: asyncio.Future[tuple[dict[str, str] | None, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self.units.append(Unit("Q", swallow=True, future=future))
        self.upstream.write(pq.query(statement))
        error, _status = await future
        return error

    # ------------------------------------------------------------------ upstream -> client

    def on_upstream_data(self, data: bytes) -> None:
        buf = self.upstream.buffer
        whole = not len(buf)
        try:
            frames = buf.frames_from(data)
        except pq.ProtocolError:
            self.conn.abort()
            return
        # When every frame of a chunk goes to the client unchanged, the chunk itself is sent.
        self._on_upstream_frames(frames, data if whole and not len(buf) else None)

    def _on_upstream_frames(
        self, frames: list[tuple[bytes, bytes]], raw: bytes | None = None
    ) -> None:
        units = self.units
        empty = PLAIN["Q"]
        out: list[bytes] = []
        same = True  # every frame so far goes to the client unchanged
        for kind, frame in frames:
            unit = units[0] if units else empty
            if kind == b"D":
                if unit.swallow:
                    same = False
                else:
                    out.append(frame)
            elif kind == b"C" or kind == b"I" or kind == b"s":
                if unit.kind == "E":
                    units.popleft()
                if unit.swallow:
                    same = False
                    continue
                if unit.tag is not None and kind == b"C":
                    frame = pq.command_complete(unit.tag)
                    same = False
                out.append(frame)
            elif kind == b"Z":
                while units:
                    popped = units.popleft()
                    if popped.kind in "QS":
                        unit = popped
                        break
                if unit.future is not None:
                    if not unit.future.done():
                        unit.future.set_result((unit.got_error, chr(frame[5])))
                    same = False
                    continue
                self.in_transaction = frame[5] != 73  # b"I": idle
                out.append(frame)
            elif kind in (b"1", b"2", b"3"):
                if units:
                    units.popleft()
                if unit.swallow:
                    same = False
                else:
                    out.append(frame)
            elif kind == b"T" or kind == b"n":
                if unit.kind == "D":
                    units.popleft()
                if unit.swallow:
                    same = False
                elif kind == b"T" and self._uppercase_names():
                    # Redshift: DG:r_describe_field_name_in_uppercase.
                    out.append(pq.upper_field_names(frame))
                    same = False
                else:
                    out.append(frame)
            elif kind == b"E":
                same = False
                fields = unit.error if unit.error is not None else translate(frame)
                if unit.kind == "Q":
                    if unit.swallow:
                        unit.got_error = fields
                        continue
                elif unit.kind != "S" and units:
                    units.popleft()  # the rest, up to Sync, PostgreSQL skips
                out.append(pq.error_response(fields))
            elif unit.swallow and kind in (b"t", b"N"):
                same = False
            else:
                out.append(frame)
        if raw is not None and same:
            self.client.write(raw)
        elif out:
            self.client.write(b"".join(out) if len(out) > 1 else out[0])


def translate(frame: bytes) -> dict[str, str]:
    """An upstream ErrorResponse as a Redshift client sees it; as sent if translating it
    fails (which is logged)."""
    fields = pq.parse_fields(frame)
    if SCHEMA in fields.get("W", ""):
        # The context of an error inside the emulator's own procedures (qualified, or on the
        # search_path and named redshift_emulator_...): not the client's.
        fields = {k: v for k, v in fields.items() if k not in "Wqp"}
    try:
        return pipeline.rules.translate_error(refusals.reword(fields))
    except Exception as exc:
        logger.error(
            "emulator: %s while translating an upstream error; sent untranslated",
            type(exc).__name__,
        )
        return fields
