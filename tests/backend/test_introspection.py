"""Introspection from Redshift's catalog views, and inspectdb."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
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


def _description(table: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        return {c.name: c for c in connection.introspection.get_table_description(cursor, table)}


def test_character_lengths_are_display_size(db: None) -> None:
    # Django reads a CharField's max_length from display_size (inspectdb; Django's
    # introspection test_get_table_description_col_lengths).
    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE "len_t" ("a" varchar(30), "b" char(4), "n" integer)')
    desc = _description("len_t")
    assert (desc["a"].display_size, desc["a"].internal_size) == (30, 30)
    assert desc["b"].display_size == 4
    assert desc["n"].display_size is None


def test_display_size_counts_characters(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # With varchar_bytes_per_char = 4 a CharField(max_length=30) is varchar(120): the
    # length reads back as 30 characters, and a length that is no multiple rounds up.
    wrapper = connections[DEFAULT_DB_ALIAS]
    options = dataclasses.replace(wrapper.redshift_options, varchar_bytes_per_char=4)
    monkeypatch.setattr(wrapper, "redshift_options", options)
    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE "len_b" ("a" varchar(120), "b" varchar(10))')
    desc = _description("len_b")
    assert (desc["a"].display_size, desc["a"].internal_size) == (30, 120)
    assert desc["b"].display_size == 3
