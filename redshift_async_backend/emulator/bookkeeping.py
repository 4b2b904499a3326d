"""The emulator's own SQL in each database: metadata, event triggers, users. Installed by
the emulator's superuser connection (:func:`.catalog.setup_statements`).

Metadata. Redshift's distribution, sort and encoding choices have no PostgreSQL meaning,
so they are kept in two tables keyed by table OID and column number (renames follow),
:data:`TABLE_META` and :data:`COLUMN_META`, written in the same transaction as the DDL:

* CREATE TABLE / ALTER TABLE ADD COLUMN: :mod:`.rules` strips the Redshift clauses and
  appends a comment ``/*redshift_emulator:{json}*/``; the ``ddl_command_end`` trigger reads
  it back from ``current_query()`` and records it, so nothing is left behind when the
  statement fails.
* ALTER TABLE ALTER DISTKEY/DISTSTYLE/SORTKEY/ENCODE: rewritten to ``CALL alter_meta(...)``.
* The ``sql_drop`` trigger refuses dropping a DISTKEY or SORTKEY column and forgets
  dropped tables.

The tables live in ``pg_catalog``: not on a user's search path (pg_catalog is searched,
but a user's own table of the same name would need the same odd name), not in ``\\dt``,
Django's or this backend's introspection, and with the usual ``schemaname NOT IN
('pg_catalog', 'information_schema')`` filter not in pg_tables or information_schema
either. Everyone may read them, as PostgreSQL's own catalogs; row-level security with a
policy for reading only keeps every client (even one that may write every table) from
changing a row. The SECURITY DEFINER functions here, owned by the superuser, write them.

Informational constraints. Redshift accepts duplicate PRIMARY KEY / UNIQUE values and
orphan FOREIGN KEY values; it enforces NOT NULL (DG:t_Defining_constraints). PostgreSQL
keeps the constraints in its catalog (introspection, ``pg_constraint``, information_schema
see them) and the ``ddl_command_end`` trigger takes their enforcement away:

* a PRIMARY KEY or UNIQUE index is marked not immediate (``pg_index.indimmediate``): an
  insert then never fails on a duplicate, since the recheck of a non-immediate index is a
  constraint trigger that such a constraint does not have, and the planner, which proves
  uniqueness only from immediate indexes, gives right answers over duplicates;
* a FOREIGN KEY's triggers are disabled (PostgreSQL 18 creates none for the NOT ENFORCED
  foreign keys :mod:`.rules` writes there).

PostgreSQL lets a foreign key reference only an immediate unique index, so the
``ddl_command_start`` trigger makes the keys of the tables a statement's REFERENCES name
immediate again for that statement, and the end trigger turns them back. Which keys it
reopened is kept in a table no client can write, whose deferred trigger closes them again
at commit whatever happened in between (a custom setting would do, but a client can set
one too). All of this is catalog data written in the statement's transaction: a rollback
undoes it, and renames carry it along.
"""

from __future__ import annotations

from .catalog import SCHEMA
from .lengths import function_name
from .roles import SUPERUSERS

TABLE_META = "pg_catalog.redshift_emulator_table_meta"
COLUMN_META = "pg_catalog.redshift_emulator_column_meta"
# Keys made immediate for a statement that references them, until the end of the statement
# (the end trigger) or, whatever happens, its transaction's commit (a deferred trigger).
REOPENED = "pg_catalog.redshift_emulator_reopened_keys"
# The system views' (sysviews.py): when each relation was made, late-binding views,
# materialized views' options.
RELATION_CREATED = "pg_catalog.redshift_emulator_relation_created"
LATE_BINDING_VIEWS = "pg_catalog.redshift_emulator_late_binding_views"
MV_META = "pg_catalog.redshift_emulator_mv_meta"
_TABLES = (TABLE_META, COLUMN_META, REOPENED, RELATION_CREATED, LATE_BINDING_VIEWS, MV_META)
# Where earlier versions kept them: the emulator's schema, on the search path.
_OLD_PLACES = {
    TABLE_META: "table_meta",
    COLUMN_META: "column_meta",
    RELATION_CREATED: "relation_created",
    LATE_BINDING_VIEWS: "late_binding_views",
    MV_META: "mv_meta",
}
# The table after REFERENCES: a name, maybe schema-qualified and quoted. An E'' string,
# which the session's standard_conforming_strings does not change.
_REFERENCES = (
    r"""E'\\mreferences\\s+((?:"[^"]+"|[^\\s(),;"]+)(?:\\s*\\.\\s*(?:"[^"]+"|[^\\s(),;"]+))?)'"""
)


def _tables_sql() -> list[str]:
    return [
        "SET allow_system_table_mods = on",
        f"""CREATE TABLE IF NOT EXISTS {TABLE_META} (
  relid oid PRIMARY KEY,
  diststyle text NOT NULL DEFAULT 'AUTO',
  distkey smallint,
  sortkind text NOT NULL DEFAULT 'AUTO',
  sortkey smallint[] NOT NULL DEFAULT '{{}}',
  backup boolean NOT NULL DEFAULT true,
  encode_auto boolean NOT NULL DEFAULT true)""",
        f"""CREATE TABLE IF NOT EXISTS {COLUMN_META} (
  relid oid NOT NULL,
  attnum smallint NOT NULL,
  encoding text,
  case_insensitive boolean NOT NULL DEFAULT false,
  declared_type text,
  PRIMARY KEY (relid, attnum))""",
        f"CREATE TABLE IF NOT EXISTS {REOPENED} (indexrelid oid NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS {RELATION_CREATED} (
  relid oid PRIMARY KEY,
  created timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'))""",
        f"CREATE TABLE IF NOT EXISTS {LATE_BINDING_VIEWS} (relid oid PRIMARY KEY)",
        f"""CREATE TABLE IF NOT EXISTS {MV_META} (
  relid oid PRIMARY KEY,
  autorefresh boolean NOT NULL DEFAULT false,
  backup boolean NOT NULL DEFAULT true)""",
        *[f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY" for table in _TABLES],
        # Everyone reads them (the catalog views, and functions they call with the
        # caller's rights); only the owner's SECURITY DEFINER functions write.
        *[
            f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = '{table}'::regclass
                  AND polname = 'read') THEN
    CREATE POLICY read ON {table} FOR SELECT USING (true);
  END IF;
END $$"""
            for table in _TABLES
        ],
        f"REVOKE ALL ON {', '.join(_TABLES)} FROM PUBLIC",
        f"GRANT SELECT ON {', '.join(_TABLES)} TO PUBLIC",
        "RESET allow_system_table_mods",
    ]


def _migration_sql() -> list[str]:
    """Tables of earlier versions, in the emulator's schema, moved over. The sql_drop
    triggers of those versions would fail on the DROP: they are off meanwhile (on again
    with the statements that follow, ENABLE ALWAYS)."""
    s = SCHEMA
    moves = "\n".join(
        f"""  IF to_regclass('{s}.{old}') IS NOT NULL THEN
    INSERT INTO {new} SELECT * FROM {s}.{old} ON CONFLICT DO NOTHING;
    DROP TABLE {s}.{old} CASCADE;
  END IF;"""
        for new, old in _OLD_PLACES.items()
    )
    return [
        f"""DO $$
DECLARE
  t record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = '{s}' AND c.relname IN {tuple(_OLD_PLACES.values())!r}
                    AND c.relkind = 'r') THEN
    RETURN;
  END IF;
  FOR t IN SELECT evtname FROM pg_event_trigger WHERE evtevent = 'sql_drop'
                                                 AND evtname LIKE '{s}%'
  LOOP
    EXECUTE format('ALTER EVENT TRIGGER %I DISABLE', t.evtname);
  END LOOP;
{moves}
END $$""",
    ]


def _meta_sql() -> list[str]:
    s = SCHEMA
    return [
        # Applies the JSON the rules put in a trailing comment of CREATE TABLE / ADD COLUMN.
        f"""CREATE OR REPLACE FUNCTION {s}.apply_meta(rel oid, meta jsonb, is_create boolean)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  col record;
  num smallint;
  keys smallint[] := '{{}}';
  k text;
  icu boolean := EXISTS (SELECT 1 FROM pg_collation c JOIN pg_namespace n
                          ON n.oid = c.collnamespace WHERE n.nspname = '{s}'
                          AND c.collname = 'case_insensitive' AND c.collprovider = 'i');
BEGIN
  IF is_create THEN
    DELETE FROM {TABLE_META} WHERE relid = rel;
    DELETE FROM {COLUMN_META} WHERE relid = rel;
    IF meta ? 'distkey' THEN
      SELECT attnum INTO num FROM pg_attribute
       WHERE attrelid = rel AND attname = meta->>'distkey' AND NOT attisdropped;
      IF num IS NULL THEN
        RAISE EXCEPTION 'column "%" named in DISTKEY does not exist', meta->>'distkey'
          USING ERRCODE = '42703';
      END IF;
    END IF;
    FOR k IN SELECT jsonb_array_elements_text(coalesce(meta->'sortkey', '[]'))
    LOOP
      SELECT attnum INTO STRICT num FROM pg_attribute
       WHERE attrelid = rel AND attname = k AND NOT attisdropped;
      keys := keys || num;
    END LOOP;
    INSERT INTO {TABLE_META} (relid, diststyle, distkey, sortkind, sortkey, backup,
                              encode_auto)
    VALUES (rel, coalesce(meta->>'diststyle', 'AUTO'),
            (SELECT attnum FROM pg_attribute WHERE attrelid = rel
               AND attname = meta->>'distkey' AND NOT attisdropped),
            coalesce(meta->>'sortkind', 'AUTO'), keys,
            coalesce((meta->>'backup')::boolean, true),
            NOT EXISTS (SELECT 1 FROM jsonb_each(coalesce(meta->'columns', '{{}}')) c
                         WHERE c.value ? 'encode'));
  END IF;
  FOR col IN SELECT key, value FROM jsonb_each(coalesce(meta->'columns', '{{}}'))
  LOOP
    SELECT attnum INTO num FROM pg_attribute
     WHERE attrelid = rel AND attname = col.key AND NOT attisdropped;
    CONTINUE WHEN num IS NULL;
    INSERT INTO {COLUMN_META} (relid, attnum, encoding, case_insensitive, declared_type)
    VALUES (rel, num, col.value->>'encode', coalesce((col.value->>'ci')::boolean, false),
            (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
              WHERE attrelid = rel AND attnum = num))
    ON CONFLICT (relid, attnum) DO UPDATE SET encoding = excluded.encoding,
      case_insensitive = excluded.case_insensitive;
    IF NOT is_create AND col.value ? 'encode' THEN
      UPDATE {TABLE_META} SET encode_auto = false WHERE relid = rel;
    END IF;
    -- Without ICU there is no nondeterministic collation: fall back to citext, which
    -- compares case-insensitively like Redshift's COLLATE CASE_INSENSITIVE.
    -- (Once: the ALTER fires the event trigger again, which comes back here.)
    IF coalesce((col.value->>'ci')::boolean, false) AND NOT icu
       AND (SELECT atttypid FROM pg_attribute WHERE attrelid = rel AND attnum = num)
           <> to_regtype('public.citext') THEN
      EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE public.citext COLLATE "default"',
                     rel::regclass, col.key);
    END IF;
  END LOOP;
END $$""",
        # Only the event trigger calls it (as its owner): no client may.
        f"REVOKE EXECUTE ON FUNCTION {s}.apply_meta(oid, jsonb, boolean) FROM PUBLIC",
        f"""CREATE OR REPLACE FUNCTION {s}.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  obj record;
  tm record;
BEGIN
  FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
  LOOP
    IF obj.object_type = 'table' THEN
      DELETE FROM {TABLE_META} WHERE relid = obj.objid;
      DELETE FROM {COLUMN_META} WHERE relid = obj.objid;
      -- No IF EXISTS: its NOTICE would reach the client.
      IF to_regprocedure({function_name("obj.objid")} || '(anyelement)') IS NOT NULL THEN
        EXECUTE format('DROP FUNCTION %s(anyelement)', {function_name("obj.objid")});
      END IF;
    ELSIF obj.object_type = 'table column' THEN
      SELECT * INTO tm FROM {TABLE_META} WHERE relid = obj.objid;
      -- Redshift: ALTER TABLE (DG:r_ALTER_TABLE): a DISTKEY or SORTKEY column can't be
      -- dropped.
      IF tm.distkey = obj.objsubid THEN
        RAISE EXCEPTION 'cannot drop distkey column "%"', obj.address_names[3]
          USING ERRCODE = '0A000';
      END IF;
      IF obj.objsubid = ANY (tm.sortkey) THEN
        RAISE EXCEPTION 'cannot drop sortkey column "%"', obj.address_names[3]
          USING ERRCODE = '0A000';
      END IF;
      DELETE FROM {COLUMN_META} WHERE relid = obj.objid AND attnum = obj.objsubid;
      -- Redshift: a table keeps at least one column (DG:r_ALTER_TABLE).
      IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = obj.objid AND attnum > 0
                     AND NOT attisdropped)
         AND EXISTS (SELECT 1 FROM pg_class WHERE oid = obj.objid) THEN
        RAISE EXCEPTION 'cannot drop the last column of table "%"', obj.address_names[2]
          USING ERRCODE = '0A000', HINT = 'A table must have at least one column.';
      END IF;
    END IF;
  END LOOP;
END $$""",
        # Redshift: TRUNCATE works on a table a FOREIGN KEY references, since FKs are
        # informational (DG:t_Defining_constraints, DG:r_TRUNCATE). PostgreSQL refuses
        # that TRUNCATE even when no RI trigger fires, so the rules send it here: a DELETE
        # when another table references this one, else a TRUNCATE.
        f"""CREATE OR REPLACE PROCEDURE {s}.truncate_table(tbl regclass)
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_constraint
              WHERE contype = 'f' AND confrelid = tbl AND conrelid <> tbl) THEN
    EXECUTE format('DELETE FROM %s', tbl);
  ELSE
    EXECUTE format('TRUNCATE %s', tbl);
  END IF;
END $$""",
        # A column's type family, as the guide's table of encodings names them
        # (DG:c_Compression_encodings); NULL for a type the table does not list.
        f"""CREATE OR REPLACE FUNCTION {s}.type_family(rel oid, num smallint) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT CASE t.typname
    WHEN 'int2' THEN 'smallint' WHEN 'int4' THEN 'integer' WHEN 'int8' THEN 'bigint'
    WHEN 'numeric' THEN 'decimal' WHEN 'float4' THEN 'real' WHEN 'float8' THEN 'double'
    WHEN 'bool' THEN 'boolean' WHEN 'bpchar' THEN 'char' WHEN 'varchar' THEN 'varchar'
    WHEN 'citext' THEN 'varchar' WHEN 'date' THEN 'date' WHEN 'timestamp' THEN 'timestamp'
    WHEN 'timestamptz' THEN 'timestamptz' WHEN 'super' THEN 'super' END
  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
  WHERE a.attrelid = rel AND a.attnum = num
$$""",
        # ALTER TABLE ... ALTER DISTKEY / DISTSTYLE / SORTKEY / ENCODE / ALTER COLUMN ENCODE.
        f"""CREATE OR REPLACE PROCEDURE {s}.alter_meta(tbl regclass, change jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  rel oid;
  num smallint;
  keys smallint[] := '{{}}';
  k text;
  col record;
  interleaved boolean;
  temporary boolean;
  family text;
BEGIN
  rel := tbl;
  -- Redshift: ALTER TABLE is for the table's owner (DG:r_ALTER_TABLE).
  IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE')
  THEN
    RAISE EXCEPTION 'must be owner of relation %', tbl USING ERRCODE = '42501';
  END IF;
  INSERT INTO {TABLE_META} (relid) VALUES (rel) ON CONFLICT DO NOTHING;
  SELECT sortkind = 'INTERLEAVED' INTO interleaved FROM {TABLE_META} WHERE relid = rel;
  temporary := (SELECT relpersistence = 't' FROM pg_class WHERE oid = rel);
  -- Redshift: ALTER DISTKEY and ALTER DISTSTYLE ALL / EVEN are not for tables with an
  -- interleaved sort key; ALTER DISTSTYLE ALL / EVEN not for temporary tables; no ALTER
  -- COLUMN ENCODE on a table with an interleaved sort key (DG:r_ALTER_TABLE).
  IF interleaved AND (change ? 'distkey' OR change->>'diststyle' IN ('ALL', 'EVEN')) THEN
    RAISE EXCEPTION 'ALTER DISTKEY / DISTSTYLE is not supported for tables with an '
                    'interleaved sort key' USING ERRCODE = '0A000';
  END IF;
  IF temporary AND change->>'diststyle' IN ('ALL', 'EVEN') THEN
    RAISE EXCEPTION 'ALTER DISTSTYLE % is not supported for temporary tables',
                    change->>'diststyle' USING ERRCODE = '0A000';
  END IF;
  IF interleaved AND change ? 'columns' THEN
    RAISE EXCEPTION 'ALTER COLUMN ENCODE is not supported for tables with an interleaved '
                    'sort key' USING ERRCODE = '0A000';
  END IF;
  IF change ? 'distkey' THEN
    SELECT attnum INTO num FROM pg_attribute
     WHERE attrelid = rel AND attname = change->>'distkey' AND NOT attisdropped;
    IF num IS NULL THEN
      RAISE EXCEPTION 'column "%" does not exist', change->>'distkey' USING ERRCODE = '42703';
    END IF;
    UPDATE {TABLE_META} SET diststyle = 'KEY', distkey = num WHERE relid = rel;
  ELSIF change ? 'diststyle' THEN
    UPDATE {TABLE_META} SET diststyle = change->>'diststyle', distkey = NULL
     WHERE relid = rel;
  END IF;
  IF change ? 'sortkind' THEN
    FOR k IN SELECT jsonb_array_elements_text(coalesce(change->'sortkey', '[]'))
    LOOP
      SELECT attnum INTO num FROM pg_attribute
       WHERE attrelid = rel AND attname = k AND NOT attisdropped;
      IF num IS NULL THEN
        RAISE EXCEPTION 'column "%" does not exist', k USING ERRCODE = '42703';
      END IF;
      keys := keys || num;
    END LOOP;
    UPDATE {TABLE_META} SET sortkind = change->>'sortkind', sortkey = keys
     WHERE relid = rel;
  END IF;
  IF change ? 'encode_auto' THEN
    UPDATE {TABLE_META} SET encode_auto = true WHERE relid = rel;
    DELETE FROM {COLUMN_META} WHERE relid = rel AND encoding IS NOT NULL
      AND NOT case_insensitive;
    UPDATE {COLUMN_META} SET encoding = NULL WHERE relid = rel;
  END IF;
  FOR col IN SELECT key, value FROM jsonb_each(coalesce(change->'columns', '{{}}'))
  LOOP
    SELECT attnum INTO num FROM pg_attribute
     WHERE attrelid = rel AND attname = col.key AND NOT attisdropped;
    IF num IS NULL THEN
      RAISE EXCEPTION 'column "%" does not exist', col.key USING ERRCODE = '42703';
    END IF;
    -- Redshift: each encoding applies to some data types (DG:c_Compression_encodings).
    family := {s}.type_family(rel, num);
    IF change->'takes' ? col.key AND family IS NOT NULL
       AND NOT (change->'takes'->col.key) ? family THEN
      RAISE EXCEPTION 'encoding % is not valid for column "%" of type %',
        upper(col.value #>> '{{}}'), col.key, upper(family) USING ERRCODE = '0A000';
    END IF;
    INSERT INTO {COLUMN_META} (relid, attnum, encoding) VALUES (rel, num, col.value #>> '{{}}')
    ON CONFLICT (relid, attnum) DO UPDATE SET encoding = excluded.encoding;
    UPDATE {TABLE_META} SET encode_auto = false WHERE relid = rel;
  END LOOP;
END $$""",
        # Redshift: ALTER TABLE (DG:r_ALTER_TABLE): ALTER COLUMN TYPE only changes a VARCHAR's
        # size, and not on a column with a default or in a UNIQUE/PK/FK constraint.
        f"""CREATE OR REPLACE FUNCTION {s}.check_alter_type(tbl regclass, col text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  rel oid := tbl;
  att record;
BEGIN
  SELECT * INTO att FROM pg_attribute WHERE attrelid = rel AND attname = col
    AND NOT attisdropped;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'column "%" of relation "%" does not exist', col, tbl
      USING ERRCODE = '42703';
  END IF;
  IF att.atttypid <> 'varchar'::regtype THEN
    RAISE EXCEPTION 'ALTER TABLE ALTER COLUMN TYPE is only supported for VARCHAR columns'
      USING ERRCODE = '0A000';
  END IF;
  -- Redshift: no type change on a BYTEDICT, RUNLENGTH, TEXT255 or TEXT32K column
  -- (DG:r_ALTER_TABLE).
  IF (SELECT encoding FROM {COLUMN_META} WHERE relid = rel AND attnum = att.attnum)
     IN ('bytedict', 'runlength', 'text255', 'text32k') THEN
    RAISE EXCEPTION 'cannot alter the type of column "%" with encoding %', col,
      upper((SELECT encoding FROM {COLUMN_META} WHERE relid = rel AND attnum = att.attnum))
      USING ERRCODE = '0A000';
  END IF;
  IF att.atthasdef THEN
    RAISE EXCEPTION 'cannot alter a VARCHAR column with a default value'
      USING ERRCODE = '0A000';
  END IF;
  IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = rel AND att.attnum = ANY (conkey)
             AND contype IN ('p', 'u', 'f')) THEN
    RAISE EXCEPTION 'cannot alter a column that is part of a UNIQUE, PRIMARY KEY or '
                    'FOREIGN KEY constraint' USING ERRCODE = '0A000';
  END IF;
END $$""",
        # Redshift: a view can't be inserted into, updated or deleted from (DG:r_CREATE_VIEW):
        # an INSTEAD OF trigger refuses it, for every user.
        f"""CREATE OR REPLACE FUNCTION {s}.refuse_view_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'cannot % a view: "%" is a view', lower(TG_OP), TG_TABLE_NAME
    USING ERRCODE = '0A000',
          HINT = 'Amazon Redshift views cannot be inserted into, updated or deleted from';
END $$""",
        # Nor locked (DG:r_LOCK): PostgreSQL's LOCK needs the UPDATE, DELETE or TRUNCATE
        # right, or from PostgreSQL 17 MAINTAIN, which the view's owner loses (a Redshift
        # superuser, who may write every table upstream, still can).
        f"""CREATE OR REPLACE FUNCTION {s}.on_create_view() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  cmd record;
BEGIN
  FOR cmd IN SELECT DISTINCT objid FROM pg_event_trigger_ddl_commands()
             WHERE object_type = 'view'
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE%s ON %s FROM %I',
                   CASE WHEN current_setting('server_version_num')::int >= 170000
                        THEN ', MAINTAIN' ELSE '' END,
                   cmd.objid::regclass,
                   (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = cmd.objid));
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = cmd.objid
                   AND tgname = '{s}_read_only') THEN
      EXECUTE format('CREATE TRIGGER {s}_read_only INSTEAD OF INSERT OR UPDATE OR DELETE '
                     'ON %s FOR EACH ROW EXECUTE FUNCTION {s}.refuse_view_write()',
                     cmd.objid::regclass);
    END IF;
  END LOOP;
END $$""",
        f"REVOKE EXECUTE ON FUNCTION {s}.on_create_view() FROM PUBLIC",
        # Redshift: ALTER MATERIALIZED VIEW mv AUTO REFRESH { YES | NO }, by its owner
        # (DG:r_ALTER_MATERIALIZED_VIEW).
        f"""CREATE OR REPLACE PROCEDURE {s}.set_mv_autorefresh(mv regclass, auto boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  rel oid := mv;
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = rel) <> 'm' THEN
    RAISE EXCEPTION '"%" is not a materialized view', mv USING ERRCODE = '42809';
  END IF;
  IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE')
  THEN
    RAISE EXCEPTION 'must be owner of materialized view %', mv USING ERRCODE = '42501';
  END IF;
  INSERT INTO {MV_META} (relid, autorefresh) VALUES (rel, auto)
  ON CONFLICT (relid) DO UPDATE SET autorefresh = excluded.autorefresh;
END $$""",
    ]


def _constraints_sql() -> list[str]:
    s = SCHEMA
    user_schema = (
        f"n.nspname NOT IN ('pg_catalog', 'information_schema', '{s}') "
        "AND n.nspname NOT LIKE 'pg\\_toast%'"
    )
    return [
        # The PRIMARY KEY / UNIQUE indexes of ``rel``, immediate (enforced) or not.
        f"""CREATE OR REPLACE FUNCTION {s}.set_keys_immediate(rel oid, immediate boolean)
RETURNS oid[] LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  changed oid[];
BEGIN
  WITH keys AS (
    SELECT con.conindid FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.conrelid = rel AND con.contype IN ('p', 'u') AND NOT con.condeferrable
       AND {user_schema}),
  done AS (
    UPDATE pg_index i SET indimmediate = immediate FROM keys
     WHERE i.indexrelid = keys.conindid AND i.indimmediate <> immediate
    RETURNING i.indexrelid)
  SELECT array_agg(indexrelid) INTO changed FROM done;
  RETURN coalesce(changed, '{{}}');
END $$""",
        # Disable every trigger of the foreign keys on or to ``rel`` (PostgreSQL < 18, or an
        # ENFORCED one on 18).
        f"""CREATE OR REPLACE FUNCTION {s}.disable_fk_triggers(rel oid)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT tg.tgrelid, tg.tgname FROM pg_trigger tg
             JOIN pg_constraint con ON con.oid = tg.tgconstraint
            WHERE con.contype = 'f' AND (con.conrelid = rel OR con.confrelid = rel)
              AND tg.tgenabled <> 'D'
  LOOP
    EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', t.tgrelid::regclass, t.tgname);
  END LOOP;
END $$""",
        # Back to informational: the keys a statement made immediate (its own rows of
        # REOPENED: no other session's are visible, and no client may write any).
        f"""CREATE OR REPLACE FUNCTION {s}.close_keys() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  UPDATE pg_index i SET indimmediate = false
   WHERE i.indimmediate
     AND i.indexrelid IN (SELECT r.indexrelid FROM {REOPENED} r)
     AND i.indexrelid IN (SELECT con.conindid FROM pg_constraint con
                           WHERE con.contype IN ('p', 'u') AND NOT con.condeferrable);
  DELETE FROM {REOPENED};
END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.close_keys_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  PERFORM {s}.close_keys();
  RETURN NULL;
END $$""",
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = '{REOPENED}'::regclass
                  AND tgname = 'close_keys_at_commit') THEN
    SET LOCAL allow_system_table_mods = on;
    CREATE CONSTRAINT TRIGGER close_keys_at_commit AFTER INSERT ON {REOPENED}
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      EXECUTE FUNCTION {s}.close_keys_at_commit();
  END IF;
END $$""",
        # For a statement that creates a foreign key to ``rel``: its keys immediate until
        # the statement ends (at the latest, its transaction). Anyone who may reference
        # the table may ask; nothing outlives the transaction.
        f"""CREATE OR REPLACE FUNCTION {s}.keys_for_reference(rel oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  IF NOT has_table_privilege(session_user, rel, 'REFERENCES') THEN
    RETURN;  -- PostgreSQL refuses the foreign key itself
  END IF;
  INSERT INTO {REOPENED} SELECT unnest({s}.set_keys_immediate(rel, true));
END $$""",
        # Not SECURITY DEFINER: the names in the statement are found on the session's own
        # search_path, with the session's rights.
        f"""CREATE OR REPLACE FUNCTION {s}.on_ddl_start() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
  q text := pg_catalog.current_query();
  m text[];
  rel oid;
BEGIN
  IF q IS NULL OR pg_catalog.strpos(pg_catalog.lower(q), 'references') = 0 THEN
    RETURN;
  END IF;
  -- A foreign key may only reference an immediate unique index: for this statement.
  FOR m IN SELECT pg_catalog.regexp_matches(q, {_REFERENCES}, 'gi')
  LOOP
    BEGIN
      rel := pg_catalog.to_regclass(m[1]);
    EXCEPTION WHEN OTHERS THEN
      rel := NULL;
    END;
    IF rel IS NOT NULL THEN
      PERFORM {s}.keys_for_reference(rel);
    END IF;
  END LOOP;
END $$""",
        # The DDL it runs itself (DISABLE TRIGGER, citext) fires it again: each step is
        # done once and then finds nothing left to do.
        f"""CREATE OR REPLACE FUNCTION {s}.on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  cmd record;
  q text := current_query();
  part text;
  meta jsonb;
BEGIN
  FOR cmd IN SELECT DISTINCT objid, command_tag FROM pg_event_trigger_ddl_commands()
             WHERE object_type = 'table' AND command_tag IN
               ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
  LOOP
    -- Redshift: keys are informational (DG:t_Defining_constraints).
    PERFORM {s}.set_keys_immediate(cmd.objid, false);
    PERFORM {s}.disable_fk_triggers(cmd.objid);
    -- Redshift: CHAR and VARCHAR lengths are bytes (DG:r_Character_types; .lengths).
    PERFORM {s}.byte_lengths(cmd.objid);
    IF q IS NOT NULL AND position('/*{s}:' IN q) > 0 THEN
      FOR part IN SELECT unnest((string_to_array(q, '/*{s}:'))[2:])
      LOOP
        meta := split_part(part, '*/', 1)::jsonb;
        IF meta->>'table' = (SELECT relname FROM pg_class WHERE oid = cmd.objid) THEN
          PERFORM {s}.apply_meta(cmd.objid, meta, cmd.command_tag <> 'ALTER TABLE');
        END IF;
      END LOOP;
    END IF;
  END LOOP;
  -- RENAME COLUMN reports the column, not the table.
  PERFORM {s}.byte_lengths(c.objid)
     FROM (SELECT DISTINCT objid FROM pg_event_trigger_ddl_commands()
            WHERE object_type = 'table column' AND command_tag = 'ALTER TABLE') c;
  PERFORM {s}.close_keys();
END $$""",
        # ALTER TABLE ADD PRIMARY KEY / UNIQUE over rows that break it (see .keys).
        f"""CREATE OR REPLACE PROCEDURE {s}.add_key(tbl regclass, conname text, kind text,
                                             cols jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  rel oid := tbl;
  nsp name;
  base text;
  idx text;
  collist text;
  n integer := 0;
BEGIN
  IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE')
  THEN
    RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
  END IF;
  SELECT n.nspname INTO nsp FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = rel;
  SELECT string_agg(quote_ident(c), ', ') INTO collist FROM jsonb_array_elements_text(cols) c;
  -- PostgreSQL's default names: <table>_pkey, <table>_<columns>_key.
  base := CASE WHEN conname <> '' THEN conname
               WHEN kind = 'p' THEN (SELECT relname FROM pg_class WHERE oid = rel) || '_pkey'
               ELSE (SELECT relname FROM pg_class WHERE oid = rel) || '_'
                    || (SELECT string_agg(c, '_') FROM jsonb_array_elements_text(cols) c)
                    || '_key' END;
  idx := left(base, 63);
  WHILE conname = '' AND to_regclass(format('%I.%I', nsp, idx)) IS NOT NULL LOOP
    n := n + 1;
    idx := left(base, 63 - length(n::text)) || n;
  END LOOP;
  -- A plain index never looks at duplicates; declared unique, it can carry the key.
  EXECUTE format('CREATE INDEX %I ON %s (%s)', idx, tbl, collist);
  UPDATE pg_index SET indisunique = true WHERE indexrelid = format('%I.%I', nsp, idx)::regclass;
  EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s USING INDEX %I', tbl, idx,
                 CASE kind WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, idx);
END $$""",
        f"REVOKE EXECUTE ON FUNCTION {s}.set_keys_immediate(oid, boolean) FROM PUBLIC",
        f"REVOKE EXECUTE ON FUNCTION {s}.disable_fk_triggers(oid) FROM PUBLIC",
        f"REVOKE EXECUTE ON FUNCTION {s}.close_keys() FROM PUBLIC",
        f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = '{s}_ddl_start') THEN
    CREATE EVENT TRIGGER {s}_ddl_start ON ddl_command_start
      WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE')
      EXECUTE FUNCTION {s}.on_ddl_start();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = '{s}_ddl_end') THEN
    CREATE EVENT TRIGGER {s}_ddl_end ON ddl_command_end
      WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'ALTER TABLE')
      EXECUTE FUNCTION {s}.on_ddl_end();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = '{s}_sql_drop') THEN
    CREATE EVENT TRIGGER {s}_sql_drop ON sql_drop
      EXECUTE FUNCTION {s}.on_sql_drop();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = '{s}_view_end') THEN
    CREATE EVENT TRIGGER {s}_view_end ON ddl_command_end WHEN TAG IN ('CREATE VIEW')
      EXECUTE FUNCTION {s}.on_create_view();
  END IF;
END $$""",
        # Whatever session_replication_role a session has.
        f"ALTER EVENT TRIGGER {s}_ddl_start ENABLE ALWAYS",
        f"ALTER EVENT TRIGGER {s}_ddl_end ENABLE ALWAYS",
        f"ALTER EVENT TRIGGER {s}_sql_drop ENABLE ALWAYS",
        f"ALTER EVENT TRIGGER {s}_view_end ENABLE ALWAYS",
        # Tables made before this version (or directly on PostgreSQL): informational too.
        f"""DO $$
DECLARE
  rel oid;
BEGIN
  FOR rel IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind = 'r' AND {user_schema}
  LOOP
    PERFORM {s}.set_keys_immediate(rel, false);
    PERFORM {s}.disable_fk_triggers(rel);
  END LOOP;
END $$""",
    ]


def _users_sql() -> list[str]:
    """CREATE / ALTER / DROP USER and GROUP (see :mod:`.users`), with Redshift's checks."""
    s = SCHEMA
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.is_superuser(r name) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
  SELECT coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = r), false)
      OR (to_regrole('{SUPERUSERS}') IS NOT NULL AND to_regrole(r) IS NOT NULL
          AND pg_has_role(r, '{SUPERUSERS}', 'MEMBER'))
$$""",
        # A role the procedures may change: a Redshift user (login) or group (no login),
        # never a PostgreSQL superuser, a predefined role or the emulator's own.
        f"""CREATE OR REPLACE FUNCTION {s}.check_role(name text, is_user boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  r record;
  what text := CASE WHEN is_user THEN 'user' ELSE 'group' END;
BEGIN
  SELECT * INTO r FROM pg_roles WHERE rolname = name;
  IF NOT FOUND OR r.rolcanlogin <> is_user THEN
    RAISE EXCEPTION '% "%" does not exist', what, name USING ERRCODE = '42704';
  END IF;
  IF r.rolsuper OR r.oid < 16384 OR name LIKE 'pg\\_%' OR name = '{SUPERUSERS}' THEN
    RAISE EXCEPTION 'permission denied for % "%"', what, name USING ERRCODE = '42501';
  END IF;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.grant_role(granted text, grantee text, give boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  present boolean := EXISTS (SELECT 1 FROM pg_auth_members m
                              WHERE m.roleid = to_regrole(granted)
                                AND m.member = to_regrole(grantee));
BEGIN
  IF give AND NOT present THEN
    EXECUTE format('GRANT %I TO %I', granted, grantee);
  ELSIF NOT give AND present THEN
    EXECUTE format('REVOKE %I FROM %I', granted, grantee);
  END IF;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.apply_user(target text, spec jsonb, creating boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
  g text;
  items text;
BEGIN
  IF spec ? 'rename' THEN
    EXECUTE format('ALTER ROLE %I RENAME TO %I', target, spec->>'rename');
    target := spec->>'rename';
  END IF;
  IF spec ? 'superuser' THEN
    IF (spec->>'superuser')::boolean THEN
      PERFORM {s}.grant_role(target, '{SUPERUSERS}', false);
      PERFORM {s}.grant_role('{SUPERUSERS}', target, true);
      EXECUTE format('ALTER ROLE %I CREATEDB', target);
    ELSE
      PERFORM {s}.grant_role('{SUPERUSERS}', target, false);
      PERFORM {s}.grant_role(target, '{SUPERUSERS}', true);
    END IF;
  ELSIF creating THEN
    -- A superuser can alter and drop what an ordinary user owns.
    PERFORM {s}.grant_role(target, '{SUPERUSERS}', true);
  END IF;
  IF spec ? 'password_set' THEN
    -- Redshift: a superuser's password can't be disabled (DG:r_ALTER_USER).
    IF spec->>'password' IS NULL AND {s}.is_superuser(target) THEN
      RAISE EXCEPTION 'cannot disable the password of superuser "%"', target
        USING ERRCODE = '0A000';
    END IF;
    UPDATE pg_authid SET rolpassword = spec->>'password' WHERE rolname = target;
  END IF;
  IF spec ? 'createdb' THEN
    EXECUTE format('ALTER ROLE %I %s', target,
                   CASE WHEN (spec->>'createdb')::boolean THEN 'CREATEDB' ELSE 'NOCREATEDB' END);
  END IF;
  IF spec ? 'valid_until' THEN
    EXECUTE format('ALTER ROLE %I VALID UNTIL %L', target, spec->>'valid_until');
  END IF;
  IF spec ? 'connection_limit' THEN
    EXECUTE format('ALTER ROLE %I CONNECTION LIMIT %s', target,
                   (spec->>'connection_limit')::integer);
  END IF;
  -- Redshift: SESSION TIMEOUT is the idle time, in seconds, before a session ends
  -- (DG:r_CREATE_USER): PostgreSQL's idle_session_timeout.
  IF spec ? 'session_timeout' THEN
    IF spec->>'session_timeout' IS NULL THEN
      EXECUTE format('ALTER ROLE %I RESET idle_session_timeout', target);
    ELSE
      EXECUTE format('ALTER ROLE %I SET idle_session_timeout = %L', target,
                     ((spec->>'session_timeout')::integer * 1000)::text);
    END IF;
  END IF;
  IF spec ? 'set' THEN
    IF jsonb_typeof(spec->'set'->1) = 'null' THEN
      EXECUTE format('ALTER ROLE %I RESET %I', target, spec->'set'->>0);
    ELSE
      SELECT string_agg(quote_literal(v), ', ') INTO items
        FROM jsonb_array_elements_text(spec->'set'->1) v;
      EXECUTE format('ALTER ROLE %I SET %I TO %s', target, spec->'set'->>0, items);
    END IF;
  END IF;
  IF spec ? 'reset' THEN
    IF spec->>'reset' = 'all' THEN
      EXECUTE format('ALTER ROLE %I RESET ALL', target);
    ELSE
      EXECUTE format('ALTER ROLE %I RESET %I', target, spec->>'reset');
    END IF;
  END IF;
  FOR g IN SELECT jsonb_array_elements_text(coalesce(spec->'groups', '[]'))
  LOOP
    PERFORM {s}.check_role(g, false);
    PERFORM {s}.grant_role(g, target, true);
  END LOOP;
END $$""",
        f"""CREATE OR REPLACE PROCEDURE {s}.manage_user(op text, target text, spec jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  super boolean := {s}.is_superuser(session_user);
  n text;
  users text[];
  what text := CASE WHEN op LIKE '%group' THEN 'group' ELSE 'user' END;
BEGIN
  IF op = 'alter_user' AND NOT super THEN
    -- Redshift: users may change their own password (unless it is disabled) and their own
    -- session defaults (DG:r_ALTER_USER).
    IF target <> session_user
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(spec) k
                   WHERE k NOT IN ('password', 'password_set', 'set', 'reset'))
       OR (spec ? 'password_set' AND jsonb_typeof(spec->'password') = 'null')
       OR (spec ? 'password_set'
           AND (SELECT rolpassword IS NULL FROM pg_authid WHERE rolname = target)) THEN
      RAISE EXCEPTION 'permission denied to alter user "%"', target USING ERRCODE = '42501';
    END IF;
  ELSIF NOT super THEN
    RAISE EXCEPTION 'must be superuser to % %s', split_part(op, '_', 1), what
      USING ERRCODE = '42501';
  END IF;
  IF op IN ('create_user', 'create_group') THEN
    IF to_regrole(target) IS NOT NULL THEN
      RAISE EXCEPTION '% "%" already exists', what, target USING ERRCODE = '42710';
    END IF;
    EXECUTE format('CREATE ROLE %I %s', target,
                   CASE WHEN op = 'create_user' THEN 'LOGIN' ELSE 'NOLOGIN' END);
    IF op = 'create_user' THEN
      PERFORM {s}.apply_user(target, spec, true);
    ELSE
      FOR n IN SELECT jsonb_array_elements_text(spec->'users')
      LOOP
        PERFORM {s}.check_role(n, true);
        PERFORM {s}.grant_role(target, n, true);
      END LOOP;
    END IF;
  ELSIF op = 'alter_user' THEN
    PERFORM {s}.check_role(target, true);
    PERFORM {s}.apply_user(target, spec, false);
  ELSIF op = 'alter_group' THEN
    PERFORM {s}.check_role(target, false);
    IF spec ? 'rename' THEN
      EXECUTE format('ALTER ROLE %I RENAME TO %I', target, spec->>'rename');
    END IF;
    FOR n IN SELECT jsonb_array_elements_text(coalesce(spec->'add', '[]'))
    LOOP
      PERFORM {s}.check_role(n, true);
      PERFORM {s}.grant_role(target, n, true);
    END LOOP;
    FOR n IN SELECT jsonb_array_elements_text(coalesce(spec->'drop', '[]'))
    LOOP
      PERFORM {s}.check_role(n, true);
      PERFORM {s}.grant_role(target, n, false);
    END LOOP;
  ELSIF op IN ('drop_user', 'drop_group') THEN
    FOR n IN SELECT jsonb_array_elements_text(spec->'names')
    LOOP
      IF to_regrole(n) IS NULL AND (spec->>'if_exists')::boolean THEN
        CONTINUE;
      END IF;
      PERFORM {s}.check_role(n, op = 'drop_user');
      IF n = session_user THEN
        RAISE EXCEPTION 'user "%" cannot be dropped because it is the current user', n
          USING ERRCODE = '55006';
      END IF;
      BEGIN
        EXECUTE format('DROP ROLE %I', n);
      EXCEPTION WHEN dependent_objects_still_exist THEN
        -- Redshift: DG:r_DROP_USER, DG:r_DROP_GROUP.
        RAISE EXCEPTION '% "%" can''t be dropped because the % owns or has a privilege on '
                        'some object', what, n, what USING ERRCODE = '2BP01';
      END;
    END LOOP;
  ELSE
    RAISE EXCEPTION 'unknown operation %', op USING ERRCODE = '22023';
  END IF;
END $$""",
        f"REVOKE EXECUTE ON FUNCTION {s}.apply_user(text, jsonb, boolean) FROM PUBLIC",
        f"REVOKE EXECUTE ON FUNCTION {s}.grant_role(text, text, boolean) FROM PUBLIC",
        # Redshift: every user may create objects in the public schema (DG:r_CREATE_SCHEMA,
        # DG:r_GRANT); PostgreSQL 15 took CREATE there away from PUBLIC.
        """DO $$ BEGIN
  IF to_regnamespace('public') IS NOT NULL THEN
    GRANT USAGE, CREATE ON SCHEMA public TO PUBLIC;
  END IF;
END $$""",
        # A Redshift superuser creates schemas in every database (DG:r_CREATE_SCHEMA),
        # whoever owns it upstream.
        f"""DO $$ BEGIN
  IF to_regrole('{SUPERUSERS}') IS NOT NULL THEN
    EXECUTE format('GRANT CREATE, TEMPORARY ON DATABASE %I TO {SUPERUSERS}',
                   current_database());
  END IF;
END $$""",
    ]


# Routines nothing else depends on (only the emulator's own code calls them): dropped
# before they are made again, so that a later version may change their parameters.
_REMADE = (
    "FUNCTION {s}.set_keys_immediate(oid, boolean)",
    "FUNCTION {s}.disable_fk_triggers(oid)",
    "FUNCTION {s}.keys_for_reference(oid)",
    "FUNCTION {s}.close_keys()",
    "PROCEDURE {s}.add_key(regclass, text, text, jsonb)",
    "FUNCTION {s}.is_superuser(name)",
    "FUNCTION {s}.check_role(text, boolean)",
    "FUNCTION {s}.grant_role(text, text, boolean)",
    "FUNCTION {s}.apply_user(text, jsonb, boolean)",
    "PROCEDURE {s}.manage_user(text, text, jsonb)",
)


def statements() -> list[str]:
    drops = [
        f"DROP {kind} IF EXISTS {rest}"
        for kind, rest in (routine.format(s=SCHEMA).split(" ", 1) for routine in _REMADE)
    ]
    return [
        *_tables_sql(),
        *_meta_sql(),
        *_migration_sql(),
        *drops,
        *_constraints_sql(),
        *_users_sql(),
    ]
