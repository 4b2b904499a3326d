"""Fork detection without a syscall on the hot path.

A child process must never use the connections (sockets) its parent opened: the pools
compare their recorded generation with this counter, which only changes in a forked child.
"""

from __future__ import annotations

import os

generation = 0


def _after_fork_in_child() -> None:
    global generation
    generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
