"""The emulator's own connection to the upstream: the only one that is a superuser.

It reads the upstream's version and settings, makes the roles every emulator on this
upstream shares (:func:`setup_roles`), looks up the role of each login (the password is in
``pg_authid``, which only a superuser reads), makes IAM users on their first login, and
installs the catalog SQL into each database (:meth:`Admin.ensure_setup`). Client sessions
never use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from . import catalog
from .roles import LOOKUP_SQL, SUPERUSER_GRANTS, SUPERUSERS, Account, account_from_row
from .upstream import Upstream

logger = logging.getLogger("redshift_async_backend.emulator")

_SETUP_LOCK_KEY = 0x52534545  # pg_advisory_lock key while installing catalog SQL
_ROLES_LOCK_KEY = 0x52534552  # ... and while making the shared roles


class UpstreamError(RuntimeError):
    """The upstream cannot serve the emulator (the message says why)."""


class Admin:
    """One superuser connection to the upstream URL's database, used one query at a time."""

    def __init__(self, upstream: Upstream, admin_user: str) -> None:
        self.upstream = upstream
        self.admin_user = admin_user
        self.server_version_num = 180000
        self.settings: frozenset[str] = frozenset()
        self._conn: Any = None
        self._lock = asyncio.Lock()
        self._setup_locks: dict[str, asyncio.Lock] = {}

    async def _connect(self) -> Any:
        import psycopg

        return await psycopg.AsyncConnection.connect(
            self.upstream.conninfo(self.upstream.database), autocommit=True
        )

    async def start(self, users: list[str]) -> None:
        self._conn = await self._connect()
        conn = self._conn
        self.server_version_num = conn.info.server_version
        row = await (
            await conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        ).fetchone()
        if not (row and row[0]):
            raise UpstreamError(
                f'the upstream user "{self.upstream.user}" is not a PostgreSQL superuser: the '
                "emulator needs one for its own connection (client sessions never run as it)"
            )
        cur = await conn.execute("SELECT name FROM pg_settings")
        self.settings = frozenset(r[0].lower() for r in await cur.fetchall())
        await setup_roles(conn, self.admin_user, users)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _query(self, sql: str, params: tuple[Any, ...]) -> Any:
        """One query; the connection is opened again once if the upstream dropped it."""
        import psycopg

        async with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = await self._connect()
                    cur = await self._conn.execute(sql, params)
                    return await cur.fetchone() if cur.description else None
                except psycopg.OperationalError:
                    if attempt == 2:
                        raise
                    with contextlib.suppress(Exception):
                        await self._conn.close()
                    self._conn = None
        return None

    async def account(self, role: str) -> Account:
        return account_from_row(role, await self._query(LOOKUP_SQL, (role,)))

    async def create_login(self, role: str) -> None:
        """An IAM user's first login (GetClusterCredentials' AutoCreate): an ordinary user
        without a password (DG:r_CREATE_USER, PASSWORD DISABLE)."""
        async with self._lock:
            if self._conn is None or self._conn.closed:
                self._conn = await self._connect()
            if await _create_role(self._conn, role, "LOGIN"):
                await _grant(self._conn, role, SUPERUSERS)

    async def ensure_setup(self, database: str) -> None:
        """Run catalog.setup_statements() on a database that lacks this version's SQL."""
        lock = self._setup_locks.setdefault(database, asyncio.Lock())
        async with lock:
            import psycopg

            aconn = await psycopg.AsyncConnection.connect(
                self.upstream.conninfo(database), autocommit=True
            )
            async with aconn:
                # Other emulators (worker processes, pytest-xdist) may share the upstream:
                # one installs, the others find the marker once they hold the lock.
                # CREATE OR REPLACE VIEW waits for sessions that use the views: a client
                # idle in a transaction must not hold every new connection up for good.
                await aconn.execute("SET lock_timeout = '30s'")
                await aconn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
                try:
                    cur = await aconn.execute(catalog.SETUP_CHECK_SQL)
                    row = await cur.fetchone()
                    if row is None or row[0] != catalog.setup_marker():
                        for statement in catalog.setup_statements():
                            await aconn.execute(statement.encode())
                finally:
                    await aconn.execute("SELECT pg_advisory_unlock(%s)", (_SETUP_LOCK_KEY,))


async def _create_role(conn: Any, name: str, options: str) -> bool:
    """CREATE ROLE unless it exists; whether this call made it."""
    from psycopg import errors, sql

    if await (await conn.execute("SELECT to_regrole(%s)", (name,))).fetchone() != (None,):
        return False
    try:
        await conn.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
    except (errors.DuplicateObject, errors.UniqueViolation):
        return False  # another emulator on this upstream made it first
    return True


async def _grant(conn: Any, role: str, member: str) -> None:
    from psycopg import sql

    present = await (
        await conn.execute(
            "SELECT 1 FROM pg_auth_members WHERE roleid = to_regrole(%s)"
            " AND member = to_regrole(%s)",
            (role, member),
        )
    ).fetchone()
    if present is None:
        await conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member))
        )


async def setup_roles(conn: Any, admin: str, users: list[str]) -> None:
    """The roles every emulator on this upstream shares (see :mod:`.roles`): the superusers'
    group, the admin user, and the users of ``Emulator(users=...)`` (ordinary users)."""
    await conn.execute("SELECT pg_advisory_lock(%s)", (_ROLES_LOCK_KEY,))
    try:
        row = await (
            await conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (admin,))
        ).fetchone()
        if row is not None and row[0]:
            raise UpstreamError(
                f'the admin user "{admin}" is a PostgreSQL superuser upstream: choose another '
                "name (admin_user / --admin-user), so that no client session is a superuser"
            )
        await _create_role(conn, SUPERUSERS, "NOLOGIN")
        for predefined in SUPERUSER_GRANTS:  # PostgreSQL 14 and later have them all
            found = await (await conn.execute("SELECT to_regrole(%s)", (predefined,))).fetchone()
            if found != (None,):
                await _grant(conn, predefined, SUPERUSERS)
        await _create_role(conn, admin, "LOGIN CREATEDB")
        await _grant(conn, SUPERUSERS, admin)
        for user in users:
            if user != admin and await _create_role(conn, user, "LOGIN"):
                await _grant(conn, user, SUPERUSERS)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_ROLES_LOCK_KEY,))
