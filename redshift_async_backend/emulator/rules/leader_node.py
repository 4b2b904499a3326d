"""Leader-node-only functions (DG:c_SQL_functions_leader_node_only): they run in a query
that reads no table or only catalog tables, and fail in a query that reads a user table.

A name added to :data:`LEADER_NODE_ONLY` (a function call) or :data:`_VALUE_FUNCTIONS`
(the SQL keywords that PostgreSQL parses as SQLValueFunction) is refused in a query that
also reads a user table. Facts are gathered while the tree is walked (``stmt.facts``) and
decided in ``stmt.at_end``: a CTE's name is not a user table.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import SQLValueFunctionOp

from .declare import PARTLY
from .errors import RedshiftError
from .functions import part
from .pipeline import Statement

# Redshift: DG:c_SQL_functions_leader_node_only: the system information functions, SUBSTR,
# FACTORIAL and LOG, and the deprecated date functions (AGE, NOW, ISFINITE; CURRENT_TIME,
# CURRENT_TIMESTAMP and LOCALTIME are keywords, below); GENERATE_SERIES runs on the leader
# node only (DG:c_unsupported-postgresql-functions); VERSION (DG:r_VERSION) and the catalog
# functions read the leader's catalog.
LEADER_NODE_ONLY = frozenset(
    {
        "current_schema", "current_schemas", "has_database_privilege", "has_schema_privilege",
        "has_table_privilege", "substr", "factorial", "log", "age", "now", "isfinite",
        "generate_series", "version", "format_type", "pg_get_viewdef", "pg_get_constraintdef",
        "pg_get_expr", "pg_get_indexdef", "pg_get_userbyid", "pg_table_is_visible",
        "obj_description", "col_description", "pg_get_late_binding_view_cols",
    }
)  # fmt: skip
_VALUE_FUNCTIONS = {
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP: "current_timestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME: "current_time",
    SQLValueFunctionOp.SVFOP_CURRENT_TIME_N: "current_time",
    SQLValueFunctionOp.SVFOP_LOCALTIME: "localtime",
    SQLValueFunctionOp.SVFOP_LOCALTIME_N: "localtime",
    SQLValueFunctionOp.SVFOP_CURRENT_SCHEMA: "current_schema",
}
# Catalog tables and Redshift's system tables and views, which the emulator keeps on the
# leader (its own views over PostgreSQL's catalog).
_CATALOG_PREFIXES = ("pg_", "stv_", "svv_", "stl_", "svl_", "information_schema")
_T = "tests/emulator/test_functions_rules.py"


@part.node(
    ast.FuncCall,
    ast.SQLValueFunction,
    ast.RangeVar,
    ast.CommonTableExpr,
    kinds=("select", "with", "insert", "update", "delete", "merge"),
    id="leader-node-only-functions",
    page="c_SQL_functions_leader_node_only",
    see=("c_sql-functions-leader-node", "c_unsupported-postgresql-functions", "r_VERSION"),
    does="A leader-node-only function (CURRENT_SCHEMA(S), HAS_*_PRIVILEGE, SUBSTR, FACTORIAL, "
    "LOG, NOW, AGE, ISFINITE, CURRENT_TIME(STAMP), LOCALTIME, GENERATE_SERIES, VERSION, "
    "catalog functions) in a query that reads a user table fails; without user tables it runs",
    fidelity=PARTLY,
    gap="Redshift's INFO message naming each function is a hint; the system tables and views "
    "(STL, STV, SVL, SVV) count as catalog tables",
    answer="0A000 Specified types or functions (one per INFO message) not supported on "
    "Redshift tables.",
    source="Redshift",
    tests=(
        "tests/emulator/test_sql_rules.py::test_refused_like_redshift[generate_series]",
        "tests/emulator/test_sql_rules.py::test_unrecognised_statements_pass_through",
        "tests/emulator/test_rules.py::test_generate_series_only_on_the_leader",
        f"{_T}::test_leader_node_only_refused_with_a_user_table",
        f"{_T}::test_leader_node_only_runs_without_user_tables",
    ),
    words=(*sorted(LEADER_NODE_ONLY), "current_time", "current_timestamp", "localtime"),
)
def leader_node_only(
    stmt: Statement,
    node: ast.FuncCall | ast.SQLValueFunction | ast.RangeVar | ast.CommonTableExpr,
) -> None:
    facts = stmt.facts
    if isinstance(node, ast.FuncCall):
        names = [n.sval or "" for n in node.funcname or () if isinstance(n, ast.String)]
        name = names[-1].lower() if names else ""
        if name in LEADER_NODE_ONLY and (len(names) == 1 or names[0] == "pg_catalog"):
            facts.setdefault("leader_only", name)
    elif isinstance(node, ast.SQLValueFunction):
        if node.op in _VALUE_FUNCTIONS:
            facts.setdefault("leader_only", _VALUE_FUNCTIONS[node.op])
    elif isinstance(node, ast.CommonTableExpr):
        facts.setdefault("ctes", set()).add(node.ctename)
    else:
        schema, name = node.schemaname or "", node.relname or ""
        if not (schema.startswith(_CATALOG_PREFIXES) or name.startswith(_CATALOG_PREFIXES)):
            facts.setdefault("user_tables", []).append((schema, name))
    if not facts.get("leader_only_check"):
        facts["leader_only_check"] = True
        stmt.at_end(_check_leader_node_only)


def _check_leader_node_only(stmt: Statement) -> None:
    name = stmt.facts.get("leader_only")
    ctes = stmt.facts.get("ctes", set())
    tables = [t for t in stmt.facts.get("user_tables", ()) if t[0] or t[1] not in ctes]
    if name and tables:
        raise RedshiftError(
            "Specified types or functions (one per INFO message) not supported on Redshift tables.",
            "0A000",
            hint=f"{name.upper()} runs on the leader node only; it cannot be used in a query "
            "that reads a user table (use GETDATE() or SYSDATE for the time, SUBSTRING for "
            "SUBSTR)",
        )


part.not_emulated(
    id="compute-node-only-functions",
    page="r_LISTAGG",
    see=("r_MEDIAN", "r_PERCENTILE_CONT", "r_PERCENTILE_DISC"),
    does="LISTAGG, MEDIAN, PERCENTILE_CONT and PERCENTILE_DISC are compute-node only: a query "
    "that reads no user table fails",
    gap="they run without a table too",
)
part.not_emulated(
    id="approximate-percentile-disc",
    page="r_APPROXIMATE_PERCENTILE_DISC",
    does="`APPROXIMATE PERCENTILE_DISC(p) WITHIN GROUP (ORDER BY x)`",
    gap="PostgreSQL's parser refuses APPROXIMATE before PERCENTILE_DISC (a syntax error)",
)
