"""Several emulator processes behind one port: ``python -m redshift_async_backend.emulator
--workers N``.

One emulator is one Python process, so under many concurrent clients it is bound by one
core. Here the parent process owns the listening socket and does nothing but accept: each
new client socket is handed, in turn, to one of N worker processes over a Unix socket
(SCM_RIGHTS), and the worker serves it as a whole :class:`~.server.Emulator` would (its
own event loop and upstream sessions) for the connection's life. Turns keep the workers
evenly loaded, which the kernel's SO_REUSEPORT hashing does not (16 connections over 2
listeners split 11/5 as often as 8/8). The parent never reads a client's bytes.

Workers share nothing but the upstream: the catalog SQL is installed under an advisory
lock and found by a marker (``catalog.setup_marker``), so any worker sets up a database
that another one created or dropped. What stays per process, and therefore belongs to the
in-process :class:`~.server.Emulator` that tests use: ``stats()``, fault injection,
``pause``/``kill_all``, ``password_check``. Users, groups and their passwords live upstream,
so every worker knows them.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import multiprocessing
import os
import selectors
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from types import FrameType
from typing import Any

from .roles import DEFAULT_ADMIN
from .server import Emulator, PortInUse, client_url
from .upstream import EmbeddedPostgres, Upstream

logger = logging.getLogger("redshift_async_backend.emulator")

_PID = struct.Struct("!q")  # what a worker sends first on its hand-over socket


class EmulatorGroup:
    """``workers`` emulator processes behind ``host:port`` (``port=0``: a free one).

    The upstream URL and the admin password reach the workers through a pipe, never their
    command lines. Keyword arguments are :class:`~.server.Emulator`'s (``data_dir`` is the
    parent's embedded PostgreSQL).
    """

    def __init__(
        self,
        workers: int,
        upstream: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_ms: float = 0,
        *,
        admin_user: str = DEFAULT_ADMIN,
        admin_password: str | None = None,
        data_dir: str | os.PathLike[str] | None = None,
        authentication_timeout: float = 60.0,
        insecure_trust: bool = False,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers!r}")
        if not hasattr(socket, "send_fds") or not hasattr(socket, "AF_UNIX"):
            raise ValueError("workers need Unix sockets that pass descriptors (not Windows)")
        options: dict[str, Any] = {
            "host": host,
            "latency_ms": latency_ms,
            "admin_user": admin_user,
            "admin_password": admin_password,
            "authentication_timeout": authentication_timeout,
            "insecure_trust": insecure_trust,
        }
        # Checked here, in the parent, so that bad input fails before any process starts.
        Emulator(upstream=upstream, port=port, data_dir=data_dir, **options)
        self.workers = workers
        self.host = host
        self.port = port
        self.url = ""
        self.admin_user = admin_user
        self._config = options
        self._data_dir = data_dir
        self._upstream = upstream
        self._embedded: EmbeddedPostgres | None = None
        self._ctx = multiprocessing.get_context("spawn")
        # Each worker process and the parent's end of its hand-over socket.
        self._slots: list[tuple[multiprocessing.process.BaseProcess, socket.socket]] = []
        self._slots_lock = threading.Lock()
        self._turn = itertools.count()
        self._listeners: list[socket.socket] = []
        self._channels: socket.socket | None = None
        self._dir: Path | None = None
        self._stop = threading.Event()
        self._acceptor: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<EmulatorGroup {self.workers} workers on {self.host}:{self.port}>"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> EmulatorGroup:
        try:
            upstream = self._upstream
            if upstream is None:
                self._embedded = EmbeddedPostgres(data_dir=self._data_dir, tcp=False).start()
                upstream = self._embedded.socket_url
            self._config["upstream"] = upstream
            self._dir = Path(tempfile.mkdtemp(prefix="redshift-emulator-workers-"))
            self._channels = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._channels.bind(str(self._dir / "hand-over"))
            self._channels.listen(self.workers)
            self._config["channel"] = str(self._dir / "hand-over")
            for _ in range(self.workers):
                self._slots.append(self._launch(timeout))
            self._listeners = _listen(self.host, self.port)
            self.port = self._listeners[0].getsockname()[1]
            self.url = client_url(
                self.host, self.port, Upstream.from_url(upstream), self.admin_user
            )
            self._acceptor = threading.Thread(
                target=self._accept_loop, name="redshift-emulator-acceptor", daemon=True
            )
            self._acceptor.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        if self._acceptor is not None:
            self._acceptor.join(timeout)
        for sock in [*self._listeners, self._channels]:
            if sock is not None:
                sock.close()
        with self._slots_lock:
            slots, self._slots = self._slots, []
        for _, channel in slots:
            channel.close()  # the worker sees its hand-over socket close and stops
        for proc, _ in slots:
            _end(proc, timeout)
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
        embedded, self._embedded = self._embedded, None
        if embedded is not None:
            embedded.stop()

    def __enter__(self) -> EmulatorGroup:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- workers --------------------------------------------------------------------------

    def _launch(self, timeout: float) -> tuple[multiprocessing.process.BaseProcess, socket.socket]:
        """Start a worker and take its hand-over socket; the process is stopped again if
        anything fails."""
        receive, send = self._ctx.Pipe(duplex=False)
        proc = self._ctx.Process(
            target=_worker,
            args=(self._config, send),
            name="redshift-emulator-worker",
            # Not daemonic: a worker has processes of its own (the rewrite pool).
            daemon=False,
        )
        proc.start()
        send.close()
        try:
            try:
                if not receive.poll(timeout):
                    raise RuntimeError(f"an emulator worker did not start within {timeout} s")
                status, value = receive.recv()
            except EOFError:
                status, value = "error", f"the worker exited with code {proc.exitcode}"
            finally:
                receive.close()
            if status != "ready":
                raise RuntimeError(f"an emulator worker failed to start: {value}")
            return proc, self._accept_channel(proc, timeout)
        except BaseException:
            _end(proc, 5)
            raise

    def _accept_channel(self, proc: Any, timeout: float) -> socket.socket:
        """The hand-over socket of ``proc``: each worker sends its pid first, so that one
        left over from a worker that timed out is never taken for another's."""
        assert self._channels is not None
        deadline = time.monotonic() + timeout
        while True:
            self._channels.settimeout(max(0.01, deadline - time.monotonic()))
            channel, _ = self._channels.accept()  # TimeoutError past the deadline
            channel.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                pid = _PID.unpack(_recv_exactly(channel, _PID.size))[0]
            except (OSError, EOFError):
                pid = None
            if pid == proc.pid:
                # Never blocks the acceptor: a worker that stops reading is skipped.
                channel.setblocking(False)
                return channel
            channel.close()

    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        with self._slots_lock:
            return [proc.pid for proc, _ in self._slots if proc.is_alive() and proc.pid]

    def restart_dead(self, timeout: float = 20.0) -> int:
        """Start a new worker for each one that has exited; how many were restarted. One
        that cannot start now (the upstream is down, say) is tried again on the next call,
        while the other workers go on serving."""
        with self._slots_lock:
            dead = [slot for slot in self._slots if not slot[0].is_alive()]
        restarted = 0
        for proc, channel in dead:
            if channel.fileno() != -1:  # first seen dead
                logger.warning("emulator worker exited with code %s; restarting", proc.exitcode)
                channel.close()
            try:
                replacement = self._launch(timeout)
            except Exception as exc:
                logger.warning("emulator worker could not start again (%s); will retry", exc)
                continue
            with self._slots_lock:
                self._slots[self._slots.index((proc, channel))] = replacement
            restarted += 1
        return restarted

    # -- accepting ------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            for listener in self._listeners:
                listener.setblocking(False)
                selector.register(listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(0.5):  # the timeout: to see stop()
                    try:
                        client, _ = key.fileobj.accept()  # type: ignore[union-attr]
                    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                        continue
                    except OSError as exc:
                        if self._stop.is_set():
                            return
                        # Out of descriptors (EMFILE) leaves the socket readable: back off.
                        logger.warning("emulator: accept failed (%s)", exc)
                        self._stop.wait(0.1)
                        continue
                    with client:
                        self._hand_over(client)

    def _hand_over(self, client: socket.socket) -> None:
        """Give the socket to the next worker that takes it; the parent's copy is closed
        by the caller. With no worker able to, the client just sees its connection end."""
        with contextlib.suppress(OSError):
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._slots_lock:
            slots = list(self._slots)
        for _ in range(len(slots)):
            _, channel = slots[next(self._turn) % len(slots)]
            try:
                socket.send_fds(channel, [b"c"], [client.fileno()])
                return
            except OSError:
                # Gone (restart_dead() replaces it) or not reading (BlockingIOError).
                continue
        logger.warning("emulator: no worker took a connection")


def _listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address ``host`` names (``localhost``: IPv4 and IPv6, as
    the single-process emulator), all on one port (``port=0``: the first one's)."""
    listeners: list[socket.socket] = []
    try:
        for family, _, _, _, address in socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            if listeners:
                address = (address[0], listeners[0].getsockname()[1], *address[2:])
            if any(sock.getsockname()[:2] == address[:2] for sock in listeners):
                continue
            try:
                listeners.append(socket.create_server(address, family=family, backlog=512))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse(
                        errno.EADDRINUSE, f"port {port} on {host} is already in use"
                    ) from None
                if not listeners:
                    raise
                # As asyncio does: an address family this machine lacks (IPv6) is skipped.
                logger.info("emulator: not listening on %s (%s)", address[0], exc)
    except BaseException:
        for sock in listeners:
            sock.close()
        raise
    return listeners


def _end(proc: multiprocessing.process.BaseProcess, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after ``timeout`` seconds."""
    proc.terminate()
    proc.join(timeout)
    if proc.is_alive():
        proc.kill()
        proc.join()


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError("the worker closed its hand-over socket")
        data += chunk
    return data


def _worker(config: dict[str, Any], ready: Connection) -> None:
    """A worker process: one Emulator serving the sockets the parent hands over, until its
    hand-over socket closes, SIGTERM, or its parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for all
    stop = threading.Event()

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    options = {key: value for key, value in config.items() if key != "channel"}
    try:
        emulator = Emulator(listen=False, **options).start()
        channel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        channel.connect(config["channel"])
        channel.sendall(_PID.pack(os.getpid()))
    except Exception as exc:
        ready.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    try:
        ready.send(("ready", None))
        ready.close()
        channel.settimeout(1.0)
        while not stop.is_set() and os.getppid() == parent:
            try:
                data, fds, flags, _ = socket.recv_fds(channel, 64, 64)
            except TimeoutError:
                continue
            if flags & getattr(socket, "MSG_CTRUNC", 0):
                # The kernel dropped descriptors (this process is out of them, say): those
                # clients see their connection end.
                logger.warning("emulator worker: handed-over connections were lost")
            for fd in fds:
                emulator.adopt(socket.socket(fileno=fd))
            if not data:
                break  # the parent closed the hand-over socket
    finally:
        channel.close()
        emulator.stop()
