import reversion
from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from reversion.admin import VersionAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import Product, Supplier

reversion.register(Supplier)


@admin.register(Product)
class ProductAdmin(SimpleHistoryAdmin, GuardedModelAdmin):
    list_display = ["name", "price"]
    search_fields = ["name"]


@admin.register(Supplier)
class SupplierAdmin(VersionAdmin):
    pass
