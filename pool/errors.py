"""Exceptions raised by the pool."""

from __future__ import annotations


class PoolError(Exception):
    """Base class of the pool's own errors."""


class PoolTimeout(PoolError, TimeoutError):
    """No connection could be handed out before the acquire deadline."""


class PoolClosed(PoolError):
    """The pool is closed (or was closed while the caller was waiting)."""


class AdapterMismatch(PoolError, TypeError):
    """The adapter cannot drive this connection (e.g. a sync adapter on an async
    connection, whose rollback would never be awaited)."""


class ConnectionStateError(PoolError):
    """A hook (``configure``, ``reset``) left the connection in a state the pool cannot
    hand out, such as an open transaction."""
