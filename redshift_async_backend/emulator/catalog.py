"""SQL installed into each upstream database: Redshift functions, catalog views, metadata.

Everything lives in the schema :data:`SCHEMA`, which :func:`upstream_options` puts on the
``search_path`` (and :mod:`.rules` qualifies the names it rewrites, so a client that changes
its ``search_path`` keeps working).

The emulator's own bookkeeping (Redshift's table metadata, the event triggers that record
it and keep constraints informational, the user and group procedures) is in
:mod:`.bookkeeping`.
"""

from __future__ import annotations

import functools
import hashlib

from . import sqlfunctions

SCHEMA = "redshift_emulator"

# Redshift: SELECT version() (the string seen in aws/amazon-redshift-python-driver#194 and in
# Redshift's own error reports, e.g. SQLMesh/sqlmesh#5572 "RedshiftPADB-1.0.48169").
REDSHIFT_VERSION = (
    "PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 "
    "(Red Hat 3.4.2-6.fc3), Redshift 1.0.48169"
)

# Redshift: DG:r_Dateparts_for_datetime_functions: names and abbreviations accepted by
# DATEADD, DATEDIFF, DATE_PART and EXTRACT, mapped to PostgreSQL's field names.
DATEPARTS: dict[str, str] = {}
for _canon, _names in {
    "millennium": "millennium millennia mil mils",
    "century": "century centuries c cent cents",
    "decade": "decade decades dec decs",
    "epoch": "epoch",
    "year": "year years y yr yrs",
    "quarter": "quarter quarters qtr qtrs",
    "month": "month months mon mons",
    "week": "week weeks w",
    "dow": "dayofweek dow dw weekday",
    "doy": "dayofyear doy dy yearday",
    "day": "day days d",
    "hour": "hour hours h hr hrs",
    "minute": "minute minutes m min mins",
    "second": "second seconds s sec secs",
    "milliseconds": (
        "millisecond milliseconds ms msec msecs msecond mseconds millisec millisecs millisecon"
    ),
    "microseconds": ("microsecond microseconds microsec microsecs usecond useconds us usec usecs"),
    "timezone": "timezone",
    "timezone_hour": "timezone_hour",
    "timezone_minute": "timezone_minute",
}.items():
    for _name in _names.split():
        DATEPARTS[_name] = _canon


def _datepart_sql() -> str:
    whens = "\n".join(f"    WHEN '{k}' THEN '{v}'" for k, v in sorted(DATEPARTS.items()))
    return f"""
CREATE OR REPLACE FUNCTION {SCHEMA}.datepart(part text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE canon text;
BEGIN
  canon := CASE lower(trim(part))
{whens}
  END;
  IF canon IS NULL THEN
    RAISE EXCEPTION 'date part "%" is not supported', part USING ERRCODE = '0A000';
  END IF;
  RETURN canon;
END $$"""


def _types_sql() -> list[str]:
    s = SCHEMA
    collation = f"""DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
                 WHERE n.nspname = '{s}' AND c.collname = 'case_insensitive') THEN
    BEGIN
      CREATE COLLATION {s}.case_insensitive
        (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
    EXCEPTION WHEN feature_not_supported THEN
      -- No ICU: a placeholder so the DDL parses; apply_meta turns the column into citext.
      CREATE COLLATION {s}.case_insensitive FROM "C";
      CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
    END;
  END IF;
END $$"""
    domain = """DO $$ BEGIN
  IF to_regtype('{s}.{name}') IS NULL THEN
    CREATE DOMAIN {s}.{name} AS {base};
  END IF;
END $$"""
    return [
        collation,
        # SUPER holds JSON as its serialized text: what both drivers hand to Python for a
        # Redshift SUPER column (DG:r_SUPER_type; redshift_connector returns str).
        domain.format(s=s, name="super", base="text"),
        # Redshift: VARBYTE(n), 1 <= n <= 1,024,000 bytes (DG:r_VARBYTE_type).
        domain.format(s=s, name="varbyte", base="bytea CHECK (octet_length(VALUE) <= 1024000)"),
        # Redshift: GEOMETRY, GEOGRAPHY (DG:GeometryType-function) and HLLSKETCH
        # (DG:r_HLLSKETCH_type) columns; the emulator stores their values, no more.
        domain.format(s=s, name="geometry", base="bytea"),
        domain.format(s=s, name="geography", base="bytea"),
        domain.format(s=s, name="hllsketch", base="text"),
    ]


def _functions_sql() -> list[str]:
    s = SCHEMA
    out = [_datepart_sql()]
    out.append(
        f"CREATE OR REPLACE FUNCTION {s}.version() RETURNS text LANGUAGE sql IMMUTABLE "
        f"AS $$ SELECT '{REDSHIFT_VERSION}'::text $$"
    )
    # Redshift: SHA2(string, bits) -> hex VARCHAR, bits 0 (= 256), 224, 256, 384 or 512;
    # any other number of bits gives an empty string (DG:SHA2).
    out.append(
        f"""CREATE OR REPLACE FUNCTION {s}.sha2(str text, bits integer) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT coalesce(encode(CASE bits WHEN 224 THEN sha224(convert_to(str, 'UTF8'))
                                   WHEN 384 THEN sha384(convert_to(str, 'UTF8'))
                                   WHEN 512 THEN sha512(convert_to(str, 'UTF8'))
                                   WHEN 256 THEN sha256(convert_to(str, 'UTF8'))
                                   WHEN 0 THEN sha256(convert_to(str, 'UTF8')) END, 'hex'), '')
$$"""
    )
    # Redshift: SHA1(string) / FUNC_SHA1(string) -> 40 hex digits (DG:SHA1, DG:FUNC_SHA1).
    # PostgreSQL has sha224..sha512 built in but SHA-1 only in pgcrypto, which the embedded
    # server lacks: SHA-1 (FIPS 180-4) in PL/pgSQL, on bigint words masked to 32 bits.
    out.append(
        f"""CREATE OR REPLACE FUNCTION {s}.sha1_bytes(msg bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  m32 constant bigint := 4294967295;
  h bigint[] := ARRAY[1732584193, 4023233417, 2562383102, 271733878, 3285377520];
  bits bigint := length(msg)::bigint * 8;
  data bytea;
  w bigint[];
  a bigint; b bigint; c bigint; d bigint; e bigint; f bigint; k bigint; t bigint;
  chunk int; i int;
BEGIN
  data := msg || '\\x80'::bytea
       || decode(repeat('00', ((55 - length(msg)) % 64 + 64) % 64), 'hex')
       || decode(lpad(to_hex(bits), 16, '0'), 'hex');
  FOR chunk IN 0 .. length(data) / 64 - 1 LOOP
    w := '{{}}';
    FOR i IN 0 .. 15 LOOP
      w[i] := (get_byte(data, chunk * 64 + i * 4)::bigint << 24)
            | (get_byte(data, chunk * 64 + i * 4 + 1)::bigint << 16)
            | (get_byte(data, chunk * 64 + i * 4 + 2)::bigint << 8)
            | get_byte(data, chunk * 64 + i * 4 + 3)::bigint;
    END LOOP;
    FOR i IN 16 .. 79 LOOP
      t := w[i - 3] # w[i - 8] # w[i - 14] # w[i - 16];
      w[i] := ((t << 1) | (t >> 31)) & m32;
    END LOOP;
    a := h[1]; b := h[2]; c := h[3]; d := h[4]; e := h[5];
    FOR i IN 0 .. 79 LOOP
      IF i < 20 THEN f := (b & c) | ((~b & m32) & d); k := 1518500249;
      ELSIF i < 40 THEN f := b # c # d; k := 1859775393;
      ELSIF i < 60 THEN f := (b & c) | (b & d) | (c & d); k := 2400959708;
      ELSE f := b # c # d; k := 3395469782;
      END IF;
      t := ((((a << 5) | (a >> 27)) & m32) + f + e + k + w[i]) & m32;
      e := d; d := c; c := ((b << 30) | (b >> 2)) & m32; b := a; a := t;
    END LOOP;
    h[1] := (h[1] + a) & m32; h[2] := (h[2] + b) & m32; h[3] := (h[3] + c) & m32;
    h[4] := (h[4] + d) & m32; h[5] := (h[5] + e) & m32;
  END LOOP;
  RETURN decode(lpad(to_hex(h[1]), 8, '0') || lpad(to_hex(h[2]), 8, '0')
             || lpad(to_hex(h[3]), 8, '0') || lpad(to_hex(h[4]), 8, '0')
             || lpad(to_hex(h[5]), 8, '0'), 'hex');
END $$"""
    )
    for name in ("sha1", "func_sha1"):
        out.append(
            f"CREATE OR REPLACE FUNCTION {s}.{name}(str text) RETURNS text "
            "LANGUAGE sql IMMUTABLE STRICT "
            f"AS $$ SELECT encode({s}.sha1_bytes(convert_to(str, 'UTF8')), 'hex') $$"
        )
    # Redshift: ROUND(number [, integer]) takes DECIMAL or FLOAT8 and returns the input's
    # type (DG:r_ROUND); PostgreSQL has no round(double precision, integer).
    out.append(
        f"CREATE OR REPLACE FUNCTION {s}.round(double precision, integer) "
        "RETURNS double precision LANGUAGE sql IMMUTABLE STRICT "
        "AS $$ SELECT round($1::numeric, $2)::double precision $$"
    )
    # Redshift: GETDATE returns the statement start, without fractional seconds; SYSDATE
    # the transaction start (DG:r_GETDATE, DG:r_SYSDATE, DG:Date_functions_header).
    out.append(
        f"CREATE OR REPLACE FUNCTION {s}.getdate() RETURNS timestamp LANGUAGE sql STABLE "
        "AS $$ SELECT date_trunc('second', statement_timestamp())::timestamp $$"
    )
    out.append(
        f"CREATE OR REPLACE FUNCTION {s}.sysdate() RETURNS timestamp LANGUAGE sql STABLE "
        "AS $$ SELECT localtimestamp $$"
    )
    # Redshift: DATEADD(datepart, interval, {date|time|timetz|timestamp}) (DG:r_DATEADD_function)
    out.append(
        f"""CREATE OR REPLACE FUNCTION {s}.date_interval(part text, n bigint) RETURNS interval
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  RETURN n * CASE {s}.datepart(part)
    WHEN 'millennium' THEN interval '1000 years' WHEN 'century' THEN interval '100 years'
    WHEN 'decade' THEN interval '10 years' WHEN 'year' THEN interval '1 year'
    WHEN 'quarter' THEN interval '3 months' WHEN 'month' THEN interval '1 month'
    WHEN 'week' THEN interval '7 days' WHEN 'day' THEN interval '1 day'
    WHEN 'hour' THEN interval '1 hour' WHEN 'minute' THEN interval '1 minute'
    WHEN 'second' THEN interval '1 second' WHEN 'milliseconds' THEN interval '1 millisecond'
    WHEN 'microseconds' THEN interval '1 microsecond'
  END;
END $$"""
    )
    for arg, ret in [
        ("timestamp", "timestamp"),
        ("timestamptz", "timestamptz"),
        ("date", "timestamp"),
        ("time", "time"),
        ("timetz", "timetz"),
        ("text", "timestamp"),
    ]:
        cast = "$3::timestamp" if arg in ("date", "text") else "$3"
        out.append(
            f"CREATE OR REPLACE FUNCTION {s}.dateadd(text, bigint, {arg}) RETURNS {ret} "
            f"LANGUAGE sql IMMUTABLE AS $$ SELECT ({cast} + {s}.date_interval($1, $2))::{ret} $$"
        )
    # Redshift: DATEDIFF counts datepart boundaries crossed, returns BIGINT
    # (DG:r_DATEDIFF_function).
    out.append(
        f"""CREATE OR REPLACE FUNCTION {s}.datediff(part text, a timestamp, b timestamp)
RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE p text := {s}.datepart(part);
BEGIN
  IF a IS NULL OR b IS NULL THEN RETURN NULL; END IF;
  RETURN CASE p
    WHEN 'millennium' THEN extract(millennium FROM b) - extract(millennium FROM a)
    WHEN 'century' THEN extract(century FROM b) - extract(century FROM a)
    WHEN 'decade' THEN extract(decade FROM b) - extract(decade FROM a)
    WHEN 'year' THEN extract(year FROM b) - extract(year FROM a)
    WHEN 'quarter' THEN (extract(year FROM b) * 4 + extract(quarter FROM b))
                      - (extract(year FROM a) * 4 + extract(quarter FROM a))
    WHEN 'month' THEN (extract(year FROM b) * 12 + extract(month FROM b))
                    - (extract(year FROM a) * 12 + extract(month FROM a))
    WHEN 'week' THEN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7
    WHEN 'day' THEN b::date - a::date
    WHEN 'hour' THEN (extract(epoch FROM date_trunc('hour', b))
                    - extract(epoch FROM date_trunc('hour', a))) / 3600
    WHEN 'minute' THEN (extract(epoch FROM date_trunc('minute', b))
                      - extract(epoch FROM date_trunc('minute', a))) / 60
    WHEN 'second' THEN extract(epoch FROM date_trunc('second', b))
                     - extract(epoch FROM date_trunc('second', a))
    WHEN 'milliseconds' THEN floor(extract(epoch FROM b) * 1000)
                           - floor(extract(epoch FROM a) * 1000)
    WHEN 'microseconds' THEN floor(extract(epoch FROM b) * 1000000)
                           - floor(extract(epoch FROM a) * 1000000)
    ELSE NULL
  END;
END $$"""
    )
    for arg, conv in [
        ("timestamptz", "{x} AT TIME ZONE 'UTC'"),
        ("date", "{x}::timestamp"),
        ("time", "'2000-01-01'::date + {x}"),
        ("timetz", "'2000-01-01'::date + ({x} AT TIME ZONE 'UTC')::time"),
        ("text", "{x}::timestamp"),
    ]:
        a, b = conv.format(x="$2"), conv.format(x="$3")
        out.append(
            f"CREATE OR REPLACE FUNCTION {s}.datediff(text, {arg}, {arg}) RETURNS bigint "
            f"LANGUAGE sql IMMUTABLE AS $$ SELECT {s}.datediff($1, {a}, {b}) $$"
        )
    # Redshift: CONVERT_TIMEZONE(['source',] 'target', timestamp) (DG:CONVERT_TIMEZONE)
    out += [
        f"CREATE OR REPLACE FUNCTION {s}.convert_timezone(text, text, timestamp) "
        "RETURNS timestamp LANGUAGE sql STABLE "
        "AS $$ SELECT ($3 AT TIME ZONE $1) AT TIME ZONE $2 $$",
        f"CREATE OR REPLACE FUNCTION {s}.convert_timezone(text, timestamp) "
        "RETURNS timestamp LANGUAGE sql STABLE "
        "AS $$ SELECT ($2 AT TIME ZONE 'UTC') AT TIME ZONE $1 $$",
        f"CREATE OR REPLACE FUNCTION {s}.convert_timezone(text, text, timestamptz) "
        "RETURNS timestamp LANGUAGE sql STABLE AS $$ SELECT $3 AT TIME ZONE $2 $$",
        f"CREATE OR REPLACE FUNCTION {s}.convert_timezone(text, timestamptz) "
        "RETURNS timestamp LANGUAGE sql STABLE AS $$ SELECT $2 AT TIME ZONE $1 $$",
        f"CREATE OR REPLACE FUNCTION {s}.convert_timezone(text, text, text) "
        "RETURNS timestamp LANGUAGE sql STABLE "
        f"AS $$ SELECT {s}.convert_timezone($1, $2, $3::timestamp) $$",
        f"CREATE OR REPLACE FUNCTION {s}.convert_timezone(text, text) "
        "RETURNS timestamp LANGUAGE sql STABLE "
        f"AS $$ SELECT {s}.convert_timezone($1, $2::timestamp) $$",
    ]
    # Redshift: LEN (DG:r_LEN), CHARINDEX (DG:r_CHARINDEX).
    out += [
        f"CREATE OR REPLACE FUNCTION {s}.len(text) RETURNS integer LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT length($1) $$",
        f"CREATE OR REPLACE FUNCTION {s}.len(character) RETURNS integer LANGUAGE sql "
        "IMMUTABLE AS $$ SELECT length($1) $$",
        f"CREATE OR REPLACE FUNCTION {s}.len(bytea) RETURNS integer LANGUAGE sql IMMUTABLE "
        "AS $$ SELECT octet_length($1) $$",
        f"CREATE OR REPLACE FUNCTION {s}.charindex(text, text) RETURNS integer LANGUAGE sql "
        "IMMUTABLE AS $$ SELECT position($1 IN $2) $$",
    ]
    out += _json_sql() + _varbyte_sql() + _regexp_sql() + sqlfunctions.functions_sql(s)
    return out


def _json_sql() -> list[str]:
    s = SCHEMA
    return [
        # Compact serialization in document order, like JSON_SERIALIZE's output.
        f"""CREATE OR REPLACE FUNCTION {s}.json_compact(j json) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE out text;
BEGIN
  CASE json_typeof(j)
  WHEN 'object' THEN
    SELECT '{{' || coalesce(string_agg(to_json(key)::text || ':' || {s}.json_compact(value),
                                       ',' ORDER BY n), '') || '}}'
      INTO out FROM json_each(j) WITH ORDINALITY AS e(key, value, n);
  WHEN 'array' THEN
    SELECT '[' || coalesce(string_agg({s}.json_compact(value), ',' ORDER BY n), '') || ']'
      INTO out FROM json_array_elements(j) WITH ORDINALITY AS e(value, n);
  WHEN 'string' THEN out := to_json(j #>> '{{}}')::text;
  ELSE out := (j::jsonb)::text;
  END CASE;
  RETURN out;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.can_json_parse(text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF $1 IS NULL THEN RETURN NULL; END IF;
  PERFORM $1::json;
  RETURN true;
EXCEPTION WHEN others THEN RETURN false;
END $$""",
        # Redshift: JSON_PARSE(varchar) -> SUPER (DG:JSON_PARSE).
        f"""CREATE OR REPLACE FUNCTION {s}.json_parse(text) RETURNS {s}.super
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF $1 IS NULL THEN RETURN NULL; END IF;
  IF NOT {s}.can_json_parse($1) THEN
    RAISE EXCEPTION 'invalid json object %', left($1, 64) USING ERRCODE = '22P02';
  END IF;
  RETURN {s}.json_compact($1::json)::{s}.super;
END $$""",
        # A SUPER that is not JSON text was stored from a plain string: a string scalar.
        f"""CREATE OR REPLACE FUNCTION {s}.json_serialize({s}.super) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN $1 IS NULL THEN NULL
              WHEN {s}.can_json_parse($1) THEN $1::text
              ELSE to_json($1::text)::text END
$$""",
        # Redshift: IS_VALID_JSON is true for an object only; IS_VALID_JSON_ARRAY for an array
        # (DG:IS_VALID_JSON, DG:IS_VALID_JSON_ARRAY examples).
        f"""CREATE OR REPLACE FUNCTION {s}.is_valid_json(text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN $1 IS NULL THEN NULL
              WHEN NOT {s}.can_json_parse($1) THEN false
              ELSE json_typeof($1::json) = 'object' END
$$""",
        f"""CREATE OR REPLACE FUNCTION {s}.is_valid_json_array(text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN $1 IS NULL THEN NULL
              WHEN NOT {s}.can_json_parse($1) THEN false
              ELSE json_typeof($1::json) = 'array' END
$$""",
        # Redshift: JSON_EXTRACT_PATH_TEXT(json, path_elem [, ...] [, null_if_invalid]); at
        # most 5 levels; a missing path gives NULL; invalid JSON is an error unless
        # null_if_invalid (DG:JSON_EXTRACT_PATH_TEXT).
        f"""CREATE OR REPLACE FUNCTION {s}.json_path_text(doc text, path text[],
                                                     null_if_invalid boolean)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE j json; k text;
BEGIN
  IF doc IS NULL THEN RETURN NULL; END IF;
  IF NOT {s}.can_json_parse(doc) THEN
    IF null_if_invalid THEN RETURN NULL; END IF;
    RAISE EXCEPTION 'invalid json object %', left(doc, 64) USING ERRCODE = '22P02';
  END IF;
  -- Each path element is an object key, never an array index (PostgreSQL's #> would
  -- read '0' as one).
  j := doc::json;
  FOREACH k IN ARRAY path LOOP
    IF k IS NULL OR json_typeof(j) <> 'object' THEN RETURN NULL; END IF;
    j := j -> k;
    IF j IS NULL THEN RETURN NULL; END IF;
  END LOOP;
  IF j IS NULL OR json_typeof(j) = 'null' THEN RETURN NULL; END IF;
  IF json_typeof(j) = 'string' THEN RETURN j #>> '{{}}'; END IF;
  RETURN {s}.json_compact(j);
END $$""",
        # Redshift: JSON_EXTRACT_ARRAY_ELEMENT_TEXT(json, pos [, null_if_invalid]): the
        # element at zero-based pos of the outermost array; NULL when pos is negative or out
        # of bounds; a string that is not a JSON array is an error unless null_if_invalid
        # (DG:JSON_EXTRACT_ARRAY_ELEMENT_TEXT).
        f"""CREATE OR REPLACE FUNCTION {s}.json_extract_array_element_text(
    doc text, pos integer, null_if_invalid boolean DEFAULT false)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE j json;
BEGIN
  IF doc IS NULL OR pos IS NULL THEN RETURN NULL; END IF;
  IF NOT {s}.can_json_parse(doc) OR json_typeof(doc::json) <> 'array' THEN
    IF null_if_invalid THEN RETURN NULL; END IF;
    RAISE EXCEPTION 'invalid json array object %', left(doc, 64) USING ERRCODE = '22P02';
  END IF;
  IF pos < 0 THEN RETURN NULL; END IF;
  j := doc::json -> pos;
  IF j IS NULL OR json_typeof(j) = 'null' THEN RETURN NULL; END IF;
  IF json_typeof(j) = 'string' THEN RETURN j #>> '{{}}'; END IF;
  RETURN {s}.json_compact(j);
END $$""",
    ] + [
        f"CREATE OR REPLACE FUNCTION {s}.json_extract_path_text(text, {args}) RETURNS text "
        f"LANGUAGE sql IMMUTABLE AS $$ SELECT {s}.json_path_text($1, ARRAY[{refs}], {nii}) $$"
        for n in range(1, 6)
        for with_flag in (False, True)
        for args, refs, nii in [
            (
                ", ".join(["text"] * n + (["boolean"] if with_flag else [])),
                ", ".join(f"${i + 2}" for i in range(n)),
                f"${n + 2}" if with_flag else "false",
            )
        ]
    ]


def _varbyte_sql() -> list[str]:
    s = SCHEMA
    # Redshift: TO_VARBYTE(string, 'hex'|'binary'|'utf8'|'utf-8'|'base64') and FROM_VARBYTE
    # (DG:r_TO_VARBYTE, DG:r_FROM_VARBYTE).
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.to_varbyte(str text, fmt text) RETURNS {s}.varbyte
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE out bytea := ''; i int;
BEGIN
  IF str IS NULL THEN RETURN NULL; END IF;
  CASE lower(fmt)
  WHEN 'hex' THEN RETURN decode(str, 'hex');
  WHEN 'utf8', 'utf-8' THEN RETURN convert_to(str, 'UTF8');
  WHEN 'base64' THEN RETURN decode(str, 'base64');
  WHEN 'binary' THEN
    IF length(str) % 8 <> 0 OR str !~ '^[01]*$' THEN
      RAISE EXCEPTION 'invalid binary string' USING ERRCODE = '22P02';
    END IF;
    FOR i IN 0 .. length(str) / 8 - 1 LOOP
      out := out || set_byte('\\x00'::bytea, 0, substr(str, i * 8 + 1, 8)::bit(8)::int);
    END LOOP;
    RETURN out;
  ELSE
    RAISE EXCEPTION 'unsupported format "%" for TO_VARBYTE', fmt USING ERRCODE = '22023';
  END CASE;
END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.from_varbyte(b bytea, fmt text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE out text := ''; i int;
BEGIN
  IF b IS NULL THEN RETURN NULL; END IF;
  CASE lower(fmt)
  WHEN 'hex' THEN RETURN encode(b, 'hex');
  WHEN 'utf8', 'utf-8' THEN RETURN convert_from(b, 'UTF8');
  WHEN 'base64' THEN RETURN translate(encode(b, 'base64'), E'\\n', '');
  WHEN 'binary' THEN
    FOR i IN 0 .. length(b) - 1 LOOP
      out := out || get_byte(b, i)::bit(8)::text;
    END LOOP;
    RETURN out;
  ELSE
    RAISE EXCEPTION 'unsupported format "%" for FROM_VARBYTE', fmt USING ERRCODE = '22023';
  END CASE;
END $$""",
    ]


def _regexp_sql() -> list[str]:
    s = SCHEMA
    # Redshift's parameters string: c (case-sensitive, default), i (case-insensitive),
    # e (extract a subexpression), p (PCRE; PostgreSQL's ARE covers the common Perl syntax).
    # (DG:REGEXP_COUNT, DG:REGEXP_INSTR, DG:REGEXP_SUBSTR, DG:REGEXP_REPLACE)
    flags = f"""CREATE OR REPLACE FUNCTION {s}.regexp_flags(params text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE f text := '';
BEGIN
  IF params IS NULL THEN RETURN ''; END IF;
  IF params ~ '[^ciep]' THEN
    RAISE EXCEPTION 'invalid regular expression parameter "%"', params USING ERRCODE = '22023';
  END IF;
  IF position('i' IN params) > position('c' IN params) THEN f := 'i'; END IF;
  RETURN f;
END $$"""
    sub = "CASE WHEN position('e' IN coalesce($5, '')) > 0 THEN 1 ELSE 0 END"
    return [
        flags,
        f"CREATE OR REPLACE FUNCTION {s}.regexp_count(text, text, integer DEFAULT 1, "
        "text DEFAULT 'c') RETURNS integer LANGUAGE sql IMMUTABLE AS $$ "
        f"SELECT pg_catalog.regexp_count($1, $2, $3, {s}.regexp_flags($4)) $$",
        f"CREATE OR REPLACE FUNCTION {s}.regexp_instr(text, text, integer DEFAULT 1, "
        "integer DEFAULT 1, integer DEFAULT 0, text DEFAULT 'c') RETURNS integer "
        "LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.regexp_instr($1, $2, $3, $4, $5, "
        f"{s}.regexp_flags($6), CASE WHEN position('e' IN coalesce($6, '')) > 0 "
        "THEN 1 ELSE 0 END) $$",
        f"CREATE OR REPLACE FUNCTION {s}.regexp_substr(text, text, integer DEFAULT 1, "
        "integer DEFAULT 1, text DEFAULT 'c') RETURNS text LANGUAGE sql IMMUTABLE AS $$ "
        f"SELECT coalesce(pg_catalog.regexp_substr($1, $2, $3, $4, {s}.regexp_flags($5), "
        f"{sub}), '') $$",
        # Redshift replaces every occurrence (PostgreSQL needs 'g').
        f"CREATE OR REPLACE FUNCTION {s}.regexp_replace(text, text, text DEFAULT '', "
        "integer DEFAULT 1, text DEFAULT 'c') RETURNS text LANGUAGE sql IMMUTABLE AS $$ "
        "SELECT substr($1, 1, $4 - 1) || pg_catalog.regexp_replace(substr($1, $4), $2, $3, "
        f"'g' || {s}.regexp_flags($5)) $$",
    ]


def _views_sql() -> list[str]:
    from .bookkeeping import COLUMN_META, TABLE_META

    s = SCHEMA
    return [
        f"""CREATE OR REPLACE FUNCTION {s}.type_name(typ oid, typmod integer) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN typ = '{s}.super'::regtype THEN 'super'
    WHEN typ = '{s}.varbyte'::regtype THEN 'varbyte'
    WHEN typ = '{s}.geometry'::regtype THEN 'geometry'
    WHEN typ = '{s}.geography'::regtype THEN 'geography'
    WHEN typ = '{s}.hllsketch'::regtype THEN 'hllsketch'
    ELSE format_type(typ, typmod) END
$$""",
        # Redshift's default encodings (DG:r_CREATE_TABLE_NEW, ENCODE): RAW for sort-key,
        # BOOLEAN, REAL, DOUBLE columns and temporary tables; AZ64 for numbers, dates and
        # times; LZO for strings. pg_table_def shows RAW as "none".
        f"""CREATE OR REPLACE FUNCTION {s}.encoding(typ oid, explicit text, is_sortkey boolean,
                                               is_temp boolean) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN explicit IS NOT NULL THEN CASE lower(explicit) WHEN 'raw' THEN 'none'
                                   ELSE lower(explicit) END
    WHEN is_temp OR is_sortkey THEN 'none'
    WHEN typ IN ('bool'::regtype, 'float4'::regtype, 'float8'::regtype) THEN 'none'
    WHEN typ IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype,
                 'date'::regtype, 'timestamp'::regtype, 'timestamptz'::regtype,
                 'time'::regtype, 'timetz'::regtype) THEN 'az64'
    WHEN typ IN ('varchar'::regtype, 'bpchar'::regtype, 'text'::regtype,
                 '{s}.varbyte'::regtype, 'bytea'::regtype) THEN 'lzo'
    WHEN to_regtype('public.citext') IS NOT NULL AND typ = to_regtype('public.citext')
      THEN 'lzo'
    ELSE 'none' END
$$""",
        f"""CREATE OR REPLACE FUNCTION {s}.table_rows(rel oid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE n bigint;
BEGIN
  -- Counting needs SELECT: a session sees the rows of what it may read (0 otherwise).
  IF NOT has_table_privilege(rel, 'SELECT') THEN
    RETURN 0;
  END IF;
  EXECUTE format('SELECT count(*) FROM %s', rel::regclass) INTO n;
  RETURN n;
END $$""",
        # Redshift: PG_TABLE_DEF (DG:r_PG_TABLE_DEF): only tables on the search_path.
        f"""CREATE OR REPLACE VIEW {s}.pg_table_def AS
SELECT n.nspname AS schemaname, c.relname AS tablename, a.attname AS "column",
       coalesce(cm.declared_type, {s}.type_name(a.atttypid, a.atttypmod)) AS type,
       {s}.encoding(a.atttypid, cm.encoding,
                    a.attnum = ANY (coalesce(tm.sortkey, '{{}}')),
                    c.relpersistence = 't')::character(32) AS encoding,
       coalesce(tm.distkey = a.attnum, false) AS distkey,
       CASE WHEN a.attnum = ANY (coalesce(tm.sortkey, '{{}}')) THEN
         array_position(tm.sortkey, a.attnum)
         * CASE WHEN tm.sortkind = 'INTERLEAVED' THEN -1 ELSE 1 END
       ELSE 0 END AS sortkey,
       a.attnotnull AS notnull
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN {TABLE_META} tm ON tm.relid = c.oid
  LEFT JOIN {COLUMN_META} cm ON cm.relid = c.oid AND cm.attnum = a.attnum
 WHERE c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', '{s}')""",
        # SVV_TABLE_INFO: sysviews.py, with the other system views.
        # Redshift: SVV_COLUMNS (DG:r_SVV_COLUMNS).
        f"""CREATE OR REPLACE VIEW {s}.svv_columns AS
SELECT col.table_catalog::text AS table_catalog, col.table_schema::text AS table_schema,
       col.table_name::text AS table_name, col.column_name::text AS column_name,
       col.ordinal_position::integer AS ordinal_position,
       -- Redshift shows an IDENTITY column's default as "identity"(<table oid>, <column
       -- index>, '<seed>,<step>'::text) (redshift-sql.md §2.1), a GENERATED BY DEFAULT AS
       -- IDENTITY column's as "default_identity"(...); PostgreSQL's is NULL.
       CASE WHEN col.is_identity = 'YES' THEN
         format('"%s"(%s, %s, ''%s,%s''::text)',
                CASE col.identity_generation WHEN 'ALWAYS' THEN 'identity'
                     ELSE 'default_identity' END,
                format('%I.%I', col.table_schema, col.table_name)::regclass::oid,
                col.ordinal_position::integer - 1, col.identity_start,
                col.identity_increment)
       ELSE col.column_default END::text AS column_default,
       col.is_nullable::text AS is_nullable,
       CASE WHEN col.domain_name IN ('super', 'varbyte') AND col.domain_schema = '{s}'
            THEN col.domain_name
            -- A COLLATE CASE_INSENSITIVE column emulated with citext (no ICU, apply_meta)
            -- shows the type it was declared with, as on Redshift.
            WHEN cm.case_insensitive AND col.data_type = 'USER-DEFINED'
            THEN split_part(cm.declared_type, '(', 1)
            ELSE col.data_type END::text AS data_type,
       coalesce(col.character_maximum_length::integer,
                CASE WHEN cm.case_insensitive AND col.data_type = 'USER-DEFINED'
                THEN substring(cm.declared_type FROM '[(]([0-9]+)[)]')::integer END)
         AS character_maximum_length,
       col.numeric_precision::integer AS numeric_precision,
       col.numeric_precision_radix::integer AS numeric_precision_radix,
       col.numeric_scale::integer AS numeric_scale,
       col.datetime_precision::integer AS datetime_precision,
       col.interval_type::text AS interval_type,
       col.interval_precision::text AS interval_precision,
       col.character_set_catalog::text AS character_set_catalog,
       col.character_set_schema::text AS character_set_schema,
       col.character_set_name::text AS character_set_name,
       col.collation_catalog::text AS collation_catalog,
       col.collation_schema::text AS collation_schema,
       -- Redshift: a column's collation is CASE_SENSITIVE or CASE_INSENSITIVE
       -- (DG:r_CREATE_TABLE_NEW); the database default shows as NULL.
       CASE WHEN cm.case_insensitive THEN 'case_insensitive'
            ELSE col.collation_name END::text AS collation_name,
       col.domain_name::text AS domain_name,
       col_description(format('%I.%I', col.table_schema, col.table_name)::regclass,
                       col.ordinal_position::integer)::text AS remarks
  FROM information_schema.columns col
  LEFT JOIN {COLUMN_META} cm
         ON cm.relid = format('%I.%I', col.table_schema, col.table_name)::regclass
        AND cm.attnum = col.ordinal_position
 WHERE col.table_schema NOT IN ('pg_catalog', 'information_schema', '{s}')""",
        # Redshift: STV_DB_ISOLATION_LEVEL (DG:r_STV_DB_ISOLATION_LEVEL).
        f"""CREATE OR REPLACE VIEW {s}.stv_db_isolation_level AS
SELECT d.datname::text AS db_name,
       CASE current_setting('default_transaction_isolation')
         WHEN 'serializable' THEN 'Serializable' ELSE 'Snapshot Isolation' END::text
         AS isolation_level
  FROM pg_database d WHERE d.datallowconn AND NOT d.datistemplate""",
        f"GRANT USAGE ON SCHEMA {s} TO PUBLIC",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO PUBLIC",
    ]


@functools.cache
def setup_statements() -> tuple[str, ...]:
    """Idempotent SQL that makes an upstream database answer as Redshift does.

    The last statement stamps the schema with :func:`setup_marker`, so whether a database
    holds this version's SQL is one catalog lookup (:data:`SETUP_CHECK_SQL`): the check
    needs no memory of earlier sessions, so a database dropped and created again (through
    the emulator or not, by any emulator process) is set up again.
    """
    return (*_setup_body(), f"COMMENT ON SCHEMA {SCHEMA} IS '{setup_marker()}'")


@functools.cache
def _setup_body() -> tuple[str, ...]:
    from . import bookkeeping
    from .lengths import lengths_sql
    from .sysviews import sysviews_sql  # it reads SCHEMA from here

    return (
        f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
        *_types_sql(),
        *lengths_sql(),
        *bookkeeping.statements(),
        *_functions_sql(),
        *_views_sql(),
        *sysviews_sql(),
    )


@functools.cache
def setup_marker() -> str:
    """The comment the schema carries once :func:`setup_statements` have all run."""
    return "setup " + hashlib.sha1("\n".join(_setup_body()).encode()).hexdigest()[:16]


# One row: the schema's comment, NULL when the schema does not exist.
# Qualified: a client's search_path must not change what it finds.
SETUP_CHECK_SQL = (
    f"SELECT pg_catalog.obj_description(pg_catalog.to_regnamespace('{SCHEMA}'), 'pg_namespace')"
)


def upstream_options() -> str:
    """The libpq ``options`` for every upstream session."""
    # Redshift: sessions run in UTC by default (DG:r_timezone_config). Transactions are
    # snapshot-isolated (DG:c_serial_isolation; the default for new clusters since
    # 2024-05-22): PostgreSQL's REPEATABLE READ is snapshot isolation. Foreign keys are
    # informational through the event triggers of .bookkeeping, on any PostgreSQL version
    # and for sessions that are not superusers.
    return (
        f'-c search_path="$user",public,{SCHEMA} -c DateStyle=ISO,MDY '
        "-c IntervalStyle=postgres -c TimeZone=UTC "
        "-c default_transaction_isolation=repeatable\\ read"
    )
