"""A string holding NUL (0x00) is refused with DataError on both drivers, and nothing else
breaks: the statement's text cannot carry it (the wire protocol's strings end at NUL)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DataError, connection

from tests.drivers.test_parity import DRIVERS, wrapper_for
from tests.testapp.models import Item

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("driver", DRIVERS)
def test_nul_in_a_string_is_a_data_error(settings_dict: dict[str, Any], driver: str) -> None:
    conn = wrapper_for(settings_dict, driver)
    try:
        with pytest.raises(DataError), conn.cursor() as cursor:
            cursor.execute("SELECT %s", ["a\x00b"])
        with conn.cursor() as cursor:
            cursor.execute("SELECT %s", ["still usable"])
            assert cursor.fetchone() == ("still usable",)
    finally:
        conn.close()


def test_nul_in_a_model_field(db: None) -> None:
    with pytest.raises(DataError):
        Item.objects.filter(name="a\x00b").exists()
    assert connection.features.prohibits_null_characters_in_text_exception[0] is DataError
