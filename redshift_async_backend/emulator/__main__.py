"""``python -m redshift_async_backend.emulator``: run the emulator until SIGINT/SIGTERM.

Prints one line, ``ready <url>``, once it accepts connections. Without ``--upstream`` it
runs an embedded PostgreSQL in a temporary directory (removed on exit) or in
``--data-dir``. ``--workers N`` runs N emulator processes on the one port (see
:mod:`.workers`). Secrets never go on the command line: the admin password comes from
``REDSHIFT_EMULATOR_ADMIN_PASSWORD`` or ``--admin-password-file``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .roles import DEFAULT_ADMIN
from .server import AUTHENTICATION_TIMEOUT, Emulator, PortInUse
from .workers import EmulatorGroup

UPSTREAM_URL_ENV = "REDSHIFT_EMULATOR_UPSTREAM"
ADMIN_PASSWORD_ENV = "REDSHIFT_EMULATOR_ADMIN_PASSWORD"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m redshift_async_backend.emulator",
        description="A local Redshift emulator in front of PostgreSQL.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5439, help="port (0 = any free port)")
    parser.add_argument(
        "--upstream",
        default=os.environ.get(UPSTREAM_URL_ENV) or None,
        help=(
            "postgresql:// URL of the PostgreSQL to use (default: $REDSHIFT_EMULATOR_UPSTREAM, "
            "which keeps a password off the command line; else an embedded PostgreSQL)"
        ),
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="keep the embedded PostgreSQL's data in this directory across restarts",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every round trip"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="emulator processes sharing the port (more clients served at once; default 1)",
    )
    parser.add_argument(
        "--admin-user",
        default=DEFAULT_ADMIN,
        help=f"the admin user, a Redshift superuser (default {DEFAULT_ADMIN})",
    )
    parser.add_argument(
        "--admin-password-file",
        type=Path,
        default=None,
        help=(
            "a file holding the admin user's password (default: $REDSHIFT_EMULATOR_ADMIN_PASSWORD;"
            " with neither, users without a password log in without one, on loopback only)"
        ),
    )
    parser.add_argument(
        "--authentication-timeout",
        type=float,
        default=AUTHENTICATION_TIMEOUT,
        help="seconds a client has to log in, as PostgreSQL's authentication_timeout",
    )
    parser.add_argument(
        "--insecure-trust",
        action="store_true",
        help="listen beyond loopback even with no admin password (anyone may log in)",
    )
    return parser


def _admin_password(args: argparse.Namespace) -> str | None:
    if args.admin_password_file is not None:
        try:
            text = args.admin_password_file.read_text()
        except OSError as exc:
            raise ValueError(f"cannot read --admin-password-file: {exc.strerror}") from None
        return text.rstrip("\r\n")
    return os.environ.get(ADMIN_PASSWORD_ENV) or None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        options = {
            "upstream": args.upstream,
            "host": args.host,
            "port": args.port,
            "latency_ms": args.latency_ms,
            "admin_user": args.admin_user,
            "admin_password": _admin_password(args),
            "data_dir": args.data_dir,
            "authentication_timeout": args.authentication_timeout,
            "insecure_trust": args.insecure_trust,
        }
        if args.workers == 1:
            emulator: Emulator | EmulatorGroup = Emulator(**options)
        else:
            emulator = EmulatorGroup(args.workers, **options)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except PortInUse as exc:
        print(f"error: {exc.strerror}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: the emulator could not start: {exc}", file=sys.stderr)
        return 1
    try:
        print(f"ready {emulator.url}", flush=True)
        while not stop.wait(1.0):
            if isinstance(emulator, EmulatorGroup):
                emulator.restart_dead()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
