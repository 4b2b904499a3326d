"""Models for the schema tests, in their own app registry (never installed, never migrated)."""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.apps.registry import Apps
from django.db import models
from django.db.models.functions import Lower, Now

from redshift_async_backend.indexes import DistKey, SortKey

registry = Apps()

# CheckConstraint(check=...) became condition= in Django 5.1.
CHECK_KWARG = "condition" if django.VERSION >= (5, 1) else "check"


def meta(**options: Any) -> type:
    return type("Meta", (), {"apps": registry, "app_label": "rsschema", **options})


class Customer(models.Model):
    name = models.CharField(max_length=40, unique=True, db_comment="display name")
    region = models.CharField(max_length=10, default="eu")

    Meta = meta(db_table="rs_customer", db_table_comment="dimension: customers")


class Sale(models.Model):
    customer = models.ForeignKey(Customer, models.CASCADE)
    created_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    note = models.CharField(max_length=20, null=True, db_index=True)
    kind = models.IntegerField(default=1)

    Meta = meta(
        db_table="rs_sale",
        indexes=[
            DistKey(fields=["customer"]),
            SortKey(fields=["created_at", "id"]),
            models.Index(fields=["kind"], name="rs_sale_kind_idx"),
        ],
        constraints=[
            models.UniqueConstraint(fields=["customer", "created_at"], name="rs_sale_once"),
            models.UniqueConstraint(
                fields=["note"], condition=models.Q(kind=1), name="rs_sale_note_cond"
            ),
            models.CheckConstraint(
                **{CHECK_KWARG: models.Q(kind__gte=0)}, name="rs_sale_kind_check"
            ),
        ],
    )


class Event(models.Model):
    at = models.DateTimeField()
    kind = models.CharField(max_length=8)

    Meta = meta(
        db_table="rs_event",
        indexes=[SortKey(fields=["kind", "at"], interleaved=True)],
    )


class Legacy(models.Model):
    """The prior art's form: the sort key in Meta.ordering."""

    created = models.DateField()
    code = models.CharField(max_length=5)

    Meta = meta(db_table="rs_legacy", ordering=[SortKey("created"), SortKey("code")])


# Redshift takes constants and expressions as a column DEFAULT (DG:r_CREATE_TABLE_NEW);
# a Django model asks for one with Field.db_default, which Django 5.0 added. On Django 4.2
# defaults are Python-side only, so there is no database default to test.
needs_db_default = pytest.mark.skipif(
    django.VERSION < (5, 0),
    reason="column DEFAULT (Redshift DG:r_CREATE_TABLE_NEW) needs Field.db_default, Django 5.0+",
)

if django.VERSION >= (5, 0):

    class Defaults(models.Model):
        """db_default (Django 5.0+): constants become column DEFAULTs."""

        status = models.CharField(max_length=10, db_default="new")
        score = models.IntegerField(db_default=7)

        Meta = meta(db_table="rs_defaults")

    class ExpressionDefaults(models.Model):
        """db_default expressions: Redshift's DEFAULT takes any variable-free expression
        without subqueries or user-defined functions (DG:r_CREATE_TABLE_NEW)."""

        stamped = models.DateTimeField(db_default=Now())
        code = models.CharField(max_length=10, db_default=Lower(models.Value("NEW")))
        size = models.IntegerField(db_default=models.Value(2) * 3)

        Meta = meta(db_table="rs_expression_defaults")
