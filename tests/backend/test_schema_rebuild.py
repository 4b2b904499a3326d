"""A table rebuild keeps what the table had (#16.2, #20.5), through the emulator.

A rebuild is a new table (DG:performing-a-deep-copy), so every test here sets something up
on the old one with Redshift's own statements (GRANT to a real user and group, ALTER ...
OWNER, ALTER DISTSTYLE, ALTER COLUMN ENCODE, COMMENT), rebuilds it with an AlterField, and
reads the catalog afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from django.apps.registry import Apps
from django.db import DataError, NotSupportedError, connection, models

pytestmark = pytest.mark.integration

TABLE = "rs_rebuilt"
PASSWORD = "Ezpass12"


def make(v: models.Field, **meta: Any) -> Any:
    attrs = {"apps": Apps(), "app_label": "rsrebuild", "db_table": TABLE, **meta}
    body = {
        "__module__": __name__,
        "code": models.CharField(max_length=10, unique=True),
        "k": models.IntegerField(default=0, db_comment="the k"),
        "v": v,
        "Meta": type("Meta", (), attrs),
    }
    return type("Rebuilt", (models.Model,), body)


def replacement(model: Any, field: models.Field) -> models.Field:
    field.set_attributes_from_name("v")
    field.model = model
    return field


def sql(statement: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def drop() -> None:
    sql(f'DROP VIEW IF EXISTS "{TABLE}_view"')
    sql(f'DROP TABLE IF EXISTS "{TABLE}" CASCADE')
    sql(f'DROP TABLE IF EXISTS "{TABLE}__rebuild" CASCADE')


@pytest.fixture
def clean(transactional_db: Any) -> Iterator[None]:
    drop()
    yield
    drop()


@pytest.fixture
def names(clean: None) -> Iterator[Callable[[str], str]]:
    """Unique user and group names (roles are shared by every database); dropped after."""
    made: list[tuple[str, str]] = []

    def name(kind: str) -> str:
        made.append((kind, f"t_{kind}_{uuid.uuid4().hex[:8]}"))
        return made[-1][1]

    yield name
    drop()
    for kind, role in reversed(made):
        sql(f"DROP {'GROUP' if kind == 'g' else 'USER'} {role}")


def create(model: Any, values: list[Any]) -> None:
    with connection.schema_editor() as editor:
        editor.create_model(model)
    for k, value in enumerate(values):
        sql(
            f'INSERT INTO "{TABLE}" ("code", "k", "v") VALUES (%s, %s, %s)',
            [f"c{k}", k, value],
        )


def alter(model: Any, new: models.Field, atomic: bool = True) -> None:
    with connection.schema_editor(atomic=atomic) as editor:
        editor.alter_field(model, model._meta.get_field("v"), new)


def privileges() -> list[tuple[Any, ...]]:
    return sql(
        "SELECT identity_name, identity_type, privilege_type FROM svv_relation_privileges "
        "WHERE relation_name = %s ORDER BY 1, 3",
        [TABLE],
    )


def test_rebuild_keeps_privileges_owner_comments_distribution_and_encodings(
    names: Callable[[str], str], emulator: Any
) -> None:
    reader, owner, group = names("u"), names("o"), names("g")
    sql(f"CREATE USER {reader} PASSWORD '{PASSWORD}'")
    sql(f"CREATE USER {owner} PASSWORD '{PASSWORD}'")
    sql(f"CREATE GROUP {group}")
    model = make(models.IntegerField(), db_table_comment="rebuilt table")
    create(model, [3, 1])
    # Set outside the model, with Redshift's statements (DG:r_GRANT, DG:r_ALTER_TABLE).
    sql(f'GRANT SELECT ON "{TABLE}" TO {reader}')
    sql(f'GRANT SELECT, INSERT ON "{TABLE}" TO GROUP {group}')
    sql(f'ALTER TABLE "{TABLE}" ALTER DISTSTYLE ALL')
    sql(f'ALTER TABLE "{TABLE}" ALTER COLUMN "k" ENCODE zstd')
    sql(f'ALTER TABLE "{TABLE}" OWNER TO {owner}')
    before = privileges()
    assert (group, "group", "INSERT") in before and (reader, "user", "SELECT") in before

    alter(model, replacement(model, models.BigIntegerField()))

    assert privileges() == before
    assert sql(f"SELECT has_table_privilege('{reader}', '{TABLE}', 'select')") == [(True,)]
    assert sql(f"SELECT has_table_privilege('{reader}', '{TABLE}', 'insert')") == [(False,)]
    assert sql(f"SELECT tableowner FROM pg_tables WHERE tablename = '{TABLE}'") == [(owner,)]
    # The reader logs in and reads the rebuilt table.
    with psycopg.connect(
        host=emulator.host, port=emulator.port, dbname=connection.settings_dict["NAME"],
        user=reader, password=PASSWORD, autocommit=True, connect_timeout=10,
    ) as conn:  # fmt: skip
        assert conn.execute(f'SELECT "v" FROM "{TABLE}" ORDER BY 1').fetchall() == [(1,), (3,)]
    info = dict(sql('SELECT "column", encoding FROM pg_table_def WHERE tablename = %s', [TABLE]))
    assert info["k"].strip() == "zstd"
    assert sql(f"SELECT diststyle FROM svv_table_info WHERE \"table\" = '{TABLE}'") == [("ALL",)]
    with connection.cursor() as cursor:
        tables = {t.name: t for t in connection.introspection.get_table_list(cursor)}
        columns = {c.name: c for c in connection.introspection.get_table_description(cursor, TABLE)}
    assert tables[TABLE].comment == "rebuilt table"
    assert columns["k"].comment == "the k"
    assert sql(f'SELECT "v" FROM "{TABLE}" ORDER BY "k"') == [(3,), (1,)]


def test_rebuilt_constraints_have_the_names_django_gave(clean: None) -> None:
    model = make(models.IntegerField())
    create(model, [1, 2])
    constraints = (
        "SELECT c.conname, c.contype FROM pg_constraint c JOIN pg_class t "
        "ON t.oid = c.conrelid WHERE t.relname = %s ORDER BY 1"
    )
    before = sql(constraints, [TABLE])
    assert (f"{TABLE}_pkey", "p") in before and (f"{TABLE}_code_key", "u") in before
    alter(model, replacement(model, models.BigIntegerField()))
    assert sql(constraints, [TABLE]) == before
    # The identity continues above the copied ids.
    sql(f'INSERT INTO "{TABLE}" ("code", "k", "v") VALUES (%s, %s, %s)', ["c9", 9, 9])
    assert sql(f'SELECT MAX("id") FROM "{TABLE}"') == [(3,)]


def test_a_rebuilt_identity_starts_above_the_lock_modes_mark(clean: None) -> None:
    # "lock" mode handed out pks up to its mark, whose rows may be deleted since: the
    # rebuilt IDENTITY must not give them out again (high_water.py).
    from redshift_async_backend import high_water

    model = make(models.IntegerField())
    create(model, [1, 2])
    sql(high_water.CREATE_SQL)
    mark = f'INSERT INTO "{high_water.TABLE}" (table_name, high_water) VALUES (%s, 40)'
    sql(mark, [TABLE])
    try:
        alter(model, replacement(model, models.BigIntegerField()))
        sql(f'INSERT INTO "{TABLE}" ("code", "k", "v") VALUES (%s, %s, %s)', ["c9", 9, 9])
        assert sql(f'SELECT MAX("id") FROM "{TABLE}"') == [(41,)]
    finally:
        sql(f'DELETE FROM "{high_water.TABLE}" WHERE table_name = %s', [TABLE])


@pytest.mark.parametrize("atomic", [True, False], ids=["in_migration", "own_transaction"])
def test_a_dependent_view_stops_the_rebuild_before_any_change(clean: None, atomic: bool) -> None:
    model = make(models.IntegerField())
    create(model, [5])
    sql(f'CREATE VIEW "{TABLE}_view" AS SELECT "v" FROM "{TABLE}"')
    with pytest.raises(NotSupportedError, match=f"public.{TABLE}_view"):
        alter(model, replacement(model, models.BigIntegerField()), atomic=atomic)
    assert not connection.in_atomic_block
    assert sql(f'SELECT "v" FROM "{TABLE}_view"') == [(5,)]
    types = dict(sql('SELECT "column", type FROM pg_table_def WHERE tablename = %s', [TABLE]))
    assert types["v"] == "integer"


def test_a_view_stops_a_rebuild_before_a_constraint_is_dropped(clean: None) -> None:
    # atomic = False: dropping the column's UNIQUE would commit on its own.
    model = make(models.IntegerField(unique=True))
    create(model, [5])
    sql(f'CREATE VIEW "{TABLE}_view" AS SELECT "code" FROM "{TABLE}"')
    with pytest.raises(NotSupportedError, match=f"public.{TABLE}_view"):
        alter(model, replacement(model, models.BigIntegerField(unique=True)), atomic=False)
    unique = sql(
        "SELECT c.conname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
        f"WHERE t.relname = '{TABLE}' AND c.contype = 'u' ORDER BY 1"
    )
    assert unique == [(f"{TABLE}_code_key",), (f"{TABLE}_v_key",)]


@pytest.mark.parametrize("atomic", [True, False], ids=["in_migration", "own_transaction"])
def test_a_failed_cast_names_the_table_column_and_first_value(clean: None, atomic: bool) -> None:
    model = make(models.CharField(max_length=10))
    create(model, ["7", "y2", "1", "x5"])
    with pytest.raises(DataError) as raised:
        alter(model, replacement(model, models.IntegerField()), atomic=atomic)
    message = str(raised.value)
    assert f"column 'v' of table '{TABLE}'" in message
    # The first in the column's order: '1', '7', 'x5', 'y2'.
    assert "the first value that cannot be converted is 'x5'" in message
    assert not connection.in_atomic_block
    assert sql(f'SELECT "v" FROM "{TABLE}" ORDER BY "k"') == [("7",), ("y2",), ("1",), ("x5",)]


def test_a_too_long_value_names_the_first_one(clean: None) -> None:
    model = make(models.CharField(max_length=10, null=True), unique_together=[("k", "v")])
    create(model, ["abc", "abcdefgh", None, "abcdef"])
    # In a multi-column UNIQUE: a table rebuild (DG:r_ALTER_TABLE).
    with pytest.raises(DataError, match="the first value that cannot be converted is 'abcdef'"):
        alter(model, replacement(model, models.CharField(max_length=4, null=True)))
    assert sql(f'SELECT COUNT(*) FROM "{TABLE}"') == [(4,)]


def test_not_null_column_without_default_goes_into_an_empty_table(clean: None) -> None:
    model = make(models.IntegerField())
    create(model, [])
    added = models.IntegerField()
    added.set_attributes_from_name("w")
    added.model = model
    with connection.schema_editor() as editor:
        editor.add_field(model, added)
    (row,) = sql(
        "SELECT a.attnotnull, d.adbin IS NULL FROM pg_attribute a JOIN pg_class c "
        "ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = c.oid "
        f"AND d.adnum = a.attnum WHERE c.relname = '{TABLE}' AND a.attname = 'w'"
    )
    assert row == (True, True)  # NOT NULL, and no DEFAULT left behind


def test_not_null_column_without_default_is_refused_on_a_table_with_rows(clean: None) -> None:
    model = make(models.IntegerField())
    create(model, [1])
    added = models.IntegerField()
    added.set_attributes_from_name("w")
    added.model = model
    with (
        pytest.raises(NotSupportedError, match=f"'{TABLE}' has rows.*needs a non-null DEFAULT"),
        connection.schema_editor() as editor,
    ):
        editor.add_field(model, added)
    assert sql(f'SELECT "v" FROM "{TABLE}"') == [(1,)]


def test_a_widening_of_a_text255_column_is_no_alter_column_type(clean: None) -> None:
    # Redshift: ALTER COLUMN TYPE refuses BYTEDICT, RUNLENGTH, TEXT255 and TEXT32K columns
    # (DG:r_ALTER_TABLE): outside a transaction the column is rebuilt instead.
    model = make(models.CharField(max_length=10))
    create(model, ["abc"])
    sql(f'ALTER TABLE "{TABLE}" ALTER COLUMN "v" ENCODE text255')
    executed: list[str] = []

    def record(execute: Any, statement: str, *args: Any) -> Any:
        executed.append(statement)
        return execute(statement, *args)

    with connection.execute_wrapper(record):
        alter(model, replacement(model, models.CharField(max_length=40)), atomic=False)
    assert not any("ALTER COLUMN" in s for s in executed)
    assert sql(f'SELECT "v" FROM "{TABLE}"') == [("abc",)]
    types = dict(sql('SELECT "column", type FROM pg_table_def WHERE tablename = %s', [TABLE]))
    assert types["v"] == "character varying(40)"
