from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "examples.analytics.warehouse"
    label = "warehouse"
