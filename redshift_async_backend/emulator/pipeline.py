"""Where a statement is rewritten: the user and group statements (:mod:`.users`), then the
rules (:mod:`.rules`), with every failure of the emulator's own code turned into an error
for that one statement.

Rewriting a long statement takes seconds of CPU (pglast's parser and printer). On the
event loop that stalls every other client of the process; in a thread it still does,
for hundreds of milliseconds at a time, because pglast builds its syntax tree, and
``re`` scans a long string, without giving the GIL back. So statements longer than
:data:`OFF_LOOP_CHARS` are rewritten in a small process pool, and the connection whose
statement it is waits, in order. benchmarks/RESULTS.md ("stall") has the three side by
side; :data:`REWRITE_IN_ENV` chooses another place, to measure it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import keys, rules, users
from . import protocol as pq

logger = logging.getLogger("redshift_async_backend.emulator")

# Below this many characters a rewrite costs less than handing it over (about 1 ms).
OFF_LOOP_CHARS = 64 * 1024
# Where long statements are rewritten: "process" (the default), "thread" or "loop".
REWRITE_IN_ENV = "REDSHIFT_EMULATOR_REWRITE_IN"
_PLACES = ("process", "thread", "loop")


class InternalError(Exception):
    """The emulator's own code failed on a statement (not a Redshift refusal)."""


@dataclass(frozen=True)
class Failure:
    """What failed where, for the log; never the statement's text or values."""

    kind: str
    where: str
    size: int

    def log(self) -> None:
        logger.error(
            "emulator: %s at %s while rewriting a statement of %d bytes; the client got an "
            "error for it",
            self.kind,
            self.where,
            self.size,
        )


def _valid_utf8(sql: str) -> bool:
    # The protocol layer decodes with surrogateescape: invalid UTF-8 becomes surrogates.
    if sql.isascii():
        return True
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def size_of(sql: str) -> int:
    return len(sql.encode("utf-8", "surrogateescape"))


def attempt(sql: str, state: Any) -> Any:
    """The Rewrite for one client Query or Parse, or a :class:`Failure` of the emulator's
    own code; raises ``rules.RedshiftError`` to refuse."""
    if not _valid_utf8(sql):
        # PostgreSQL refuses it with its own error (invalid byte sequence, 22021).
        return rules.Rewrite(sql)
    try:
        if users.is_user_statement(sql):
            return _with_users(sql, state)
        rw = rules.rewrite(sql, state)
        call = keys.add_key_call(rw.sql)
        if call is not None:
            return rules.Rewrite(call, rw.prelude, tag="ALTER TABLE")
        return rw
    except rules.RedshiftError:
        raise
    except (Exception, RecursionError) as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"
        return Failure(type(exc).__name__, where, size_of(sql))


def rewrite(sql: str, state: Any) -> Any:
    """:func:`attempt`, with a failure logged and raised as :class:`InternalError`."""
    outcome = attempt(sql, state)
    if isinstance(outcome, Failure):
        outcome.log()
        raise InternalError(outcome.kind)
    return outcome


def _with_users(sql: str, state: Any) -> Any:
    """A query whose statements include a user or group statement."""
    from pglast.parser import split

    statements = split(sql, with_parser=False)
    if len(statements) == 1:
        rw = users.translate(statements[0])
        assert rw is not None
        return rw
    out: list[str] = []
    prelude: list[str] = []
    for stmt in statements:
        rw = users.translate(stmt) or rules.rewrite(stmt, state)
        out.append(rw.sql)
        prelude.extend(rw.prelude)
    return rules.Rewrite("; ".join(out), tuple(prelude))


def _long_names() -> dict[str, str] | None:
    # The rules' memory of shortened identifiers, which translate_error reads.
    names = getattr(rules, "LONG_NAMES", None)
    return names if isinstance(names, dict) else None


def _copy_state(source: Any, target: Any) -> None:
    """What the rules changed in the session state, on the server's own state object."""
    if dataclasses.is_dataclass(source):
        for f in dataclasses.fields(source):
            setattr(target, f.name, getattr(source, f.name))
    elif hasattr(source, "__dict__"):
        vars(target).update(vars(source))


def internal_error_fields(kind: str, size: int) -> dict[str, str]:
    return pq.error_fields(
        f"the Redshift emulator failed on this statement ({kind}); it did not run",
        "XX000",
        hint=f"this is a bug of the emulator: please report it (the statement had {size} bytes)",
    )


def refusal_fields(exc: Exception) -> dict[str, str]:
    return pq.error_fields(
        getattr(exc, "message", str(exc)),
        getattr(exc, "sqlstate", "XX000"),
        detail=getattr(exc, "detail", None),
        hint=getattr(exc, "hint", None),
    )


@dataclass(frozen=True)
class FrameRewrite:
    """A client's Query or Parse frame, rewritten: ``frame`` to send instead (None: the
    client's own), the prelude and tag of the rewrite, or ``error`` (the fields that
    answer it) with ``failure`` set when the emulator itself failed."""

    frame: bytes | None = None
    prelude: tuple[str, ...] = ()
    tag: str | None = None
    error: dict[str, str] | None = None
    failure: Failure | None = None


def rewrite_frame(kind: bytes, frame: bytes, state: Any) -> FrameRewrite:
    """:func:`attempt` on a whole frame, bytes in and bytes out: for a long statement, the
    decoding and encoding happen where the rewrite does, not on the event loop."""
    if kind == b"Q":
        sql, name, types = pq.parse_query(frame), "", b""
    else:
        msg = pq.parse_parse(frame)
        sql, name, types = msg.sql, msg.name, msg.param_types
    try:
        outcome = attempt(sql, state)
    except rules.RedshiftError as exc:
        return FrameRewrite(error=refusal_fields(exc))
    if isinstance(outcome, Failure):
        return FrameRewrite(
            error=internal_error_fields(outcome.kind, outcome.size), failure=outcome
        )
    new = None
    if outcome.sql != sql or (kind == b"Q" and outcome.prelude):
        new = pq.query(outcome.sql) if kind == b"Q" else pq.parse(name, outcome.sql, types)
    return FrameRewrite(new, outcome.prelude, outcome.tag)


def _in_child(kind: bytes, frame: bytes, state: Any) -> tuple[FrameRewrite, Any, dict[str, str]]:
    """:func:`rewrite_frame` in a pool process; what it changed comes back with the result:
    the session state, and the identifiers it shortened."""
    names = _long_names()
    before = set(names) if names is not None else set()
    result = rewrite_frame(kind, frame, state)
    added = {k: v for k, v in names.items() if k not in before} if names is not None else {}
    return result, state, added


class Pipeline:
    """Rewrites for one emulator: inline for short statements, elsewhere for long ones."""

    def __init__(
        self, where: str | None = None, initializer: Callable[[], None] | None = None
    ) -> None:
        where = where or os.environ.get(REWRITE_IN_ENV) or "process"
        if where not in _PLACES:
            raise ValueError(f"{REWRITE_IN_ENV} must be one of {', '.join(_PLACES)}: {where!r}")
        self.where = where
        self._limit = float("inf") if where == "loop" else OFF_LOOP_CHARS
        self._executor: concurrent.futures.Executor | None = None
        self._initializer = initializer  # run in each pool process first (tests patch there)

    def off_loop(self, frame: bytes) -> bool:
        return len(frame) > self._limit

    def _pool(self) -> concurrent.futures.Executor:
        if self._executor is None:  # made at the first long statement
            if self.where == "process":
                import multiprocessing

                self._executor = concurrent.futures.ProcessPoolExecutor(
                    2,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=self._initializer,
                )
            else:
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    2, thread_name_prefix="redshift-emulator-rewrite"
                )
        return self._executor

    async def rewrite_off_loop(self, kind: bytes, frame: bytes, state: Any) -> FrameRewrite:
        loop = asyncio.get_running_loop()
        if self.where == "process":
            result, after, added = await loop.run_in_executor(
                self._pool(), _in_child, kind, frame, state
            )
            _copy_state(after, state)
            names = _long_names()
            if names is not None:
                names.update(added)
        else:
            result = await loop.run_in_executor(self._pool(), rewrite_frame, kind, frame, state)
        if result.failure is not None:
            result.failure.log()
        return result

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
