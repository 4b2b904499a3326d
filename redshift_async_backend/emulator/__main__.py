"""``python -m redshift_async_backend.emulator``: run the emulator until SIGINT/SIGTERM.

Prints one line, ``ready <url>``, once it accepts connections. Without ``--upstream`` it
runs an embedded PostgreSQL in a temporary directory and removes it on exit.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .server import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m redshift_async_backend.emulator",
        description="A local Redshift emulator in front of PostgreSQL.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=5439, help="port (0 = any free port)")
    parser.add_argument(
        "--upstream",
        default=None,
        help="postgresql:// URL of the PostgreSQL to use (default: an embedded one)",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every round trip"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        emulator = Emulator(
            upstream=args.upstream, host=args.host, port=args.port, latency_ms=args.latency_ms
        )
    except (TypeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with emulator:
        print(f"ready {emulator.url}", flush=True)
        while not stop.wait(1.0):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
