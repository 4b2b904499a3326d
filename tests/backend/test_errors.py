"""Serialization failures become SerializationFailure; retry_on_conflict re-runs the block."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, transaction

from redshift_async_backend.errors import SerializationFailure, retry_on_conflict
from tests.testapp.models import Item

pytestmark = pytest.mark.chaos

no_sleep = retry_on_conflict(sleep=lambda s: None)


@pytest.mark.parametrize("kind", ["serialization", "snapshot"])
def test_conflict_raises_serialization_failure(
    transactional_db: None, emulator: Any, kind: str
) -> None:
    emulator.fail_next("testapp_item", 1, kind=kind)
    with pytest.raises(SerializationFailure) as err:
        Item.objects.count()
    assert isinstance(err.value, OperationalError)
    assert Item.objects.count() == 0  # the connection is usable again


def test_retry_reruns_the_whole_block(transactional_db: None, emulator: Any) -> None:
    runs: list[int] = []

    @no_sleep
    def work() -> int:
        runs.append(1)
        Item.objects.create(name="kept")
        return Item.objects.filter(name="kept").count()

    Item.objects.count()
    # The create's LOCK: redshift_connector sends the create's statements as one pipeline,
    # and the emulator counts each matching statement of it, the skipped ones too.
    emulator.fail_next('LOCK "testapp_item"', 2)
    assert work() == 1
    assert len(runs) == 3
    assert Item.objects.filter(name="kept").count() == 1


def test_retry_loop_form_and_giving_up(transactional_db: None, emulator: Any) -> None:
    emulator.fail_next('LOCK "testapp_item"', 5)
    with pytest.raises(SerializationFailure):
        for attempt in no_sleep.attempts(attempts=3):
            with attempt:
                Item.objects.create(name="never")
    emulator.clear_faults()
    assert not Item.objects.filter(name="never").exists()


def test_no_retry_inside_an_outer_transaction(transactional_db: None, emulator: Any) -> None:
    runs: list[int] = []

    @no_sleep
    def work() -> None:
        runs.append(1)
        Item.objects.count()

    with pytest.raises(SerializationFailure), transaction.atomic():
        emulator.fail_next("testapp_item", 1)
        work()
    assert runs == [1]
