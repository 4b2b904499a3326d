"""System tables and views (the guide's "System tables and views reference").

The views themselves are SQL in the emulator's schema (emulator/catalog.py, which installs
them upstream); the rules here make a query find them, and declare what each one shows.
"""

from __future__ import annotations

from pglast import ast

from ..catalog import SCHEMA
from .declare import FULL, PARTLY, Part
from .pipeline import Statement

part = Part("catalog", "System tables and views", "Redshift's catalog tables and views.", order=6)

OWN_RELATIONS = frozenset(
    {"pg_table_def", "svv_table_info", "svv_columns", "stv_db_isolation_level"}
)


@part.node(
    ast.RangeVar,
    id="system-views-found",
    page="cm_chap_system-tables",
    does="Redshift's system views are found by their bare names, whatever the search_path",
    fidelity=FULL,
    gap="a bare name of one of the emulator's views is qualified with its schema",
    tests=(
        "tests/emulator/test_sql_rules.py::test_catalog_views",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[system_view]",
    ),
    words=tuple(sorted(OWN_RELATIONS)),
)
def system_views(stmt: Statement, node: ast.RangeVar) -> None:
    if node.schemaname is None and (node.relname or "").lower() in OWN_RELATIONS:
        stmt.insert(stmt.position(node), f"{SCHEMA}.")


part.rule(
    id="pg-table-def",
    page="r_PG_TABLE_DEF",
    does="PG_TABLE_DEF: schemaname, tablename, column, type, encoding, distkey, sortkey, "
    "notnull of the tables in schemas on the search_path (interleaved keys negative)",
    fidelity=PARTLY,
    gap="user tables only (Redshift also lists catalog tables)",
    tests=(
        "tests/emulator/test_sql_rules.py::test_distkey_sortkey_encode_backup_are_recorded",
        "tests/emulator/test_sql_rules.py::test_alter_distkey_diststyle_sortkey",
    ),
)
part.rule(
    id="svv-table-info",
    page="r_SVV_TABLE_INFO",
    does="SVV_TABLE_INFO (database, schema, table_id, table, encoded, diststyle, sortkey1, "
    "max_varchar, sortkey_num, size, tbl_rows, estimated_visible_rows, unsorted, stats_off, "
    "skew_rows, create_time); empty tables are left out",
    fidelity=PARTLY,
    gap="unsorted, stats_off and skew are 0, create_time NULL; pct_used, skew_sortkey1, "
    "risk_event, vacuum_sort_benefit and other columns are absent",
    tests=(
        "tests/emulator/test_sql_rules.py::test_catalog_views",
        "tests/emulator/test_sql_rules.py::test_distkey_sortkey_encode_backup_are_recorded",
    ),
)
part.rule(
    id="svv-columns",
    page="r_SVV_COLUMNS",
    does="SVV_COLUMNS: information_schema.columns' shape plus remarks; an IDENTITY default "
    "reads `\"identity\"(oid, index, 'seed,step')`",
    fidelity=PARTLY,
    gap="local tables only (no external tables or late-binding views)",
    tests=(
        "tests/emulator/test_sql_rules.py::test_catalog_views",
        "tests/emulator/test_sql_rules.py::test_svv_columns_shows_identity_default_as_redshift_does",
        "tests/emulator/test_suite_rules.py::test_svv_columns_shows_case_insensitive_columns_as_declared",
    ),
)
part.rule(
    id="stv-db-isolation-level",
    page="r_STV_DB_ISOLATION_LEVEL",
    does="STV_DB_ISOLATION_LEVEL (db_name, isolation_level): `Snapshot Isolation`, or "
    "`Serializable`",
    fidelity=FULL,
    tests=("tests/emulator/test_sql_rules.py::test_catalog_views",),
)
