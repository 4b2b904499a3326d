"""Who a client session runs as upstream, and whether a login may go ahead. Pure code.

Every Redshift user is a PostgreSQL role of the same name, and a client session logs in
upstream as that role, so PostgreSQL itself decides what the session may do: GRANTs,
``has_table_privilege`` and "permission denied" are PostgreSQL's, and so are the refusals
of everything that reaches the machine (server files, ``COPY ... PROGRAM``, large-object
server functions, untrusted languages and extensions), which only a PostgreSQL superuser
may use. No client session is ever a PostgreSQL superuser:

* a Redshift superuser (the admin user, and users created with CREATEUSER) is a role
  with CREATEDB, a member of :data:`SUPERUSERS`, which holds PostgreSQL's predefined
  roles for reading and writing every table (:data:`SUPERUSER_GRANTS`);
* every other Redshift user's role is granted to :data:`SUPERUSERS`, so a superuser can
  alter and drop what such a user owns;
* creating and altering users and groups goes through SECURITY DEFINER procedures that
  the emulator's own (superuser) connection installed (``catalog._users_sql``): they check
  that the caller is a Redshift superuser and give roles nothing else. Client roles never
  get CREATEROLE, which before PostgreSQL 16 lets a role grant itself
  pg_execute_server_program.

See docs/emulator.md, "Security", for what this protects and what it does not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .auth import Verifier, md5_verifier

SUPERUSERS = "redshift_emulator_superusers"
DEFAULT_ADMIN = "awsuser"
# Data, statistics and signalling, never pg_read_server_files, pg_write_server_files or
# pg_execute_server_program: a Redshift superuser cannot reach the machine either.
SUPERUSER_GRANTS = (
    "pg_read_all_data",
    "pg_write_all_data",
    "pg_read_all_stats",
    "pg_signal_backend",
)
# Redshift: GetClusterCredentials returns "IAM:<user>", or "IAMA:<user>" with AutoCreate,
# and the session is the user's own (redshift-sql.md §8, MG:generating-iam-credentials-cli-api).
IAM_PREFIXES = ("IAMA:", "IAM:")

PasswordCheck = Callable[[str, str, str], bool]


def login_role(login: str) -> str:
    """The role a login name runs as: the name, without an IAM prefix."""
    for prefix in IAM_PREFIXES:
        if login[: len(prefix)].upper() == prefix:
            return login[len(prefix) :]
    return login


@dataclass(frozen=True)
class Account:
    """What the upstream knows of a role (read by the emulator's own connection)."""

    role: str
    exists: bool = False
    can_login: bool = False
    pg_superuser: bool = False
    verifier: Verifier | None = None
    expired: bool = False


@dataclass(frozen=True)
class LoginPolicy:
    """How this emulator lets clients in.

    ``passwords``: clear text passwords the emulator was given (the admin's, ``users=``);
    they win over a stored one. ``trust``: a user without a password logs in without one
    (the default on loopback). ``password_check``: the stand-in for IAM temporary
    credentials, called with the clear text.
    """

    admin: str = DEFAULT_ADMIN
    passwords: Mapping[str, str] = field(default_factory=dict)
    trust: bool = True
    password_check: PasswordCheck | None = None


@dataclass(frozen=True)
class Decision:
    """``exchange``: "trust", "clear", "md5", "scram" or "digest"; or ``refuse`` =
    (message, SQLSTATE) at once. ``verifier``: what the exchange checks against.
    ``create``: make the role once the password is right (an IAM login of a new user)."""

    exchange: str = "trust"
    verifier: Verifier | None = None
    refuse: tuple[str, str] | None = None
    create: bool = False
    expired: bool = False


def decide(
    login: str, account: Account, policy: LoginPolicy, params: Mapping[str, str]
) -> Decision:
    """How to authenticate ``login`` (whose role upstream is ``account``)."""
    if account.pg_superuser:
        return Decision(
            refuse=(
                f'user "{account.role}" is a PostgreSQL superuser upstream: the emulator lets '
                f'no client in as one (log in as "{policy.admin}" or another Redshift user)',
                "28000",
            )
        )
    if account.exists and not account.can_login:
        return Decision(refuse=(f'user "{account.role}" is not permitted to log in', "28000"))
    configured = policy.passwords.get(account.role)
    verifier = (
        Verifier.parse(md5_verifier(login, configured)) if configured is not None else None
    ) or account.verifier
    if policy.password_check is not None:
        return Decision("clear", verifier, create=not account.exists, expired=account.expired)
    if not account.exists:
        if policy.trust:
            return Decision(refuse=(f'user "{account.role}" does not exist', "28000"))
        return Decision("md5")  # asked and refused, as for a wrong password
    if verifier is None:
        return Decision("trust") if policy.trust else Decision("md5")
    if verifier.kind == "sha256":
        # redshift_connector announces itself with client_protocol_version and answers
        # AUTH_REQ_DIGEST; libpq does not know that request, so it is asked for the password.
        kind = "digest" if "client_protocol_version" in params else "clear"
        return Decision(kind, verifier, expired=account.expired)
    return Decision(verifier.kind, verifier, expired=account.expired)


def password_accepted(
    decision: Decision, login: str, password: str | None, policy: LoginPolicy, database: str
) -> bool:
    """For a clear text exchange: the user's own password, or one ``password_check`` takes."""
    if password is None:
        return False
    if decision.verifier is not None and decision.verifier.matches(login, password):
        return True
    check = policy.password_check
    return check is not None and bool(check(login, password, database))


# One row for a role name, read by the emulator's own connection: pg_authid (the
# password) is for superusers only.
LOOKUP_SQL = (
    "SELECT rolcanlogin, rolsuper, rolpassword,"
    " coalesce(rolvaliduntil < pg_catalog.now(), false)"
    " FROM pg_catalog.pg_authid WHERE rolname = %s"
)


def account_from_row(role: str, row: tuple[object, ...] | None) -> Account:
    if row is None:
        return Account(role)
    can_login, superuser, password, expired = row
    return Account(
        role,
        exists=True,
        can_login=bool(can_login),
        pg_superuser=bool(superuser),
        verifier=Verifier.parse(password if isinstance(password, str) else None),
        expired=bool(expired),
    )


def valid_until(text: str) -> dt.datetime:
    """A VALID UNTIL value ('abstime': a date or timestamp), for checking it early."""
    return dt.datetime.fromisoformat(text.strip())
