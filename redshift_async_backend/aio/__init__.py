"""Native async for the Redshift backend (DESIGN.md §6, docs/async.md).

- ``AsyncManager`` / ``AsyncQuerySet``: a-methods that run on async connections from the
  async pool, without a thread hop; what cannot be native falls back to Django's own
  thread-based a-methods, with the same results.
- ``connection(alias)``: one async connection for a block, raw SQL with ``%s`` params.
- ``atomic(alias)``: BEGIN/COMMIT (ROLLBACK on error or cancellation) on one connection;
  native ORM calls of the same task inside the block run in that transaction.
"""

from .connections import Connection, atomic, connection
from .query import AsyncManager, AsyncModelMixin, AsyncQuerySet, asave

__all__ = [
    "AsyncManager",
    "AsyncModelMixin",
    "AsyncQuerySet",
    "Connection",
    "asave",
    "atomic",
    "connection",
]
