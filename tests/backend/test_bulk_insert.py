"""bulk_create without RETURNING: multi-row INSERTs whose pks the backend allocates."""

from __future__ import annotations

import datetime
import math
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from redshift_async_backend.drivers.psycopg import SuperValue
from tests.testapp.models import Item

pytestmark = pytest.mark.integration


def test_bulk_create_sends_multi_row_inserts_within_the_parameter_limit(db: None) -> None:
    # Item has 5 columns besides its pk; with the allocated pk a row binds 6 parameters.
    # redshift_connector binds server-side, so its batches stay within the extended
    # protocol's 32,767 parameters; psycopg quotes values into the text, so only the 16 MB
    # statement limit applies and 7,000 small rows are one INSERT. Never one per row.
    rows = 7000
    per_batch = 32767 // 6 if connection.driver.binds_server_side else rows
    with CaptureQueriesContext(connection) as ctx:
        objs = Item.objects.bulk_create([Item(name=f"b{i}", amount=i) for i in range(rows)])
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("INSERT")]
    assert len(inserts) == math.ceil(rows / per_batch)
    pks = [o.pk for o in objs]
    assert len(set(pks)) == rows and None not in pks
    assert pks == list(range(pks[0], pks[0] + rows))
    stored = dict(Item.objects.filter(name__startswith="b").values_list("pk", "amount"))
    assert stored == {o.pk: o.amount for o in objs}


def test_bulk_create_splits_batches_at_redshift_16_mb_statement_limit(db: None) -> None:
    # Redshift refuses a statement over 16 MB (DG:r_INSERT_30); so does the emulator.
    # 400 rows of 60,000 characters are 24 MB of SQL: several INSERTs, each under it.
    from tests.testapp.models import AllTypes

    limit = 16 * 1024 * 1024
    objs = AllTypes.objects.bulk_create(
        [AllTypes(text=f"{i:05d}" + "x" * 60_000) for i in range(400)]
    )
    with CaptureQueriesContext(connection) as ctx:
        objs = AllTypes.objects.bulk_create(
            [AllTypes(text=f"{i:05d}" + "y" * 60_000) for i in range(400)]
        )
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("INSERT")]
    assert len(inserts) >= 2
    if not connection.driver.binds_server_side:  # the values are in the text
        assert max(len(sql.encode()) for sql in inserts) <= limit
    assert len({o.pk for o in objs}) == 400 and None not in {o.pk for o in objs}
    stored = dict(AllTypes.objects.filter(text__contains="y").values_list("pk", "text"))
    assert stored == {o.pk: o.text for o in objs}


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(
        # No NUL: a statement's text cannot hold one (the driver refuses it, DataError).
        st.text().filter(lambda s: "\x00" not in s),
        st.text(alphabet="\\'x\u00e9\U0001f600"),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False),
        st.decimals(allow_nan=False, allow_infinity=False, places=10),
        st.datetimes(timezones=st.just(datetime.UTC)),
        st.dates(),
        st.times(),
        st.uuids(),
        st.binary(max_size=200),
        st.booleans(),
        st.none(),
        st.text().filter(lambda s: "\x00" not in s).map(SuperValue),
    )
)
def test_literal_size_bound_covers_the_quoted_value(value: Any) -> None:
    # _split_by_size counts on _literal_bytes never being below what psycopg's quoting
    # (drivers/psycopg.py: CHR(92) for backslashes, TO_VARBYTE, ::casts) puts in the text;
    # literal_renderer writes exactly that (tests/drivers/test_psycopg_binding.py).
    from redshift_async_backend.compiler import _literal_bytes
    from redshift_async_backend.drivers.psycopg import literal_renderer

    if isinstance(value, bytes):
        value = psycopg.Binary(value)  # what Django's BinaryField hands psycopg
    quoted = literal_renderer(True, datetime.UTC)(value)
    assert len(quoted.encode()) <= _literal_bytes(value)


def test_plain_values_compile_as_django_compiles_them(db: None) -> None:
    # assemble_as_sql's shortcut for plain values gives Django's own placeholders and
    # params; expressions still go through Django's path.
    from django.db.models import Value
    from django.db.models.functions import Lower
    from django.db.models.sql.compiler import SQLInsertCompiler as DjangoInsertCompiler
    from django.db.models.sql.subqueries import InsertQuery

    objs = [Item(name=f"p{i}", amount=i) for i in range(3)]
    fields = [f for f in Item._meta.concrete_fields if not f.primary_key]
    query = InsertQuery(Item)
    query.insert_values(fields, objs)
    ours = query.get_compiler(connection=connection)
    rows = [[ours.prepare_value(f, ours.pre_save_val(f, o)) for f in fields] for o in objs]
    theirs = DjangoInsertCompiler.assemble_as_sql(ours, fields, rows)
    assert ours._plain_values(fields, rows)
    placeholders, params = ours.assemble_as_sql(fields, rows)
    assert [list(r) for r in placeholders] == [list(r) for r in theirs[0]]
    assert [list(r) for r in params] == [list(r) for r in theirs[1]]

    mixed = [Item(name=Lower(Value("ABC")), amount=1), Item(name="plain", amount=2)]
    made = Item.objects.bulk_create(mixed)
    assert sorted(
        Item.objects.filter(pk__in=[o.pk for o in made]).values_list("name", flat=True)
    ) == [
        "abc",
        "plain",
    ]


def test_bulk_create_with_a_subquery_value_sends_one_insert_per_row(db: None) -> None:
    # Redshift refuses subqueries in a multiple-row INSERT VALUES (DG:r_INSERT_30): rows
    # with a subquery value go one INSERT each; the emulator refuses the multi-row form.
    from django.db.models import Subquery

    Item.objects.create(name="source", amount=41)
    top = Subquery(Item.objects.filter(name="source").values("amount")[:1])
    with CaptureQueriesContext(connection) as ctx:
        made = Item.objects.bulk_create([Item(name="sq1", amount=top), Item(name="sq2", amount=7)])
    inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].lstrip().startswith("INSERT")]
    assert len(inserts) == 2
    assert len({o.pk for o in made}) == 2 and None not in {o.pk for o in made}
    stored = dict(Item.objects.filter(name__startswith="sq").values_list("name", "amount"))
    assert stored == {"sq1": 41, "sq2": 7}
