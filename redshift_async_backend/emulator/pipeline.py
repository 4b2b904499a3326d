"""Where a statement is rewritten: the user and group statements (:mod:`.users`), then the
rules (:mod:`.rules`), with every failure of the emulator's own code turned into an error
for that one statement.

Rewriting a big statement takes CPU time (pglast's parser and printer), which on the
event loop would stall every other client of the process. Statements longer than
:data:`OFF_LOOP_CHARS` are rewritten in a worker thread instead: pglast's C parser runs
without the GIL and the rest is Python bytecode, which gives the GIL back to the event
loop every few milliseconds, so other sessions keep being served (the figures are in
benchmarks/RESULTS.md, "stall"). The connection whose statement it is waits, in order.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import traceback
from collections.abc import Callable
from typing import Any

from . import keys, rules, users

logger = logging.getLogger("redshift_async_backend.emulator")

# Below this many characters a rewrite costs less than handing it to a thread.
OFF_LOOP_CHARS = 64 * 1024


class InternalError(Exception):
    """The emulator's own code failed on a statement (not a Redshift refusal)."""


def _valid_utf8(sql: str) -> bool:
    # The protocol layer decodes with surrogateescape: invalid UTF-8 becomes surrogates.
    if sql.isascii():
        return True
    try:
        sql.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def rewrite(sql: str, state: Any) -> Any:
    """The Rewrite for one client Query or Parse; raises ``rules.RedshiftError`` to refuse
    and :class:`InternalError` when the emulator itself fails."""
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
    except BaseException as exc:
        if not isinstance(exc, Exception | RecursionError):
            raise
        _log(exc, sql)
        raise InternalError(type(exc).__name__) from None


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


def _log(exc: BaseException, sql: str) -> None:
    """One line: what failed where, and the statement's size; never its text or values
    (an exception's message may quote them)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames else "?"
    size = len(sql.encode("utf-8", "surrogateescape"))
    logger.error(
        "emulator: %s at %s while rewriting a statement of %d bytes; the client got an "
        "error for it",
        type(exc).__name__,
        where,
        size,
    )


def internal_error_fields(exc: InternalError, sql: str) -> dict[str, str]:
    from . import protocol as pq

    size = len(sql.encode("utf-8", "surrogateescape"))
    return pq.error_fields(
        f"the Redshift emulator failed on this statement ({exc}); it did not run",
        "XX000",
        hint=f"this is a bug of the emulator: please report it (the statement had {size} bytes)",
    )


class Pipeline:
    """Rewrites for one emulator: inline for short statements, in ``executor`` for long."""

    def __init__(self, executor: concurrent.futures.Executor | None = None) -> None:
        self.executor = executor or concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="redshift-emulator-rewrite"
        )
        self.rewrite: Callable[[str, Any], Any] = rewrite

    @staticmethod
    def off_loop(sql: str) -> bool:
        return len(sql) > OFF_LOOP_CHARS

    async def rewrite_off_loop(self, sql: str, state: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self.rewrite, sql, state)

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
