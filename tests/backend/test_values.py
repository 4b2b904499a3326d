"""Values that once broke on the way in (#16.5): backslashes by the thousand, LIKE patterns
of them, FloatField's -0.0, and a NUL in text, on both drivers."""

from __future__ import annotations

import math

import pytest
from django.db import DataError

from tests.testapp.models import AllTypes, Item

pytestmark = pytest.mark.integration

# VARCHAR(MAX) is 65,535 bytes (DG:r_Character_types).
VARCHAR_MAX = 65535


@pytest.mark.parametrize(
    "value",
    [
        "\\" * 3000,
        "\\" * (VARCHAR_MAX - 1),
        "a\\b" * 10000,
        # Every stand-in character of the psycopg driver's quoting, and backslashes.
        "".join(chr(c) for c in (*range(1, 9), *range(14, 32))) + "\\'\\" * 1000,
    ],
    ids=["3000", "varchar-max", "mixed", "stand-ins"],
)
def test_backslashes_round_trip(db: None, value: str) -> None:
    obj = AllTypes.objects.create(text=value)
    assert AllTypes.objects.values_list("text", flat=True).get(pk=obj.pk) == value
    assert AllTypes.objects.filter(pk=obj.pk, text=value).exists()
    AllTypes.objects.filter(pk=obj.pk).update(text=value + "\\")
    assert AllTypes.objects.values_list("text", flat=True).get(pk=obj.pk) == value + "\\"


def test_a_like_pattern_of_thousands_of_percent_signs(db: None) -> None:
    # Django escapes each % as \% for LIKE: 3,000 backslashes in the pattern.
    AllTypes.objects.create(text="%" * 3000)
    AllTypes.objects.create(text="%" * 2999)
    assert AllTypes.objects.filter(text__contains="%" * 3000).count() == 1
    assert AllTypes.objects.filter(text__startswith="\\" * 3000).count() == 0


def test_negative_zero_keeps_its_sign(db: None) -> None:
    obj = AllTypes.objects.create(floating=-0.0)
    got = AllTypes.objects.values_list("floating", flat=True).get(pk=obj.pk)
    assert got == 0.0 and math.copysign(1.0, got) == -1.0
    AllTypes.objects.bulk_create([AllTypes(floating=-0.0), AllTypes(floating=-0.0)])
    signs = {math.copysign(1.0, v) for v in AllTypes.objects.values_list("floating", flat=True)}
    assert signs == {-1.0}
    AllTypes.objects.update(floating=-0.0)
    assert {math.copysign(1.0, v) for v in AllTypes.objects.values_list("floating", flat=True)} == {
        -1.0
    }


def test_a_nul_in_text_is_refused_naming_the_field(transactional_db: None) -> None:
    with pytest.raises(DataError, match=r"NUL.*AllTypes\.text has one"):
        AllTypes.objects.create(text="a\x00b")
    with pytest.raises(DataError, match=r"NUL.*Item\.name has one"):
        Item.objects.bulk_create([Item(name="fine"), Item(name="\x00")])
    obj = AllTypes.objects.create(text="ok")
    with pytest.raises(DataError, match=r"NUL.*AllTypes\.char has one"):
        AllTypes.objects.filter(pk=obj.pk).update(char="\x00")
    assert AllTypes.objects.values_list("text", flat=True).get(pk=obj.pk) == "ok"
    assert not Item.objects.exists()
