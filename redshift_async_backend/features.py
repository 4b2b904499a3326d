"""Feature flags: what Redshift can do, from redshift-sql.md §7 (AWS doc pages cited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DataError
from django.db.backends.postgresql.features import DatabaseFeatures as PGDatabaseFeatures
from django.utils.functional import cached_property

from .compiler import NUL_REFUSED

if TYPE_CHECKING:
    from .base import DatabaseWrapper


class DatabaseFeatures(PGDatabaseFeatures):
    connection: DatabaseWrapper

    # Every Redshift release; it reports PostgreSQL 8.0.2 (DG:r_VERSION).
    minimum_database_version = None

    # Transactions: BEGIN/COMMIT/ROLLBACK, but no SAVEPOINT (DG:c_unsupported-postgresql-
    # functions). Django's TestCase gets replayed savepoints for its own blocks (isolation.py).
    supports_transactions = True
    uses_savepoints = False
    can_release_savepoints = False
    atomic_transactions = True
    # ALTER COLUMN TYPE and TRUNCATE cannot be rolled back (DG:r_ALTER_TABLE, DG:r_TRUNCATE);
    # the schema editor makes those statements non-atomic itself.
    can_rollback_ddl = True
    supports_combined_alters = False

    # No RETURNING (DG:r_INSERT_30): the pk comes from the LOCK/MAX allocation in
    # compiler.py, which also returns bulk_create pks in "lock" mode (see below).
    can_return_columns_from_insert = False

    # No SELECT ... FOR UPDATE (DG:r_SELECT_synopsis): compiler.py takes LOCK instead.
    has_select_for_update = False
    has_select_for_update_nowait = False
    has_select_for_update_of = False
    has_select_for_update_skip_locked = False
    has_select_for_no_key_update = False

    supports_sequence_reset = False
    supports_foreign_keys = True
    can_create_inline_fk = False
    # Constraints are informational only, nothing is deferrable (DG:t_Defining_constraints).
    can_defer_constraint_checks = False
    supports_deferrable_unique_constraints = False
    supports_column_check_constraints = False
    supports_table_check_constraints = False
    can_introspect_check_constraints = False
    supports_nulls_distinct_unique_constraints = False

    # No indexes at all (DG:c_unsupported-postgresql-features).
    supports_partial_indexes = False
    supports_expression_indexes = False
    supports_covering_indexes = False
    supports_functions_in_partial_indexes = False
    supports_index_column_ordering = False
    supports_index_on_text_field = False
    indexes_foreign_keys = False
    can_rename_index = False

    # No ON CONFLICT (DG:r_INSERT_30): ignore_conflicts / update_conflicts read the existing
    # unique values under the table lock and insert or update accordingly (conflicts.py).
    supports_ignore_conflicts = True
    supports_update_conflicts = True
    supports_update_conflicts_with_target = True

    # Types (DG:c_Supported_data_types). UUIDs are bound as their 36-character text and
    # converted back, so Django may hand UUID objects to the driver.
    has_native_uuid_field = True
    has_native_duration_field = False
    supports_temporal_subtraction = True  # DATEDIFF(microsecond, ...) in operations.py
    supports_json_field = True  # SUPER + JSON_PARSE
    has_native_json_field = False
    has_json_operators = False
    supports_json_field_contains = False
    can_introspect_json_field = True
    has_json_object_function = False
    supports_primitives_in_json_field = True
    supports_unlimited_charfield = False
    has_real_datatype = True
    supports_timezones = True
    has_zoneinfo_database = True
    # Text with a NUL is refused before it is sent, naming the field, on both drivers
    # (compiler.raise_nul).
    prohibits_null_characters_in_text_exception = (DataError, NUL_REFUSED)

    # Queries (redshift-sql.md §5.2).
    can_distinct_on_fields = False
    supports_over_clause = True
    supports_frame_range_fixed_distance = False
    supports_frame_exclusion = False
    supports_aggregate_filter_clause = False
    supports_tuple_lookups = False
    supports_slicing_ordering_in_compound = False
    supports_select_intersection = True
    supports_select_difference = True
    allows_group_by_selected_pks = False
    allows_group_by_select_index = True
    nulls_order_largest = True
    supports_order_by_nulls_modifier = True
    greatest_least_ignores_nulls = True
    has_case_insensitive_like = False
    supports_regex_backreferencing = True
    # Redshift columns take COLLATE CASE_SENSITIVE | CASE_INSENSITIVE (DG:r_CREATE_TABLE_NEW);
    # schema.py maps those names and refuses others.
    supports_collation_on_charfield = True
    supports_collation_on_textfield = True
    test_collations = {
        "ci": "case_insensitive",
        "cs": "case_sensitive",
        "non_default": "case_insensitive",
        "swedish_ci": None,
        "virtual": "case_insensitive",
    }
    supports_non_deterministic_collations = False
    supports_comments = True
    supports_comments_inline = False
    supports_tablespaces = False
    supports_stored_generated_columns = False
    supports_virtual_generated_columns = False
    supports_default_keyword_in_insert = True
    supports_default_keyword_in_bulk_insert = True
    # DEFAULT takes any variable-free expression without subqueries or user-defined
    # functions (DG:r_CREATE_TABLE_NEW): db_default=Now() is DEFAULT (GETDATE()).
    supports_expression_defaults = True
    supports_logical_xor = False
    supports_boolean_expr_in_select_clause = True
    # Client-side binding has no parameter ceiling, but keep batches within the 32,767
    # parameters of the extended protocol (redshift-sql.md §5.1).
    max_query_params: int = 32767
    truncates_names = True
    ignores_table_name_case = True
    supports_paramstyle_pyformat = True
    can_clone_databases = False
    can_introspect_materialized_views = False
    test_db_allows_multiple_connections = True
    schema_editor_uses_clientside_param_binding = True
    supported_explain_formats: set[str] = set()
    # Reads go through ordinary cursors (base.py chunked_cursor).
    can_use_chunked_reads = True

    # Pinned so compiling a query never needs a round trip (Redshift says 8.0.2).
    is_postgresql_15 = False
    is_postgresql_16 = False
    is_postgresql_17 = False

    @property
    def test_now_utc_template(self) -> str:  # type: ignore[override]
        # GETDATE() is the time in the session's zone (DG:r_GETDATE); CONVERT_TIMEZONE
        # (source, target, timestamp) moves it to UTC (DG:CONVERT_TIMEZONE).
        zone = self.connection.timezone_name
        if zone in (None, "UTC"):
            return "GETDATE()"
        return "CONVERT_TIMEZONE('{}', 'UTC', GETDATE())".format(zone.replace("'", "''"))

    insert_test_table_with_defaults = "INSERT INTO {} DEFAULT VALUES"

    @cached_property
    def can_return_rows_from_bulk_insert(self) -> bool:  # type: ignore[override]
        # In "lock" mode every auto pk is allocated by the backend, so it knows them.
        return self.connection.redshift_options.last_insert_id == "lock"

    @cached_property
    def uses_server_side_binding(self) -> bool:
        return False

    # Django's own test suite (scripts/django_suite.py, docs/compatibility.md): tests that
    # cannot pass on Redshift, by the Redshift rule that stops them. Names are dotted test
    # paths; Django raises for a name its version lacks, so version-specific ones go in
    # _SUITE_*_BY_VERSION.
    @cached_property
    def django_test_skips(self) -> dict[str, set[str]]:  # type: ignore[override]
        return _for_this_django(_SUITE_SKIPS)

    @cached_property
    def django_test_expected_failures(self) -> set[str]:  # type: ignore[override]
        failures = set().union(*_for_this_django(_SUITE_EXPECTED_FAILURES).values())
        if self.connection.driver.binds_server_side:
            failures |= _SERVER_SIDE_BINDING_FAILURES
        return failures

    @cached_property
    def introspected_field_types(self) -> dict[str, str]:  # type: ignore[override]
        return {
            **super().introspected_field_types,
            "AutoField": "AutoField",
            "SmallAutoField": "AutoField",
            "DurationField": "BigIntegerField",
            "GenericIPAddressField": "CharField",
            "UUIDField": "CharField",
        }


# -- Django's test suite ------------------------------------------------------------------

# redshift_connector binds server-side (extended protocol, $n placeholders; Redshift allows
# up to 32,767, DG:amazon-redshift-limits): the same value bound in SELECT and in GROUP BY is
# two different parameters, so the server cannot tell the GROUP BY expression covers the
# selected one (Django ticket #34255; Django's PostgreSQL backend lists this test as an
# expected failure with server-side binding too).
_SERVER_SIDE_BINDING_FAILURES = {
    "aggregation.tests.AggregateTestCase.test_group_by_nested_expression_with_params",
}

NO_SAVEPOINTS = (
    "Redshift has no SAVEPOINT (DG:c_unsupported-postgresql-functions): an error caught "
    "inside an atomic() block nested in another block of the code's own leaves the enclosing "
    "block unusable (TestCase's own blocks, and a test's first block, get replayed "
    "savepoints; deeper ones get none, as in production)."
)
NO_CHECK = "Redshift has no CHECK constraints (DG:r_CREATE_TABLE_NEW)."
FK_NOT_ENFORCED = (
    "Redshift does not enforce FOREIGN KEY constraints; they are informational "
    "(DG:t_Defining_constraints)."
)
GETDATE_SECONDS = (
    "Now() is GETDATE(), which has no fractional seconds (DG:r_GETDATE); NOW() and "
    "CURRENT_TIMESTAMP are leader-node only (DG:Date_functions_header)."
)
NO_JSON_ARRAY = (
    "Redshift has no JSON_ARRAY() constructor (DG:json-functions); SUPER arrays come from "
    "JSON_PARSE."
)

JSON_NULL_IS_MISSING = (
    "JSON_EXTRACT_PATH_TEXT returns NULL both for a missing key and for a key holding JSON "
    "null (DG:JSON_EXTRACT_PATH_TEXT), so has_key, key__isnull and key=None cannot tell them "
    "apart. (SUPER navigation with JSON_TYPEOF could, DG:r_json_typeof, but it folds the "
    "case of keys unless enable_case_sensitive_identifier is on: not used yet.)"
)
JSON_TEXT_ORDER = (
    "Key transforms read JSON_EXTRACT_PATH_TEXT's VARCHAR (DG:JSON_EXTRACT_PATH_TEXT), so "
    "ordering by a key compares text, as Django expects on MariaDB and Oracle."
)
JSON_KEY_BOUND = (
    "JSON_EXTRACT_PATH_TEXT takes each key as its own bound argument "
    "(DG:JSON_EXTRACT_PATH_TEXT): there is no JSON path string whose escaping the test "
    "could find; the key is a parameter, so it cannot inject."
)

NO_INDEXES = (
    "Redshift has no indexes (DG:c_unsupported-postgresql-features): db_index, "
    "index_together and Meta.indexes create nothing, so a test that looks for the index "
    "by introspection fails."
)
ADD_NOT_NULL = (
    "Redshift's ALTER TABLE ADD COLUMN ... NOT NULL needs a non-null DEFAULT "
    "(DG:r_ALTER_TABLE); the schema editor refuses a NOT NULL field without a default on a "
    "table with rows (NotSupportedError) rather than invent values (an empty table is "
    "rebuilt with the column)."
)
ADD_IDENTITY = "Redshift's ALTER TABLE ADD COLUMN cannot add an IDENTITY column (DG:r_ALTER_TABLE)."
ALTER_TYPE_RESTRICTED = (
    "Redshift's ALTER COLUMN ... TYPE only resizes a VARCHAR, not inside a transaction block "
    "and not on a column in a UNIQUE, PRIMARY KEY or FOREIGN KEY constraint "
    "(DG:r_ALTER_TABLE): the schema editor drops the constraint and rebuilds the column, "
    "so a test counting one ALTER statement sees several."
)
PK_ALLOCATED = (
    "Redshift has no INSERT ... RETURNING (DG:r_INSERT_30): the backend allocates an "
    "AutoField's value itself (LOCK + MAX, last_insert_id='lock'), so an insert through a "
    "model whose AutoField the database no longer has an IDENTITY for still succeeds."
)
PK_ROUND_TRIP = (
    "Redshift has no INSERT ... RETURNING (DG:r_INSERT_30): in last_insert_id='lock' mode an "
    "insert of several rows whose AutoField values the backend must return first takes the "
    "table lock and moves the table's pk high-water mark (LOCK, DG:r_LOCK), and the first "
    "insert into a table on a connection reads the pk column's kind: one statement more than "
    "the test counts."
)
UNIQUE_NOT_ENFORCED = (
    "Redshift does not enforce PRIMARY KEY or UNIQUE constraints; they are informational "
    "(DG:t_Defining_constraints): the duplicate row is inserted and no IntegrityError comes, "
    "on Redshift as on the emulator."
)
CONFLICTS_UNDER_LOCK = (
    "Redshift has no INSERT ... ON CONFLICT (DG:r_INSERT_30): ignore_conflicts takes the "
    "table lock (DG:r_LOCK), reads the keys already there and inserts the rest: three "
    "statements where the test counts one."
)
NAMES_FOLD = (
    "Redshift folds names to lower case, quoted ones too, unless "
    "enable_case_sensitive_identifier is on (DG:r_names): a column renamed only in case "
    "keeps its name, and a table named in capitals (db_table = 'INTEGERPK') is stored as "
    "integerpk, and a result's column labels are lower case, where the test looks for the "
    "name as written (the backend's check W004 warns of such names)."
)
LENGTHS_IN_BYTES = (
    "Redshift's VARCHAR(n) holds n bytes, not characters (DG:r_Character_types): with "
    "varchar_bytes_per_char unset (1) a SlugField(allow_unicode=True) of max_length "
    "multi-byte characters does not fit its column (value too long for type character "
    "varying), where the test expects max_length characters to be stored."
)
WINDOW_ROWS_ONLY = (
    "Redshift window frames are ROWS only (DG:r_Window_function_synopsis): the backend "
    "writes ValueRange(None, None) as the same frame in ROWS (BETWEEN UNBOUNDED PRECEDING "
    "AND UNBOUNDED FOLLOWING), so the test's search for the RANGE text fails; its rows match."
)
NO_UUID_TYPE = (
    "Redshift has no UUID type (DG:c_Supported_data_types): a UUIDField is a VARCHAR(36), "
    "which the catalog cannot tell from any other, so inspectdb writes "
    "CharField(max_length=36); the test expects UUIDField() (has_native_uuid_field, True "
    "here because UUIDs are bound as their text) or CharField(max_length=32)."
)
NO_DROP_DEFAULT = (
    "Redshift's ALTER TABLE has no ALTER COLUMN ... DROP DEFAULT (DG:r_ALTER_TABLE): the "
    "default used to fill a new column stays on it."
)

CACHE_TABLE_INDEX = (
    "Redshift has no CREATE INDEX (DG:c_unsupported-postgresql-features): createcachetable "
    "creates the database cache's table with an index on its expires column, so the table "
    "cannot be made and the database cache backend cannot be used."
)
COLLATIONS = (
    "Redshift columns take COLLATE case_sensitive or case_insensitive only "
    "(DG:r_CREATE_TABLE_NEW): the backend's system check refuses any other db_collation, "
    "where the test expects a made-up one to pass the checks."
)
INDEX_WARNINGS = (
    "Redshift has no indexes at all (DG:c_unsupported-postgresql-features): the backend's "
    "checks say so for the models' declared indexes, not with Django's per-field W162 for "
    "an index on a TextField that the test expects."
)
SERIALIZABLE = (
    "Redshift runs every transaction SERIALIZABLE (DG:c_serial_isolation): a DELETE of rows "
    "another open transaction has read fails with a serialization error (Redshift's ERROR "
    "1023), where the test expects the delete to wait and succeed."
)
UNORDERED = (
    "Without ORDER BY, Redshift returns rows in no defined order (DG:r_ORDER_BY_clause): "
    "the test compares two unordered results, in_bulk()'s batches against a values_list()."
)
# Expected failures: the test runs and fails for the reason given.
LEADER_NODE_ONLY = (
    "The test's own SQL calls a leader-node-only function (CURRENT_TIMESTAMP, SUBSTR) in a "
    "query on a user table, which Redshift refuses (DG:c_SQL_functions_leader_node_only)."
)
_SUITE_EXPECTED_FAILURES: dict[str, set[str]] = {
    LEADER_NODE_ONLY: {
        "aggregation.tests.AggregateTestCase.test_coalesced_empty_result_set",
        "custom_lookups.tests.BilateralTransformTests.test_transform_order_by",
    },
    JSON_NULL_IS_MISSING: {
        f"model_fields.test_jsonfield.TestQuerying.{name}"
        for name in (
            "test_has_key_null_value",
            "test_isnull_key",
            "test_none_key",
            "test_none_key_and_exact_lookup",
        )
    },
    JSON_TEXT_ORDER: {"model_fields.test_jsonfield.TestQuerying.test_ordering_by_transform"},
    NO_CHECK: {
        "model_fields.test_integerfield.PositiveIntegerFieldTests.test_negative_values",
    },
    FK_NOT_ENFORCED: {
        "fixtures_regress.tests.TestFixtures."
        "test_loaddata_raises_error_when_fixture_has_invalid_foreign_key",
        "model_fields.test_uuid.TestAsPrimaryKeyTransactionTests.test_unsaved_fk",
        "schema.tests.SchemaTests.test_fk",
    },
    NO_INDEXES: {
        "indexes.tests.CoveringIndexIgnoredTests.test_covering_ignored",
        "indexes.tests.PartialIndexConditionIgnoredTests.test_condition_ignored",
        "indexes.tests.SchemaIndexesTests.test_columns_list_sql",
        "indexes.tests.SchemaIndexesTests.test_quoted_index_name",
        *(
            f"schema.tests.SchemaTests.{name}"
            for name in (
                "test_add_remove_index",
                "test_alter_field_add_index_to_integerfield",
                "test_alter_field_o2o_to_fk",
                "test_composed_desc_index_with_fk",
                "test_composed_index_with_fk",
                "test_indexes",
                "test_remove_db_index_doesnt_remove_custom_indexes",
            )
        ),
        *(
            f"migrations.test_operations.OperationTests.{name}"
            for name in (
                "test_add_index",
                "test_alter_field_with_index",
                "test_remove_index",
                "test_rename_index",
                "test_rename_index_unnamed_index",
                # RenameIndex(old_fields=...) finds no index and renames nothing, so the
                # ValueError for an unknown one does not come.
                "test_rename_index_unknown_unnamed_index",
            )
        ),
        "introspection.tests.IntrospectionTests.test_get_constraints",
        "introspection.tests.IntrospectionTests.test_get_constraints_index_types",
    },
    ADD_NOT_NULL: {
        "schema.tests.SchemaTests.test_remove_constraints_capital_letters",
        "migrations.test_commands.MigrateTests.test_migrate_fake_initial_case_insensitive",
    },
    ALTER_TYPE_RESTRICTED: {
        "schema.tests.SchemaTests.test_unique_no_unnecessary_fk_drops",
        "schema.tests.SchemaTests.test_unique_and_reverse_m2m",
    },
    PK_ALLOCATED: {"schema.tests.SchemaTests.test_alter_auto_field_to_integer_field"},
    PK_ROUND_TRIP: {
        *(f"admin_utils.test_logentry.LogEntryTests.{name}" for name in ("test_log_actions",)),
        "modeladmin.tests.ModelAdminTests.test_log_deletions",
        "auth_tests.test_management.CreatePermissionsMultipleDatabasesTests."
        "test_set_permissions_fk_to_using_parameter",
        # The first insert with an explicit pk also asks whether the pk column takes
        # values (an IDENTITY column does not, DG:r_CREATE_TABLE_NEW).
        "model_formsets_regress.tests.FormsetTests.test_extraneous_query_is_not_run",
        "backends.base.test_base.DatabaseWrapperLoggingTests.test_commit_debug_log",
        *(
            f"bulk_create.tests.BulkCreateTests.{name}"
            for name in (
                "test_efficiency",
                "test_explicit_batch_size_efficiency",
                "test_explicit_batch_size_respects_max_batch_size",
                "test_set_pk_and_query_efficiency",
            )
        ),
    },
    WINDOW_ROWS_ONLY: {"expressions_window.tests.WindowFunctionTests.test_range_unbound"},
    NO_UUID_TYPE: {"inspectdb.tests.InspectDBTestCase.test_field_types"},
    ADD_IDENTITY: {"schema.tests.SchemaTests.test_add_auto_field"},
    NO_DROP_DEFAULT: {"schema.tests.SchemaTests.test_add_field_default_dropped"},
    GETDATE_SECONDS: {
        "db_functions.datetime.test_now.NowTests.test_microseconds",
    },
    COLLATIONS: {
        f"invalid_models_tests.test_ordinary_fields.{cls}.{name}"
        for cls in ("CharFieldTests", "TextFieldTests")
        for name in ("test_db_collation", "test_db_collation_required_db_features")
    },
    INDEX_WARNINGS: {
        "invalid_models_tests.test_ordinary_fields.TextFieldTests.test_max_length_warning"
    },
    SERIALIZABLE: {"delete_regress.tests.DeleteLockingTest.test_concurrent_delete"},
    UNORDERED: {"composite_pk.tests.CompositePKTests.test_in_bulk_batching"},
    LENGTHS_IN_BYTES: {
        "model_fields.test_slugfield.SlugFieldTests.test_slugfield_unicode_max_length"
    },
    CONFLICTS_UNDER_LOCK: {"many_to_many.tests.ManyToManyTests.test_fast_add_ignore_conflicts"},
    NAMES_FOLD: {
        "inspectdb.tests.InspectDBTestCase.test_special_column_name_introspection",
        "raw_query.tests.RawQueryTests.test_pk_with_mixed_case_db_column",
        "migrations.test_operations.OperationTests.test_rename_field_case",
        "schema.tests.SchemaTests.test_alter_int_pk_to_autofield_pk",
        "schema.tests.SchemaTests.test_alter_int_pk_to_bigautofield_pk",
    },
    UNIQUE_NOT_ENFORCED: {
        # The duplicate the test expects to be refused goes in (the emulator's keys are
        # informational since #17).
        *(
            f"schema.tests.SchemaTests.{name}"
            for name in (
                "test_unique",
                "test_unique_together",
                "test_alter_fk_to_o2o",
                "test_alter_o2o_to_fk",
                "test_alter_int_pk_to_int_unique",
            )
        ),
        "migrations.test_operations.OperationTests.test_alter_unique_together",
        "migrations.test_operations.OperationTests.test_rename_field_unique_together",
        "model_fields.test_filefield.FileFieldTests.test_unique_when_same_filename",
        # A duplicate primary key or unique value the test expects to be refused goes in.
        "get_or_create.tests.UpdateOrCreateTests.test_manual_primary_key_test",
        "get_or_create.tests.UpdateOrCreateTestsWithManualPKs."
        "test_create_with_duplicate_primary_key",
        "contenttypes_tests.test_operations.ContentTypeOperationsTests."
        "test_content_type_rename_conflict",
        "auth_tests.test_migrations.ProxyModelWithSameAppLabelTests."
        "test_migrate_with_existing_target_permission",
        "auth_tests.test_basic.BasicTestCase.test_unicode_username",
        "constraints.tests.UniqueConstraintTests.test_database_constraint",
        "custom_pk.tests.CustomPKTests.test_unique_pk",
        "force_insert_update.tests.ForceTests.test_force_update",
        "get_or_create.tests.GetOrCreateTestsWithManualPKs.test_create_with_duplicate_primary_key",
        "get_or_create.tests.GetOrCreateTestsWithManualPKs.test_savepoint_rollback",
        "get_or_create.tests.GetOrCreateThroughManyToMany.test_something",
        "one_to_one.tests.OneToOneTests.test_multiple_o2o",
        "queries.test_bulk_update.BulkUpdateTests.test_database_routing_batch_atomicity",
        "transactions.tests.NonAutocommitTests.test_orm_query_after_error_and_rollback",
        # test_content_type_rename_conflict (above) fails before it migrates back to zero,
        # so this test finds contenttypes_tests' migrations applied and renames nothing.
        "contenttypes_tests.test_operations.ContentTypeOperationsTests."
        "test_existing_content_type_rename",
        # Its last step: a plain bulk_create of rows that exist, which Redshift inserts.
        "bulk_create.tests.BulkCreateTests.test_ignore_conflicts_ignore",
    },
    # update_or_create() runs get_or_create() inside its own atomic block: the
    # IntegrityError is caught in a nested block, which has no savepoint. And a
    # transaction of the test's own with blocks nested in it (TransactionTestCase).
    NO_SAVEPOINTS: {
        "get_or_create.tests.UpdateOrCreateTests.test_integrity",
        *(
            f"transaction_hooks.tests.TestConnectionOnCommit.{name}"
            for name in (
                "test_discards_hooks_from_rolled_back_savepoint",
                "test_inner_savepoint_does_not_affect_outer",
                "test_inner_savepoint_rolled_back_with_outer",
            )
        ),
    },
}
# Skips: the test cannot run at all.
LONG_NAMES_LISTED_SHORT = (
    "Redshift names hold 127 bytes (DG:r_names), PostgreSQL's 63: the emulator keeps a longer "
    "name under a shortened one upstream, which the catalog lists (a documented gap of the "
    "emulator, docs/emulator-sql.md). run_syncdb then misses backends' VeryLongModelName "
    "table, made earlier in the same run, and creates it again; alone, the test passes."
)
_SUITE_SKIPS: dict[str, set[str]] = {
    LONG_NAMES_LISTED_SHORT: {
        "proxy_model_inheritance.tests.ProxyModelInheritanceTests.test_table_exists"
    },
    JSON_KEY_BOUND: {"model_fields.test_jsonfield.TestQuerying.test_key_sql_injection_escape"},
    CACHE_TABLE_INDEX: {
        # Whole classes: each test creates the cache table first. Their module is loaded
        # whenever the cache app runs.
        "cache.tests.DBCacheTests",
        "cache.tests.DBCacheWithTimeZoneTests",
        "cache.tests.CreateCacheTableForDBCacheTests",
    },
}
# {(major, minor) of Django: {reason: names}} for names that exist in one version only.
_SUITE_EXPECTED_FAILURES_BY_VERSION: dict[tuple[int, int], dict[str, set[str]]] = {
    (5, 2): {
        UNIQUE_NOT_ENFORCED: {
            "composite_pk.test_create.CompositePKCreateTests.test_save_default_pk_set",
            "composite_pk.tests.CompositePKTests.test_error_on_comment_pk_conflict",
            "composite_pk.tests.CompositePKTests.test_error_on_user_pk_conflict",
            "force_insert_update.tests.ForceInsertInheritanceTests.test_force_insert_diamond_mti",
            "force_insert_update.tests.ForceInsertInheritanceTests."
            "test_force_insert_with_existing_grandparent",
        },
        NO_INDEXES: {
            "schema.tests.SchemaTests.test_index_together",
            "migrations.test_operations.OperationTests.test_alter_index_together",
            "migrations.test_operations.OperationTests."
            "test_alter_index_together_remove_with_unique_together",
            "migrations.test_operations.OperationTests.test_rename_field_index_together",
            "migrations.test_operations.OperationTests."
            "test_rename_index_unnamed_index_with_unique_index",
        },
    },
    (4, 2): {
        NO_INDEXES: {
            "schema.tests.SchemaTests.test_index_together",
            "schema.tests.SchemaTests.test_create_index_together",
            "schema.tests.SchemaTests.test_remove_index_together_does_not_remove_meta_indexes",
            "migrations.test_operations.OperationTests.test_alter_index_together",
            "migrations.test_operations.OperationTests."
            "test_alter_index_together_remove_with_unique_together",
            "migrations.test_operations.OperationTests.test_rename_field_index_together",
        },
    },
}
# Methods or classes of a module the app's tests import (Django imports the class's module by
# attribute access, which fails for a module no test of the run loaded).
_SUITE_SKIPS_BY_VERSION: dict[tuple[int, int], dict[str, set[str]]] = {
    (5, 2): {
        NO_JSON_ARRAY: {
            f"db_functions.json.test_json_array.JSONArrayTests.{name}"
            for name in (
                *("test_empty", "test_basic", "test_expressions", "test_nested_json_array"),
                *("test_nested_empty_json_array", "test_textfield", "test_explicit_cast"),
                *("test_order_by_key", "test_order_by_nested_key"),
            )
        },
    },
}
_BY_VERSION = {
    id(_SUITE_EXPECTED_FAILURES): _SUITE_EXPECTED_FAILURES_BY_VERSION,
    id(_SUITE_SKIPS): _SUITE_SKIPS_BY_VERSION,
}


def _for_this_django(common: dict[str, set[str]]) -> dict[str, set[str]]:
    """The common names plus those of the running Django's (major, minor)."""
    import django

    merged = {reason: set(names) for reason, names in common.items()}
    extra = _BY_VERSION[id(common)].get(django.VERSION[:2], {})
    for reason, names in extra.items():
        merged.setdefault(reason, set()).update(names)
    return merged
