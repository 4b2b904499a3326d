"""Exceptions raised by the pool."""

from __future__ import annotations


class PoolError(Exception):
    """Base class of the pool's own errors."""


class PoolTimeout(PoolError, TimeoutError):
    """No connection could be handed out before the acquire deadline."""


class PoolClosed(PoolError):
    """The pool is closed (or was closed while the caller was waiting)."""
