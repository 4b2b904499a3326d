"""Users, groups and privileges through the emulator, with both drivers.

Each Redshift user is a role upstream and its session runs as that role, so privileges
are PostgreSQL's own: what one user may see and do, another may not, until a GRANT.
User names are unique per test (roles are shared by every database of an upstream) and
are dropped afterwards.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
import redshift_connector
from psycopg.conninfo import make_conninfo

from redshift_async_backend.emulator import Emulator

from .clients import DRIVERS, login

pytestmark = pytest.mark.integration

PASSWORD = "Ezpass12"


def one(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchone()[0]


@pytest.fixture
def admin(emu: Emulator) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(emu.url, autocommit=True, connect_timeout=10) as conn:
        yield conn


@pytest.fixture
def names(emu: Emulator, pg_url: str) -> Iterator[Callable[[str], str]]:
    """Unique role names for this test; the roles and what they own are dropped after."""
    made: list[str] = []

    def name(kind: str) -> str:
        made.append(f"t_{kind}_{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield name
    with psycopg.connect(make_conninfo(pg_url, dbname=emu.database), autocommit=True) as up:
        for role in made:
            if up.execute("SELECT to_regrole(%s)", (role,)).fetchone() != (None,):
                up.execute(f'DROP OWNED BY "{role}"')
                up.execute(f'DROP ROLE "{role}"')


@pytest.mark.parametrize("driver", DRIVERS)
def test_clear_text_password_logs_in_as_the_users_role(
    emu: Emulator, admin: Any, names: Callable[[str], str], driver: str
) -> None:
    # DG:r_CREATE_USER; the drivers answer the MD5 request Redshift sends.
    user = names("u")
    admin.execute(f"CREATE USER {user} PASSWORD '{PASSWORD}'")
    with login(emu, user, PASSWORD, driver) as conn:
        assert one(conn, "SELECT current_user") == user
        assert one(conn, "SELECT session_user") == user
    with pytest.raises((psycopg.OperationalError, redshift_connector.Error), match="password"):
        login(emu, user, "Wrong123x", driver)


@pytest.mark.parametrize("driver", DRIVERS)
def test_md5_and_sha256_password_forms(
    emu: Emulator, admin: Any, names: Callable[[str], str], driver: str
) -> None:
    md5_user, sha_user, salted_user = names("m"), names("s"), names("x")
    md5 = "md5" + hashlib.md5((PASSWORD + md5_user).encode()).hexdigest()
    admin.execute(f"CREATE USER {md5_user} PASSWORD '{md5}'")
    admin.execute(f"CREATE USER {sha_user} PASSWORD 'sha256|{PASSWORD}'")
    digest = hashlib.sha256((PASSWORD + "NaCl").encode()).hexdigest()
    admin.execute(f"CREATE USER {salted_user} PASSWORD 'sha256|{digest}|NaCl'")
    # redshift_connector answers the SHA-256 digest request; libpq is asked in clear text.
    for user in (md5_user, sha_user, salted_user):
        with login(emu, user, PASSWORD, driver) as conn:
            assert one(conn, "SELECT current_user") == user
        with pytest.raises((psycopg.OperationalError, redshift_connector.Error)):
            login(emu, user, PASSWORD + "x", driver)


def test_privileges_are_postgresqls_own(
    emu: Emulator, admin: Any, names: Callable[[str], str]
) -> None:
    alice, bob = names("alice"), names("bob")
    for user in (alice, bob):
        admin.execute(f"CREATE USER {user} PASSWORD '{PASSWORD}'")
    table = f"{alice}_t"
    with login(emu, alice, PASSWORD) as a, login(emu, bob, PASSWORD) as b:
        a.execute(f"CREATE TABLE {table} (x int)")
        a.execute(f"INSERT INTO {table} VALUES (1)")
        assert b.execute(f"SELECT has_table_privilege('{table}', 'SELECT')").fetchone() == (False,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            b.execute(f"SELECT * FROM {table}")
        a.execute(f"GRANT SELECT ON {table} TO {bob}")
        assert b.execute(f"SELECT x FROM {table}").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute(f"INSERT INTO {table} VALUES (2)")
        a.execute(f"REVOKE SELECT ON {table} FROM {bob}")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute(f"SELECT * FROM {table}")
        # An ordinary user creates no users (DG:r_CREATE_USER: superusers do).
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="superuser"):
            b.execute(f"CREATE USER {names('c')} PASSWORD '{PASSWORD}'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            b.execute(f"ALTER USER {alice} PASSWORD 'Other123'")
    # The admin, a Redshift superuser, reads and drops what an ordinary user owns.
    assert admin.execute(f"SELECT x FROM {table}").fetchall() == [(1,)]
    admin.execute(f"DROP TABLE {table}")


def test_groups_carry_privileges(emu: Emulator, admin: Any, names: Callable[[str], str]) -> None:
    # DG:r_CREATE_GROUP, DG:r_ALTER_GROUP, DG:r_GRANT (TO GROUP).
    user, group = names("u"), names("g")
    admin.execute(f"CREATE USER {user} PASSWORD '{PASSWORD}'")
    admin.execute(f"CREATE GROUP {group}")
    table = f"{group}_t"
    admin.execute(f"CREATE TABLE {table} (x int)")
    try:
        admin.execute(f"GRANT SELECT ON {table} TO GROUP {group}")
        # DG:r_SVV_RELATION_PRIVILEGES: a group's privilege is listed as a group's.
        assert admin.execute(
            "SELECT identity_type, privilege_type FROM svv_relation_privileges "
            "WHERE relation_name = %s AND identity_name = %s",
            (table, group),
        ).fetchall() == [("group", "SELECT")]
        with login(emu, user, PASSWORD) as conn:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")
            admin.execute(f"ALTER GROUP {group} ADD USER {user}")
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
            admin.execute(f"ALTER GROUP {group} DROP USER {user}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT * FROM {table}")
        # A group has no login.
        with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
            login(emu, group)
        # Redshift refuses to drop a group that holds privileges (DG:r_DROP_GROUP).
        with pytest.raises(psycopg.errors.DependentObjectsStillExist, match="can't be dropped"):
            admin.execute(f"DROP GROUP {group}")
    finally:
        admin.execute(f"DROP TABLE {table}")
    admin.execute(f"DROP GROUP {group}")


def test_createuser_makes_a_superuser_who_is_no_postgresql_superuser(
    emu: Emulator, admin: Any, names: Callable[[str], str], pg_url: str
) -> None:
    boss, other = names("boss"), names("other")
    admin.execute(f"CREATE USER {boss} PASSWORD '{PASSWORD}' CREATEUSER")
    with login(emu, boss, PASSWORD) as conn:
        conn.execute(f"CREATE USER {other} PASSWORD '{PASSWORD}'")
        conn.execute(f"ALTER USER {other} CONNECTION LIMIT 3")
        conn.execute(f"DROP USER {other}")
    with psycopg.connect(pg_url) as up:
        assert up.execute(
            "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = %s", (boss,)
        ).fetchone() == (False, False)
    admin.execute(f"ALTER USER {boss} NOCREATEUSER")
    with (
        login(emu, boss, PASSWORD) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(f"CREATE USER {names('x')} PASSWORD '{PASSWORD}'")


def test_users_change_their_own_password(
    emu: Emulator, admin: Any, names: Callable[[str], str]
) -> None:
    # DG:r_ALTER_USER: users may change their own password; only a superuser disables one.
    user = names("u")
    admin.execute(f"CREATE USER {user} PASSWORD '{PASSWORD}'")
    with login(emu, user, PASSWORD) as conn:
        conn.execute(f"ALTER USER {user} PASSWORD 'Newpass34'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"ALTER USER {user} PASSWORD DISABLE")
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="uppercase"):
            conn.execute(f"ALTER USER {user} PASSWORD 'newpass34'")
    login(emu, user, "Newpass34").close()
    with pytest.raises(psycopg.OperationalError):
        login(emu, user, PASSWORD)


def test_user_statements_are_transactional_and_checked(
    emu: Emulator, admin: Any, names: Callable[[str], str]
) -> None:
    user, owner = names("u"), names("owner")
    admin.execute("BEGIN")
    admin.execute(f"CREATE USER {user} PASSWORD '{PASSWORD}'")
    admin.execute("ROLLBACK")
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        login(emu, user)
    admin.execute(f"DROP USER IF EXISTS {user}")
    with pytest.raises(psycopg.errors.UndefinedObject):
        admin.execute(f"DROP USER {user}")
    admin.execute(f"CREATE USER {owner} PASSWORD '{PASSWORD}'")
    with pytest.raises(psycopg.errors.DuplicateObject, match="already exists"):
        admin.execute(f"CREATE USER {owner} PASSWORD '{PASSWORD}'")
    with login(emu, owner, PASSWORD) as conn:
        conn.execute(f"CREATE TABLE {owner}_t (x int)")
    # Redshift: a user who owns an object can't be dropped (DG:r_DROP_USER).
    with pytest.raises(psycopg.errors.DependentObjectsStillExist, match="can't be dropped"):
        admin.execute(f"DROP USER {owner}")
    admin.execute(f"DROP TABLE {owner}_t")
    admin.execute(f"DROP USER {owner}")
    # PostgreSQL's own roles are not Redshift users.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        admin.execute("ALTER USER postgres PASSWORD 'Ezpass12'")


def test_expired_and_disabled_passwords(
    emu: Emulator, admin: Any, names: Callable[[str], str]
) -> None:
    old, disabled = names("old"), names("off")
    admin.execute(f"CREATE USER {old} PASSWORD '{PASSWORD}' VALID UNTIL '2001-01-01'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        login(emu, old, PASSWORD)
    admin.execute(f"CREATE USER {disabled} PASSWORD DISABLE")
    # Without a password: only through IAM on Redshift. On a passwordless emulator
    # (loopback, no admin password) such a user logs in without one.
    with login(emu, disabled) as conn:
        assert one(conn, "SELECT current_user") == disabled
