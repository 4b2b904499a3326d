"""``python -m redshift_async_backend.emulator``: run the emulator until SIGINT/SIGTERM.

Prints one line, ``ready <url>``, once it accepts connections. Without ``--upstream`` it
runs an embedded PostgreSQL in a temporary directory and removes it on exit. ``--workers
N`` runs N emulator processes on the one port (see :mod:`.workers`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from types import FrameType

from .server import Emulator
from .workers import EmulatorGroup

UPSTREAM_URL_ENV = "REDSHIFT_EMULATOR_UPSTREAM"


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
        "--latency-ms", type=float, default=0.0, help="delay added to every round trip"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="emulator processes sharing the port (more clients served at once; default 1)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    options = {
        "upstream": args.upstream,
        "host": args.host,
        "port": args.port,
        "latency_ms": args.latency_ms,
    }
    try:
        if args.workers == 1:
            emulator: Emulator | EmulatorGroup = Emulator(**options)
        else:
            emulator = EmulatorGroup(args.workers, **options)
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with emulator:
        print(f"ready {emulator.url}", flush=True)
        while not stop.wait(1.0):
            if isinstance(emulator, EmulatorGroup):
                emulator.restart_dead()
    return 0


if __name__ == "__main__":
    sys.exit(main())
