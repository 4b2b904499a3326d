"""CHAR and VARCHAR lengths in bytes, as Redshift counts them.

Redshift: ``VARCHAR(n)`` and ``CHAR(n)`` hold n *bytes* of UTF-8, and CHAR holds single-byte
characters only (DG:r_Character_types). PostgreSQL counts characters, so a value of n
characters and more than n bytes fits here and fails there.

A value's type is not known from the statement (a parameter, an expression, COPY), so the
check runs upstream, at the row: after every CREATE TABLE / ALTER TABLE the
``ddl_command_end`` trigger of :mod:`.bookkeeping` calls :func:`lengths_sql`'s
``byte_lengths(table)``. It writes the table's test, one SQL function of a row (one
``octet_length`` comparison a CHAR or VARCHAR column), and a ``BEFORE INSERT OR UPDATE``
row trigger whose WHEN calls it. PostgreSQL inlines the SQL function into the WHEN, so a
row that passes costs a few comparisons and no function call (4 to 21 % more for a bare
INSERT ... SELECT of ASCII rows: benchmarks/_lengths_cost.py, RESULTS.md). A row that
fails calls the trigger's function (named as the trigger), which finds the column and
answers PostgreSQL's text for a value too long (Redshift's is the same) or Redshift's load
error for a multibyte character in a CHAR.

The test is polymorphic (``anyelement``), so it depends on no table or column: dropping
or altering a column is never refused for it. It is written again whenever the table's
columns change (ADD, DROP, RENAME, ALTER TYPE) and dropped with the table
(``on_sql_drop``).
"""

from __future__ import annotations

from .catalog import SCHEMA

TRIGGER = f"{SCHEMA}_lengths"


def function_name(relid: str) -> str:
    """SQL for the table's check function's name (``relid``: SQL for its OID)."""
    return f"format('%I.%I', '{SCHEMA}', 'lengths_' || {relid})"


def lengths_sql() -> list[str]:
    s = SCHEMA
    return [
        # The slow path, for a row that breaks a length: which column, and Redshift's text.
        # Its name holds the schema's, so the relay drops the error's CONTEXT line.
        f"""CREATE OR REPLACE FUNCTION {s}.{TRIGGER}() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  row jsonb := to_jsonb(NEW);
  col record;
  v text;
  ch text;
BEGIN
  FOR col IN SELECT a.attname, a.atttypid, a.atttypmod - 4 AS n FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
                AND a.atttypmod > 4 AND a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype)
              ORDER BY a.attnum
  LOOP
    v := rtrim(row ->> col.attname);
    IF col.atttypid = 'bpchar'::regtype AND octet_length(v) <> char_length(v) THEN
      ch := substring(v from '[^\\x01-\\x7f]');
      ch := rtrim(regexp_replace(encode(convert_to(ch, 'UTF8'), 'hex'), '(..)', '\\1 ', 'g'));
      RAISE EXCEPTION 'Multibyte character not supported for CHAR (Hint: try using VARCHAR). '
        'Invalid char: %', ch USING ERRCODE = '22001';
    ELSIF octet_length(row ->> col.attname) > col.n THEN
      RAISE EXCEPTION 'value too long for type character varying(%)', col.n
        USING ERRCODE = '22001';
    END IF;
  END LOOP;
  RETURN NEW;
END $$""",
        f"GRANT EXECUTE ON FUNCTION {s}.{TRIGGER}() TO PUBLIC",
        # The test, inlined into the trigger's WHEN: no function call for a row that
        # passes. Polymorphic, so it depends on no table or column.
        f"""CREATE OR REPLACE FUNCTION {s}.byte_lengths(rel oid) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  fn text := {function_name("rel")};
  test text;
  has_trigger boolean := EXISTS (SELECT 1 FROM pg_trigger
                                 WHERE tgrelid = rel AND tgname = '{TRIGGER}');
BEGIN
  SELECT string_agg(CASE WHEN a.atttypid = 'bpchar'::regtype
           THEN format('octet_length(($1).%1$I::text) <> char_length(($1).%1$I::text)',
                       a.attname)
           ELSE format('octet_length(($1).%I) > %s', a.attname, a.atttypmod - 4) END,
         ' OR ' ORDER BY a.attnum)
    INTO test
    FROM pg_attribute a
   WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypmod > 4
     AND a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype);
  IF test IS NULL THEN
    IF has_trigger THEN
      EXECUTE format('DROP TRIGGER {TRIGGER} ON %s', rel::regclass);
    END IF;
    IF to_regprocedure(fn || '(anyelement)') IS NOT NULL THEN  -- no NOTICE to the client
      EXECUTE format('DROP FUNCTION %s(anyelement)', fn);
    END IF;
    RETURN;
  END IF;
  EXECUTE format('CREATE OR REPLACE FUNCTION %s(anyelement) RETURNS boolean LANGUAGE sql '
                 'IMMUTABLE AS %L', fn, 'SELECT ' || test);
  IF NOT has_trigger THEN
    EXECUTE format('CREATE TRIGGER {TRIGGER} BEFORE INSERT OR UPDATE ON %s FOR EACH ROW '
                   'WHEN (%s(NEW)) EXECUTE FUNCTION {s}.{TRIGGER}()',
                   rel::regclass, fn);
  END IF;
END $$""",
        f"REVOKE EXECUTE ON FUNCTION {s}.byte_lengths(oid) FROM PUBLIC",
    ]
