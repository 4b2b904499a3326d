"""Models covering every field type the backend maps (tests/backend/test_types.py)."""

from __future__ import annotations

import uuid

from django.db import models


class AllTypes(models.Model):
    char = models.CharField(max_length=20, null=True)
    text = models.TextField(null=True)
    slug = models.SlugField(null=True)
    email = models.EmailField(null=True)
    url = models.URLField(null=True)
    uuid = models.UUIDField(null=True)
    boolean = models.BooleanField(null=True)
    small = models.SmallIntegerField(null=True)
    integer = models.IntegerField(null=True)
    big = models.BigIntegerField(null=True)
    pos_small = models.PositiveSmallIntegerField(null=True)
    pos_int = models.PositiveIntegerField(null=True)
    pos_big = models.PositiveBigIntegerField(null=True)
    decimal = models.DecimalField(max_digits=38, decimal_places=10, null=True)
    floating = models.FloatField(null=True)
    date = models.DateField(null=True)
    datetime = models.DateTimeField(null=True)
    time = models.TimeField(null=True)
    duration = models.DurationField(null=True)
    ip = models.GenericIPAddressField(null=True)
    json = models.JSONField(null=True)
    binary = models.BinaryField(null=True)

    class Meta:
        app_label = "testapp"


class Item(models.Model):
    name = models.CharField(max_length=50)
    kind = models.CharField(max_length=10, default="a")
    amount = models.IntegerField(default=0)
    created = models.DateTimeField(null=True)
    data = models.JSONField(null=True)

    class Meta:
        app_label = "testapp"


class Tag(models.Model):
    item = models.ForeignKey(Item, models.CASCADE, related_name="tags")
    label = models.CharField(max_length=20)

    class Meta:
        app_label = "testapp"


class BigThing(models.Model):
    id = models.BigAutoField(primary_key=True)
    payload = models.CharField(max_length=40)

    class Meta:
        app_label = "testapp"


class SmallThing(models.Model):
    id = models.SmallAutoField(primary_key=True)
    payload = models.CharField(max_length=40)

    class Meta:
        app_label = "testapp"


class UUIDKeyed(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=20)

    class Meta:
        app_label = "testapp"


class OddPk(models.Model):
    """A pk column whose name needs quoting (the prior art wrote MAX(ID) unquoted)."""

    id = models.AutoField(primary_key=True, db_column="select")
    payload = models.CharField(max_length=40)

    class Meta:
        app_label = "testapp"
        db_table = "testapp_odd pk"


class LegacyCounter(models.Model):
    """A table whose pk is ``IDENTITY(1, 1)`` (made by hand or by the prior art): it takes
    no explicit pk values. Unmanaged: tests/backend/test_identity_pk.py creates it."""

    payload = models.CharField(max_length=40)

    class Meta:
        app_label = "testapp"
        managed = False
        db_table = "testapp_legacycounter"


class Grant(models.Model):
    """Unique sets of each kind, for bulk_create's ignore/update_conflicts (conflicts.py)."""

    code = models.CharField(max_length=20, unique=True, null=True)
    user = models.CharField(max_length=20)
    perm = models.CharField(max_length=20)
    level = models.IntegerField(default=0)

    class Meta:
        app_label = "testapp"
        constraints = [models.UniqueConstraint(fields=["user", "perm"], name="grant_user_perm")]
