"""TestCase isolation without SAVEPOINT: savepoints replayed, for TestCase's own blocks.

Redshift has no SAVEPOINT (DG:c_unsupported-postgresql-features). Django's ``TestCase``
keeps a transaction open for the whole class (``setUpClass`` after ``super()``, fixtures,
``setUpTestData``) and a savepoint per test. Without savepoints, Django 4.2 nests the
blocks anyway (every test after a class's first runs in a broken transaction) and Django
5.x gives each test its own transaction and reruns ``setUpTestData`` in it, so the data a
class creates in ``setUpClass`` after ``super()`` is committed and never removed.

This module gives the backend savepoints of another kind, for TestCase's blocks only:

- Every statement run while a TestCase's class transaction is open is kept: its SQL and
  parameters, as handed to the driver (``StatementLog``); plain SELECTs are not, since
  running them again would change nothing.
- A savepoint is a position in that log. Rolling back to it rolls the whole transaction
  back and, before the next statement, runs the kept statements up to that position again
  in a new transaction: the same statements on the same committed data give the same rows
  (the backend writes the pks it allocates into its INSERTs, so they come back equal).
- Savepoints are given to the per-test block (inside the class block) and to the first
  block a test (or ``setUpTestData``) opens itself, which on Redshift outside a test is a
  transaction of its own: an error there rolls back that block and the test goes on, as it
  would in production. Deeper blocks get none, as on Redshift.

It works the same against a real cluster, with only BEGIN, ROLLBACK and the statements
themselves. The price is one replay of the class's statements per test after the first
(and after an error caught in a test's own block), instead of ROLLBACK TO SAVEPOINT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections
from django.db.backends.postgresql.base import CursorDebugWrapper as PGCursorDebugWrapper
from django.db.backends.utils import CursorWrapper

if TYPE_CHECKING:
    from .base import DatabaseWrapper

# A statement that only reads changes nothing when run again: a Redshift function cannot
# touch a table (a SQL UDF's SELECT has no FROM or INTO, DG:udf-creating-a-scalar-sql-udf);
# SELECT ... INTO creates one (DG:r_SELECT_INTO), so it is kept.
_READ_ONLY = re.compile(r"\s*SELECT\b(?!.*\bINTO\b)", re.IGNORECASE | re.DOTALL)


def _in_testcase_blocks(wrapper: Any, only: bool) -> bool:
    """Whether a TestCase's class block is the outermost one (``only``: and every open
    block is one of TestCase's)."""
    blocks = wrapper.atomic_blocks
    if not blocks or not blocks[0]._from_testcase:
        return False
    return not only or all(block._from_testcase for block in blocks)


class StatementLog:
    """The statements of one TestCase transaction, and the savepoints into them."""

    def __init__(self, wrapper: DatabaseWrapper) -> None:
        self.wrapper = wrapper
        self.statements: list[tuple[str, Any, bool]] = []
        self.marks: dict[str, int] = {}
        #: Rolled back: the statements are to be run again before the next one.
        self.pending = False
        #: The driver connection the statements ran on (a new one starts afresh).
        self.raw: Any = None

    def _same_connection(self) -> None:
        if self.wrapper.connection is not self.raw:
            self.forget()
            self.raw = self.wrapper.connection

    def savepoints_allowed(self) -> bool:
        # Atomic.__enter__ asks before it pushes the new block; __exit__ after it popped
        # it: the same open blocks either way.
        return not self.wrapper.get_autocommit() and _in_testcase_blocks(self.wrapper, True)

    def record(self, sql: str, params: Any, many: bool) -> None:
        if _in_testcase_blocks(self.wrapper, False) and not _READ_ONLY.match(sql):
            self._same_connection()
            self.statements.append((sql, params, many))

    def savepoint(self, sid: str) -> None:
        self._same_connection()
        self.marks[sid] = len(self.statements)

    def release(self, sid: str) -> None:
        self.marks.pop(sid, None)

    def rollback_to(self, sid: str) -> None:
        mark = self.marks.get(sid) if self.wrapper.connection is self.raw else None
        with self.wrapper.wrap_database_errors:
            self.wrapper.connection.rollback()
        if mark is None:
            self.forget()
            raise DatabaseError(
                f"TestCase savepoint {sid} is gone: the connection was closed or reopened "
                "inside the test, so its transaction cannot be brought back."
            )
        del self.statements[mark:]
        self.marks = {s: m for s, m in self.marks.items() if m <= mark}
        self.pending = True

    def restore(self) -> None:
        """Run the kept statements again, if a rollback to a savepoint asked for it."""
        if not self.pending:
            return
        self.pending = False
        if self.wrapper.connection is not self.raw:
            self.forget()  # reconnected: that transaction is gone for good
            return
        statements = self.statements
        with self.wrapper.wrap_database_errors, self.wrapper.connection.cursor() as cursor:
            for n, (sql, params, many) in enumerate(statements, 1):
                try:
                    if many:
                        cursor.executemany(sql, params)
                    elif params is None:
                        cursor.execute(sql)
                    else:
                        cursor.execute(sql, params)
                except Exception as exc:
                    self.wrapper.needs_rollback = True
                    raise DatabaseError(
                        "The test database could not be brought back to the TestCase "
                        f"savepoint: statement {n} of {len(statements)} failed when run "
                        f"again ({exc}): {sql[:200]}"
                    ) from exc

    def forget(self) -> None:
        """The transaction ended (COMMIT, ROLLBACK or a closed connection)."""
        self.statements = []
        self.marks = {}
        self.pending = False


class _Recording:
    """Keeps each statement in the connection's StatementLog (CursorWrapper mixin)."""

    db: DatabaseWrapper

    def _execute(self, sql: str, params: Any, *ignored: Any) -> Any:
        log = self.db.statement_log
        log.restore()
        result = super()._execute(sql, params, *ignored)  # type: ignore[misc]
        log.record(sql, params, False)
        return result

    def _executemany(self, sql: str, param_list: Any, *ignored: Any) -> Any:
        log = self.db.statement_log
        log.restore()
        if not isinstance(param_list, Sequence):
            param_list = list(param_list)  # to run them again
        result = super()._executemany(sql, param_list, *ignored)  # type: ignore[misc]
        log.record(sql, param_list, True)
        return result


class RecordingCursorWrapper(_Recording, CursorWrapper):
    pass


class RecordingCursorDebugWrapper(_Recording, PGCursorDebugWrapper):
    pass


def install_testcase_savepoints() -> None:
    """Let Django 5.x's TestCase use its savepoint path on this backend.

    Django 5.x asks ``connections_support_savepoints()`` (``features.uses_savepoints``)
    before it opens the class transaction; the backend's answer stays False, since
    Redshift has none for the application's own code, but TestCase gets its replayed ones.
    Django 4.2's TestCase does not ask: it always nests, and gets them too.
    """
    from django.test import testcases

    original = getattr(testcases, "connections_support_savepoints", None)
    if original is None or getattr(original, "replayed_savepoints", False):
        return

    def connections_support_savepoints(aliases: Any = None) -> bool:
        conns = connections.all() if aliases is None else [connections[a] for a in aliases]
        return all(
            conn.features.uses_savepoints or getattr(conn, "statement_log", None) is not None
            for conn in conns
        )

    connections_support_savepoints.replayed_savepoints = True  # type: ignore[attr-defined]
    connections_support_savepoints.__doc__ = original.__doc__
    testcases.connections_support_savepoints = connections_support_savepoints  # type: ignore[attr-defined]
