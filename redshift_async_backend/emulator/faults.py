"""Fault injection and counters: the test-facing state one emulator process keeps.

Both are read and changed from any thread (tests arm a fault while the event loop serves),
so each keeps its own lock. Nothing here does I/O.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass
from typing import Any

from . import protocol as pq


@dataclass
class Fault:
    pattern: re.Pattern[str]
    remaining: int
    fields: dict[str, str]


class Faults:
    """Armed faults: the next statements matching a pattern fail with given fields."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def __bool__(self) -> bool:  # read without the lock on every statement: a hint only
        return bool(self._faults)

    def add(self, pattern: re.Pattern[str], n: int, fields: dict[str, str]) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n!r}")
        with self._lock:
            self._faults.append(Fault(pattern, n, fields))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def match(self, sql: str) -> dict[str, str] | None:
        """The error fields for ``sql`` if an armed fault matches it (and count it down)."""
        with self._lock:
            for fault in self._faults:
                if fault.pattern.search(sql):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault.fields
        return None


def serialization_error(table: str) -> dict[str, str]:
    # Redshift: DG:c_serial_isolation; the client sees M='1023', SQLSTATE XX000
    # (redshift-sql.md §4.2).
    oid = 100_000 + zlib.crc32(table.encode()) % 900_000
    detail = (
        f"Serializable isolation violation on table - {oid}, "
        "transactions forming the cycle are: 1310, 1312 (pid:1073)"
    )
    return pq.error_fields("1023", "XX000", detail=detail)


def snapshot_conflict_error(table: str) -> dict[str, str]:
    # Redshift under SNAPSHOT isolation (aws/amazon-redshift-jdbc-driver#147).
    return pq.error_fields(
        "could not complete because of conflict with concurrent transaction", "XX000"
    )


def table_pattern(table: str) -> re.Pattern[str]:
    name = re.escape(table.strip('"'))
    return re.compile(rf'(?<![\w$])"?{name}"?(?![\w$])', re.IGNORECASE)


@dataclass
class ConnectionStats:
    user: str
    database: str
    statements: int = 0
    round_trips: int = 0


class Counters:
    """Statements and round trips per open connection, plus totals of closed ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_id = 0
        self._open: dict[int, ConnectionStats] = {}
        self._closed_statements = 0
        self._closed_round_trips = 0

    def register(self, stats: ConnectionStats) -> int:
        with self._lock:
            self._next_id += 1
            self._open[self._next_id] = stats
            return self._next_id

    def unregister(self, conn_id: int) -> None:
        with self._lock:
            stats = self._open.pop(conn_id, None)
            if stats is not None:
                self._closed_statements += stats.statements
                self._closed_round_trips += stats.round_trips

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            conns: dict[int, dict[str, Any]] = {
                conn_id: {
                    "user": s.user,
                    "database": s.database,
                    "statements": s.statements,
                    "round_trips": s.round_trips,
                }
                for conn_id, s in self._open.items()
            }
            statements = self._closed_statements + sum(s.statements for s in self._open.values())
            trips = self._closed_round_trips + sum(s.round_trips for s in self._open.values())
        return {
            "connections": conns,
            "open_connections": len(conns),
            "statements": statements,
            "round_trips": trips,
        }

    def reset(self) -> None:
        with self._lock:
            for s in self._open.values():
                s.statements = 0
                s.round_trips = 0
            self._closed_statements = 0
            self._closed_round_trips = 0
