"""Introspection from Redshift's catalog views, and inspectdb."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

pytestmark = pytest.mark.integration


def test_tables_columns_constraints(db: None) -> None:
    with connection.cursor() as cursor:
        assert "testapp_item" in connection.introspection.table_names(cursor)
        with CaptureQueriesContext(connection) as ctx:
            desc = {
                c.name: c
                for c in connection.introspection.get_table_description(cursor, "testapp_alltypes")
            }
            constraints = connection.introspection.get_constraints(cursor, "testapp_tag")
        relations = connection.introspection.get_relations(cursor, "testapp_tag")
        pk = connection.introspection.get_primary_key_column(cursor, "testapp_item")
    assert not any('from "testapp' in q["sql"].lower() for q in ctx.captured_queries)
    assert desc["char"].null_ok and not desc["id"].null_ok
    assert (
        connection.introspection.get_field_type(desc["json"].type_code, desc["json"]) == "JSONField"
    )
    assert (
        connection.introspection.get_field_type(desc["text"].type_code, desc["text"]) == "TextField"
    )
    assert (
        connection.introspection.get_field_type(desc["binary"].type_code, desc["binary"])
        == "BinaryField"
    )
    assert relations == {"item_id": ("id", "testapp_item")}
    assert pk == "id"
    assert any(c["primary_key"] for c in constraints.values())


def test_table_without_constraints(db: None) -> None:
    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE "bare_t" ("a" integer) DISTKEY ("a") SORTKEY ("a")')
        constraints = connection.introspection.get_constraints(cursor, "bare_t")
    assert constraints == {
        "bare_t_distkey": {**constraints["bare_t_distkey"], "columns": ["a"], "type": "distkey"},
        "bare_t_sortkey": {**constraints["bare_t_sortkey"], "columns": ["a"], "type": "sortkey"},
    }
