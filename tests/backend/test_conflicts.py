"""bulk_create(ignore_conflicts=True) and update_conflicts=True without ON CONFLICT: the
existing unique values are read under the table lock (redshift_async_backend/conflicts.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import ProgrammingError, connections

from tests.testapp.models import Grant, Item

pytestmark = pytest.mark.integration


def rows() -> list[tuple[str | None, str, str, int]]:
    return sorted(Grant.objects.values_list("code", "user", "perm", "level"), key=str)


def test_ignore_conflicts_skips_rows_that_exist_by_any_unique_set(db: None) -> None:
    first = Grant.objects.create(code="a", user="ann", perm="view")
    Grant.objects.bulk_create(
        [
            Grant(code="a", user="bob", perm="edit"),  # code exists
            Grant(code="b", user="ann", perm="view"),  # (user, perm) exists
            Grant(id=first.pk, code="c", user="cy", perm="x"),  # pk exists
            Grant(code="d", user="dee", perm="view"),  # new
            Grant(code="d", user="eve", perm="view"),  # repeats the batch's code "d"
            Grant(code=None, user="fay", perm="view"),  # NULL code conflicts with nothing
            Grant(code=None, user="gus", perm="view"),
        ],
        ignore_conflicts=True,
    )
    assert rows() == sorted(
        [
            ("a", "ann", "view", 0),
            ("d", "dee", "view", 0),
            (None, "fay", "view", 0),
            (None, "gus", "view", 0),
        ],
        key=str,
    )


def test_ignore_conflicts_allocates_pks_but_leaves_them_unset(db: None) -> None:
    # As on other databases the objects get no pk; the rows get theirs from the high-water
    # mark (an INSERT without one would take the IDENTITY generator's values).
    top = Item.objects.create(name="top").pk
    objs = Item.objects.bulk_create([Item(name="a"), Item(name="b")], ignore_conflicts=True)
    assert [o.pk for o in objs] == [None, None]
    assert dict(Item.objects.values_list("name", "pk")) == {"top": top, "a": top + 1, "b": top + 2}
    Item.objects.bulk_create([Item(id=top, name="dup")], ignore_conflicts=True)
    assert Item.objects.get(pk=top).name == "top"
    assert Item.objects.create(name="next").pk == top + 3


def test_update_conflicts_updates_matching_rows_and_inserts_the_rest(db: None) -> None:
    Grant.objects.create(code="a", user="ann", perm="view", level=1)
    objs = Grant.objects.bulk_create(
        [
            Grant(code="a2", user="ann", perm="view", level=5),
            Grant(code="b", user="bob", perm="view", level=7),
        ],
        update_conflicts=True,
        unique_fields=["user", "perm"],
        update_fields=["level"],
    )
    assert rows() == sorted([("a", "ann", "view", 5), ("b", "bob", "view", 7)], key=str)
    by_user = dict(Grant.objects.values_list("user", "pk"))
    assert [o.pk for o in objs] == [by_user["ann"], by_user["bob"]]


def test_update_conflicts_refuses_a_batch_that_changes_a_row_twice(db: None) -> None:
    with pytest.raises(ProgrammingError, match="second time"):
        Grant.objects.bulk_create(
            [Grant(user="a", perm="p", level=1), Grant(user="a", perm="p", level=2)],
            update_conflicts=True,
            unique_fields=["user", "perm"],
            update_fields=["level"],
        )


@pytest.mark.parametrize("mode", ["ignore", "update"])
def test_concurrent_upserts_never_duplicate_a_unique_value(
    transactional_db: None, settings_dict: dict, mode: str
) -> None:
    # 6 threads write the same 30 (user, perm) keys at once: each key ends up once.
    threads, keys = 6, 30
    alias = f"conflicts_{mode}"
    connections.settings[alias] = settings_dict
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            start.wait()
            objs = [Grant(user=f"u{k}", perm="p", level=n) for k in range(keys)]
            options: dict = (
                {"ignore_conflicts": True}
                if mode == "ignore"
                else {
                    "update_conflicts": True,
                    "unique_fields": ["user", "perm"],
                    "update_fields": ["level"],
                }
            )
            Grant.objects.using(alias).bulk_create(objs, batch_size=10, **options)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections[alias].close()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    del connections.settings[alias]
    assert not errors, errors[:3]
    users = list(Grant.objects.values_list("user", flat=True))
    assert sorted(users) == sorted(f"u{k}" for k in range(keys))
