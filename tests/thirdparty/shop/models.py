from django.db import models
from simple_history.models import HistoricalRecords
from taggit.managers import TaggableManager


class Supplier(models.Model):
    name = models.CharField(max_length=100)
    # A foreign-key cycle with Product: makemigrations writes CreateModel without it, then
    # AddField (issue #20 item 2).
    main_product = models.ForeignKey("Product", models.SET_NULL, null=True, related_name="+")


class Product(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    supplier = models.ForeignKey(Supplier, models.CASCADE, related_name="products")
    tags = TaggableManager(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        permissions = [("review_product", "Can review a product")]

    def __str__(self) -> str:
        return self.name
