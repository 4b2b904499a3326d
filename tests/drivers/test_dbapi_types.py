"""PEP 249 type objects: ``connection.Database.NUMBER == cursor.description[i].type_code``.

django-sql-explorer (and any DB-API client code) finds a result's numeric columns this way;
with redshift_connector's own objects every query it ran failed (issue #20, item 3).
"""

from __future__ import annotations

from typing import Any

import pytest
import redshift_connector

from redshift_async_backend.drivers.dbapi import TypeObject, with_type_objects
from tests.drivers.test_parity import DRIVERS, wrapper_for

pytestmark = pytest.mark.integration

# Each selected column and the one type object it belongs to.
COLUMNS = {
    "1::smallint": "NUMBER",
    "1::integer": "NUMBER",
    "1::bigint": "NUMBER",
    "1.5::numeric(5, 2)": "NUMBER",
    "1.5::real": "NUMBER",
    "1.5::double precision": "NUMBER",
    "'a'::varchar(10)": "STRING",
    "'a'::char(3)": "STRING",
    "'2024-01-02'::date": "DATETIME",
    "'2024-01-02 03:04:05'::timestamp": "DATETIME",
    "'2024-01-02 03:04:05+00'::timestamptz": "DATETIME",
    "'03:04:05'::time": "DATETIME",
    "TO_VARBYTE('ab', 'hex')": "BINARY",
    "true": None,
}


@pytest.mark.parametrize("driver", DRIVERS)
def test_type_objects_equal_the_type_codes_of_their_columns(
    settings_dict: dict[str, Any], driver: str
) -> None:
    conn = wrapper_for(settings_dict, driver)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(COLUMNS))
            description = cursor.description
        for (expr, kind), column in zip(COLUMNS.items(), description, strict=True):
            for name in ("STRING", "BINARY", "NUMBER", "DATETIME"):
                type_object = getattr(conn.Database, name)
                assert (column.type_code == type_object) is (name == kind), (expr, name)
                assert (type_object == column.type_code) is (name == kind), (expr, name)
                assert (column.type_code in type_object.values) is (name == kind), (expr, name)
        # django-sql-explorer's test for its numeric columns.
        numeric = [
            i for i, c in enumerate(description) if c.type_code in conn.Database.NUMBER.values
        ]
        assert numeric == [i for i, kind in enumerate(COLUMNS.values()) if kind == "NUMBER"]
    finally:
        conn.close()


def test_the_rest_of_the_module_is_the_drivers() -> None:
    module = with_type_objects(redshift_connector)
    assert module is with_type_objects(redshift_connector)
    assert module.IntegrityError is redshift_connector.IntegrityError
    assert module.paramstyle == redshift_connector.paramstyle
    assert isinstance(module.NUMBER, TypeObject)
    assert module.ROWID == 26 and module.ROWID != module.NUMBER
    # A Redshift cluster describes VARBYTE with its own OID (the emulator's is bytea's).
    assert module.BINARY == 6551 and module.BINARY == 17
    # redshift_connector's own objects are left alone for code that imports it directly.
    assert redshift_connector.NUMBER != 23
