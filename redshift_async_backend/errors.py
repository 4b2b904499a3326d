"""Redshift serialization failures and a retry helper.

Redshift reports a write conflict as ``ERROR: 1023 ... Serializable isolation violation``
with SQLSTATE XX000 (not PostgreSQL's 40001), or under SNAPSHOT isolation as ``could not
complete because of conflict with concurrent transaction`` (DG:c_serial_isolation,
redshift-sql.md §4.2). AWS's advice is to retry the whole transaction; Redshift has no
savepoints, so only a whole atomic block can be re-run.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, TypeVar, overload

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction

T = TypeVar("T")

_MESSAGES = (
    "serializable isolation violation",
    "could not complete because of conflict with concurrent transaction",
)


class SerializationFailure(OperationalError):
    """A transaction lost a write conflict; re-running it may succeed."""


def is_serialization_failure(exc: BaseException, driver: Any = None) -> bool:
    if isinstance(exc, SerializationFailure):
        return True
    sqlstate = driver.sqlstate(exc) if driver is not None else getattr(exc, "sqlstate", None)
    text = (driver.message(exc) if driver is not None else str(exc)).lower()
    if sqlstate == "40001":
        return True
    if sqlstate in (None, "XX000") and "1023" in text and _MESSAGES[0] in text:
        return True
    return any(message in text for message in _MESSAGES)


def _backoff(attempt: int, base: float, cap: float) -> float:
    # "Full jitter": a random wait up to an exponentially growing ceiling.
    return random.uniform(0, min(cap, base * (2 ** (attempt - 1))))


class Attempt:
    """One try of a retried block: a context manager running ``transaction.atomic``."""

    def __init__(self, number: int, using: str, last: bool) -> None:
        self.number = number
        self._atomic = transaction.atomic(using=using)
        self._last = last
        self.failed: SerializationFailure | None = None

    def __enter__(self) -> Attempt:
        self._atomic.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        try:
            self._atomic.__exit__(exc_type, exc, tb)
        except SerializationFailure as commit_exc:
            # Conflicts often surface at COMMIT.
            if self._last:
                raise
            self.failed = commit_exc
            return True
        if isinstance(exc, SerializationFailure) and not self._last:
            self.failed = exc
            return True  # swallowed: the loop runs the block again
        return False


class _RetryOnConflict:
    """``retry_on_conflict``: decorator, decorator factory, or loop of attempts.

    ::

        @retry_on_conflict
        def transfer(): ...

        @retry_on_conflict(attempts=8, using="analytics")
        def rebuild(): ...

        for attempt in retry_on_conflict.attempts():
            with attempt:
                ...   # the whole block runs in transaction.atomic and is re-run on conflict

        retry_on_conflict.call(func, *args, **kwargs)

    Only the outermost transaction can be re-run: inside an outer ``atomic`` block the
    failure propagates untouched (the outer transaction is already lost).
    """

    def __init__(
        self,
        attempts: int = 5,
        using: str = DEFAULT_DB_ALIAS,
        base_delay: float = 0.05,
        max_delay: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"retry_on_conflict: attempts must be at least 1, got {attempts}")
        self.max_attempts = attempts
        self.using = using
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep

    @overload
    def __call__(self, func: Callable[..., T], /) -> Callable[..., T]: ...
    @overload
    def __call__(self, func: None = None, /, **options: Any) -> _RetryOnConflict: ...

    def __call__(self, func: Callable[..., T] | None = None, /, **options: Any) -> Any:
        if func is None:
            return _RetryOnConflict(**{**self._options(), **options})
        if options:
            raise TypeError("retry_on_conflict(func, ...): pass options without func first")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            return self.call(func, *args, **kwargs)

        return wrapper

    def _options(self) -> dict[str, Any]:
        return {
            "attempts": self.max_attempts,
            "using": self.using,
            "base_delay": self.base_delay,
            "max_delay": self.max_delay,
            "sleep": self.sleep,
        }

    def attempts(self, **options: Any) -> Iterator[Attempt]:
        conf = _RetryOnConflict(**{**self._options(), **options}) if options else self
        nested = connections[conf.using].in_atomic_block
        for number in range(1, conf.max_attempts + 1):
            last = nested or number == conf.max_attempts
            attempt = Attempt(number, conf.using, last)
            yield attempt
            if attempt.failed is None:
                return
            conf.sleep(_backoff(number, conf.base_delay, conf.max_delay))

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        result: Any = None
        for attempt in self.attempts():
            with attempt:
                result = func(*args, **kwargs)
        return result


retry_on_conflict = _RetryOnConflict()
