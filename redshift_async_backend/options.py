"""Validation of ``DATABASES[alias]["OPTIONS"]`` for the Redshift backend.

Every mistake raises ``ImproperlyConfigured`` naming the key, the value (never a secret) and
what is allowed. Keys the backend does not own are handed to the driver's ``connect()``; the
driver decides which of those it knows (see ``drivers``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DRIVERS = ("psycopg", "redshift_connector")
LAST_INSERT_ID_MODES = ("lock", "max")
# Redshift: BEGIN (DG:r_BEGIN) accepts these; all but SERIALIZABLE map to SERIALIZABLE.
ISOLATION_LEVELS = ("serializable", "repeatable read", "read committed", "read uncommitted")
# Keys owned by the backend; everything else goes to the driver.
BACKEND_KEYS = frozenset(
    {
        "driver",
        "pool",
        "iam",
        "last_insert_id",
        "varchar_bytes_per_char",
        "isolation_level",
        "server_side_binding",
        "assume_role",
    }
)
MAX_VARCHAR_BYTES_PER_CHAR = 4  # UTF-8 needs at most 4 bytes per character


@dataclass(frozen=True)
class BackendOptions:
    """The backend's own options, validated; ``driver_options`` go to ``connect()``."""

    driver: str = "psycopg"
    last_insert_id: str = "lock"
    varchar_bytes_per_char: int | None = None
    isolation_level: str | None = None
    driver_options: Mapping[str, Any] | None = None
    #: ``iam.IAMSettings`` when ``OPTIONS["iam"]`` is set: log in with IAM credentials.
    iam: Any = None


def _fail(key: str, value: Any, allowed: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"DATABASES OPTIONS[{key!r}] = {value!r} is not valid for the Redshift backend: {allowed}."
    )


def suggest(key: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(candidates), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _validate_pool(value: Any) -> None:
    # Keys and value types; CONN_MAX_AGE is checked when the pool is built (pooling.py).
    from .pooling import pool_settings

    pool_settings(value)


def _validate_iam(alias: str, value: Any) -> Any:
    """``OPTIONS["iam"]`` checked by ``iam.validate_iam_options`` (errors name the key)."""
    if value is None:
        return None
    from .iam import validate_iam_options

    return validate_iam_options(alias, value)


def _validate_isolation_level(value: Any) -> str | None:
    if value is None:
        return None
    # psycopg.IsolationLevel is an IntEnum whose names match the SQL words.
    name = getattr(value, "name", value)
    if isinstance(name, str):
        text = name.replace("_", " ").strip().lower()
        if text in ISOLATION_LEVELS:
            return text
    raise _fail(
        "isolation_level",
        value,
        "Redshift's BEGIN accepts "
        + ", ".join(repr(x) for x in ISOLATION_LEVELS)
        + " (all of them behave as SERIALIZABLE; DG:r_BEGIN)",
    )


def validate_options(
    options: Mapping[str, Any], settings_multiplier: Any = None, alias: str = "default"
) -> BackendOptions:
    """Check OPTIONS and split them into the backend's own and the driver's."""
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(
            f"DATABASES OPTIONS must be a dict; got {type(options).__name__}."
        )
    driver = options.get("driver", "psycopg")
    if driver not in DRIVERS:
        raise _fail("driver", driver, "use one of " + ", ".join(repr(d) for d in DRIVERS))
    _validate_pool(options.get("pool"))
    # A bool is redshift_connector's own switch (connect(iam=True): its IAM and identity
    # provider logins), handed to the driver; the backend's IAM login is a dict.
    raw_iam = options.get("iam")
    iam = None if isinstance(raw_iam, bool) else _validate_iam(alias, raw_iam)

    mode = options.get("last_insert_id", "lock")
    if mode not in LAST_INSERT_ID_MODES:
        raise _fail("last_insert_id", mode, "use 'lock' (default, safe under concurrency) or 'max'")

    per_char = options.get("varchar_bytes_per_char")
    if per_char is None and settings_multiplier is not None:
        per_char = settings_multiplier
        key = "REDSHIFT_VARCHAR_LENGTH_MULTIPLIER"
    else:
        key = "varchar_bytes_per_char"
    if per_char is not None and (
        isinstance(per_char, bool)
        or not isinstance(per_char, int)
        or not 1 <= per_char <= MAX_VARCHAR_BYTES_PER_CHAR
    ):
        if key == "varchar_bytes_per_char":
            raise _fail(key, per_char, "use an integer from 1 to 4 (bytes per character)")
        raise ImproperlyConfigured(
            f"settings.{key} = {per_char!r} is not valid: use an integer from 1 to 4."
        )

    isolation = _validate_isolation_level(options.get("isolation_level"))

    ssb = options.get("server_side_binding")
    if ssb not in (None, False):
        raise _fail(
            "server_side_binding",
            ssb,
            "only client-side binding is supported: JSONField and BinaryField values are "
            "written as JSON_PARSE(...) / TO_VARBYTE(...) literals",
        )
    if options.get("assume_role") is not None:
        raise ImproperlyConfigured(
            "DATABASES OPTIONS['assume_role'] is not supported: Redshift has no SET ROLE "
            "(DG:c_SQL_commands); connect as the user that owns the objects."
        )
    driver_options = {k: v for k, v in options.items() if k not in BACKEND_KEYS}
    if raw_iam is True:
        driver_options["iam"] = True
    return BackendOptions(
        driver=driver,
        last_insert_id=mode,
        varchar_bytes_per_char=per_char,
        isolation_level=isolation,
        driver_options=driver_options,
        iam=iam,
    )
