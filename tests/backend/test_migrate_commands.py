"""``makemigrations`` and ``migrate`` as a user runs them, in a project of their own.

Each test writes a small project (settings pointing at the emulator's test database, one
app), runs the real commands in a subprocess, edits the models as a user would and runs
them again, then reads the catalog. Covers #16.1 (a VARCHAR widening runs in place, with
no hand edits), #20.1 (RenameIndex(old_fields=...)) and #20.2 (a NOT NULL ForeignKey added
to a table of the same migration).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
APP = "widen"


def sql(statement: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall() if cursor.description else []


def _drop_app_tables() -> None:
    for (table,) in sql(f"SELECT tablename FROM pg_tables WHERE tablename LIKE '{APP}_%'"):
        sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    sql(f"DELETE FROM django_migrations WHERE app = '{APP}'")


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.migrations = root / APP / "migrations"
        self.migrations.mkdir(parents=True)
        (root / APP / "__init__.py").write_text("")
        (self.migrations / "__init__.py").write_text("")
        s = connection.settings_dict
        database = {
            "ENGINE": "redshift_async_backend",
            **{key: s[key] for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")},
            "OPTIONS": dict(s.get("OPTIONS") or {}),
        }
        (root / "project_settings.py").write_text(
            textwrap.dedent(f"""\
                SECRET_KEY = "test"
                USE_TZ = True
                DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
                INSTALLED_APPS = ["redshift_async_backend", "{APP}"]
                DATABASES = {{"default": {database!r}}}
                """)
        )

    def models(self, body: str) -> None:
        (self.root / APP / "models.py").write_text(
            "from django.db import models\n\n" + textwrap.dedent(body)
        )
        for cached in (self.root / APP).rglob("__pycache__"):
            for file in cached.iterdir():
                file.unlink()

    def migration(self, name: str, text: str) -> None:
        (self.migrations / f"{name}.py").write_text(textwrap.dedent(text))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "project_settings",
            "PYTHONPATH": os.pathsep.join([str(self.root), str(ROOT)]),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        done = subprocess.run(
            [sys.executable, "-m", "django", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def written(self) -> dict[str, str]:
        return {p.stem: p.read_text() for p in sorted(self.migrations.glob("0*.py"))}


@pytest.fixture
def project(transactional_db: Any, tmp_path: Path) -> Iterator[Project]:
    _drop_app_tables()
    yield Project(tmp_path)
    _drop_app_tables()


ITEM = """\
    class Item(models.Model):
        name = models.CharField(max_length={length})
        code = models.CharField(max_length=10, unique=True)
    {extra}"""


def item(length: int, extra: str = "") -> str:
    return ITEM.format(length=length, extra=extra)


def column() -> tuple[Any, ...]:
    """(table oid, the column's attnum, its type): in place keeps the first two."""
    (row,) = sql(
        "SELECT c.oid, a.attnum, format_type(a.atttypid, a.atttypmod) FROM pg_class c "
        "JOIN pg_attribute a ON a.attrelid = c.oid "
        f"WHERE c.relname = '{APP}_item' AND a.attname = 'name'"
    )
    return row


def names() -> list[str]:
    # A result type that the widening does not change: redshift_connector prepares each
    # statement once per connection, and the subprocess changes the column under it.
    query = f'SELECT CAST("name" AS varchar(300)) FROM "{APP}_item" ORDER BY "code"'
    return [r[0] for r in sql(query)]


@pytest.fixture
def items(project: Project) -> Project:
    project.models(item(100))
    project.run("makemigrations", APP)
    project.run("migrate", APP)
    sql(f"INSERT INTO \"{APP}_item\" (\"name\", \"code\") VALUES ('ann', 'a'), ('bob', 'b')")
    return project


def test_varchar_widening_runs_in_place_with_no_hand_edits(items: Project) -> None:
    before = column()
    items.models(item(200))
    items.run("makemigrations", APP)
    widening = items.written()["0002_alter_item_name"]
    assert "atomic = False" in widening
    printed = items.run("sqlmigrate", APP, "0002").stdout
    assert f'ALTER TABLE "{APP}_item" ALTER COLUMN "name" TYPE varchar(200)' in printed
    assert "__rebuild" not in printed and "__tmp" not in printed
    items.run("migrate", APP)
    # The same table and column (no copy), wider.
    assert column() == (*before[:2], "character varying(200)")
    assert names() == ["ann", "bob"]
    sql(f'INSERT INTO "{APP}_item" ("name", "code") VALUES (\'{"x" * 200}\', \'c\')')


def test_a_widening_beside_other_changes_gets_a_migration_of_its_own(items: Project) -> None:
    before = column()
    items.models(item(200, extra="    size = models.IntegerField(null=True)\n"))
    items.run("makemigrations", APP)
    written = items.written()
    assert sorted(written) == ["0001_initial", "0002_item_size", "0003_alter_item_name"]
    assert "atomic = False" not in written["0002_item_size"]
    assert "atomic = False" in written["0003_alter_item_name"]
    assert "0002_item_size" in written["0003_alter_item_name"]  # its dependency
    items.run("migrate", APP)
    assert column() == (*before[:2], "character varying(200)")
    assert items.run("makemigrations", APP, "--check", "--dry-run", check=False).returncode == 0


@pytest.mark.chaos
def test_a_failed_widening_leaves_the_data_and_can_be_rerun(items: Project, emulator: Any) -> None:
    items.models(item(200))
    items.run("makemigrations", APP)
    emulator.fail_next_matching("ALTER COLUMN")
    try:
        failed = items.run("migrate", APP, check=False)
    finally:
        emulator.clear_faults()
    assert failed.returncode != 0 and "injected failure" in failed.stderr
    assert names() == ["ann", "bob"]
    assert column()[2] == "character varying(100)"
    assert sql(f"SELECT name FROM django_migrations WHERE app = '{APP}' ORDER BY 1") == [
        ("0001_initial",)
    ]
    items.run("migrate", APP)
    assert column()[2] == "character varying(200)"
    assert names() == ["ann", "bob"]


def test_rename_index_of_index_together_applies_its_state(project: Project) -> None:
    # What django-taggit's 0005/0006 do: index_together, then Meta.indexes.
    project.models("""\
        class Tagged(models.Model):
            kind = models.IntegerField()
            ref = models.IntegerField()

            class Meta:
                indexes = [models.Index(fields=["kind", "ref"], name="tagged_kind_ref_idx")]
        """)
    project.migration(
        "0001_initial",
        """\
        from django.db import migrations, models

        class Migration(migrations.Migration):
            initial = True
            operations = [
                migrations.CreateModel(
                    name="Tagged",
                    fields=[
                        ("id", models.AutoField(
                            auto_created=True, primary_key=True, serialize=False,
                            verbose_name="ID",
                        )),
                        ("kind", models.IntegerField()),
                        ("ref", models.IntegerField()),
                    ],
                    options={"index_together": {("kind", "ref")}},
                ),
            ]
        """,
    )
    project.migration(
        "0002_rename",
        """\
        from django.db import migrations

        class Migration(migrations.Migration):
            dependencies = [("widen", "0001_initial")]
            operations = [
                migrations.RenameIndex(
                    model_name="tagged", new_name="tagged_kind_ref_idx",
                    old_fields=("kind", "ref"),
                ),
            ]
        """,
    )
    done = project.run("migrate", APP)
    assert "Applying widen.0002_rename... OK" in done.stdout
    # The state change applied: the models match the migrations.
    assert project.run("makemigrations", APP, "--check", "--dry-run", check=False).returncode == 0
    project.run("migrate", APP, "0001")  # and back


CYCLE = """\
    class Author(models.Model):
        name = models.CharField(max_length=20)
        favourite = models.ForeignKey("Book", models.CASCADE, related_name="fans")


    class Book(models.Model):
        title = models.CharField(max_length=20)
        author = models.ForeignKey(Author, models.CASCADE)
    """


def test_an_initial_migration_with_a_foreign_key_cycle_migrates(project: Project) -> None:
    project.models(CYCLE)
    project.run("makemigrations", APP)
    (initial,) = project.written().values()
    assert "migrations.AddField(" in initial  # makemigrations split the cycle
    project.run("migrate", APP)
    columns = sql(
        "SELECT a.attname, a.attnotnull FROM pg_attribute a JOIN pg_class c "
        f"ON c.oid = a.attrelid WHERE c.relname = '{APP}_author' AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum"
    )
    assert columns == [("id", True), ("name", True), ("favourite_id", True)]
    fks = sql(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid IN "
        f"(SELECT oid FROM pg_class WHERE relname LIKE '{APP}_%') ORDER BY 1"
    )
    assert len(fks) == 2 and not any("rebuild" in name for (name,) in fks)
