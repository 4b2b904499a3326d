from django.db import models


class Thing(models.Model):
    name = models.CharField(max_length=50)
    made_by = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
