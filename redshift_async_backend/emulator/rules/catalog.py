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
    does="SVV_TABLE_INFO with every documented column (database, schema, table_id, table, "
    "encoded, diststyle, sortkey1, max_varchar, sortkey1_enc, sortkey_num, size, pct_used, "
    "empty, unsorted, stats_off, tbl_rows, skew_sortkey1, skew_rows, estimated_visible_rows, "
    "risk_event, vacuum_sort_benefit, create_time), materialized views included; empty "
    "tables are left out",
    fidelity=PARTLY,
    gap="one node, one slice: unsorted and stats_off 0, skew 1, risk_event NULL; size "
    "counts 1 MB blocks, one per column at least; create_time NULL for tables made before "
    "the emulator set up the database",
    tests=(
        "tests/emulator/test_sql_rules.py::test_catalog_views",
        "tests/emulator/test_sql_rules.py::test_distkey_sortkey_encode_backup_are_recorded",
        "tests/emulator/test_sysviews.py::test_view_has_the_documented_columns[svv_table_info]",
        "tests/emulator/test_sysviews.py::test_svv_table_info_describes_dist_sort_encoding_rows",
        "tests/clients/test_dbt.py::test_docs_catalog_has_columns_types_and_redshift_stats",
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
# The system views of emulator/sysviews.py (in pg_catalog, as on Redshift, when the upstream
# role may create there; else in the emulator's schema, on every session's search_path).
SYSVIEWS = "tests/emulator/test_sysviews.py::"
DOCUMENTED = SYSVIEWS + "test_view_has_the_documented_columns"

part.rule(
    id="pg-class-info",
    page="r_PG_CLASS_INFO",
    does="PG_CLASS_INFO: PG_CLASS's columns (reloid), reldiststyle, relcreationtime and "
    "releffectivediststyle (0 EVEN, 1 KEY, 8 ALL, 10 AUTO(ALL))",
    fidelity=PARTLY,
    gap="an AUTO table is always AUTO(ALL); relcreationtime is NULL for tables created "
    "before the emulator set up the database",
    tests=(
        SYSVIEWS + "test_pg_class_info_diststyles_and_creation_time",
        "tests/clients/test_sqlalchemy.py::test_create_all_writes_redshift_table_options",
    ),
)
part.rule(
    id="pg-proc-info",
    page="r_PG_PROC_INFO",
    does="PG_PROC_INFO: PG_PROC's columns (prooid) with prokind `f` for a function, `p` for a "
    "stored procedure",
    fidelity=FULL,
    tests=(
        SYSVIEWS + "test_pg_proc_info_prokind",
        "tests/clients/test_redshift_connector.py::test_get_procedures_legacy_query_reads_pg_proc_info",
    ),
)
part.rule(
    id="pg-get-late-binding-view-cols",
    page="PG_GET_LATE_BINDING_VIEW_COLS",
    does="PG_GET_LATE_BINDING_VIEW_COLS(): schema, view, column, type and position of the "
    "columns of every late-binding view",
    fidelity=FULL,
    tests=(SYSVIEWS + "test_pg_get_late_binding_view_cols_lists_only_late_binding_views",),
)
part.rule(
    id="svv-tables-and-all-views",
    page="r_SVV_ALL_TABLES",
    see=("r_SVV_TABLES", "r_SVV_ALL_SCHEMAS", "r_SVV_ALL_COLUMNS", "r_SVV_REDSHIFT_COLUMNS"),
    does="SVV_TABLES, SVV_ALL_TABLES, SVV_ALL_SCHEMAS, SVV_ALL_COLUMNS and "
    "SVV_REDSHIFT_COLUMNS with their pages' columns, also as `pg_catalog.<name>`",
    fidelity=PARTLY,
    gap="the current database only (no datashares)",
    tests=(
        SYSVIEWS + "test_svv_all_tables_columns_and_schemas",
        f"{DOCUMENTED}[svv_all_tables]",
        SYSVIEWS + "test_views_answer_pg_catalog_qualified_names_as_on_redshift",
        "tests/clients/test_redshift_connector.py::test_write_and_fetch_dataframe",
    ),
)
part.rule(
    id="svv-external-views-empty",
    page="r_SVV_EXTERNAL_TABLES",
    see=("r_SVV_EXTERNAL_SCHEMAS", "r_SVV_EXTERNAL_COLUMNS"),
    does="SVV_EXTERNAL_SCHEMAS / TABLES / COLUMNS list external (Spectrum) schemas, tables "
    "and columns: none on a cluster without any",
    fidelity=PARTLY,
    gap="the emulator has no external schemas, so they are always empty",
    tests=(SYSVIEWS + "test_external_views_are_empty_without_external_schemas",),
)
part.rule(
    id="svv-transactions-stv-locks-sessions",
    page="r_SVV_TRANSACTIONS",
    see=("r_STV_LOCKS", "r_STV_SESSIONS", "r_STL_QUERY", "r_SVL_QLOG"),
    does="SVV_TRANSACTIONS, STV_LOCKS and STV_SESSIONS show open transactions, table locks "
    "and sessions; STL_QUERY and SVL_QLOG the queries run",
    fidelity=PARTLY,
    gap="STL_QUERY / SVL_QLOG keep no history: each session's latest statement only",
    tests=(SYSVIEWS + "test_transactions_locks_sessions_and_queries",),
)
part.rule(
    id="stl-load-errors",
    page="r_STL_LOAD_ERRORS",
    does="STL_LOAD_ERRORS records COPY's load errors",
    fidelity=PARTLY,
    gap="empty: the emulator's COPY loads no files",
    tests=(f"{DOCUMENTED}[stl_load_errors]",),
)
part.rule(
    id="svv-mv-info",
    page="r_SVV_MV_INFO",
    see=("r_STV_MV_INFO",),
    does="SVV_MV_INFO and STV_MV_INFO: one row per materialized view, is_stale, state, autorefresh",
    fidelity=PARTLY,
    gap="state is always 0 (a refresh recomputes in full); autorewrite `f`",
    tests=(
        SYSVIEWS + "test_svv_mv_info_lists_materialized_views",
        SYSVIEWS + "test_materialized_view_options_from_the_rules_marker",
    ),
)
part.rule(
    id="svv-relation-privileges",
    page="r_SVV_RELATION_PRIVILEGES",
    does="SVV_RELATION_PRIVILEGES: the privileges users and roles hold on tables and views "
    "(what dbt's grants read)",
    fidelity=PARTLY,
    gap="admin_option is always false",
    tests=("tests/emulator/test_tool_rules.py::test_svv_relation_privileges",),
)
part.rule(
    id="stv-db-isolation-level",
    page="r_STV_DB_ISOLATION_LEVEL",
    does="STV_DB_ISOLATION_LEVEL (db_name, isolation_level): `Snapshot Isolation`, or "
    "`Serializable`",
    fidelity=FULL,
    tests=("tests/emulator/test_sql_rules.py::test_catalog_views",),
)


# ---------------------------------------------------------------------------------------
# Redshift-only columns of PostgreSQL's catalogs
#
# sysviews.py keeps views named like the catalogs, as Redshift has them (its columns added),
# in the emulator's schema; a client's query of those catalogs is sent there.

SHADOWED = frozenset({"pg_class", "pg_attribute", "pg_attrdef", "pg_constraint"})
QUERIES = ("select", "with")  # what reads the catalogs (COPY, LOCK, ... name them as they are)


@part.node(
    ast.RangeVar,
    ast.ColumnRef,
    kinds=QUERIES,
    id="redshift-catalog-columns",
    page="r_PG_CLASS_INFO",
    see=("r_PG_TABLE_DEF", "c_join_PG", "PG_GET_LATE_BINDING_VIEW_COLS"),
    does="PG_CLASS has reldiststyle, and a materialized view is a view (relkind `v`) in it; "
    "PG_ATTRIBUTE has attencodingtype, attisdistkey and attsortkeyord, and no columns of "
    "late-binding views; PG_ATTRDEF still has adsrc (what sqlalchemy-redshift and dbt read); "
    "PG_CONSTRAINT has no NOT NULL rows",
    fidelity=PARTLY,
    gap="a client's query reads views of the catalogs, with these columns added (the "
    "emulator's own encoding numbers, read through FORMAT_ENCODING), instead of the "
    "catalogs; `::regclass` casts and the emulator's own functions see PostgreSQL's",
    tests=(
        "tests/emulator/test_tool_rules.py::test_redshift_columns_of_pg_class_and_pg_attribute",
        "tests/emulator/test_tool_rules.py::test_materialized_and_late_binding_views_in_the_catalog",
        "tests/emulator/test_sysviews.py::test_shadow_catalogs_carry_redshift_columns",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[catalog_columns]",
        "tests/clients/test_sqlalchemy.py::test_inspector_columns_with_encodings",
        "tests/clients/test_dbt.py::test_docs_catalog_is_complete",
    ),
    words=tuple(sorted(SHADOWED)),
)
def redshift_catalog_columns(stmt: Statement, node: ast.RangeVar | ast.ColumnRef) -> None:
    # Redshift: PG_CLASS.reldiststyle (DG:r_PG_CLASS_INFO), PG_ATTRIBUTE's encoding, distkey
    # and sortkey columns (DG:r_PG_TABLE_DEF reads them).
    if isinstance(node, ast.RangeVar):
        _to_shadow(stmt, node, SHADOWED)
        return
    # pg_catalog.pg_class.relname: the relation is the view named pg_class now.
    names = [str(f.sval).lower() if isinstance(f, ast.String) else "" for f in node.fields or ()]
    if len(names) >= 3 and names[-3] == "pg_catalog" and names[-2] in SHADOWED:
        first = stmt.token_index(stmt.position(node)) + (len(names) - 3) * 2
        start, end = stmt.span(first, first + 2)  # "pg_catalog" "."
        stmt.replace(start, end, "")


def _to_shadow(stmt: Statement, node: ast.RangeVar, names: frozenset[str]) -> None:
    """Send a catalog relation of ``names`` (bare or pg_catalog.) to the emulator's view of
    the same name; it keeps its name as its alias, so ``pg_class.relname`` still reads."""
    name = (node.relname or "").lower()
    if name not in names or (node.schemaname or "pg_catalog").lower() != "pg_catalog":
        return
    first = stmt.token_index(stmt.position(node))
    start, end = stmt.span(first, first + (3 if node.schemaname else 1))
    alias = "" if node.alias else f" AS {name}"
    stmt.replace(start, end, f"{SCHEMA}.{name}{alias}")


@part.node(
    ast.RangeVar,
    kinds=QUERIES,
    id="pg-views-lists-materialized-views",
    page="materialized-view-create-sql-command",
    see=("r_CREATE_VIEW",),
    does="PG_VIEWS and information_schema.views list materialized views too, their "
    "definition starting with `create materialized view` (dbt-redshift finds them so)",
    fidelity=PARTLY,
    gap="the definition is PostgreSQL's text of the query after that prefix",
    tests=(
        "tests/emulator/test_tool_rules.py::test_pg_views_lists_materialized_views",
        "tests/clients/test_dbt.py::test_materialized_view_with_auto_refresh",
    ),
    words=("pg_views", "views"),
)
def pg_views(stmt: Statement, node: ast.RangeVar) -> None:
    # Redshift lists materialized views among views (DG:materialized-view-create-sql-command).
    name = (node.relname or "").lower()
    if name == "views" and (node.schemaname or "").lower() == "information_schema":
        first = stmt.token_index(stmt.position(node))
        start, end = stmt.span(first, first + 3)
        alias = "" if node.alias else " AS views"
        stmt.replace(start, end, f"{SCHEMA}.information_schema_views{alias}")
    else:
        _to_shadow(stmt, node, _PG_VIEWS)


_PG_VIEWS = frozenset({"pg_views"})


part.not_emulated(
    id="no-indexes-in-the-catalog",
    page="c_unsupported-postgresql-features",
    does="Redshift has no indexes: PG_CLASS lists none",
    gap="the indexes PostgreSQL keeps behind primary keys and unique constraints are in "
    "pg_class (relkind `i`), so a listing of every relation kind (redshift_connector's "
    "get_tables without types, psql's `\\di`) shows them",
)
