"""bulk_create without RETURNING: multi-row INSERTs whose pks the backend allocates."""

from __future__ import annotations

import math

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.testapp.models import Item

pytestmark = pytest.mark.integration


def test_bulk_create_sends_multi_row_inserts_within_the_parameter_limit(db: None) -> None:
    # Item has 5 columns besides its pk; with the allocated pk a row binds 6 parameters.
    # Batches must stay within the extended protocol's 32,767 (redshift_connector binds
    # server-side), and a batch is one INSERT, not one per row.
    rows = 7000
    per_batch = 32767 // 6
    with CaptureQueriesContext(connection) as ctx:
        objs = Item.objects.bulk_create([Item(name=f"b{i}", amount=i) for i in range(rows)])
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("INSERT")]
    assert len(inserts) == math.ceil(rows / per_batch)
    pks = [o.pk for o in objs]
    assert len(set(pks)) == rows and None not in pks
    assert pks == list(range(pks[0], pks[0] + rows))
    stored = dict(Item.objects.filter(name__startswith="b").values_list("pk", "amount"))
    assert stored == {o.pk: o.amount for o in objs}
