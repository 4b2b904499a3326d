"""A local Redshift emulator: a PostgreSQL-wire proxy that speaks Redshift to clients.

See docs/emulator.md. ``Emulator`` is the Python API; ``python -m
redshift_async_backend.emulator`` the command line. Its dependencies are the ``emulator``
extra; they are imported only when the emulator is used, so the pytest plugin that this
package registers costs nothing to projects that do not use it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Emulator

__all__ = ["Emulator"]


def __getattr__(name: str) -> Any:
    if name == "Emulator":
        from .server import Emulator

        return Emulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
