"""More Redshift functions installed upstream (part of :func:`.catalog.setup_statements`):
EXTRACT's Redshift results, ADD_MONTHS, TRUNC(timestamp), REPLICATE, TO_HEX(varbyte),
JSON_TYPEOF, SUPER navigation and CURRENT_USER_ID. Each is plain SQL the session's own role may run.
"""

from __future__ import annotations


def extract_sql(s: str) -> list[str]:
    """``{s}.extract(part, x)``: the part alone (DG:r_Dateparts_for_datetime_functions,
    "Variations in results with seconds, milliseconds, and microseconds"): SECOND without
    its fraction, MILLISECOND and MICROSECOND without the seconds; DECADE counted on the
    common calendar (decade 201 is 2000-2009, same page); INTEGER, DOUBLE PRECISION for
    TIMESTAMPTZ (DG:r_EXTRACT_function)."""
    value = """CASE $1
    WHEN 'decade' THEN floor(extract(year FROM $2) / 10) + 1
    WHEN 'second' THEN floor(extract(second FROM $2))
    WHEN 'milliseconds' THEN floor(extract(microseconds FROM $2) / 1000) - floor(extract(second FROM $2)) * 1000
    WHEN 'microseconds' THEN extract(microseconds FROM $2) - floor(extract(microseconds FROM $2) / 1000) * 1000
    ELSE floor(extract($1 FROM $2)) END"""  # noqa: E501
    # extract(<text> FROM x) is date_part(text, x) in PostgreSQL.
    value = value.replace("extract($1 FROM $2)", "date_part($1, $2)")
    out = []
    for arg, ret in [
        ("timestamp", "integer"),
        ("timestamptz", "double precision"),
        ("time", "integer"),
        ("timetz", "integer"),
        ("interval", "integer"),
    ]:
        out.append(
            f"CREATE OR REPLACE FUNCTION {s}.extract(text, {arg}) RETURNS {ret} "
            f"LANGUAGE sql STABLE STRICT AS $$ SELECT ({value})::{ret} $$"
        )
    for arg in ("date", "text"):
        out.append(
            f"CREATE OR REPLACE FUNCTION {s}.extract(text, {arg}) RETURNS integer "
            f"LANGUAGE sql STABLE STRICT AS $$ SELECT {s}.extract($1, $2::timestamp) $$"
        )
    return out


def functions_sql(s: str) -> list[str]:
    out = extract_sql(s)
    # Redshift: ADD_MONTHS({date | timestamp}, integer) -> TIMESTAMP; from the last day of a
    # month, or when the result's month is shorter, the last day of the result's month
    # (DG:r_ADD_MONTHS).
    out.append(
        f"""CREATE OR REPLACE FUNCTION {s}.add_months(d timestamp, n integer) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT CASE WHEN extract(day FROM d + interval '1 day') = 1
         THEN date_trunc('month', d) + (n + 1) * interval '1 month' - interval '1 day'
              + (d - date_trunc('day', d))
         ELSE d + n * interval '1 month' END
$$"""
    )
    out += [
        f"CREATE OR REPLACE FUNCTION {s}.add_months(date, integer) RETURNS timestamp "
        f"LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT {s}.add_months($1::timestamp, $2) $$",
        f"CREATE OR REPLACE FUNCTION {s}.add_months(timestamptz, integer) RETURNS timestamp "
        f"LANGUAGE sql STABLE STRICT AS $$ SELECT {s}.add_months($1::timestamp, $2) $$",
        f"CREATE OR REPLACE FUNCTION {s}.add_months(text, integer) RETURNS timestamp "
        f"LANGUAGE sql STABLE STRICT AS $$ SELECT {s}.add_months($1::timestamp, $2) $$",
        # Redshift: TRUNC(timestamp) -> DATE (DG:r_TRUNC_date).
        f"CREATE OR REPLACE FUNCTION {s}.trunc(timestamp) RETURNS date LANGUAGE sql "
        "IMMUTABLE STRICT AS $$ SELECT $1::date $$",
        f"CREATE OR REPLACE FUNCTION {s}.trunc(timestamptz) RETURNS date LANGUAGE sql "
        "STABLE STRICT AS $$ SELECT $1::date $$",
        # Redshift: REPLICATE(string, n) is REPEAT (DG:r_REPLICATE).
        f"CREATE OR REPLACE FUNCTION {s}.replicate(text, integer) RETURNS text LANGUAGE sql "
        "IMMUTABLE STRICT AS $$ SELECT repeat($1, $2) $$",
        # Redshift: TO_HEX of a VARBYTE (DG:r_TO_HEX); PostgreSQL has the integer forms.
        f"CREATE OR REPLACE FUNCTION {s}.to_hex(bytea) RETURNS text LANGUAGE sql "
        "IMMUTABLE STRICT AS $$ SELECT encode($1, 'hex') $$",
        # Redshift: JSON_TYPEOF(super) (DG:JSON_TYPEOF); SUPER holds JSON text here.
        f"CREATE OR REPLACE FUNCTION {s}.json_typeof({s}.super) RETURNS text LANGUAGE sql "
        "IMMUTABLE STRICT AS $$ SELECT pg_catalog.json_typeof($1::json) $$",
        # Redshift: SUPER navigation (DG:query-super): each step of the JSON array ``path``
        # is an object key (a string) or an array index (a number); a step that does not
        # apply (a key of an array, an index out of bounds, into a scalar) gives NULL.
        f"""CREATE OR REPLACE FUNCTION {s}.super_get(doc {s}.super, path text)
RETURNS {s}.super LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE j json; step json;
BEGIN
  IF doc IS NULL THEN RETURN NULL; END IF;
  j := doc::json;
  FOR step IN SELECT value FROM json_array_elements(path::json) LOOP
    IF json_typeof(step) = 'number' THEN
      IF json_typeof(j) <> 'array' THEN RETURN NULL; END IF;
      j := j -> (step::text)::integer;
    ELSE
      IF json_typeof(j) <> 'object' THEN RETURN NULL; END IF;
      j := j -> (step #>> '{{}}');
    END IF;
    IF j IS NULL THEN RETURN NULL; END IF;
  END LOOP;
  RETURN {s}.json_compact(j);
END $$""",
        # Redshift: CURRENT_USER_ID is PG_USER.USESYSID of the session's user
        # (DG:r_CURRENT_USER_ID).
        f"CREATE OR REPLACE FUNCTION {s}.current_user_id() RETURNS integer LANGUAGE sql "
        "STABLE AS $$ SELECT usesysid::integer FROM pg_catalog.pg_user "
        "WHERE usename = current_user $$",
    ]
    return out
