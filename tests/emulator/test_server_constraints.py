"""Keys are informational, as on Redshift, and stay in the catalog (issue #14, item 1).

Redshift: uniqueness, primary key and foreign key constraints are not enforced when a
table is populated; NOT NULL is (DG:t_Defining_constraints). The constraints are still
declared: pg_constraint, information_schema and the backend's introspection see them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from redshift_async_backend.emulator import Emulator

from .clients import backend

pytestmark = pytest.mark.integration

_n = itertools.count()
Connect = Callable[..., psycopg.Connection[Any]]


@pytest.fixture
def t(connect: Connect) -> Iterator[str]:
    name = f"keys_{os.getpid()}_{next(_n)}"
    yield name
    conn = connect()
    for suffix in ("_c", "_c2", ""):
        conn.execute(f"DROP TABLE IF EXISTS {name}{suffix}")


def rows(conn: psycopg.Connection[Any], sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def test_duplicate_keys_and_orphans_are_accepted_not_null_is_enforced(
    connect: Connect, t: str
) -> None:
    conn = connect()
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, code varchar(5) UNIQUE, n int NOT NULL)")
    conn.execute(f"CREATE TABLE {t}_c (id int, p int REFERENCES {t} (id))")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a', 0), (1, 'a', 0)")
    conn.execute(f"INSERT INTO {t} SELECT id, code, n FROM {t}")  # and from a query
    conn.execute(f"UPDATE {t} SET id = 2")
    assert rows(conn, f"SELECT id, count(*) FROM {t} GROUP BY id") == [(2, 4)]
    conn.execute(f"INSERT INTO {t}_c VALUES (1, 99)")  # an orphan
    conn.execute(f"DELETE FROM {t}")  # and no check of the children
    assert rows(conn, f"SELECT p FROM {t}_c") == [(99,)]
    with pytest.raises(psycopg.errors.NotNullViolation):
        conn.execute(f"INSERT INTO {t} VALUES (3, 'c', NULL)")


def test_foreign_keys_added_later_and_to_unique_keys(connect: Connect, t: str) -> None:
    conn = connect()
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, code varchar(5) UNIQUE)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (1, 'a')")
    conn.execute(f"CREATE TABLE {t}_c (id int, code varchar(5))")
    conn.execute(f"INSERT INTO {t}_c VALUES (7, 'zz')")
    # Over duplicates in the referenced key and an orphan in the referencing one.
    conn.execute(f"ALTER TABLE {t}_c ADD FOREIGN KEY (id) REFERENCES {t} (id)")
    conn.execute(
        f"ALTER TABLE {t}_c ADD CONSTRAINT {t}_code FOREIGN KEY (code) REFERENCES {t} (code)"
    )
    conn.execute(f"INSERT INTO {t}_c VALUES (8, 'yy')")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a')")  # still informational afterwards
    assert rows(conn, f"SELECT count(*) FROM {t}") == [(3,)]


def test_add_primary_key_over_duplicates(connect: Connect, t: str) -> None:
    # Redshift checks no rows when a key is added either.
    conn = connect()
    conn.execute(f"CREATE TABLE {t} (id int NOT NULL, code varchar(5))")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (1, 'a'), (2, NULL)")
    conn.execute(f"ALTER TABLE {t} ADD PRIMARY KEY (id)")
    conn.execute(f"ALTER TABLE {t} ADD CONSTRAINT {t}_code UNIQUE (code)")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a')")
    assert rows(
        conn,
        "SELECT conname, contype FROM pg_constraint "
        f"WHERE conrelid = '{t}'::regclass AND contype IN ('p', 'u') ORDER BY 1",
    ) == [(f"{t}_code", "u"), (f"{t}_pkey", "p")]
    # A foreign key may reference the key added that way.
    conn.execute(f"CREATE TABLE {t}_c (p int REFERENCES {t} (id))")
    with pytest.raises(psycopg.errors.InvalidTableDefinition, match="multiple primary keys"):
        conn.execute(f"ALTER TABLE {t} ADD PRIMARY KEY (code)")


def test_constraints_stay_in_the_catalog(connect: Connect, t: str) -> None:
    conn = connect()
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, code varchar(5) UNIQUE)")
    conn.execute(f"CREATE TABLE {t}_c (id int PRIMARY KEY, p int REFERENCES {t} (id))")
    assert rows(
        conn,
        "SELECT table_name, constraint_type FROM information_schema.table_constraints "
        f"WHERE table_name IN ('{t}', '{t}_c') AND constraint_type <> 'CHECK' ORDER BY 1, 2",
    ) == [
        (t, "PRIMARY KEY"),
        (t, "UNIQUE"),
        (f"{t}_c", "FOREIGN KEY"),
        (f"{t}_c", "PRIMARY KEY"),
    ]
    assert rows(
        conn,
        "SELECT contype, confrelid::regclass::text FROM pg_constraint "
        f"WHERE conrelid = '{t}_c'::regclass AND contype IN ('p', 'f') ORDER BY 1",
    ) == [("f", t), ("p", "-")]


def test_backend_introspection_sees_them(emu: Emulator, connect: Connect, t: str) -> None:
    conn = connect()
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, code varchar(5) UNIQUE)")
    conn.execute(f"CREATE TABLE {t}_c (id int, p int REFERENCES {t} (id))")
    db = backend(emu, "constraints")
    try:
        with db.cursor() as cursor:
            parent = db.introspection.get_constraints(cursor, t)
            relations = db.introspection.get_relations(cursor, f"{t}_c")
    finally:
        db.close()
    assert {(c["columns"][0], c["primary_key"], c["unique"]) for c in parent.values()} >= {
        ("id", True, True),
        ("code", False, True),
    }
    assert relations == {"p": ("id", t)}


def test_rollback_and_renames(connect: Connect, t: str) -> None:
    conn = connect()
    conn.execute("BEGIN")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY)")
    conn.execute(f"INSERT INTO {t} VALUES (1), (1)")
    conn.execute("ROLLBACK")
    assert rows(conn, f"SELECT to_regclass('{t}')") == [(None,)]

    conn.execute(f"CREATE TABLE {t} (id int)")
    conn.execute("BEGIN")
    conn.execute(f"ALTER TABLE {t} ADD PRIMARY KEY (id)")
    conn.execute("ROLLBACK")
    assert rows(conn, f"SELECT count(*) FROM pg_constraint WHERE conrelid = '{t}'::regclass"
                      " AND contype = 'p'") == [(0,)]  # fmt: skip

    conn.execute(f"DROP TABLE {t}")
    conn.execute(f"CREATE TABLE {t} (id int PRIMARY KEY, code varchar(5) UNIQUE)")
    conn.execute(f"CREATE TABLE {t}_c (p int REFERENCES {t} (id))")
    conn.execute(f"ALTER TABLE {t} RENAME TO {t}_r")
    conn.execute(f"ALTER TABLE {t}_r RENAME COLUMN id TO ident")
    conn.execute(f"ALTER TABLE {t}_r RENAME TO {t}")
    conn.execute(f"INSERT INTO {t} VALUES (1, 'a'), (1, 'a')")
    conn.execute(f"INSERT INTO {t}_c VALUES (5)")
    assert rows(conn, f"SELECT count(*) FROM {t}") == [(2,)]
