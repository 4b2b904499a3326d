"""Work that must finish whatever cancellation arrives: the pool's cleanup.

anyio's ``CancelScope(shield=True)`` keeps out anyio's and trio's cancellation, but on
asyncio a native ``Task.cancel()`` (``asyncio.timeout()``, ``wait_for``, a TaskGroup, a
server cancelling a request) still lands at the next ``await`` inside the shield and cuts
the work short. There the work runs in a task of its own, which the caller waits for; a
cancellation of the caller is held until that task is done, then raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import sniffio

T = TypeVar("T")


async def complete(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """``await fn(*args)`` to its end, then re-raise any cancellation that arrived."""
    with anyio.CancelScope(shield=True):
        if sniffio.current_async_library() != "asyncio":
            return await fn(*args)
        task: asyncio.Future[T] = asyncio.ensure_future(fn(*args))
        cancelled: BaseException | None = None
        while not task.done():
            try:
                await asyncio.wait((task,))
            except asyncio.CancelledError as exc:  # the caller's, not the task's
                cancelled = exc
    if cancelled is not None:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller sees
        raise cancelled
    return task.result()
