"""Rewriting a long statement happens off the event loop: while it runs, every other
session is served, and the session that sent it keeps its order.

The rewrite is held on an Event here (in the thread place, which a test can reach into),
so the test shows the event loop is free without measuring time; the default place, a
process pool, is tested for what crosses its boundary. The stall in milliseconds is
benchmarks/emulator_bench.py's "stall".
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator, pipeline, rules

pytestmark = pytest.mark.integration

Connect = Callable[..., psycopg.Connection[Any]]
WAIT = 30  # seconds before a test gives up on something that should happen at once


class HeldRewrite:
    """rules.rewrite, held until released for statements that hold the marker."""

    def __init__(self) -> None:
        self.real = rules.rewrite
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    def __call__(self, sql: str, state: Any) -> Any:
        if "/*hold*/" in sql:
            self.threads.append(threading.current_thread().name)
            self.entered.set()
            self.release.wait(WAIT)
        return self.real(sql, state)


@pytest.fixture
def in_threads(emu: Emulator) -> Iterator[None]:
    server = emu._running_server()
    default, server.pipeline = server.pipeline, pipeline.Pipeline("thread")
    yield
    server.pipeline.close()
    server.pipeline = default


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch, in_threads: None) -> Iterator[HeldRewrite]:
    hold = HeldRewrite()
    monkeypatch.setattr(pipeline.rules, "rewrite", hold)
    yield hold
    hold.release.set()


def long_select(marker: str = "/*hold*/") -> str:
    # Longer than pipeline.OFF_LOOP_CHARS.
    return f"SELECT length('{'x' * (pipeline.OFF_LOOP_CHARS + 10)}') {marker}"


def in_thread(func: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(func())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def test_other_sessions_are_served_while_a_long_statement_is_rewritten(
    emu: Emulator, connect: Connect, held: HeldRewrite
) -> None:
    busy = connect()
    other = connect()
    thread, result = in_thread(lambda: busy.execute(long_select()).fetchone())
    assert held.entered.wait(WAIT)
    # The event loop is free: a new connection logs in and another session is answered.
    assert other.execute("SELECT 1").fetchone() == (1,)
    with psycopg.connect(emu.url, connect_timeout=10) as fresh:
        assert fresh.execute("SELECT 2").fetchone() == (2,)
    assert thread.is_alive() and not result
    held.release.set()
    thread.join(WAIT)
    assert result == [(pipeline.OFF_LOOP_CHARS + 10,)]
    assert held.threads and all(n.startswith("redshift-emulator-rewrite") for n in held.threads)


def test_the_session_keeps_its_order(connect: Connect, held: HeldRewrite) -> None:
    conn = connect()

    def pipelined() -> list[Any]:
        with conn.pipeline() as p:
            first = conn.execute(long_select())
            second = conn.execute("SELECT 'after'")
            p.sync()
            return [first.fetchone(), second.fetchone()]

    thread, result = in_thread(pipelined)
    assert held.entered.wait(WAIT)
    held.release.set()
    thread.join(WAIT)
    assert result == [[(pipeline.OFF_LOOP_CHARS + 10,), ("after",)]]


def test_long_statements_are_rewritten_in_another_process(emu: Emulator, connect: Connect) -> None:
    assert emu._running_server().pipeline.where == "process"
    conn = connect()
    padding = "x" * (pipeline.OFF_LOOP_CHARS + 10)
    # A Redshift function the rules rewrite, and a refusal with its hint, off the loop.
    assert conn.execute(f"SELECT NVL(NULL, length('{padding}'))").fetchone() == (len(padding),)
    with pytest.raises(psycopg.errors.SyntaxError, match="FOR") as info:
        conn.execute(f"SELECT '{padding}' FOR UPDATE")
    assert info.value.diag.message_hint and "LOCK" in info.value.diag.message_hint
    # An identifier the rules shorten (Redshift names have up to 127 bytes, DG:r_names)
    # is named in full in the error, though another process shortened it.
    long_name = "t" * 100
    with pytest.raises(psycopg.errors.UndefinedTable, match=long_name):
        conn.execute(f"SELECT * FROM {long_name} WHERE '{padding}' = ''")
    assert conn.execute("SELECT 1").fetchone() == (1,)
