"""The first things that must work: connect, create, read back."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.testapp.models import Item

pytestmark = pytest.mark.integration


def test_connects_and_recognises_redshift(db: None) -> None:
    assert connection.vendor == "redshift"
    assert connection.display_name == "Amazon Redshift"
    assert connection.is_redshift
    assert connection.get_database_version()[:2] == (1, 0)


def test_create_and_read_back(db: None) -> None:
    item = Item.objects.create(name="a\\b 'quoted'")
    assert item.pk is not None
    assert Item.objects.get(pk=item.pk).name == "a\\b 'quoted'"
