"""Window functions (the guide's "Window functions" pages, part of its SQL functions
reference): what an OVER clause may say on Redshift."""

from __future__ import annotations

from typing import Any

from pglast import ast

from .declare import FULL, STYLE
from .errors import RedshiftError, syntax_error
from .functions import part
from .pipeline import Statement, walk

# PostgreSQL's frame option bits (nodes/parsenodes.h).
_NONDEFAULT, _RANGE, _ROWS, _GROUPS = 0x1, 0x2, 0x4, 0x8

# Redshift: ranking functions take no frame (DG:r_Window_function_synopsis); every other
# window function is an aggregate window function (or FIRST_VALUE, LAST_VALUE, NTH_VALUE,
# which need a frame as well).
_RANKING = frozenset(
    {"cume_dist", "dense_rank", "lag", "lead", "ntile", "percent_rank", "rank", "row_number"}
)
_TESTS = "tests/emulator/test_functions_rules.py"


def _name(node: ast.FuncCall) -> str:
    names = [n.sval or "" for n in node.funcname or () if isinstance(n, ast.String)]
    return names[-1].lower() if names else ""


@part.node(
    ast.FuncCall,
    id="window-frame-required",
    page="r_Window_function_synopsis",
    see=("c_Window_functions",),
    does="An aggregate window function (and FIRST_VALUE, LAST_VALUE, NTH_VALUE) with ORDER "
    "BY needs an explicit ROWS frame clause",
    fidelity=FULL,
    answer="0A000 Aggregate window functions with an ORDER BY clause require a frame clause",
    source="Redshift: OHDSI/Achilles#232",
    tests=(
        f"{_TESTS}::test_window_refused[frame_required]",
        f"{_TESTS}::test_window_refused[frame_required_avg]",
        f"{_TESTS}::test_window_accepted",
    ),
    words=("over",),
)
def frame_required(stmt: Statement, node: ast.FuncCall) -> None:
    over = node.over
    if over is None or not over.orderClause or _name(node) in _RANKING:
        return
    if not (over.frameOptions or 0) & _NONDEFAULT:
        raise RedshiftError(
            "Aggregate window functions with an ORDER BY clause require a frame clause",
            "0A000",
            hint="Add ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (or another ROWS frame)",
        )


@part.node(
    ast.WindowDef,
    id="window-rows-frames-only",
    page="r_Window_function_synopsis",
    does="Window frames are ROWS frames: no RANGE (not implemented) or GROUPS frames",
    fidelity=FULL,
    answer="0A000 RANGE clause of window functions not yet implemented",
    source="Redshift: OHDSI/Achilles#232",
    tests=(
        f"{_TESTS}::test_window_refused[range]",
        f"{_TESTS}::test_window_refused[groups]",
    ),
    words=("range", "groups"),
)
def rows_frames_only(stmt: Statement, node: ast.WindowDef) -> None:
    options = node.frameOptions or 0
    if not options & _NONDEFAULT:
        return
    if options & _RANGE:
        raise RedshiftError(
            "RANGE clause of window functions not yet implemented",
            "0A000",
            hint="Amazon Redshift window frames are ROWS frames",
        )
    if options & _GROUPS:
        raise syntax_error("GROUPS", "Amazon Redshift window frames are ROWS frames")


@part.node(
    ast.WindowDef,
    id="window-no-constant-partition",
    page="r_Window_function_synopsis",
    does="A PARTITION BY expression that reads no column (a constant) is refused",
    fidelity=FULL,
    answer="0A000 constant expressions are not supported in partition by clauses",
    source="Redshift: metabase/metabase#70088",
    tests=(
        f"{_TESTS}::test_window_refused[constant_partition]",
        f"{_TESTS}::test_window_refused[constant_partition_call]",
        f"{_TESTS}::test_window_accepted",
    ),
    words=("partition",),
)
def no_constant_partition(stmt: Statement, node: ast.WindowDef) -> None:
    seen: list[Any] = []

    def note(_stmt: Statement, child: Any) -> None:
        seen.append(child)

    for expr in node.partitionClause or ():
        seen.clear()
        walk(expr, {ast.ColumnRef: [note], ast.SubLink: [note]}, stmt)
        if not seen:
            raise RedshiftError(
                "constant expressions are not supported in partition by clauses",
                "0A000",
                hint="Leave the constant out: a constant puts every row in one partition",
            )


@part.node(
    ast.SelectStmt,
    id="window-no-named-windows",
    page="r_Window_function_synopsis",
    does="No WINDOW clause: each window function spells its OVER (...) in full",
    fidelity=FULL,
    answer='42601 syntax error at or near "WINDOW"',
    source=STYLE,
    tests=(f"{_TESTS}::test_window_refused[named_window]",),
    words=("window",),
)
def no_named_windows(stmt: Statement, node: ast.SelectStmt) -> None:
    if node.windowClause:
        raise syntax_error("WINDOW", "Amazon Redshift has no WINDOW clause; write OVER (...)")
