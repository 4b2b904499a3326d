"""PostgreSQL's refusals of what reaches the machine, worded as Redshift (refusals.py)."""

from __future__ import annotations

import pytest

from redshift_async_backend.emulator.refusals import reword

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("message", "sqlstate", "reworded"),
    [
        (
            "permission denied for function pg_read_file",
            "42883",
            "function pg_read_file does not exist",
        ),
        ("permission denied for function lo_export", "42883", "function lo_export does not exist"),
        # PostgreSQL 16 and later.
        (
            "permission denied to COPY to or from an external program",
            "0A000",
            "COPY to or from a program is not supported",
        ),
        (
            "permission denied to COPY from a file",
            "0A000",
            "COPY from a file on the server is not supported",
        ),
        # PostgreSQL 15.
        (
            "must be superuser or have privileges of the pg_write_server_files role "
            "to COPY to a file",
            "0A000",
            "COPY to a file on the server is not supported",
        ),
        (
            'permission denied to create extension "dblink"',
            "0A000",
            "CREATE EXTENSION is not supported",
        ),
    ],
)
def test_machine_refusals_are_reworded(message: str, sqlstate: str, reworded: str) -> None:
    fields = {"S": "ERROR", "C": "42501", "M": message, "D": "Only roles with ...", "H": "psql"}
    out = reword(fields)
    assert (out["C"], out["M"]) == (sqlstate, reworded)
    assert ("D" not in out and "DG:" in out["H"]) or "extensions" in out["H"]


def test_other_errors_are_left_alone() -> None:
    for fields in (
        {"C": "42501", "M": "permission denied for table secrets"},
        {"C": "42501", "M": "permission denied for function my_own_function"},
        {"C": "23505", "M": "duplicate key"},
    ):
        assert reword(fields) is fields
