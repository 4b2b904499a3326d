"""The answers to Redshift's SHOW metadata commands, as set-returning SQL functions.

redshift_connector's metadata API (once the server announces ``show_discovery``) and dbt's
``datasharing`` mode ask Redshift with SHOW DATABASES / SCHEMAS / TABLES / COLUMNS /
CONSTRAINTS / PROCEDURES / FUNCTIONS / PARAMETERS. Each function here returns the columns
of its AWS page, in order, for the current database; a statement-level rule turns
``SHOW TABLES FROM SCHEMA db.s LIKE 'p' LIMIT n`` into
``SELECT * FROM redshift_emulator.show_tables('db', 's', 'p') LIMIT n``.

The functions find the system views in pg_catalog or in the emulator's schema, wherever
sysviews.py put them. A database other than the current one has no rows (the emulator has
no datashares); LIKE patterns match case-sensitively, as the pages say.
"""

from __future__ import annotations

from .bookkeeping import LATE_BINDING_VIEWS, RELATION_CREATED, TABLE_META
from .catalog import SCHEMA


def _function(name: str, args: str, columns: str, body: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION {SCHEMA}.{name}({args})
RETURNS TABLE ({columns}) LANGUAGE sql STABLE
SET search_path = pg_catalog, {SCHEMA} AS $$
{body}
$$"""


def show_sql() -> list[str]:
    s = SCHEMA
    here = "(db IS NULL OR db = current_database())"
    like = "(pattern IS NULL OR {col} LIKE pattern)"
    return [
        # Redshift: SHOW DATABASES [LIKE ...] (DG:r_SHOW_DATABASES).
        _function(
            "show_databases",
            "pattern text DEFAULT NULL",
            "database_name varchar(128), database_owner integer, database_type varchar(32), "
            "database_acl varchar(128), parameters varchar(128), "
            "database_isolation_level varchar(128)",
            f"""SELECT d.datname::varchar, d.datdba::integer, 'local'::varchar,
       array_to_string(d.datacl, ',')::varchar, NULL::varchar,
       (SELECT isolation_level FROM {s}.stv_db_isolation_level i
         WHERE i.db_name = d.datname)::varchar
  FROM pg_catalog.pg_database d
 WHERE d.datallowconn AND NOT d.datistemplate AND {like.format(col="d.datname")}
 ORDER BY 1""",
        ),
        # Redshift: SHOW SCHEMAS FROM DATABASE db [LIKE ...] (DG:r_SHOW_SCHEMAS).
        _function(
            "show_schemas",
            "db text, pattern text DEFAULT NULL",
            "database_name varchar(128), schema_name varchar(128), schema_owner integer, "
            "schema_type varchar(128), schema_acl varchar(128), source_database varchar(128), "
            "schema_option varchar(128)",
            f"""SELECT * FROM svv_all_schemas
 WHERE {here} AND {like.format(col="schema_name")} ORDER BY 2""",
        ),
        # Redshift: SHOW TABLES FROM SCHEMA db.schema [LIKE ...] (DG:r_SHOW_TABLES).
        _function(
            "show_tables",
            "db text, sch text, pattern text DEFAULT NULL",
            "database_name varchar(128), schema_name varchar(128), table_name varchar(128), "
            "table_type varchar(128), table_acl varchar(128), remarks varchar(128), "
            "owner varchar(128), last_altered_time timestamp, last_modified_time timestamp, "
            "dist_style varchar(128), table_subtype varchar(128)",
            f"""SELECT current_database()::varchar, n.nspname::varchar, c.relname::varchar,
       CASE WHEN c.relkind IN ('r', 'p') THEN 'TABLE' ELSE 'VIEW' END::varchar,
       array_to_string(c.relacl, ',')::varchar,
       pg_catalog.obj_description(c.oid, 'pg_class')::varchar,
       pg_catalog.pg_get_userbyid(c.relowner)::varchar,
       rc.created, rc.created,
       CASE WHEN c.relkind IN ('r', 'p') THEN
         CASE {s}.reldiststyle(c.oid) WHEN 0 THEN 'EVEN' WHEN 1 THEN 'KEY' WHEN 8 THEN 'ALL'
              ELSE 'AUTO(ALL)' END END::varchar,
       CASE c.relkind WHEN 'm' THEN 'MATERIALIZED VIEW'
            WHEN 'v' THEN CASE WHEN lb.relid IS NOT NULL THEN 'LATE BINDING VIEW'
                               ELSE 'REGULAR VIEW' END
            ELSE 'REGULAR TABLE' END::varchar
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN {RELATION_CREATED} rc ON rc.relid = c.oid
  LEFT JOIN {LATE_BINDING_VIEWS} lb ON lb.relid = c.oid
 WHERE {here} AND n.nspname = sch AND c.relkind IN ('r', 'p', 'v', 'm')
   AND {like.format(col="c.relname")}
 ORDER BY 3""",
        ),
        # Redshift: SHOW COLUMNS FROM TABLE db.schema.table [LIKE ...] (DG:r_SHOW_COLUMNS).
        _function(
            "show_columns",
            "db text, sch text, tbl text, pattern text DEFAULT NULL",
            "database_name varchar(128), schema_name varchar(128), table_name varchar(128), "
            "column_name varchar(128), ordinal_position integer, column_default varchar(4000), "
            "is_nullable varchar(3), data_type varchar(128), character_maximum_length integer, "
            "numeric_precision integer, numeric_scale integer, remarks varchar(256), "
            "sort_key_type varchar(128), sort_key integer, dist_key integer, "
            "encoding varchar(128), collation varchar(128)",
            f"""SELECT rc.database_name, rc.schema_name, rc.table_name, rc.column_name,
       rc.ordinal_position, rc.column_default, rc.is_nullable,
       -- The type's name without its length or precision, which have columns of their
       -- own ("numeric", "character varying"), as SVV_ALL_COLUMNS shows it.
       ac.data_type,
       ac.character_maximum_length, ac.numeric_precision, ac.numeric_scale, rc.remarks,
       CASE WHEN rc.sortkey > 0 THEN 'COMPOUND' WHEN rc.sortkey < 0 THEN 'INTERLEAVED'
       END::varchar, abs(rc.sortkey), CASE WHEN rc.distkey THEN 1 ELSE 0 END,
       rc.encoding, ac_c.collation_name::varchar
  FROM svv_redshift_columns rc
  JOIN svv_all_columns ac ON ac.schema_name = rc.schema_name
   AND ac.table_name = rc.table_name AND ac.column_name = rc.column_name
  LEFT JOIN {s}.svv_columns ac_c ON ac_c.table_schema = rc.schema_name
   AND ac_c.table_name = rc.table_name AND ac_c.column_name = rc.column_name
 WHERE {here} AND rc.schema_name = sch AND rc.table_name = tbl
   AND {like.format(col="rc.column_name")}
 ORDER BY 5""",
        ),
        # Redshift: SHOW CONSTRAINTS PRIMARY KEYS FROM TABLE ... (DG:r_SHOW_CONSTRAINTS).
        _function(
            "show_primary_keys",
            "db text, sch text, tbl text",
            "database_name varchar(128), schema_name varchar(128), table_name varchar(128), "
            "pk_name varchar(128), column_name varchar(128), key_seq integer",
            f"""SELECT current_database()::varchar, n.nspname::varchar, c.relname::varchar,
       k.conname::varchar, a.attname::varchar, u.pos::integer
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, pos)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
 WHERE {here} AND k.contype = 'p' AND n.nspname = sch AND c.relname = tbl
 ORDER BY 6""",
        ),
        # Redshift: SHOW CONSTRAINTS FOREIGN KEYS [EXPORTED] FROM TABLE ...
        # (DG:r_SHOW_CONSTRAINTS): the table's foreign keys, or (EXPORTED) those of other
        # tables that reference it.
        _function(
            "show_foreign_keys",
            "db text, sch text, tbl text, exported boolean DEFAULT false",
            "pk_database_name varchar(128), pk_schema_name varchar(128), "
            "pk_table_name varchar(128), pk_column_name varchar(128), "
            "fk_database_name varchar(128), fk_schema_name varchar(128), "
            "fk_table_name varchar(128), fk_column_name varchar(128), key_seq integer, "
            "fk_name varchar(128), pk_name varchar(128), update_rule integer, "
            "delete_rule integer, deferrability integer",
            f"""SELECT current_database()::varchar, pn.nspname::varchar, pc.relname::varchar,
       pa.attname::varchar, current_database()::varchar, fn.nspname::varchar,
       fc.relname::varchar, fa.attname::varchar, u.pos::integer, k.conname::varchar,
       (SELECT p.conname FROM pg_catalog.pg_constraint p WHERE p.conrelid = k.confrelid
           AND p.contype IN ('p', 'u') AND p.conkey = k.confkey LIMIT 1)::varchar,
       -- JDBC's codes, which the driver reports: 0 CASCADE, 1 RESTRICT, 2 SET NULL,
       -- 3 NO ACTION, 4 SET DEFAULT; deferrability 7 (not deferrable).
       CASE k.confupdtype WHEN 'c' THEN 0 WHEN 'r' THEN 1 WHEN 'n' THEN 2 WHEN 'd' THEN 4
            ELSE 3 END,
       CASE k.confdeltype WHEN 'c' THEN 0 WHEN 'r' THEN 1 WHEN 'n' THEN 2 WHEN 'd' THEN 4
            ELSE 3 END,
       7
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class fc ON fc.oid = k.conrelid
  JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
  JOIN pg_catalog.pg_class pc ON pc.oid = k.confrelid
  JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
  CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS u(fk_att, pk_att, pos)
  JOIN pg_catalog.pg_attribute fa ON fa.attrelid = fc.oid AND fa.attnum = u.fk_att
  JOIN pg_catalog.pg_attribute pa ON pa.attrelid = pc.oid AND pa.attnum = u.pk_att
 WHERE {here} AND k.contype = 'f'
   AND CASE WHEN exported THEN pn.nspname = sch AND pc.relname = tbl
            ELSE fn.nspname = sch AND fc.relname = tbl END
 ORDER BY 2, 3, 6, 7, 9""",
        ),
        # Redshift: SHOW TABLE [schema.]table (DG:r_SHOW_TABLE): the CREATE TABLE statement
        # that makes the table again, with its column encodings, DISTKEY, primary key,
        # DISTSTYLE and SORTKEY, in the page's form. A sort key column stored RAW shows no
        # ENCODE; an AUTO sort key shows none.
        _function(
            "show_table",
            "sch text, tbl text, path name[] DEFAULT NULL",
            '"Show Table DDL statement" text',
            f"""SELECT 'CREATE TABLE ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname)
       || ' ( ' || (SELECT string_agg(quote_ident(a.attname) || ' '
                      || format_type(a.atttypid, a.atttypmod)
                      || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                      || CASE WHEN format_encoding(a.attencodingtype) <> 'none'
                              THEN ' ENCODE ' || format_encoding(a.attencodingtype)
                              ELSE '' END
                      || CASE WHEN a.attisdistkey THEN ' distkey' ELSE '' END,
                      ', ' ORDER BY a.attnum)
                      FROM {s}.pg_attribute a
                     WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
       || coalesce((SELECT ', PRIMARY KEY (' || string_agg(quote_ident(a.attname), ', '
                                                            ORDER BY u.pos) || ')'
                      FROM pg_constraint k
                     CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS u(attnum, pos)
                      JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum
                     WHERE k.conrelid = c.oid AND k.contype = 'p'), '')
       || ' ) DISTSTYLE ' || coalesce(tm.diststyle, 'AUTO')
       || CASE WHEN coalesce(tm.sortkind, 'AUTO') NOT IN ('AUTO', 'NONE')
                    AND cardinality(tm.sortkey) > 0 THEN
            CASE WHEN tm.sortkind = 'INTERLEAVED' THEN ' INTERLEAVED' ELSE '' END
            || ' SORTKEY ( ' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i)
                                 FROM unnest(tm.sortkey) WITH ORDINALITY AS k(attnum, i)
                                 JOIN pg_attribute a ON a.attrelid = c.oid
                                  AND a.attnum = k.attnum) || ' )'
          ELSE '' END || ';'
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN {TABLE_META} tm ON tm.relid = c.oid
 WHERE c.relkind IN ('r', 'p') AND c.relname = tbl
   -- A bare name: the first schema of the caller's search_path (path) that has it.
   AND n.nspname = coalesce(sch, (
         SELECT p.s FROM unnest(path) WITH ORDINALITY AS p(s, i)
           JOIN pg_namespace pn ON pn.nspname = p.s
           JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = tbl
          ORDER BY p.i LIMIT 1))""",
        ),
        # Redshift: SHOW FUNCTIONS / SHOW PROCEDURES FROM SCHEMA db.schema [LIKE ...]
        # (DG:r_SHOW_FUNCTIONS, DG:r_SHOW_PROCEDURES).
        *(
            _function(
                f"show_{kind}s",
                "db text, sch text, pattern text DEFAULT NULL",
                f"database_name varchar(128), schema_name varchar(128), "
                f"{kind}_name varchar(128), number_of_arguments integer, "
                "argument_list varchar(4000), return_type varchar(128), remarks varchar(256)",
                f"""SELECT current_database()::varchar, n.nspname::varchar, p.proname::varchar,
       p.pronargs::integer,
       -- An IN argument shows without its (default) mode, as a function's does.
       regexp_replace(pg_catalog.pg_get_function_identity_arguments(p.oid),
                      '(^|, )IN ', '\\1', 'g')::varchar,
       CASE WHEN p.prokind = 'p' THEN NULL
            ELSE pg_catalog.pg_get_function_result(p.oid) END::varchar,
       pg_catalog.obj_description(p.oid, 'pg_proc')::varchar
  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
 WHERE {here} AND n.nspname = sch AND p.prokind = '{code}'
   AND {like.format(col="p.proname")}
 ORDER BY 3, 5""",
            )
            for kind, code in (("function", "f"), ("procedure", "p"))
        ),
    ]
