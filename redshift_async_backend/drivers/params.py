"""What a driver's ``connect()`` accepts: value rules for the keys of ``OPTIONS`` (and
``PORT``) that go to the driver, checked when the connection object is built, so a bad
value is an ``ImproperlyConfigured`` at start-up instead of an error at the first query.

A rule says what is allowed in words (the message names the key, the value and the rule);
secret values are never shown.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

#: Keys whose values are never quoted in a message (either driver's names).
SECRET_KEYS = frozenset(
    {
        "password",
        "sslpassword",
        "oauth_client_secret",
        "scram_client_key",
        "scram_server_key",
        "secret_access_key",
        "session_token",
        "client_secret",
        "web_identity_token",
        "token",
    }
)


def shown(key: str, value: Any) -> str:
    if key in SECRET_KEYS and value is not None:
        return f"<a hidden {type(value).__name__}>"
    return repr(value)


def invalid(key: str, value: Any, allowed: str, driver: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"DATABASES OPTIONS[{key!r}] = {shown(key, value)} is not valid with the {driver} "
        f"driver: {allowed}."
    )


@dataclass(frozen=True)
class Rule:
    """``test(value)`` is True for an allowed value; ``allowed`` says which ones are."""

    test: Callable[[Any], bool]
    allowed: str


def _int(value: Any, text: bool) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if text and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" >= {low:g}"
    return f" <= {high:g}" if high is not None else ""


def integer(
    low: int | None = None, high: int | None = None, *, text: bool = False, what: str = ""
) -> Rule:
    """An int (not a bool) in [low, high]; ``text``: also a string holding one (libpq)."""

    def test(value: Any) -> bool:
        number = _int(value, text)
        return (
            number is not None
            and (low is None or number >= low)
            and (high is None or number <= high)
        )

    kind = "an integer" + (" (or a string of one)" if text else "")
    return Rule(test, f"use {kind}{_bounds(low, high)}{what}")


def seconds(*, what: str = "") -> Rule:
    """A finite number > 0 (int or float, not a bool)."""

    def test(value: Any) -> bool:
        return (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        )

    return Rule(test, f"use a finite number of seconds > 0{what}")


def one_of(*values: Any, text: bool = False) -> Rule:
    """One of ``values``; ``text``: a string (or int) equal to one once written as text."""

    def test(value: Any) -> bool:
        if isinstance(value, bool):
            return value in values and any(isinstance(v, bool) for v in values)
        if text and isinstance(value, int):
            value = str(value)
        return value in values

    return Rule(test, "use one of " + ", ".join(repr(v) for v in values))


BOOLEAN = Rule(lambda value: isinstance(value, bool), "use True or False")
STRING = Rule(lambda value: isinstance(value, str), "use a string")
PATH = Rule(lambda value: isinstance(value, str | os.PathLike), "use a path (a string)")
STRINGS = Rule(
    lambda value: isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
    "use a list of strings",
)


def check_rules(options: Mapping[str, Any], rules: Mapping[str, Rule], driver: str) -> None:
    """Raise for the first key of ``options`` whose value breaks its rule (None: unset)."""
    for key, value in options.items():
        rule = rules.get(key)
        if rule is not None and value is not None and not rule.test(value):
            raise invalid(key, value, rule.allowed, driver)


PORT = integer(1, 65535, text=True)
#: libpq's connect_timeout (libpq-connect.html), read so by both drivers.
CONNECT_TIMEOUT = integer(text=True, what=", in seconds (0 or less waits forever)")


def check_port(settings_dict: Mapping[str, Any], driver: str, *, many: bool = False) -> None:
    """``PORT``: empty for the driver's default, or a TCP port; with ``many`` (libpq), a
    comma-separated list of them, one per host of ``HOST``."""
    port = settings_dict.get("PORT")
    if port in (None, ""):
        return
    parts = port.split(",") if many and isinstance(port, str) else [port]
    if all(PORT.test(p) or (many and p == "") for p in parts):
        return
    listed = ", or a comma-separated list of them (one per host in HOST)" if many else ""
    raise ImproperlyConfigured(
        f"DATABASES PORT = {port!r} is not valid with the {driver} driver: use a port number "
        f"from 1 to 65535 (an int or a string of digits){listed}."
    )
