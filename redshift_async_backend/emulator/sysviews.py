"""Redshift's system views and catalog functions, as Redshift's own tools read them.

dbt-redshift, sqlalchemy-redshift and redshift_connector's metadata calls read SVV_*, STV_*,
STL_* and SVL_* views, PG_CLASS_INFO / PG_PROC_INFO and PG_GET_LATE_BINDING_VIEW_COLS(), often
qualified as ``pg_catalog.svv_all_tables``. On Redshift they live in ``pg_catalog``, so here
too: they are created there when the upstream role may (a superuser, with
``allow_system_table_mods`` for the setup session), else in :data:`~.catalog.SCHEMA`, which is
on every session's ``search_path`` (unqualified names still resolve; ``pg_catalog.``-qualified
ones then need the rules' rewrite). Names PostgreSQL has no object for, so nothing of
PostgreSQL's is shadowed.

Redshift-only columns of PostgreSQL catalogs (``pg_class.reldiststyle``,
``pg_attribute.attencodingtype / attisdistkey / attsortkeyord``, ``pg_attrdef.adsrc``) cannot
be added to PostgreSQL's catalogs: shadow views with those columns live in
:data:`~.catalog.SCHEMA` (``redshift_emulator.pg_class`` ...), for the rules to send a
catalog query there when it reads one of those columns.

Each view has the columns of its AWS page (DG:r_<NAME>), in the page's order and types.
Views of what the emulator cannot know (slices, blocks, Spectrum) answer with what is true of
a single-node cluster with no external schemas: EXTERNAL views are empty, as on a cluster
without external schemas.
"""

from __future__ import annotations

from .bookkeeping import COLUMN_META, LATE_BINDING_VIEWS, MV_META, RELATION_CREATED, TABLE_META
from .catalog import SCHEMA
from .show import show_sql

# The schema the system views go to: pg_catalog when the setup session may create objects
# there, else the emulator's own schema. Resolved once per setup, in SQL (see install()).
_TARGET = f"{SCHEMA}.system_schema()"

# Redshift's encoding codes: PG_ATTRIBUTE.attencodingtype holds a number that
# FORMAT_ENCODING(n) turns into the ENCODE name. AWS does not document the numbers; the
# emulator's are its own and the two functions agree (clients only ever print the name).
ENCODINGS = (
    "none", "bytedict", "delta", "delta32k", "mostly8", "mostly16", "mostly32", "runlength",
    "text255", "text32k", "lzo", "zstd", "az64",
)  # fmt: skip


def _install(name: str, kind: str, body: str) -> str:
    """A statement creating ``name`` (``kind`` VIEW or FUNCTION) in the system schema."""
    text = body.replace("%", "%%")
    ddl = f"CREATE OR REPLACE {kind} %1$I.{name} {text}"
    drop = f"DROP {kind} %1$I.{name}"
    grant = (
        f"GRANT SELECT ON %1$I.{name} TO PUBLIC"
        if kind == "VIEW"
        else f"GRANT EXECUTE ON FUNCTION %1$I.{name} TO PUBLIC"
    )
    return f"""DO $install$
DECLARE target text := {_TARGET};
BEGIN
  IF target = 'pg_catalog' THEN
    PERFORM set_config('allow_system_table_mods', 'on', true);
  END IF;
  PERFORM {SCHEMA}.create_or_replace(format({_literal(ddl)}, target),
                                     format({_literal(drop)}, target));
  EXECUTE format({_literal(grant)}, target);
END $install$"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _event_trigger(name: str, event: str, function: str, tags: str = "") -> list[str]:
    """An event trigger created once, firing in replica sessions too (see catalog.py)."""
    when = f" WHEN TAG IN ({tags})" if tags else ""
    return [
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = '{name}') THEN
    CREATE EVENT TRIGGER {name} ON {event}{when} EXECUTE FUNCTION {function};
  END IF;
END $$""",
        f"ALTER EVENT TRIGGER {name} ENABLE ALWAYS",
    ]


def _helpers_sql() -> list[str]:
    s = SCHEMA
    return [
        # CREATE OR REPLACE cannot change a view's columns or a function's result type: a
        # database set up by an older emulator (--data-dir) gets the object dropped and
        # created again. Not CASCADE: a user's view on a system view stops the setup with
        # PostgreSQL's error naming it, instead of vanishing.
        f"""CREATE OR REPLACE FUNCTION {s}.create_or_replace(ddl text, drop_ddl text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE ddl;
EXCEPTION WHEN invalid_table_definition OR invalid_function_definition THEN
  EXECUTE drop_ddl;
  EXECUTE ddl;
END $$""",
        # Superusers may create in pg_catalog (with allow_system_table_mods, settable by
        # them since PostgreSQL 12); anyone else gets the emulator's schema.
        f"""CREATE OR REPLACE FUNCTION {s}.system_schema() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
              THEN 'pg_catalog' ELSE '{s}' END
$$""",
        # Redshift records when a table was created (PG_CLASS_INFO.relcreationtime,
        # SVV_TABLE_INFO.create_time), which views were created WITH NO SCHEMA BINDING
        # (DG:r_CREATE_VIEW) and materialized views' options
        # (DG:materialized-view-create-sql-command): bookkeeping.py has the tables.
        f"""CREATE OR REPLACE FUNCTION {s}.on_create_relation() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  cmd record;
  q text := coalesce(current_query(), '');
  part text;
  meta jsonb;
BEGIN
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands()
             WHERE command_tag IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO',
                                   'CREATE VIEW', 'CREATE MATERIALIZED VIEW')
               AND object_type IN ('table', 'view', 'materialized view')
  LOOP
    INSERT INTO {RELATION_CREATED} (relid) VALUES (cmd.objid)
    ON CONFLICT (relid) DO UPDATE SET created = excluded.created;
    DELETE FROM {LATE_BINDING_VIEWS} WHERE relid = cmd.objid;
    DELETE FROM {MV_META} WHERE relid = cmd.objid;
    IF position('/*{s}.relation:' IN q) > 0 THEN
      FOR part IN SELECT unnest((string_to_array(q, '/*{s}.relation:'))[2:])
      LOOP
        meta := split_part(part, '*/', 1)::jsonb;
        CONTINUE WHEN meta->>'name' IS DISTINCT FROM
          (SELECT relname FROM pg_class WHERE oid = cmd.objid);
        IF coalesce((meta->>'late_binding')::boolean, false) THEN
          INSERT INTO {LATE_BINDING_VIEWS} VALUES (cmd.objid) ON CONFLICT DO NOTHING;
        END IF;
        IF cmd.object_type = 'materialized view' THEN
          INSERT INTO {MV_META} (relid, autorefresh, backup)
          VALUES (cmd.objid, coalesce((meta->>'autorefresh')::boolean, false),
                  coalesce((meta->>'backup')::boolean, true))
          ON CONFLICT (relid) DO NOTHING;
          -- A materialized view's DISTSTYLE / DISTKEY / SORTKEY are recorded as a
          -- table's are (DG:materialized-view-create-sql-command).
          PERFORM {s}.apply_meta(cmd.objid, meta, true);
        END IF;
      END LOOP;
    END IF;
  END LOOP;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.on_drop_relation() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE obj record;
BEGIN
  FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
             WHERE object_type IN ('table', 'view', 'materialized view')
  LOOP
    DELETE FROM {RELATION_CREATED} WHERE relid = obj.objid;
    DELETE FROM {LATE_BINDING_VIEWS} WHERE relid = obj.objid;
    DELETE FROM {MV_META} WHERE relid = obj.objid;
  END LOOP;
END $$""",
        *_event_trigger(
            f"{s}_relation_created",
            "ddl_command_end",
            f"{s}.on_create_relation()",
            "'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE VIEW', "
            "'CREATE MATERIALIZED VIEW'",
        ),
        *_event_trigger(f"{s}_relation_dropped", "sql_drop", f"{s}.on_drop_relation()"),
        # Redshift's pg_class.reldiststyle (DG:r_PG_CLASS_INFO): 0 EVEN, 1 KEY, 8 ALL; an
        # AUTO table shows its effective style in releffectivediststyle: 10 AUTO(ALL),
        # 11 AUTO(EVEN), 12 AUTO(KEY). A table the emulator keeps small is AUTO(ALL).
        f"""CREATE OR REPLACE FUNCTION {s}.reldiststyle(rel oid) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT CASE (SELECT diststyle FROM {TABLE_META} WHERE relid = rel)
    WHEN 'EVEN' THEN 0 WHEN 'KEY' THEN 1 WHEN 'ALL' THEN 8
    ELSE CASE WHEN (SELECT relkind FROM pg_catalog.pg_class WHERE oid = rel) IN ('r', 'p')
              THEN 10 ELSE 0 END END
$$""",
        f"""CREATE OR REPLACE FUNCTION {s}.encoding_code(name text) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
  SELECT (array_position(ARRAY{list(ENCODINGS)!r}::text[], lower(trim(name))) - 1)::smallint
$$""",
    ]


def _shadow_catalogs_sql() -> list[str]:
    """pg_class / pg_attribute / pg_attrdef / pg_constraint / pg_views as Redshift has them
    (module doc)."""
    s = SCHEMA
    # The column lists come from the upstream's own catalogs, so every PostgreSQL version
    # gets all of its columns, followed by Redshift's.
    return [
        f"""DO $$
DECLARE cols text;
BEGIN
  -- Redshift's materialized views are views in pg_class (relkind 'v'; dbt-redshift's
  -- catalog query finds them so).
  SELECT string_agg(CASE attname
           WHEN 'relkind' THEN 'CASE c.relkind WHEN ''m'' THEN ''v''::"char" '
                               'ELSE c.relkind END AS relkind'
           ELSE format('c.%I', attname) END, ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_class'::regclass AND attnum > 0
     AND NOT attisdropped AND atttypid <> 'anyarray'::regtype;
  PERFORM {s}.create_or_replace(format('CREATE OR REPLACE VIEW {s}.pg_class AS SELECT %s, '
    '{s}.reldiststyle(c.oid) AS reldiststyle FROM pg_catalog.pg_class c', cols),
    'DROP VIEW {s}.pg_class');
  SELECT string_agg(format('a.%I', attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_attribute'::regclass AND attnum > 0
     AND NOT attisdropped AND atttypid <> 'anyarray'::regtype;
  PERFORM {s}.create_or_replace(format($v$CREATE OR REPLACE VIEW {s}.pg_attribute AS SELECT %s,
    {s}.encoding_code(trim({s}.encoding(a.atttypid, cm.encoding,
        a.attnum = ANY (coalesce(tm.sortkey, '{{}}')), c.relpersistence = 't')))
      AS attencodingtype,
    coalesce(tm.distkey = a.attnum, false) AS attisdistkey,
    CASE WHEN a.attnum = ANY (coalesce(tm.sortkey, '{{}}')) THEN
      array_position(tm.sortkey, a.attnum)
      * CASE WHEN tm.sortkind = 'INTERLEAVED' THEN -1 ELSE 1 END
    ELSE 0 END AS attsortkeyord
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  LEFT JOIN {TABLE_META} tm ON tm.relid = a.attrelid
  LEFT JOIN {COLUMN_META} cm ON cm.relid = a.attrelid AND cm.attnum = a.attnum
  -- A late-binding view's columns are not in Redshift's pg_attribute (they are resolved
  -- when it is queried; PG_GET_LATE_BINDING_VIEW_COLS lists them).
 WHERE NOT EXISTS (SELECT 1 FROM {LATE_BINDING_VIEWS} lb WHERE lb.relid = a.attrelid)$v$,
    cols), 'DROP VIEW {s}.pg_attribute');
  SELECT string_agg(format('d.%I', attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_attrdef'::regclass AND attnum > 0
     AND NOT attisdropped AND atttypid <> 'anyarray'::regtype;
  -- Redshift lists materialized views in pg_views, their definition beginning with
  -- "create materialized view" (dbt-redshift finds them so); PostgreSQL in pg_matviews.
  PERFORM {s}.create_or_replace($v$CREATE OR REPLACE VIEW {s}.pg_views AS
    SELECT schemaname, viewname, viewowner, definition FROM pg_catalog.pg_views
    UNION ALL
    SELECT schemaname, matviewname, matviewowner,
           'create materialized view ' || quote_ident(matviewname) || ' as ' || definition
      FROM pg_catalog.pg_matviews$v$, 'DROP VIEW {s}.pg_views');
  -- information_schema.views too (dbt-redshift lists relations there).
  PERFORM {s}.create_or_replace($v$CREATE OR REPLACE VIEW {s}.information_schema_views AS
    SELECT table_catalog, table_schema, table_name, view_definition, check_option,
           is_updatable, is_insertable_into, is_trigger_updatable, is_trigger_deletable,
           is_trigger_insertable_into
      FROM information_schema.views
    UNION ALL
    SELECT current_database()::information_schema.sql_identifier, m.schemaname::name,
           m.matviewname::name,
           ('create materialized view ' || quote_ident(m.matviewname) || ' as '
            || m.definition)::information_schema.character_data,
           'NONE', 'NO', 'NO', 'NO', 'NO', 'NO'
      FROM pg_catalog.pg_matviews m
     WHERE pg_catalog.has_schema_privilege(m.schemaname, 'USAGE')$v$,
    'DROP VIEW {s}.information_schema_views');
  -- Redshift still has pg_attrdef.adsrc, the default's text (PostgreSQL 12 dropped it).
  PERFORM {s}.create_or_replace(format('CREATE OR REPLACE VIEW {s}.pg_attrdef AS SELECT %s, '
    'pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS adsrc FROM pg_catalog.pg_attrdef d', cols),
    'DROP VIEW {s}.pg_attrdef');
  -- Redshift's pg_constraint has no NOT NULL rows (PostgreSQL 18 records them, contype
  -- 'n', under names such as t_c_not_null).
  SELECT string_agg(format('k.%I', attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'pg_catalog.pg_constraint'::regclass AND attnum > 0
     AND NOT attisdropped AND atttypid <> 'anyarray'::regtype;
  PERFORM {s}.create_or_replace(format('CREATE OR REPLACE VIEW {s}.pg_constraint AS SELECT %s '
    'FROM pg_catalog.pg_constraint k WHERE k.contype <> ''n''', cols),
    'DROP VIEW {s}.pg_constraint');
END $$""",
    ]


# Redshift: STL_QUERY (DG:r_STL_QUERY), SVL_QLOG (DG:r_SVL_QLOG): the emulator keeps no query
# history, only what pg_stat_activity has: each session's latest statement, endtime NULL
# while it runs. (Inlined where another view reads it, so no system view depends on another
# and each can be replaced alone.)
_STL_QUERY = """SELECT u.usesysid::integer AS userid, a.pid AS query,
       'default'::char(320) AS label,
       coalesce(a.backend_xid::text, '0')::bigint AS xid, a.pid AS pid,
       a.datname::char(32) AS database, left(a.query, 4000)::char(4000) AS querytxt,
       (a.query_start AT TIME ZONE 'UTC')::timestamp AS starttime,
       CASE WHEN a.state = 'active' THEN NULL
            ELSE (a.state_change AT TIME ZONE 'UTC')::timestamp END AS endtime,
       0 AS aborted, 0 AS insert_pristine, 0 AS concurrency_scaling_status
  FROM pg_catalog.pg_stat_activity a
  LEFT JOIN pg_catalog.pg_user u ON u.usename = a.usename
 WHERE a.backend_type = 'client backend' AND a.query_start IS NOT NULL"""


def _svv_mv_info() -> str:
    # Redshift: SVV_MV_INFO (DG:r_SVV_MV_INFO), STV_MV_INFO (DG:r_STV_MV_INFO): one row per
    # materialized view. state 0: recomputed in full on refresh (the emulator's REFRESH always
    # is); is_stale 't' when it has never been populated.
    return f"""SELECT current_database()::char(128) AS database_name,
       m.schemaname::char(128) AS schema_name, m.matviewowner::char(128) AS user_name,
       m.matviewname::char(128) AS name,
       CASE WHEN m.ispopulated THEN 'f' ELSE 't' END::char(1) AS is_stale,
       0 AS state,
       CASE WHEN coalesce(mm.autorefresh, false) THEN 't' ELSE 'f' END::char(1) AS autorefresh,
       'f'::char(1) AS autorewrite
  FROM pg_catalog.pg_matviews m
  LEFT JOIN {MV_META} mm
         ON mm.relid = format('%I.%I', m.schemaname, m.matviewname)::regclass"""


# (name, kind, body) of every object created in the system schema.
def _objects() -> list[tuple[str, str, str]]:
    s = SCHEMA
    user_rel = f"""n.nspname NOT IN ('pg_catalog', 'information_schema', '{s}')
   AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'"""
    return [
        # Redshift: FORMAT_ENCODING(attencodingtype) -> the ENCODE name (see ENCODINGS).
        (
            "format_encoding(integer)",
            "FUNCTION",
            f"""RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT (ARRAY{list(ENCODINGS)!r}::text[])[$1 + 1] $$""",
        ),
        # Redshift: PG_CLASS_INFO (DG:r_PG_CLASS_INFO): PG_CLASS's columns with oid named
        # reloid, plus relcreationtime and releffectivediststyle.
        (
            "pg_class_info",
            "VIEW",
            f"""AS SELECT c.oid AS reloid, c.relname, c.relnamespace, c.reltype, c.relowner,
       c.relam, c.relfilenode, c.reltablespace, c.relpages, c.reltuples, c.reltoastrelid,
       c.relhasindex, c.relisshared, c.relpersistence, c.relkind, c.relnatts, c.relchecks,
       c.relhasrules, c.relhastriggers, c.relhassubclass, c.relacl, c.reloptions,
       {s}.reldiststyle(c.oid) AS reldiststyle,
       rc.created AS relcreationtime,
       {s}.reldiststyle(c.oid) AS releffectivediststyle
  FROM pg_catalog.pg_class c
  LEFT JOIN {RELATION_CREATED} rc ON rc.relid = c.oid""",
        ),
        # Redshift: PG_PROC_INFO (DG:r_PG_PROC_INFO): PG_PROC's columns with oid named
        # prooid; prokind 'f' for a function, 'p' for a stored procedure.
        (
            "pg_proc_info",
            "VIEW",
            """AS SELECT p.oid AS prooid, p.proname, p.pronamespace, p.proowner, p.prolang,
       p.procost, p.prorows, p.provariadic, p.prokind, p.prosecdef, p.proleakproof,
       p.proisstrict, p.proretset, p.provolatile, p.pronargs, p.pronargdefaults,
       p.prorettype, p.proargtypes, p.proallargtypes, p.proargmodes, p.proargnames,
       p.prosrc, p.proconfig, p.proacl
  FROM pg_catalog.pg_proc p""",
        ),
        # Redshift: PG_GET_LATE_BINDING_VIEW_COLS() (DG:PG_GET_LATE_BINDING_VIEW_COLS):
        # schema, view, column, type and position of every late-binding view's columns;
        # called with a column definition list, so it returns SETOF record.
        (
            "pg_get_late_binding_view_cols()",
            "FUNCTION",
            f"""RETURNS SETOF record LANGUAGE sql STABLE AS $$
  SELECT n.nspname::name, c.relname::name, a.attname::name,
         {s}.type_name(a.atttypid, a.atttypmod)::varchar, a.attnum::integer
    FROM {LATE_BINDING_VIEWS} lb
    JOIN pg_catalog.pg_class c ON c.oid = lb.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
     AND NOT a.attisdropped
   ORDER BY 1, 2, 5 $$""",
        ),
        # Redshift: SVV_TABLES (DG:r_SVV_TABLES).
        (
            "svv_tables",
            "VIEW",
            f"""AS SELECT current_database()::text AS table_catalog,
       n.nspname::text AS table_schema, c.relname::text AS table_name,
       CASE WHEN c.relkind IN ('r', 'p') THEN 'BASE TABLE' ELSE 'VIEW' END::text
         AS table_type,
       pg_catalog.obj_description(c.oid, 'pg_class')::text AS remarks
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname <> '{s}'
   AND n.nspname NOT LIKE 'pg\\_toast%'
   AND pg_catalog.has_schema_privilege(n.oid, 'USAGE')""",
        ),
        # Redshift: SVV_ALL_SCHEMAS (DG:r_SVV_ALL_SCHEMAS), SVV_REDSHIFT_SCHEMAS.
        (
            "svv_all_schemas",
            "VIEW",
            f"""AS SELECT current_database()::varchar(128) AS database_name,
       n.nspname::varchar(128) AS schema_name,
       n.nspowner::integer AS schema_owner,
       'local'::varchar(128) AS schema_type,
       pg_catalog.array_to_string(n.nspacl, ',')::varchar(128) AS schema_acl,
       NULL::varchar(128) AS source_database, NULL::varchar(128) AS schema_option
  FROM pg_catalog.pg_namespace n
 WHERE n.nspname <> '{s}' AND n.nspname NOT LIKE 'pg\\_toast%'
   AND n.nspname NOT LIKE 'pg\\_temp\\_%'""",
        ),
        # Redshift: SVV_ALL_TABLES (DG:r_SVV_ALL_TABLES): table_type TABLE or VIEW.
        (
            "svv_all_tables",
            "VIEW",
            f"""AS SELECT current_database()::varchar(128) AS database_name,
       n.nspname::varchar(128) AS schema_name, c.relname::varchar(128) AS table_name,
       CASE WHEN c.relkind IN ('r', 'p') THEN 'TABLE' ELSE 'VIEW' END::varchar(128)
         AS table_type,
       pg_catalog.array_to_string(c.relacl, ',')::varchar(128) AS table_acl,
       pg_catalog.obj_description(c.oid, 'pg_class')::varchar(128) AS remarks
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND n.nspname <> '{s}'
   AND n.nspname NOT LIKE 'pg\\_toast%'""",
        ),
        # Redshift: SVV_ALL_COLUMNS (DG:r_SVV_ALL_COLUMNS), SVV_REDSHIFT_COLUMNS
        # (DG:r_SVV_REDSHIFT_COLUMNS).
        (
            "svv_all_columns",
            "VIEW",
            f"""AS SELECT table_catalog::varchar(128) AS database_name,
       table_schema::varchar(128) AS schema_name, table_name::varchar(128) AS table_name,
       column_name::varchar(128) AS column_name, ordinal_position,
       column_default::varchar(4000) AS column_default, is_nullable::varchar(3) AS is_nullable,
       data_type::varchar(128) AS data_type, character_maximum_length, numeric_precision,
       numeric_scale, remarks::varchar(256) AS remarks
  FROM {s}.svv_columns""",
        ),
        (
            "svv_redshift_columns",
            "VIEW",
            f"""AS SELECT current_database()::varchar(128) AS database_name,
       n.nspname::varchar(128) AS schema_name, c.relname::varchar(128) AS table_name,
       a.attname::varchar(128) AS column_name, a.attnum::integer AS ordinal_position,
       coalesce(cm.declared_type, {s}.type_name(a.atttypid, a.atttypmod))::varchar(128)
         AS data_type,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid)::varchar(4000) AS column_default,
       CASE WHEN a.attnotnull THEN 'NO' ELSE 'YES' END::varchar(3) AS is_nullable,
       CASE WHEN c.relkind IN ('r', 'p') THEN trim({s}.encoding(a.atttypid, cm.encoding,
            a.attnum = ANY (coalesce(tm.sortkey, '{{}}')), c.relpersistence = 't'))
       END::varchar(128) AS encoding,
       coalesce(tm.distkey = a.attnum, false) AS distkey,
       CASE WHEN a.attnum = ANY (coalesce(tm.sortkey, '{{}}')) THEN
         array_position(tm.sortkey, a.attnum)
         * CASE WHEN tm.sortkind = 'INTERLEAVED' THEN -1 ELSE 1 END
       ELSE 0 END::integer AS sortkey,
       pg_catalog.array_to_string(a.attacl, ',')::varchar(128) AS column_acl,
       pg_catalog.col_description(c.oid, a.attnum)::varchar(256) AS remarks
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
   AND NOT a.attisdropped
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  LEFT JOIN {TABLE_META} tm ON tm.relid = c.oid
  LEFT JOIN {COLUMN_META} cm ON cm.relid = c.oid AND cm.attnum = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {user_rel}""",
        ),
        # Redshift: SVV_EXTERNAL_SCHEMAS / _TABLES / _COLUMNS (DG:r_SVV_EXTERNAL_SCHEMAS,
        # DG:r_SVV_EXTERNAL_TABLES, DG:r_SVV_EXTERNAL_COLUMNS): the emulator has no
        # external (Spectrum) schemas, so they are empty, as on a cluster without any.
        (
            "svv_external_schemas",
            "VIEW",
            """AS SELECT NULL::oid AS esoid, NULL::integer AS eskind,
       NULL::name AS schemaname, NULL::integer AS esowner, NULL::text AS databasename,
       NULL::text AS esoptions
 WHERE false""",
        ),
        (
            "svv_external_tables",
            "VIEW",
            """AS SELECT NULL::text AS redshift_database_name, NULL::name AS schemaname,
       NULL::name AS tablename, NULL::text AS tabletype, NULL::text AS location,
       NULL::text AS input_format, NULL::text AS output_format,
       NULL::text AS serialization_lib, NULL::text AS serde_parameters,
       NULL::text AS compressed, NULL::text AS parameters
 WHERE false""",
        ),
        (
            "svv_external_columns",
            "VIEW",
            """AS SELECT NULL::text AS redshift_database_name, NULL::name AS schemaname,
       NULL::name AS tablename, NULL::name AS columnname, NULL::text AS external_type,
       NULL::integer AS columnnum, NULL::integer AS part_key, NULL::text AS is_nullable
 WHERE false""",
        ),
        # Redshift: SVV_TRANSACTIONS (DG:r_SVV_TRANSACTIONS): open transactions and the
        # locks they hold or wait for.
        (
            "svv_transactions",
            "VIEW",
            """AS SELECT a.usename::text AS txn_owner, a.datname::text AS txn_db,
       coalesce(l.transactionid::text, a.backend_xid::text,
                a.backend_xmin::text)::bigint AS xid,
       l.pid AS pid, (a.xact_start AT TIME ZONE 'UTC')::timestamp AS txn_start,
       l.mode::text AS lock_mode,
       CASE WHEN l.locktype = 'relation' THEN 'relation' ELSE 'transactionid' END::text
         AS lockable_object_type,
       CASE WHEN l.locktype = 'relation' THEN l.relation::integer END AS relation,
       l.granted AS granted
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE a.xact_start IS NOT NULL AND a.pid <> pg_catalog.pg_backend_pid()
   AND (l.locktype = 'transactionid'
        OR (l.locktype = 'relation' AND l.database = (SELECT oid FROM pg_catalog.pg_database
                                                      WHERE datname = current_database())
            AND l.relation >= 16384))""",
        ),
        # Redshift: STV_LOCKS (DG:r_STV_LOCKS): table locks held.
        (
            "stv_locks",
            "VIEW",
            """AS SELECT l.relation::bigint AS table_id,
       NULL::timestamp AS last_commit, NULL::timestamp AS last_update,
       coalesce(a.backend_xid::text, a.backend_xmin::text, '0')::bigint AS lock_owner,
       l.pid::bigint AS lock_owner_pid,
       (a.xact_start AT TIME ZONE 'UTC')::timestamp AS lock_owner_start_ts,
       NULL::timestamp AS lock_owner_end_ts,
       CASE WHEN l.granted THEN 'Holding ' ELSE 'Waiting on ' END
         || CASE WHEN l.mode IN ('AccessExclusiveLock', 'ExclusiveLock') THEN 'write lock'
                 WHEN l.mode = 'AccessShareLock' THEN 'read lock'
                 ELSE 'write lock' END::varchar(22) AS lock_status
  FROM pg_catalog.pg_locks l
  JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'relation' AND l.relation >= 16384
   AND l.database = (SELECT oid FROM pg_catalog.pg_database
                      WHERE datname = current_database())""",
        ),
        # Redshift: STV_SESSIONS (DG:r_STV_SESSIONS): active user sessions.
        (
            "stv_sessions",
            "VIEW",
            """AS SELECT (a.backend_start AT TIME ZONE 'UTC')::timestamp AS starttime,
       a.pid AS process, a.usename::char(50) AS user_name, a.datname::char(50) AS db_name,
       0 AS timeout_sec
  FROM pg_catalog.pg_stat_activity a
 WHERE a.backend_type = 'client backend'""",
        ),
        ("stl_query", "VIEW", f"AS {_STL_QUERY}"),
        (
            "svl_qlog",
            "VIEW",
            f"""AS SELECT userid, query, xid, pid, starttime, endtime,
       (extract(epoch FROM coalesce(endtime, now() AT TIME ZONE 'UTC') - starttime)
        * 1000000)::bigint AS elapsed,
       aborted, label, left(querytxt, 60)::char(60) AS substring,
       NULL::integer AS source_query,
       'Ran on the main cluster'::text AS concurrency_scaling_status_txt,
       0 AS from_sp_call
  FROM ({_STL_QUERY}) q""",
        ),
        # Redshift: STL_LOAD_ERRORS (DG:r_STL_LOAD_ERRORS): COPY's load errors. The
        # emulator's COPY loads nothing from files, so there are none.
        (
            "stl_load_errors",
            "VIEW",
            """AS SELECT NULL::integer AS userid, NULL::integer AS slice, NULL::integer AS tbl,
       NULL::timestamp AS starttime, NULL::integer AS session, NULL::integer AS query,
       NULL::char(256) AS filename, NULL::bigint AS line_number, NULL::char(127) AS colname,
       NULL::char(10) AS type, NULL::char(10) AS col_length, NULL::integer AS position,
       NULL::char(1024) AS raw_line, NULL::char(1024) AS raw_field_value,
       NULL::integer AS err_code, NULL::char(100) AS err_reason, NULL::integer AS is_partial,
       NULL::bigint AS start_offset
 WHERE false""",
        ),
        ("svv_mv_info", "VIEW", f"AS {_svv_mv_info()}"),
        (
            "stv_mv_info",
            "VIEW",
            f"""AS SELECT database_name AS db_name, schema_name AS schema, name,
       0::bigint AS updated_upto_xid, is_stale, user_name AS owner_user_name, state,
       autorefresh, autorewrite
  FROM ({_svv_mv_info()}) m""",
        ),
        # Redshift: SVV_RELATION_PRIVILEGES (DG:r_SVV_RELATION_PRIVILEGES), read by dbt's
        # grants: one row per privilege a user or role holds on a table or view.
        (
            "svv_relation_privileges",
            "VIEW",
            f"""AS SELECT n.nspname::varchar(128) AS namespace_name,
       c.relname::varchar(128) AS relation_name, acl.privilege_type::varchar(128)
         AS privilege_type,
       acl.grantee::integer AS identity_id,
       coalesce(r.rolname, 'public')::varchar(128) AS identity_name,
       -- The emulator's roles without login are Redshift groups (CREATE GROUP); it has no
       -- RBAC roles. PUBLIC (grantee 0) is 'public'.
       CASE WHEN acl.grantee = 0 THEN 'public' WHEN r.rolcanlogin THEN 'user'
            ELSE 'group' END::varchar(128) AS identity_type,
       false AS admin_option
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) acl
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = acl.grantee
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {user_rel}""",
        ),
    ]


def _table_info_sql() -> str:
    s = SCHEMA
    # Redshift: SVV_TABLE_INFO (DG:r_SVV_TABLE_INFO): every documented column; omits empty
    # tables. A materialized view is listed under its own name (dbt-redshift reads its dist
    # and sort style there). One node, one slice: nothing is skewed, nothing unsorted,
    # statistics current. size counts 1 MB blocks (at least one per column, as Redshift
    # allocates them).
    return f"""CREATE OR REPLACE VIEW {s}.svv_table_info AS
SELECT current_database()::text AS database, n.nspname::text AS schema,
       c.oid AS table_id, c.relname::text AS "table",
       CASE WHEN coalesce(tm.encode_auto, true) THEN 'Y, AUTO(ENCODE)'
            ELSE 'Y' END::text AS encoded,
       CASE coalesce(tm.diststyle, 'AUTO')
         WHEN 'KEY' THEN 'KEY(' || (SELECT attname FROM pg_attribute
                                     WHERE attrelid = c.oid AND attnum = tm.distkey) || ')'
         WHEN 'AUTO' THEN 'AUTO(ALL)'
         ELSE tm.diststyle END::text AS diststyle,
       CASE coalesce(tm.sortkind, 'AUTO')
         WHEN 'AUTO' THEN 'AUTO(SORTKEY)'
         WHEN 'NONE' THEN NULL
         WHEN 'INTERLEAVED' THEN 'INTERLEAVED'
         ELSE (SELECT attname FROM pg_attribute
                WHERE attrelid = c.oid AND attnum = tm.sortkey[1]) END::text AS sortkey1,
       (SELECT max(CASE WHEN a.atttypid = 'varchar'::regtype THEN a.atttypmod - 4 END)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
           AND NOT a.attisdropped)::integer AS max_varchar,
       (SELECT trim({s}.encoding(a.atttypid, cm.encoding, true, c.relpersistence = 't'))
          FROM pg_attribute a
          LEFT JOIN {COLUMN_META} cm ON cm.relid = c.oid AND cm.attnum = a.attnum
         WHERE a.attrelid = c.oid AND a.attnum = tm.sortkey[1])::character(32)
         AS sortkey1_enc,
       coalesce(cardinality(tm.sortkey), 0)::integer AS sortkey_num,
       greatest(ceil(pg_total_relation_size(c.oid) / 1048576.0),
                c.relnatts)::bigint AS size,
       -- Of the space of one 160 GB node (a dc2.large's) beyond what the database holds.
       (100.0 * greatest(ceil(pg_total_relation_size(c.oid) / 1048576.0), c.relnatts)
        / greatest(1, ceil(pg_database_size(current_database()) / 1048576.0)
                      + 160 * 1024))::numeric(10, 4) AS pct_used,
       0::bigint AS empty,
       0::numeric(5, 2) AS unsorted, 0::numeric(5, 2) AS stats_off,
       {s}.table_rows(c.oid)::numeric(38, 0) AS tbl_rows,
       CASE WHEN tm.sortkey[1] IS NOT NULL THEN 1 END::numeric(19, 2) AS skew_sortkey1,
       1::numeric(19, 2) AS skew_rows,
       {s}.table_rows(c.oid)::numeric(38, 0) AS estimated_visible_rows,
       NULL::text AS risk_event,
       CASE WHEN tm.sortkey[1] IS NOT NULL THEN 0 END::numeric(12, 2) AS vacuum_sort_benefit,
       rc.created AS create_time
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN {TABLE_META} tm ON tm.relid = c.oid
  LEFT JOIN {RELATION_CREATED} rc ON rc.relid = c.oid
 WHERE c.relkind IN ('r', 'p', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', '{s}')
   AND n.nspname NOT LIKE 'pg_toast%'
   AND (c.relkind <> 'm' OR c.relispopulated)
   AND {s}.table_rows(c.oid) > 0"""


# SVV_TABLE_INFO lives in the emulator's schema (the rules qualify it there) and gets a
# pg_catalog name too, as on Redshift, so a pg_catalog-qualified query finds it.
def _table_info_statements() -> list[str]:
    s = SCHEMA
    alias = "pg_catalog.svv_table_info"
    sudo = f"""IF {_TARGET} = 'pg_catalog' THEN
    PERFORM set_config('allow_system_table_mods', 'on', true);"""
    return [
        # The alias goes first, so the view it reads can be replaced.
        f"""DO $$ BEGIN
  {sudo}
    DROP VIEW IF EXISTS {alias};
  END IF;
END $$""",
        f"SELECT {s}.create_or_replace({_literal(_table_info_sql())}, "
        f"'DROP VIEW {s}.svv_table_info')",
        f"""DO $$ BEGIN
  {sudo}
    CREATE VIEW {alias} AS SELECT * FROM {s}.svv_table_info;
    GRANT SELECT ON {alias} TO PUBLIC;
  END IF;
END $$""",
    ]


def sysviews_sql() -> list[str]:
    """Idempotent statements, run after catalog.py's (they use its tables and functions)."""
    out = [*_helpers_sql(), *_shadow_catalogs_sql(), *_table_info_statements()]
    for name, kind, body in _objects():
        out.append(_install(name, kind, body))
    out.append(f"GRANT SELECT ON ALL TABLES IN SCHEMA {SCHEMA} TO PUBLIC")
    return [*out, *show_sql()]
