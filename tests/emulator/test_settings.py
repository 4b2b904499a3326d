"""Session parameters (DG:cm_chap_ConfigurationRef, DG:r_SET, DG:r_RESET, DG:r_SHOW) and
what the ones rules follow do (DG:r_enable_case_sensitive_identifier,
DG:r_describe_field_name_in_uppercase), through the emulator with both drivers."""

from __future__ import annotations

import pytest

from redshift_async_backend.emulator.rules import RedshiftError, SessionState, rewrite

from .test_sql_rules import Db, db, t  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration


def _labels(db: Db, sql: str) -> list[str]:  # noqa: F811
    cur = db.conn.cursor()
    cur.execute(sql)
    cur.fetchall()
    return [d[0] for d in cur.description]


def test_redshift_parameters_set_show_reset(db: Db) -> None:  # noqa: F811
    # DG:r_query_group: the default is "default"; SET, SHOW, RESET.
    assert db.one("SHOW query_group") == "default"
    db.rows("SET query_group TO 'nightly load'")
    assert db.one("SHOW query_group") == "nightly load"
    db.rows("RESET query_group")
    assert db.one("SHOW query_group") == "default"
    db.rows("SET wlm_query_slot_count = 3")
    assert db.one("SHOW wlm_query_slot_count") == "3"
    db.rows("SET wlm_query_slot_count TO DEFAULT")
    assert db.one("SHOW wlm_query_slot_count") == "1"
    # A boolean answers on/off whatever spelling set it.
    db.rows("SET enable_result_cache_for_session TO false")
    assert db.one("SHOW enable_result_cache_for_session") == "off"
    assert _labels(db, "SHOW query_group") == ["query_group"]


def test_set_local_and_rollback_undo_a_parameter(db: Db) -> None:  # noqa: F811
    db.rows("BEGIN")
    db.rows("SET LOCAL query_group TO 'tx only'")
    assert db.one("SHOW query_group") == "tx only"
    db.rows("COMMIT")
    assert db.one("SHOW query_group") == "default"
    db.rows("BEGIN")
    db.rows("SET query_group TO 'rolled back'")
    db.rows("ROLLBACK")
    assert db.one("SHOW query_group") == "default"


def test_reset_all_resets_redshift_parameters(db: Db) -> None:  # noqa: F811
    db.rows("SET query_group TO 'x'")
    db.rows("SET describe_field_name_in_uppercase TO on")
    db.rows("RESET ALL")
    assert db.one("SHOW query_group") == "default"
    assert _labels(db, "SELECT 1 AS a") == ["a"]


def test_show_all_lists_redshift_parameters(db: Db) -> None:  # noqa: F811
    rows = dict(db.rows("SHOW ALL"))
    assert rows["query_group"] == "default"
    assert rows["enable_case_sensitive_identifier"] == "off"
    assert rows["describe_field_name_in_uppercase"] == "off"
    assert "statement_timeout" in rows and "search_path" in rows
    assert "work_mem" not in rows and "enable_seqscan" not in rows


def test_native_parameters_go_upstream(db: Db) -> None:  # noqa: F811
    db.rows("SET statement_timeout TO 5000")
    assert db.one("SHOW statement_timeout") == "5s"
    db.rows("RESET statement_timeout")
    assert db.one("SHOW server_version")  # reported at connect, so readable
    db.rows("SET app.user_name = 'cuddy'")  # a session context variable (DG:r_SET)
    assert db.one("SELECT current_setting('app.user_name')") == "cuddy"


SETTINGS_REFUSALS = [
    ("set_work_mem", "SET work_mem TO '64MB'", "42704", 'parameter "work_mem"'),
    ("show_work_mem", "SHOW work_mem", "42704", 'parameter "work_mem"'),
    ("reset_seqscan", "RESET enable_seqscan", "42704", 'parameter "enable_seqscan"'),
    ("set_typo", "SET query_grup TO 'x'", "42704", 'parameter "query_grup"'),
    (
        "bad_boolean",
        "SET enable_case_sensitive_identifier TO maybe",
        "22023",
        'invalid value for parameter "enable_case_sensitive_identifier"',
    ),
]


@pytest.mark.parametrize(("sql", "sqlstate", "text"), [r[1:] for r in SETTINGS_REFUSALS],
                         ids=[r[0] for r in SETTINGS_REFUSALS])  # fmt: skip
def test_refused_like_redshift(db: Db, sql: str, sqlstate: str, text: str) -> None:  # noqa: F811
    code, message = db.error(sql)
    assert (code, text in message) == (sqlstate, True), message


def test_quoted_names_fold_unless_case_sensitive(db: Db, t: str) -> None:  # noqa: F811
    # DG:r_enable_case_sensitive_identifier's examples: off, "MixedCase" is mixedcase.
    db.rows(f'CREATE TABLE "{t.upper()}" ("MixedCol" INT)')
    assert db.error(f"CREATE TABLE {t} (mixedcol INT)")[0] == "42P07"  # already exists
    db.rows(f'INSERT INTO {t} ("MIXEDCOL") VALUES (1)')
    assert db.one(f'SELECT "mixedCOL" FROM "{t.upper()}"') == 1
    assert _labels(db, f'SELECT "MixedCol" AS "Label" FROM {t}') == ["label"]
    db.rows("SET enable_case_sensitive_identifier TO true")
    try:
        assert _labels(db, f'SELECT mixedcol AS "Label" FROM {t}') == ["Label"]
        db.rows(f'CREATE TABLE "{t}_Case" ("Col" INT)')
        assert db.error(f'SELECT "col" FROM "{t}_Case"')[0] == "42703"
        db.rows(f'DROP TABLE "{t}_Case"')
    finally:
        db.rows("RESET enable_case_sensitive_identifier")
    assert _labels(db, f'SELECT mixedcol AS "Label" FROM {t}') == ["label"]


def test_describe_field_name_in_uppercase(db: Db, t: str) -> None:  # noqa: F811
    db.rows(f"CREATE TABLE {t} (id INT, name VARCHAR(10))")
    db.rows(f"INSERT INTO {t} VALUES (1, 'x')")
    db.rows("SET describe_field_name_in_uppercase TO on")
    try:
        assert _labels(db, f"SELECT id, name, 1 AS n FROM {t}") == ["ID", "NAME", "N"]
        assert db.rows(f"SELECT name FROM {t}") == [("x",)]  # the values are untouched
    finally:
        db.rows("SET describe_field_name_in_uppercase TO off")
    assert _labels(db, f"SELECT id FROM {t}") == ["id"]
    # Redshift keeps the names in lower case whatever the setting.
    assert db.rows(f"SELECT attname FROM pg_attribute WHERE attrelid = '{t}'::regclass "
                   "AND attnum = 1") == [("id",)]  # fmt: skip


# --- without a server ---------------------------------------------------------------


@pytest.mark.unit
def test_set_records_only_what_rules_follow() -> None:
    state = SessionState()
    rewrite("SET query_group TO 'a'", state)
    assert state.settings == ()
    assert rewrite("SET enable_case_sensitive_identifier TO true", state).tag == "SET"
    assert state.setting("enable_case_sensitive_identifier") == "on"
    rewrite("RESET ALL", state)
    assert state.settings == ()
    with pytest.raises(RedshiftError):
        rewrite("SET enable_nestloop TO off", state)
