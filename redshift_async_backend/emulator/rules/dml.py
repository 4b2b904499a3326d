"""Queries, data manipulation, transactions and COPY (the guide's SELECT, INSERT, UPDATE,
DELETE, MERGE, COPY, BEGIN/COMMIT/ROLLBACK pages and "Serializable isolation")."""

from __future__ import annotations

from pglast import ast

from .declare import FULL, STYLE, Part
from .errors import RedshiftError, syntax_error
from .pipeline import Statement, walk

part = Part(
    "dml",
    "Queries, DML and transactions",
    "SELECT, INSERT, UPDATE, DELETE, COPY, transactions.",
    order=2,
)


@part.node(
    ast.InsertStmt,
    ast.UpdateStmt,
    ast.DeleteStmt,
    id="no-returning",
    page="r_INSERT_30",
    see=("r_UPDATE", "r_DELETE"),
    does="INSERT, UPDATE and DELETE have no RETURNING clause",
    fidelity=FULL,
    answer='42601 syntax error at or near "RETURNING"',
    source=STYLE,
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[returning]",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[returning]",
    ),
    words=("returning",),
)
def no_returning(stmt: Statement, node: ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt) -> None:
    if getattr(node, "returningList", None) or getattr(node, "returningClause", None):
        raise syntax_error("RETURNING", "Amazon Redshift has no RETURNING clause")


@part.node(
    ast.SelectStmt,
    id="no-select-for-update",
    page="r_SELECT_synopsis",
    does="SELECT has no locking clause (`FOR UPDATE`, `FOR SHARE`, ...): LOCK instead",
    fidelity=FULL,
    answer='42601 syntax error at or near "FOR"',
    source=STYLE,
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[for_update]",
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[for_share]",
        "tests/emulator/test_rules.py::test_refusals_are_cached_but_raised_each_time",
    ),
    words=("for",),
)
def no_select_for_update(stmt: Statement, node: ast.SelectStmt) -> None:
    if node.lockingClause:
        raise syntax_error("FOR", "Amazon Redshift has no SELECT ... FOR UPDATE/SHARE; use LOCK")


@part.node(
    ast.SelectStmt,
    id="no-distinct-on",
    page="r_SELECT_list",
    does="SELECT [ALL | DISTINCT]: no `DISTINCT ON`",
    fidelity=FULL,
    answer='42601 syntax error at or near "ON"',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[distinct_on]",),
    screen=r"distinct\s+on\b",
)
def no_distinct_on(stmt: Statement, node: ast.SelectStmt) -> None:
    if node.distinctClause and any(x is not None for x in node.distinctClause):
        raise syntax_error("ON", "Amazon Redshift has no SELECT DISTINCT ON")


@part.node(
    ast.InsertStmt,
    id="no-on-conflict",
    page="r_INSERT_30",
    does="No `INSERT ... ON CONFLICT`: MERGE instead",
    fidelity=FULL,
    answer='42601 syntax error at or near "ON"',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[on_conflict]",),
    words=("conflict",),
)
def no_on_conflict(stmt: Statement, node: ast.InsertStmt) -> None:
    if node.onConflictClause:
        raise syntax_error("ON", "Amazon Redshift has no INSERT ... ON CONFLICT; use MERGE")


# ---------------------------------------------------------------------------------------
# Transactions


@part.statement(
    "savepoint",
    "release",
    id="no-savepoints",
    page="c_unsupported-postgresql-functions",
    see=("c_SQL_commands",),
    does="No SAVEPOINT, RELEASE SAVEPOINT or ROLLBACK TO SAVEPOINT",
    fidelity=FULL,
    answer='42601 syntax error at or near "SAVEPOINT"',
    source=STYLE,
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[savepoint]",
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[release]",
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[rollback_to]",
    ),
)
def no_savepoints(stmt: Statement) -> None:
    raise syntax_error(stmt.tokens[0].text, "Amazon Redshift has no savepoints")


@part.statement(
    "rollback",
    id="no-rollback-to-savepoint",
    page="c_unsupported-postgresql-functions",
    does="No ROLLBACK TO SAVEPOINT",
    fidelity=FULL,
    answer='42601 syntax error at or near "TO"',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[rollback_to]",),
    words=("to",),
)
def no_rollback_to(stmt: Statement) -> None:
    if "to" in stmt.words[1:3]:
        raise syntax_error("TO", "Amazon Redshift has no ROLLBACK TO SAVEPOINT")


@part.statement(
    "set",
    id="no-set-constraints",
    page="c_unsupported-postgresql-features",
    does="No SET CONSTRAINTS: constraints are neither enforced nor deferred",
    fidelity=FULL,
    answer='42601 syntax error at or near "CONSTRAINTS"',
    source=STYLE,
    tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[set_constraints]",),
    words=("constraints",),
)
def no_set_constraints(stmt: Statement) -> None:
    if stmt.words[1:2] == ("constraints",):
        raise syntax_error(
            stmt.tokens[1].text, "Amazon Redshift does not enforce or defer constraints"
        )


@part.error(
    "40001",
    id="serialization-failures",
    page="c_serial_isolation",
    does="A conflict between concurrent transactions fails with Redshift's words: "
    "`could not complete because of conflict with concurrent transaction` (snapshot "
    "isolation) or `1023 ... Serializable isolation violation on table` (serializable)",
    fidelity=FULL,
    source="Redshift: aws/amazon-redshift-jdbc-driver#147; redshift-sql.md §4.2",
    tests=("tests/emulator/test_rules.py::test_translate_serialization_failures",),
)
def serialization_failures(fields: dict[str, str]) -> dict[str, str]:
    message = fields.get("M", "")
    out = {k: v for k, v in fields.items() if k not in ("D", "H")}
    if "concurrent update" in message or "concurrent delete" in message:
        # Redshift under snapshot isolation (aws/amazon-redshift-jdbc-driver#147).
        out.update(
            C="XX000", M="could not complete because of conflict with concurrent transaction"
        )
    else:
        # Redshift under serializable isolation (redshift-sql.md §4.2).
        out.update(
            C="XX000",
            M="1023",
            D="Serializable isolation violation on table - 0, transactions "
            "forming the cycle are: (pid:0)",
        )
    return out


part.rule(
    id="statements-up-to-16-mb",
    page="r_INSERT_30",
    see=("amazon-redshift-limits",),
    does="A statement is at most 16 MB",
    fidelity=FULL,
    gap="checked by the pipeline (pipeline.rewrite) before any rule",
    answer="54000 Statement is too large. Statement Size: <n> bytes. Maximum Allowed: "
    "16777216 bytes",
    source="Redshift",
    tests=("tests/emulator/test_sql_rules.py::test_statement_over_16_mb_is_refused",),
)


# ---------------------------------------------------------------------------------------
# INSERT VALUES


@part.node(
    ast.InsertStmt,
    kinds=("insert",),
    id="no-subqueries-in-multi-row-values",
    page="r_INSERT_30",
    see=("c_Examples_of_INSERT_30",),
    does="A multiple-row INSERT VALUES takes no subqueries (a single-row one takes scalar "
    "subqueries)",
    fidelity=FULL,
    answer="0A000 can't use subqueries in multi-row VALUES",
    source="Redshift: the guide's example (DG:c_Examples_of_INSERT_30)",
    tests=(
        "tests/emulator/test_ddl_rules.py::test_refused_like_redshift[multi_row_subquery]",
        "tests/emulator/test_ddl_rules.py::test_single_row_values_take_a_subquery",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[multi_row_subquery]",
    ),
    words=("select",),
)
def no_multi_row_subqueries(stmt: Statement, node: ast.InsertStmt) -> None:
    select = node.selectStmt
    rows = getattr(select, "valuesLists", None) if isinstance(select, ast.SelectStmt) else None
    if not rows or len(rows) < 2:
        return
    found: list[ast.SubLink] = []
    walk(rows, {ast.SubLink: [lambda _s, n: found.append(n)]}, stmt)
    if found:
        # Redshift: subqueries aren't supported in multiple-row INSERT VALUES
        # (DG:r_INSERT_30); its error, as the guide's example shows it.
        raise RedshiftError("can't use subqueries in multi-row VALUES", "0A000")


# ---------------------------------------------------------------------------------------
# COPY

_REMOTE = ("s3://", "emr://", "dynamodb://")


@part.statement(
    "copy",
    id="copy-reads-no-local-file",
    page="r_COPY",
    see=("copy-parameters-data-source-s3", "c_unsupported-postgresql-features"),
    does="COPY loads from Amazon S3, Amazon EMR, DynamoDB or remote hosts (SSH manifest): "
    "never from a file of the server's machine, STDIN or a program; there is no COPY TO "
    "(UNLOAD instead)",
    fidelity=FULL,
    answer="0A000 LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based "
    "load is allowed)",
    source=STYLE,
    tests=(
        "tests/emulator/test_ddl_rules.py::test_refused_like_redshift[copy_local_file]",
        "tests/emulator/test_ddl_rules.py::test_refused_like_redshift[copy_stdin]",
        "tests/emulator/test_ddl_rules.py::test_refused_like_redshift[copy_program]",
        "tests/emulator/test_ddl_rules.py::test_refused_like_redshift[copy_to]",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[copy_local]",
    ),
)
def copy_sources(stmt: Statement) -> None:
    toks = stmt.tokens
    depth, k = 0, 1
    while k < len(toks):
        depth += (toks[k].text == "(") - (toks[k].text == ")")
        if depth == 0 and toks[k].word in ("from", "to"):
            break
        k += 1
    if k >= len(toks) or toks[k].word == "to":
        # Redshift: COPY loads a table; UNLOAD writes query results (DG:r_COPY, DG:r_UNLOAD).
        raise syntax_error("TO", "Amazon Redshift has no COPY ... TO; use UNLOAD")
    source = toks[k + 1] if k + 1 < len(toks) else None
    value = source.text[1:-1].lower() if source and source.name == "SCONST" else ""
    if value.startswith(_REMOTE):
        raise RedshiftError(
            "COPY from Amazon S3, Amazon EMR or DynamoDB is not supported by the emulator",
            "0A000",
            hint="the emulator has no AWS access; load test data with INSERT",
        )
    # Redshift: COPY reads Amazon S3, EMR, DynamoDB or SSH hosts, not the server's files
    # (DG:r_COPY).
    raise RedshiftError(
        "LOAD source is not supported. (Hint: only S3 or DynamoDB or EMR based load is allowed)",
        "0A000",
    )


part.not_emulated(
    id="copy-from-amazon-s3",
    page="copy-parameters-data-source-s3",
    does="COPY loads files from Amazon S3 (and EMR, DynamoDB, SSH hosts)",
    gap="refused with 0A000: the emulator reaches no AWS service",
)
