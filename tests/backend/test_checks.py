"""Redshift system checks: ids, what triggers them, and that clean models pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import NotSupportedError, connection, models

from redshift_async_backend import checks
from redshift_async_backend.indexes import DistKey, SortKey

from . import schema_models as sm
from .schema_models import meta

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def ids(messages: list) -> list[str]:
    return sorted(m.id for m in messages)


def test_what_redshift_ignores_is_warned_once() -> None:
    """Each thing is reported by one check: Django's own where it has one (from
    DatabaseFeatures), ours only where it has none."""
    django_ids = ids(sm.Sale.check(databases=["default"]))
    ours = ids(checks.check_model(sm.Sale))
    # The CheckConstraint: Django's models.W027 (ours, W002, is gone); the conditional
    # UniqueConstraint: Django's models.W036.
    assert django_ids.count("models.W027") == 1
    assert django_ids.count("models.W036") == 1
    assert ours == []

    class Opclasses(models.Model):
        name = models.CharField(max_length=10)

        Meta = meta(
            db_table="rs_opclasses",
            constraints=[
                models.UniqueConstraint(
                    fields=["name"], name="rs_opc", opclasses=["varchar_pattern_ops"]
                )
            ],
        )

    found = checks.check_model(Opclasses)
    assert ids(found) == ["redshift_async_backend.W003"]
    assert found[0].hint
    assert not [m for m in Opclasses.check(databases=["default"]) if "opclass" in m.msg]


def test_indexes_are_not_warned_per_model() -> None:
    # Meta.indexes and db_index=True alike: nothing at migrate (the database checks).
    assert "redshift_async_backend.W001" not in ids(checks.check_model(sm.Sale))


def test_deploy_check_counts_indexes_once_per_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks.apps, "get_models", lambda: [sm.Sale, sm.Customer, sm.Event])
    found = checks.check_indexes()
    assert ids(found) == ["redshift_async_backend.W001"]
    # Sale: its plain Index and note's db_index=True; not the ForeignKey's default index,
    # nor the DistKey/SortKey.
    assert "2 indexes declared by the models of database 'default'" in found[0].msg
    assert "(rsschema: 2)" in found[0].msg
    assert "SortKey" in found[0].hint and "SILENCED_SYSTEM_CHECKS" in found[0].hint
    assert checks.check_indexes(databases=["other"]) == []
    monkeypatch.setattr(checks.apps, "get_models", lambda: [sm.Customer, sm.Event])
    assert checks.check_indexes() == []


def test_clean_models_pass() -> None:
    for model in (sm.Customer, sm.Event, sm.Legacy):
        assert checks.check_model(model) == []
        for field in model._meta.local_fields:
            assert connection.validation.check_field(field) == []


def test_mixed_case_names() -> None:
    class Shouty(models.Model):
        Value = models.IntegerField(db_column="Value")

        Meta = meta(db_table="ShoutyTable")

    assert ids(checks.check_model(Shouty)) == ["redshift_async_backend.W004"]
    messages = connection.validation.check_field(Shouty._meta.get_field("Value"))
    assert ids(messages) == ["redshift_async_backend.W005"]
    assert "'value'" in messages[0].hint


def test_charfield_lengths() -> None:
    class Long(models.Model):
        huge = models.CharField(max_length=70000)
        big = models.CharField(max_length=20000)

        Meta = meta(db_table="rs_long")

    huge, big = Long._meta.get_field("huge"), Long._meta.get_field("big")
    assert ids(checks.check_field(huge)) == ["redshift_async_backend.E001"]
    assert checks.check_field(big) == []
    assert ids(checks.check_field(big, bytes_per_char=4)) == ["redshift_async_backend.W006"]


def test_bad_table_keys() -> None:
    class TwoDist(models.Model):
        a = models.IntegerField()
        b = models.IntegerField()

        Meta = meta(
            db_table="rs_twodist",
            indexes=[DistKey(fields=["a"], name="d1"), DistKey(fields=["b"], name="d2")],
        )

    class BothForms(models.Model):
        a = models.IntegerField()

        Meta = meta(
            db_table="rs_both",
            indexes=[SortKey(fields=["a"], name="s1")],
            ordering=[SortKey("a")],
        )

    assert ids(checks.check_model(TwoDist)) == ["redshift_async_backend.E002"]
    assert ids(checks.check_model(BothForms)) == ["redshift_async_backend.E002"]


DEPLOY_SETTINGS = """
SECRET_KEY = "x"
INSTALLED_APPS = [
    "redshift_async_backend", "django.contrib.contenttypes", "django.contrib.sessions"
]
DATABASES = {"default": {"ENGINE": "redshift_async_backend", "NAME": "dev"}}
"""


def test_check_deploy_reports_indexes_once_and_migrate_does_not(tmp_path: Path) -> None:
    """End to end, as a project runs them (no server needed): django.contrib.sessions
    declares db_index=True on expire_date."""
    (tmp_path / "deploy_settings.py").write_text(DEPLOY_SETTINGS)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "deploy_settings",
    }

    def check(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "django", "check", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout + done.stderr

    deploy = check("--deploy")
    assert deploy.count("(redshift_async_backend.W001)") == 1, deploy
    assert "1 index declared by the models of database 'default'" in deploy
    assert "(sessions: 1)" in deploy and "HINT:" in deploy
    # What migrate and test run: the database checks.
    assert "redshift_async_backend.W001" not in check("--database", "default")


def test_database_hook_runs_for_redshift_models(monkeypatch: pytest.MonkeyPatch) -> None:
    class Loud(models.Model):
        Meta = meta(db_table="LoudTable")

    monkeypatch.setattr(checks.apps, "get_models", lambda: [sm.Sale, sm.Customer, Loud])
    found = ids(connection.validation.check())
    # W007: the test settings leave varchar_bytes_per_char unset.
    assert found == ["redshift_async_backend.W004", "redshift_async_backend.W007"]
    # Nothing about indexes at migrate (see the deploy check), nor what Django warns about.


def test_collations() -> None:
    class Named(models.Model):
        ci = models.CharField(max_length=5, db_collation="case_insensitive")
        cs = models.TextField(db_collation="CS")
        german = models.CharField(max_length=5, db_collation="de-x-icu")

        Meta = meta(db_table="rs_named")

    fields = {f.name: f for f in Named._meta.local_fields}
    assert checks.check_field(fields["ci"]) == []
    assert checks.check_field(fields["cs"]) == []
    assert ids(checks.check_field(fields["german"])) == ["redshift_async_backend.E004"]
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        assert editor.column_sql(Named, fields["ci"])[0] == (
            "varchar(5) COLLATE CASE_INSENSITIVE NOT NULL"
        )
        assert editor.column_sql(Named, fields["cs"])[0] == (
            "varchar(max) COLLATE CASE_SENSITIVE NOT NULL"
        )
        with pytest.raises(NotSupportedError, match="no collation 'de-x-icu'"):
            editor.column_sql(Named, fields["german"])


def test_unchosen_varchar_bytes_per_char_is_warned_once_per_database(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checks.apps, "get_models", lambda: [sm.Sale, sm.Customer, sm.Event])
    found = checks.check_varchar_bytes("default", None)
    assert ids(found) == ["redshift_async_backend.W007"]
    # Customer.name and .region, Sale.note, Event.kind.
    assert "Database 'default': 4 CharFields become VARCHAR(max_length)" in found[0].msg
    assert "varchar_bytes_per_char" in found[0].hint
    # A choice, even 1, silences it; so does a database serving no CharField.
    assert checks.check_varchar_bytes("default", 1) == []
    monkeypatch.setattr(checks.apps, "get_models", lambda: [])
    assert checks.check_varchar_bytes("default", None) == []


def test_a_choice_or_default_over_its_bytes_is_warned() -> None:
    class Birds(models.Model):
        # "ñandú": 5 characters, 7 bytes.
        kind = models.CharField(max_length=5, choices=[("ñandú", "Rhea"), ("emu", "Emu")])
        name = models.CharField(max_length=4, default="Zoë")  # 4 bytes: fits
        wide = models.CharField(max_length=3, default="ñandú")  # Django's max_length's case

        Meta = meta(db_table="rs_birds")

    fields = {f.name: f for f in Birds._meta.local_fields}
    found = checks.check_field(fields["kind"])
    assert ids(found) == ["redshift_async_backend.W008"]
    assert "5 characters but 7 bytes" in found[0].msg and "VARCHAR(5)" in found[0].msg
    assert checks.check_field(fields["kind"], bytes_per_char=2) == []
    assert checks.check_field(fields["name"]) == []
    assert checks.check_field(fields["wide"]) == []
