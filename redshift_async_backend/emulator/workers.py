"""Several emulator processes on one port: ``python -m redshift_async_backend.emulator
--workers N``.

One emulator is one Python process, so under many concurrent clients it is bound by one
core. Each worker here is a whole :class:`~.server.Emulator` (its own event loop and
upstream sessions) listening on the same port with SO_REUSEPORT; the kernel gives each new
connection to one of them, and a connection stays with its worker for its life, so nothing
a session sees changes. Workers share nothing but the upstream: the catalog SQL is
installed under an advisory lock and found by a marker (``catalog.setup_marker``), so any
worker sets up a database that another one created or dropped.

What stays per process, and therefore belongs to the in-process :class:`~.server.Emulator`
that tests use: ``stats()``, fault injection, ``pause``/``kill_all``, ``password_check``.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
import threading
from multiprocessing.connection import Connection
from types import FrameType
from typing import Any

from .server import Emulator
from .upstream import EmbeddedPostgres

logger = logging.getLogger("redshift_async_backend.emulator")


class EmulatorGroup:
    """``workers`` emulator processes sharing ``host:port`` (``port=0``: a free one).

    The upstream URL reaches the workers through a pipe, never their command lines.
    """

    def __init__(
        self,
        workers: int,
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
            raise ValueError("several workers need SO_REUSEPORT, which this platform lacks")
        # Checked here, in the parent, so that bad input fails before any process starts.
        Emulator(upstream=upstream, host=host, port=port, latency_ms=latency_ms)
        self.workers = workers
        self.host = host
        self.port = port
        self.url = ""
        self._config: dict[str, Any] = {"host": host, "latency_ms": latency_ms}
        self._upstream = upstream
        self._embedded: EmbeddedPostgres | None = None
        self._procs: list[multiprocessing.process.BaseProcess] = []
        self._ctx = multiprocessing.get_context("spawn")

    def __repr__(self) -> str:
        return f"<EmulatorGroup {self.workers} workers on {self.host}:{self.port}>"

    def start(self, timeout: float = 60.0) -> EmulatorGroup:
        upstream = self._upstream
        if upstream is None:
            self._embedded = EmbeddedPostgres().start()
            upstream = f"{self._embedded.url}?host={self._embedded.socket_dir}"
        self._config["upstream"] = upstream
        try:
            # The first worker picks the port when it is 0; the others join it there.
            self._procs.append(self._launch(self.port, timeout))
            self._procs.extend(self._launch(self.port, timeout) for _ in range(self.workers - 1))
        except BaseException:
            self.stop()
            raise
        return self

    def _launch(self, port: int, timeout: float) -> multiprocessing.process.BaseProcess:
        receive, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_worker,
            args=({**self._config, "port": port}, send),
            name="redshift-emulator-worker",
            daemon=True,
        )
        proc.start()
        send.close()
        try:
            if not receive.poll(timeout):
                raise RuntimeError(f"an emulator worker did not start within {timeout} s")
            status, value = receive.recv()
        except EOFError:
            status, value = "error", f"the worker exited with code {proc.exitcode}"
        finally:
            receive.close()
        if status != "ready":
            proc.terminate()
            proc.join(5)
            raise RuntimeError(f"an emulator worker failed to start: {value}")
        self.port, self.url = value
        return proc

    def restart_dead(self, timeout: float = 60.0) -> int:
        """Start a new worker for each one that has exited; how many were restarted."""
        restarted = 0
        for i, proc in enumerate(self._procs):
            if not proc.is_alive():
                logger.warning("emulator worker exited with code %s; restarting", proc.exitcode)
                self._procs[i] = self._launch(self.port, timeout)
                restarted += 1
        return restarted

    def stop(self, timeout: float = 15.0) -> None:
        procs, self._procs = self._procs, []
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout)
            if proc.is_alive():
                proc.kill()
                proc.join()
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            embedded.stop()

    def pids(self) -> list[int]:
        return [proc.pid for proc in self._procs if proc.pid is not None]

    def __enter__(self) -> EmulatorGroup:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _worker(config: dict[str, Any], ready: Connection) -> None:
    """A worker process: one Emulator until SIGTERM or until its parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for all
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    try:
        emulator = Emulator(reuse_port=True, **config).start()
    except Exception as exc:
        ready.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        ready.send(("ready", (emulator.port, emulator.url)))
        ready.close()
        while not stop.wait(1.0) and os.getppid() == parent:
            pass
    finally:
        emulator.stop()
