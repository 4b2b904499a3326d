"""TestCase as Django promises it, on a backend without SAVEPOINT (issue #20 item 7).

Each test sees the class's data (setUpClass after super(), setUpTestData) and nothing a
sibling test wrote; nothing outlives the class (ZZNothingLeft, and the outer test after the
run, check the committed tables)."""

from django.contrib.auth.models import Group, User
from django.db import DatabaseError, connections, transaction
from django.test import TestCase, TransactionTestCase

from .models import Thing

CLASS_DATA = ["set-up-class", "set-up-test-data"]


def names(using="default"):
    return list(Thing.objects.using(using).values_list("name", flat=True))


class ClassLevelData(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.thing = Thing.objects.create(name="set-up-test-data", made_by="setUpTestData")
        cls.group = Group.objects.create(name="class-group")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Thing.objects.create(name="set-up-class", made_by="setUpClass")
        cls.user = User.objects.create_user("class-user")
        cls.user.groups.add(cls.group)

    def test_1_sees_class_data_and_writes(self):
        self.assertEqual(names(), CLASS_DATA)
        Thing.objects.create(name="test-1", made_by="test")
        self.thing.name = "renamed"
        self.thing.save()
        Thing.objects.filter(name="set-up-class").delete()
        self.user.groups.clear()
        self.assertEqual(names(), ["renamed", "test-1"])

    def test_2_sees_only_class_data(self):
        self.assertEqual(names(), CLASS_DATA)
        # setUpTestData's objects are copies per test, and their rows came back with the
        # same pks.
        self.assertEqual(self.thing.name, "set-up-test-data")
        self.assertEqual(Thing.objects.get(name="set-up-test-data").pk, self.thing.pk)
        self.assertEqual(list(self.user.groups.all()), [self.group])

    def test_3_error_in_own_block_rolls_back_that_block_only(self):
        Thing.objects.create(name="before-block", made_by="test")
        with self.assertRaises(ZeroDivisionError), transaction.atomic():
            Thing.objects.create(name="in-block", made_by="test")
            1 / 0  # noqa: B018
        # As in production, where this block is a transaction of its own: its row is
        # gone, the test's stays, and the test goes on.
        self.assertEqual(names(), ["before-block", *CLASS_DATA])

    def test_4_server_error_in_own_block(self):
        with self.assertRaises(DatabaseError), transaction.atomic():
            Thing.objects.create(name="in-block", made_by="test")
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        self.assertEqual(names(), CLASS_DATA)

    def test_5_nested_block_has_no_savepoint(self):
        # Redshift has no SAVEPOINT: an error caught in a nested block dooms the whole
        # outer block, as in production.
        with transaction.atomic():
            Thing.objects.create(name="outer", made_by="test")
            try:
                with transaction.atomic():
                    Thing.objects.create(name="inner", made_by="test")
                    raise ValueError
            except ValueError:
                pass
            self.assertTrue(transaction.get_rollback())
        self.assertEqual(names(), CLASS_DATA)

    def test_6_connection_state_set_again(self):
        # Django's own suite does this inside a TestCase: the savepoints must survive.
        Thing.objects.create(name="test-6", made_by="test")
        connections["default"].init_connection_state()
        self.assertEqual(names(), [*CLASS_DATA, "test-6"])

    def test_7_still_only_class_data(self):
        self.assertEqual(names(), CLASS_DATA)
        self.assertEqual(Group.objects.count(), 1)


class TwoDatabases(TestCase):
    databases = {"default", "other"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Thing.objects.create(name="default-class", made_by="setUpClass")
        Thing.objects.using("other").create(name="other-class", made_by="setUpClass")

    def test_a_writes_both(self):
        Thing.objects.create(name="default-test", made_by="test")
        Thing.objects.using("other").create(name="other-test", made_by="test")
        self.assertEqual(names("other"), ["other-class", "other-test"])

    def test_b_sees_class_data_only(self):
        self.assertEqual(names(), ["default-class"])
        self.assertEqual(names("other"), ["other-class"])


class ZZNothingLeft(TransactionTestCase):
    """Runs after every TestCase (Django orders TransactionTestCase last), in autocommit:
    it sees what is committed."""

    databases = {"default", "other"}

    def test_nothing_committed(self):
        for alias in ("default", "other"):
            self.assertEqual(names(alias), [])
            self.assertFalse(User.objects.using(alias).exists())
            self.assertFalse(Group.objects.using(alias).exists())
