"""Temporary Redshift database credentials from AWS IAM, shared per database alias.

``OPTIONS["iam"]`` in a ``DATABASES`` entry selects one of three AWS APIs:

- provisioned, ``db_user`` given: ``redshift:GetClusterCredentials``;
- provisioned, ``group_federation: True``: ``redshift:GetClusterCredentialsWithIAM`` (the
  database user is the caller's IAM identity);
- serverless, ``workgroup`` given: ``redshift-serverless:GetCredentials``.

Each call returns a user name and a password that can log in for 900 to 3600 seconds. The
password is needed only to *log in*, so one ``CredentialProvider`` per alias caches it, hands it
to every new connection, and fetches the next one in the background shortly before it expires.

``boto3`` is optional (the ``iam`` extra): this module imports without it, and using it without
boto3 raises ``ImproperlyConfigured``.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError
from django.views.decorators.debug import sensitive_variables

__all__ = [
    "CredentialProvider",
    "Credentials",
    "IAMCredentialsError",
    "IAMSettings",
    "get_provider",
    "register_provider",
    "reset_providers",
    "validate_iam_options",
]

logger = logging.getLogger("redshift_async_backend.iam")

# Redshift: GetClusterCredentials, GetClusterCredentialsWithIAM (Redshift API Reference) and
# redshift-serverless GetCredentials (Redshift Serverless API Reference) all accept
# DurationSeconds from 900 to 3600 and default to 900.
MIN_DURATION = 900
MAX_DURATION = 3600
DEFAULT_DURATION = 900

# Refresh this long before the password expires: 10 % of its lifetime, at least 60 s.
MARGIN_FRACTION = 0.10
MIN_MARGIN = 60.0
# After a failed background refresh, wait this long before the next background attempt.
BACKGROUND_RETRY_DELAY = 5.0

# Our own retry loop (botocore's is switched off so that attempts are bounded and counted).
MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.25
BACKOFF_CAP = 4.0
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0

# Error codes worth another attempt: throttling and transient server faults, as in botocore's
# "standard" retry mode. AccessDenied, ClusterNotFound, ResourceNotFoundException,
# ValidationException and the like are final.
RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

INSTALL_HINT = (
    'IAM authentication needs boto3: install the "iam" extra, '
    "python -m pip install 'redshift-async-backend[iam]'"
)

# Redshift Serverless API Reference, GetCredentials: workgroupName is 3-64 of [a-z0-9-].
_WORKGROUP_RE = re.compile(r"^[a-z0-9-]{3,64}$")

_SECRET_KEYS = frozenset({"secret_access_key", "session_token"})
_ALLOWED_KEYS = (
    "cluster_identifier",
    "workgroup",
    "region",
    "db_user",
    "db_groups",
    "auto_create",
    "group_federation",
    "duration_seconds",
    "profile",
    "access_key_id",
    "secret_access_key",
    "session_token",
    "endpoint_url",
)

# botocore logs, at DEBUG, request headers and canonical requests (the session token) and
# response bodies (the database password). While one of our calls runs on a thread, a filter
# on these loggers drops that thread's DEBUG records; other calls are untouched.
_SENSITIVE_LOGGERS = ("botocore.endpoint", "botocore.auth", "botocore.parsers")

PROVISIONED = "GetClusterCredentials"
PROVISIONED_IAM = "GetClusterCredentialsWithIAM"
SERVERLESS = "GetCredentials"


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class IAMSettings:
    """Validated ``OPTIONS["iam"]``. Build it with :func:`validate_iam_options`."""

    alias: str
    operation: str  # PROVISIONED, PROVISIONED_IAM or SERVERLESS
    cluster_identifier: str | None = None
    workgroup: str | None = None
    region: str | None = None
    db_user: str | None = None
    db_groups: tuple[str, ...] = ()
    auto_create: bool = False
    duration_seconds: int = DEFAULT_DURATION
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    endpoint_url: str | None = None

    @property
    def service(self) -> str:
        return "redshift-serverless" if self.operation == SERVERLESS else "redshift"

    def fingerprint(self, database_name: str) -> str:
        """A digest of every setting (secrets included) and the database name."""
        parts = [repr(getattr(self, f.name)) for f in dataclasses.fields(self)]
        parts.append(repr(database_name))
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def _where(alias: str, key: str | None = None) -> str:
    path = f"DATABASES[{alias!r}]['OPTIONS']['iam']"
    return f"{path}[{key!r}]" if key else path


def _bad(alias: str, key: str, value: object, allowed: str) -> ImproperlyConfigured:
    shown = "<hidden>" if key in _SECRET_KEYS else repr(value)
    return ImproperlyConfigured(f"{_where(alias, key)} = {shown} is not allowed: {allowed}.")


def _conflict(alias: str, key: str, reason: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{_where(alias, key)} is not allowed {reason}.")


def validate_iam_options(alias: str, options: object) -> IAMSettings:
    """Check ``OPTIONS["iam"]`` of database ``alias``; raise ``ImproperlyConfigured`` if bad."""
    if not isinstance(options, Mapping):
        raise ImproperlyConfigured(
            f"{_where(alias)} must be a dict, got {type(options).__name__}; "
            f"allowed keys: {', '.join(_ALLOWED_KEYS)}."
        )
    for key in options:
        if key not in _ALLOWED_KEYS:
            # The value is not shown: a misspelt key may hold a secret.
            close = difflib.get_close_matches(str(key), _ALLOWED_KEYS, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise ImproperlyConfigured(
                f"{_where(alias)} has an unknown key {key!r}{hint}; "
                f"allowed keys: {', '.join(_ALLOWED_KEYS)}."
            )

    def text(key: str) -> str | None:
        value = options.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise _bad(alias, key, value, "it must be a non-empty string")
        return value

    def flag(key: str) -> bool:
        value = options.get(key, False)
        if not isinstance(value, bool):
            raise _bad(alias, key, value, "it must be True or False")
        return value

    cluster = text("cluster_identifier")
    workgroup = text("workgroup")
    if (cluster is None) == (workgroup is None):
        raise ImproperlyConfigured(
            f"{_where(alias)} needs exactly one of 'cluster_identifier' (provisioned cluster) "
            f"or 'workgroup' (Redshift Serverless); "
            f"got {'both' if cluster else 'neither'}."
        )
    if workgroup is not None and not _WORKGROUP_RE.match(workgroup):
        raise _bad(alias, "workgroup", workgroup, "a workgroup name is 3 to 64 of a-z, 0-9 and -")

    db_user = text("db_user")
    raw_groups = options.get("db_groups")
    groups: tuple[str, ...] = ()
    if raw_groups is not None:
        if not isinstance(raw_groups, list | tuple) or not all(
            isinstance(g, str) and g.strip() for g in raw_groups
        ):
            raise _bad(alias, "db_groups", raw_groups, "it must be a list of group names")
        groups = tuple(raw_groups)
    auto_create = flag("auto_create")
    federation = flag("group_federation")

    duration = options.get("duration_seconds", DEFAULT_DURATION)
    if (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not MIN_DURATION <= duration <= MAX_DURATION
    ):
        raise _bad(
            alias,
            "duration_seconds",
            duration,
            f"it must be an integer from {MIN_DURATION} to {MAX_DURATION}",
        )

    if workgroup is not None:
        # Redshift Serverless GetCredentials maps the database user to the caller's IAM
        # identity and takes no user, groups or auto-create flag.
        for key in ("db_user", "db_groups", "auto_create", "group_federation"):
            if key in options:
                raise _conflict(
                    alias,
                    key,
                    "with 'workgroup': Redshift Serverless GetCredentials logs in as the "
                    "caller's IAM identity",
                )
        operation = SERVERLESS
    elif federation:
        # GetClusterCredentialsWithIAM: the user is the IAM identity and its groups come from
        # the principal's RedshiftDbRoles tag.
        for key in ("db_user", "db_groups", "auto_create"):
            if key in options:
                raise _conflict(
                    alias,
                    key,
                    "with 'group_federation': True; GetClusterCredentialsWithIAM logs in as "
                    "the caller's IAM identity",
                )
        operation = PROVISIONED_IAM
    else:
        if db_user is None:
            raise ImproperlyConfigured(
                f"{_where(alias, 'db_user')} is required with 'cluster_identifier' "
                f"(GetClusterCredentials), unless 'group_federation' is True."
            )
        operation = PROVISIONED

    profile = text("profile")
    key_id = text("access_key_id")
    secret = text("secret_access_key")
    token = text("session_token")
    if (key_id is None) != (secret is None):
        missing = "secret_access_key" if secret is None else "access_key_id"
        raise ImproperlyConfigured(
            f"{_where(alias, missing)} is required when "
            f"{'access_key_id' if secret is None else 'secret_access_key'} is set."
        )
    if token is not None and key_id is None:
        raise ImproperlyConfigured(
            f"{_where(alias, 'session_token')} needs 'access_key_id' and 'secret_access_key'."
        )
    if profile is not None and key_id is not None:
        raise _conflict(alias, "profile", "together with 'access_key_id': choose one")

    endpoint = text("endpoint_url")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise _bad(alias, "endpoint_url", endpoint, "it must start with http:// or https://")

    return IAMSettings(
        alias=alias,
        operation=operation,
        cluster_identifier=cluster,
        workgroup=workgroup,
        region=text("region"),
        db_user=db_user,
        db_groups=groups,
        auto_create=auto_create,
        duration_seconds=duration,
        profile=profile,
        access_key_id=key_id,
        secret_access_key=secret,
        session_token=token,
        endpoint_url=endpoint,
    )


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Credentials:
    """A temporary database user and password. The password never shows in repr or str."""

    user: str
    password: str = field(repr=False)
    expiration: datetime

    def __repr__(self) -> str:
        return (
            f"Credentials(user={self.user!r}, password=<hidden>, "
            f"expiration={self.expiration.isoformat()!r})"
        )

    __str__ = __repr__


class IAMCredentialsError(OperationalError):
    """AWS refused or failed to issue database credentials."""

    def __init__(
        self, alias: str, operation: str, code: str, message: str, *, retryable: bool, attempts: int
    ) -> None:
        self.alias = alias
        self.operation = operation
        self.code = code
        self.retryable = retryable
        self.attempts = attempts
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        super().__init__(
            f"IAM credentials for database {alias!r}: {operation} failed with {code}: "
            f"{message} ({tries})"
        )

    def copy(self) -> IAMCredentialsError:
        new = IAMCredentialsError.__new__(IAMCredentialsError)
        new.__dict__.update(self.__dict__)
        new.args = self.args
        return new


@dataclass(frozen=True)
class _State:
    creds: Credentials
    valid_until: float  # local clock
    refresh_at: float  # local clock


# --------------------------------------------------------------------------- provider


_in_call = threading.local()
_filter_lock = threading.Lock()
_filter_installed = False


class _HideOurBotocoreDebug(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG or not getattr(_in_call, "active", False)


def _install_log_filter() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            for name in _SENSITIVE_LOGGERS:
                logging.getLogger(name).addFilter(_HideOurBotocoreDebug())
            _filter_installed = True


def _quiet_call(call: Callable[..., Any], args: dict[str, Any]) -> Any:
    _in_call.active = True
    try:
        return call(**args)
    finally:
        _in_call.active = False


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise ImproperlyConfigured(INSTALL_HINT) from exc
    return boto3


class CredentialProvider:
    """Fetches, caches and refreshes the credentials of one database alias. Thread-safe.

    ``clock`` (epoch seconds), ``sleep`` and ``rng`` are injectable for tests.
    """

    def __init__(
        self,
        settings: IAMSettings,
        database_name: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.settings = settings
        self.alias = settings.alias
        self.database_name = database_name
        self.fingerprint = settings.fingerprint(database_name)
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._max_attempts = max_attempts
        self._state: _State | None = None
        self._fetch_lock = threading.Lock()
        self._bg_lock = threading.Lock()
        self._refresher: threading.Thread | None = None
        self._bg_not_before = 0.0
        self._completed = 0  # fetch attempts (with their retries) finished, success or not
        self._last_error: IAMCredentialsError | None = None
        self._stats = {
            "api_calls": 0,
            "fetches": 0,
            "failures": 0,
            "background_refreshes": 0,
            "background_failures": 0,
        }
        self.client = self._make_client()

    def __repr__(self) -> str:
        return f"<CredentialProvider alias={self.alias!r} operation={self.settings.operation}>"

    @sensitive_variables()
    def _make_client(self) -> Any:
        boto3 = _import_boto3()
        _install_log_filter()
        from botocore.config import Config
        from botocore.exceptions import NoRegionError, ProfileNotFound

        s = self.settings
        try:
            session = boto3.session.Session(
                profile_name=s.profile,
                aws_access_key_id=s.access_key_id,
                aws_secret_access_key=s.secret_access_key,
                aws_session_token=s.session_token,
                region_name=s.region,
            )
        except ProfileNotFound:
            raise _bad(s.alias, "profile", s.profile, "no such AWS profile") from None
        config = Config(
            retries={"total_max_attempts": 1},
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=READ_TIMEOUT,
        )
        try:
            return session.client(s.service, endpoint_url=s.endpoint_url, config=config)
        except NoRegionError:
            raise ImproperlyConfigured(
                f"{_where(s.alias, 'region')} is required: no AWS region is configured "
                f"(AWS_REGION, AWS_DEFAULT_REGION or the profile's region)."
            ) from None  # boto3's frames hold the session's keys

    # -- public API

    def get(self) -> Credentials:
        """Credentials valid now; blocks on AWS only when none are cached or they expired."""
        return self._cached() or self._fetch_blocking()

    async def aget(self) -> Credentials:
        """``get()`` for async callers; the AWS call, when needed, runs in a worker thread."""
        creds = self._cached()
        if creds is not None:
            return creds
        try:
            from anyio import to_thread
        except ImportError:  # pragma: no cover - anyio ships with the async extras
            import asyncio

            return await asyncio.to_thread(self._fetch_blocking)
        return await to_thread.run_sync(self._fetch_blocking)

    def refresh(self) -> Credentials:
        """Fetch new credentials now, e.g. after the server refused a cached password."""
        with self._fetch_lock:
            return self._fetch_locked()

    def stats(self) -> dict[str, Any]:
        """Counters and the current user/expiry; never the password."""
        st = self._state
        return {
            "alias": self.alias,
            "operation": self.settings.operation,
            **self._stats,
            "user": st.creds.user if st else None,
            "expiration": st.creds.expiration.isoformat() if st else None,
            "valid_until": st.valid_until if st else None,
            "refresh_at": st.refresh_at if st else None,
        }

    # -- internals

    def _cached(self) -> Credentials | None:
        st = self._state
        if st is None:
            return None
        now = self._clock()
        if now < st.refresh_at:
            return st.creds
        if now < st.valid_until:
            self._start_background(now)
            return st.creds
        return None

    def _fetch_blocking(self) -> Credentials:
        seen = self._completed
        with self._fetch_lock:
            st = self._state
            if st is not None and self._clock() < st.valid_until:
                return st.creds  # another thread refreshed while we waited
            if self._completed != seen and self._last_error is not None:
                # A fetch finished (and failed, retries included) while we waited: report it
                # rather than send a second wave of calls to an API that is refusing.
                raise self._last_error.copy() from self._last_error
            return self._fetch_locked()

    def _start_background(self, now: float) -> None:
        with self._bg_lock:
            running = self._refresher is not None and self._refresher.is_alive()
            if running or now < self._bg_not_before:
                return
            self._refresher = threading.Thread(
                target=self._background_refresh,
                name=f"redshift-iam-refresh[{self.alias}]",
                daemon=True,
            )
            self._refresher.start()

    def _background_refresh(self) -> None:
        with self._fetch_lock:
            st = self._state
            if st is not None and self._clock() < st.refresh_at:
                return  # someone refreshed already
            try:
                self._fetch_locked()
            except IAMCredentialsError as exc:
                self._stats["background_failures"] += 1
                self._bg_not_before = self._clock() + BACKGROUND_RETRY_DELAY
                logger.warning("background refresh failed, current password still valid: %s", exc)
            except Exception:
                self._stats["background_failures"] += 1
                self._bg_not_before = self._clock() + BACKGROUND_RETRY_DELAY
                logger.exception("background refresh of IAM credentials for %r failed", self.alias)
            else:
                self._stats["background_refreshes"] += 1

    def _request(self) -> tuple[str, dict[str, Any]]:
        s = self.settings
        if s.operation == SERVERLESS:
            args: dict[str, Any] = {
                "workgroupName": s.workgroup,
                "durationSeconds": s.duration_seconds,
            }
            if self.database_name:
                args["dbName"] = self.database_name
            return "get_credentials", args
        args = {"ClusterIdentifier": s.cluster_identifier, "DurationSeconds": s.duration_seconds}
        if self.database_name:
            args["DbName"] = self.database_name
        if s.operation == PROVISIONED_IAM:
            return "get_cluster_credentials_with_iam", args
        args["DbUser"] = s.db_user
        args["AutoCreate"] = s.auto_create
        if s.db_groups:
            args["DbGroups"] = list(s.db_groups)
        return "get_cluster_credentials", args

    @sensitive_variables("creds")
    def _fetch_locked(self) -> Credentials:
        try:
            creds, started = self._call_with_retries()
        except IAMCredentialsError as exc:
            self._stats["failures"] += 1
            self._last_error = exc
            self._completed += 1
            raise
        expires = creds.expiration.timestamp()
        # A clock behind AWS's would make Expiration look later than it is; the password
        # cannot outlive the duration we asked for, counted from before the request.
        valid_until = min(expires, started + self.settings.duration_seconds)
        lifetime = max(valid_until - started, 0.0)
        margin = min(max(MIN_MARGIN, lifetime * MARGIN_FRACTION), lifetime / 2)
        self._state = _State(creds, valid_until, valid_until - margin)
        self._stats["fetches"] += 1
        self._last_error = None
        self._completed += 1
        logger.debug(
            "IAM credentials for %r from %s: user %s, expire %s",
            self.alias,
            self.settings.operation,
            creds.user,
            creds.expiration.isoformat(),
        )
        return creds

    @sensitive_variables("args", "response")
    def _call_with_retries(self) -> tuple[Credentials, float]:
        method, args = self._request()
        call = getattr(self.client, method)
        attempt = 0
        while True:
            attempt += 1
            started = self._clock()
            self._stats["api_calls"] += 1
            try:
                response = _quiet_call(call, args)
            except Exception as exc:
                code, message, retryable = self._classify(exc)
                if not retryable or attempt >= self._max_attempts:
                    raise IAMCredentialsError(
                        self.alias,
                        self.settings.operation,
                        code,
                        message,
                        retryable=retryable,
                        attempts=attempt,
                    ) from None  # botocore's frames hold the signed request: token and all
                ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
                delay = ceiling / 2 + self._rng() * ceiling / 2
                logger.warning(
                    "IAM credentials for %r: %s failed with %s (attempt %d of %d), "
                    "retrying in %.2fs",
                    self.alias,
                    self.settings.operation,
                    code,
                    attempt,
                    self._max_attempts,
                    delay,
                )
                self._sleep(delay)
                continue
            return self._parse(response), started

    @sensitive_variables("response", "password")
    def _parse(self, response: Mapping[str, Any]) -> Credentials:
        if self.settings.operation == SERVERLESS:
            keys = ("dbUser", "dbPassword", "expiration")
        else:
            keys = ("DbUser", "DbPassword", "Expiration")
        try:
            user, password, expiration = (response[k] for k in keys)
        except KeyError as exc:
            raise IAMCredentialsError(
                self.alias,
                self.settings.operation,
                "MalformedResponse",
                f"the response has no {exc.args[0]}",
                retryable=False,
                attempts=1,
            ) from None
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return Credentials(user=user, password=password, expiration=expiration)

    @staticmethod
    def _classify(exc: Exception) -> tuple[str, str, bool]:
        """(error code, message, worth retrying) for an exception from a boto3 call."""
        from botocore.exceptions import ClientError, HTTPClientError, SSLError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "Unknown")
            message = str(error.get("Message") or "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return code, message, code in RETRYABLE_CODES or status in RETRYABLE_STATUS
        if isinstance(exc, SSLError):
            return type(exc).__name__, str(exc), False
        if isinstance(exc, BotoConnectionError | HTTPClientError):
            return type(exc).__name__, str(exc), True
        return type(exc).__name__, str(exc), False


# --------------------------------------------------------------------------- registry

_registry: dict[str, CredentialProvider] = {}
_registry_lock = threading.Lock()


def get_provider(alias: str, iam_options: object, database_name: str) -> CredentialProvider:
    """The shared provider of ``alias``; a new one if its settings or database changed."""
    settings = validate_iam_options(alias, iam_options)
    fingerprint = settings.fingerprint(database_name)
    with _registry_lock:
        provider = _registry.get(alias)
        if provider is None or provider.fingerprint != fingerprint:
            provider = CredentialProvider(settings, database_name)
            _registry[alias] = provider
        return provider


def register_provider(provider: CredentialProvider) -> None:
    """Make ``provider`` the shared provider of its alias, e.g. one built with a test clock.

    ``get_provider`` keeps returning it while the alias's settings and database are the ones
    it was built for.
    """
    with _registry_lock:
        _registry[provider.alias] = provider


def reset_providers() -> None:
    """Forget every shared provider (tests, settings changes)."""
    with _registry_lock:
        _registry.clear()


def _after_fork_in_child() -> None:
    # A forked worker (e.g. gunicorn --preload) must not share a boto3 client's sockets or
    # inherit a lock held by a thread that does not exist in the child.
    global _registry_lock
    _registry_lock = threading.Lock()
    _registry.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
