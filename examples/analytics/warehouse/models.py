"""A small star schema: two dimension tables and one fact table."""

import uuid

from django.db import models

from redshift_async_backend.indexes import DistKey, SortKey


class Customer(models.Model):
    """Dimension: who bought."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    name = models.CharField(max_length=60)
    region = models.CharField(max_length=12)
    signed_up = models.DateField()

    class Meta:
        indexes = [SortKey(fields=["region"])]


class Product(models.Model):
    """Dimension: what was bought."""

    sku = models.CharField(max_length=16, unique=True)
    category = models.CharField(max_length=20)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)


class Sale(models.Model):
    """Fact: one line of an order. Distributed by customer, sorted by time."""

    customer = models.ForeignKey(Customer, models.CASCADE)
    product = models.ForeignKey(Product, models.CASCADE)
    sold_at = models.DateTimeField()
    quantity = models.IntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    details = models.JSONField(default=dict)

    class Meta:
        indexes = [
            DistKey(fields=["customer"]),
            SortKey(fields=["sold_at", "id"]),
        ]
