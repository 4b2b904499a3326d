"""A driver-agnostic connection pool with a sync (threads) and an async (anyio) face.

The bookkeeping lives in ``pool.core`` as pure code; ``ConnectionPool`` and
``AsyncConnectionPool`` are thin shells that do the I/O. Driver differences come in
through the adapters of ``pool.adapters``. See docs/pool.md.
"""

from ._cancel import complete
from .adapters import (
    Adapter,
    AsyncAdapter,
    AsyncPsycopgAdapter,
    ConnState,
    DBAPIAdapter,
    PsycopgAdapter,
    RedshiftConnectorAdapter,
    ThreadedAdapter,
    to_thread_connect,
)
from .errors import AdapterMismatch, ConnectionStateError, PoolClosed, PoolError, PoolTimeout
from .pool import ConnectionPool
from .pool_async import AsyncConnectionPool

__all__ = [
    "Adapter",
    "AdapterMismatch",
    "AsyncAdapter",
    "AsyncConnectionPool",
    "AsyncPsycopgAdapter",
    "ConnState",
    "ConnectionPool",
    "ConnectionStateError",
    "DBAPIAdapter",
    "PoolClosed",
    "PoolError",
    "PoolTimeout",
    "PsycopgAdapter",
    "RedshiftConnectorAdapter",
    "ThreadedAdapter",
    "complete",
    "to_thread_connect",
]
