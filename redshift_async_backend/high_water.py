"""The pk high-water mark of ``OPTIONS["last_insert_id"] = "lock"``: a pk never handed out twice.

Redshift has no sequences (DG:c_unsupported-postgresql-features) and an IDENTITY generator
cannot be read or moved (DG:r_CREATE_TABLE_NEW), so "lock" mode allocates pks itself under
the table's lock (DG:r_LOCK). ``MAX(pk) + 1`` alone would hand out a deleted pk again; the
largest pk each table was given is kept in one bookkeeping table, :data:`TABLE`, one row per
model table, and the next pk is one above the larger of that mark and ``MAX(pk)`` (an
explicit pk above the mark is never overwritten).

The bookkeeping table is locked together with the model's table: Redshift takes a write lock
on a table a transaction writes and aborts the later of two transactions that read and write
the same tables in crossed order (DG:c_serial_isolation), so the mark's table is locked up
front, after the model's, in the one statement that locks both. The lock is held while the
server runs the allocation and the INSERT, sent as one batch (compiler.py).
"""

from __future__ import annotations

from typing import Any

#: The bookkeeping table, in the schema of the connection's search path.
TABLE = "redshift_pk_high_water"

CREATE_SQL = (
    f'CREATE TABLE IF NOT EXISTS "{TABLE}" '
    "(table_name VARCHAR(512) NOT NULL, high_water BIGINT NOT NULL)"
)


def literal(text: str) -> str:
    """A table name as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def advance_sql(qn: Any, table: str, column: str, rows: int) -> list[str]:
    """Statements (run holding ``LOCK table, TABLE``) that move ``table``'s mark ``rows``
    pks past the larger of the mark and ``MAX(column)``: the mark is then the last pk of
    the rows being inserted."""
    name, top = literal(table), f"(SELECT COALESCE(MAX({qn(column)}), 0) FROM {qn(table)})"
    return [
        f'INSERT INTO "{TABLE}" (table_name, high_water) SELECT {name}, 0 '
        f'WHERE NOT EXISTS (SELECT 1 FROM "{TABLE}" WHERE table_name = {name})',
        f'UPDATE "{TABLE}" SET high_water = GREATEST(high_water, {top}) + {int(rows)} '
        f"WHERE table_name = {name}",
    ]


def read_sql(table: str) -> str:
    return f'SELECT high_water FROM "{TABLE}" WHERE table_name = {literal(table)}'


def lock_sql(qn: Any, table: str) -> str:
    return f'LOCK {qn(table)}, "{TABLE}"'


def reset_sql(tables: Any) -> str:
    """Forget the marks of ``tables`` (``flush``'s sequence reset)."""
    names = ", ".join(literal(t) for t in tables)
    return f'DELETE FROM "{TABLE}" WHERE table_name IN ({names})'


def exists(connection: Any) -> bool:
    """Whether the bookkeeping table is on the connection's search path."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM pg_catalog.pg_class c WHERE c.relname = {literal(TABLE)} "
            "AND c.relkind = 'r' AND pg_catalog.pg_table_is_visible(c.oid)"
        )
        return cursor.fetchone() is not None
