"""Redshift system checks: ids, what triggers them, and that clean models pass."""

from __future__ import annotations

import pytest
from django.db import NotSupportedError, connection, models

from redshift_async_backend import checks
from redshift_async_backend.indexes import DistKey, SortKey

from . import schema_models as sm
from .schema_models import meta

pytestmark = pytest.mark.unit


def ids(messages: list) -> list[str]:
    return sorted(m.id for m in messages)


def test_model_checks_flag_what_redshift_ignores() -> None:
    found = ids(checks.check_model(sm.Sale))
    # The plain Index, the conditional UniqueConstraint, the CheckConstraint.
    assert found == [
        "redshift_async_backend.W001",
        "redshift_async_backend.W002",
        "redshift_async_backend.W003",
    ]
    for message in checks.check_model(sm.Sale):
        assert message.hint


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


def test_database_hook_runs_for_redshift_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks.apps, "get_models", lambda: [sm.Sale, sm.Customer])
    found = ids(connection.validation.check())
    assert found.count("redshift_async_backend.W001") == 1
    assert "redshift_async_backend.W003" in found


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
