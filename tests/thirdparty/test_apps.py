"""Each app's main path, as a project uses it, in Django TestCase classes."""

from __future__ import annotations

import datetime
import decimal

import pytest
import reversion
from celery import Celery, states
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.contrib.flatpages.models import FlatPage
from django.contrib.sites.models import Site
from django.db import connection
from django.test import TestCase
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler
from django_celery_results.backends.database import DatabaseBackend
from django_celery_results.models import TaskResult
from explorer.ee.db_connections.models import DatabaseConnection
from explorer.models import Query
from guardian.shortcuts import assign_perm, get_objects_for_user, get_perms
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from reversion.models import Version
from taggit.models import Tag

from tests.thirdparty.shop.models import Product, Supplier

pytestmark = pytest.mark.integration


class ShopData(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = User.objects.create_superuser("admin", "admin@example.com", "pw")
        cls.alice = User.objects.create_user("alice", password="pw")
        cls.supplier = Supplier.objects.create(name="ACME")
        cls.anvil = Product.objects.create(name="anvil", price="12.50", supplier=cls.supplier)
        cls.rocket = Product.objects.create(name="rocket", price="99.00", supplier=cls.supplier)
        cls.magnet = Product.objects.create(name="magnet", price="3.25", supplier=cls.supplier)


class ContribTests(ShopData):
    def test_admin_login_changelist_and_add(self):
        self.client.force_login(self.admin)
        page = self.client.get("/admin/shop/product/", {"q": "an"})
        self.assertContains(page, "anvil")
        self.assertNotContains(page, "magnet")
        response = self.client.post(
            "/admin/shop/supplier/add/", {"name": "Globex", "main_product": self.anvil.pk}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(Supplier.objects.get(name="Globex").main_product, self.anvil)

    def test_password_login_session_and_permissions(self):
        self.assertTrue(self.client.login(username="alice", password="pw"))
        self.assertIn("_auth_user_id", self.client.session)
        perm = Permission.objects.get(codename="review_product")
        group = Group.objects.create(name="reviewers")
        group.permissions.add(perm)
        self.alice.groups.add(group)
        alice = User.objects.get(pk=self.alice.pk)
        self.assertTrue(alice.has_perm("shop.review_product"))

    def test_sites_and_flatpages(self):
        page = FlatPage.objects.create(url="/about/", title="About", content="Hi")
        page.sites.add(Site.objects.get_current())
        self.assertEqual(FlatPage.objects.filter(sites__domain="example.com").get(), page)


class ExplorerTests(ShopData):
    def test_query_runs_and_summarises_numeric_columns(self):
        conn = DatabaseConnection.objects.create(
            alias="default", name="default", engine=DatabaseConnection.DJANGO, default=True
        )
        query = Query.objects.create(
            title="products",
            sql="SELECT name, price FROM shop_product ORDER BY name",
            created_by_user=self.admin,
            database_connection=conn,
        )
        result, log = query.execute_with_logging(self.admin)
        self.assertEqual([str(h) for h in result.headers], ["name", "price"])
        self.assertEqual([row[0] for row in result.data], ["anvil", "magnet", "rocket"])
        # The numeric column is found by connection.Database.NUMBER (issue #20 item 3).
        summary = result.headers[1].summary
        self.assertIsNotNone(summary)
        self.assertEqual(summary.stats["Sum"], decimal.Decimal("114.75"))
        self.assertIsNone(result.headers[0].summary)
        self.assertTrue(log.success)


class CeleryTests(TestCase):
    def test_results_backend_stores_and_reads_a_result(self):
        app = Celery("thirdparty")
        backend = DatabaseBackend(app=app)
        backend.store_result("task-1", {"answer": 42}, states.SUCCESS)
        self.assertEqual(TaskResult.objects.get(task_id="task-1").status, states.SUCCESS)
        self.assertEqual(backend.get_task_meta("task-1")["result"], {"answer": 42})

    def test_beat_schedule_from_the_database(self):
        every = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.create(name="ping", task="shop.ping", interval=every)
        scheduler = DatabaseScheduler(app=Celery("thirdparty"), lazy=True)
        schedule = scheduler.all_as_schedule()
        self.assertIn("ping", schedule)
        self.assertEqual(schedule["ping"].schedule.run_every, datetime.timedelta(seconds=10))


class HistoryTests(ShopData):
    def test_changes_are_recorded_and_read_as_of(self):
        before = datetime.datetime.now(datetime.UTC)
        self.anvil.price = decimal.Decimal("15.00")
        self.anvil.save()
        history = self.anvil.history.all()
        self.assertEqual([h.history_type for h in history], ["~", "+"])
        self.assertEqual(history[1].price, decimal.Decimal("12.50"))
        self.assertEqual(Product.history.as_of(before).get(name="anvil").price, 12.5)
        previous = history[0].prev_record
        self.assertEqual(previous.price, decimal.Decimal("12.50"))


class TaggitTests(ShopData):
    def test_tags_filter_and_count(self):
        self.anvil.tags.add("heavy", "iron")
        self.rocket.tags.add("fast", "iron")
        self.assertEqual(sorted(self.anvil.tags.names()), ["heavy", "iron"])
        self.assertEqual(
            list(Product.objects.filter(tags__name__in=["iron"]).distinct()),
            [self.anvil, self.rocket],
        )
        self.assertEqual(Product.tags.most_common()[0].name, "iron")
        self.anvil.tags.remove("heavy")
        self.assertEqual(Tag.objects.filter(taggit_taggeditem_items__isnull=True).count(), 1)


class RestFrameworkTests(ShopData):
    def test_token_authenticated_crud(self):
        token = Token.objects.create(user=self.admin)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        listed = api.get("/api/products/").json()
        self.assertEqual(listed["count"], 3)
        self.assertEqual([p["name"] for p in listed["results"]], ["anvil", "magnet"])
        created = api.post(
            "/api/products/", {"name": "glue", "price": "1.10", "supplier": self.supplier.pk}
        )
        self.assertEqual(created.status_code, 201, created.content)
        product = Product.objects.get(name="glue")
        self.assertEqual(created.json()["id"], product.pk)
        patched = api.patch(f"/api/products/{product.pk}/", {"price": "2.20"}, format="json")
        self.assertEqual(patched.json()["price"], "2.20")
        self.assertEqual(api.delete(f"/api/products/{product.pk}/").status_code, 204)
        self.assertFalse(Product.objects.filter(name="glue").exists())


class GuardianTests(ShopData):
    def test_object_permission_for_one_user(self):
        assign_perm("shop.change_product", self.alice, self.anvil)
        alice = User.objects.get(pk=self.alice.pk)
        self.assertTrue(alice.has_perm("shop.change_product", self.anvil))
        self.assertFalse(alice.has_perm("shop.change_product", self.rocket))
        self.assertEqual(get_perms(alice, self.anvil), ["change_product"])
        self.assertEqual(list(get_objects_for_user(alice, "shop.change_product")), [self.anvil])

    def test_group_permission_on_many_objects(self):
        group = Group.objects.create(name="buyers")
        self.alice.groups.add(group)
        assign_perm("shop.view_product", group, Product.objects.filter(price__lt=50))
        alice = User.objects.get(pk=self.alice.pk)
        self.assertEqual(
            list(get_objects_for_user(alice, "shop.view_product")), [self.anvil, self.magnet]
        )

    def test_object_permission_for_many_users(self):
        # guardian's assign_perm to several users is bulk_create(ignore_conflicts=True).
        bob = User.objects.create_user("bob")
        assign_perm(
            "shop.change_product", User.objects.filter(pk__in=[self.alice.pk, bob.pk]), self.anvil
        )
        assign_perm("shop.change_product", [self.alice], self.anvil)  # already there
        for user in (self.alice, bob):
            user = User.objects.get(pk=user.pk)
            self.assertTrue(user.has_perm("shop.change_product", self.anvil))


class ReversionTests(ShopData):
    def test_revisions_and_revert(self):
        with reversion.create_revision():
            self.supplier.name = "ACME Corp"
            self.supplier.save()
            reversion.set_user(self.admin)
            reversion.set_comment("renamed")
        with reversion.create_revision():
            self.supplier.name = "ACME Inc"
            self.supplier.save()
        versions = Version.objects.get_for_object(self.supplier)
        self.assertEqual(len(versions), 2)
        self.assertEqual(versions[1].revision.comment, "renamed")
        self.assertEqual(versions[1].revision.user, self.admin)
        versions[1].revision.revert()
        self.assertEqual(Supplier.objects.get(pk=self.supplier.pk).name, "ACME Corp")
        self.assertEqual(
            ContentType.objects.get_for_id(versions[0].content_type_id).model, "supplier"
        )


def test_the_database_is_redshift_through_the_emulator() -> None:
    assert connection.vendor == "redshift"
