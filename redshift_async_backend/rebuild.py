"""The table rebuild (AWS's deep copy): what it copies, what it keeps, what it restores.

Redshift changes few column definitions in place (DG:r_ALTER_TABLE); for the rest AWS
recommends a deep copy (DG:performing-a-deep-copy): a new table with the new definition,
the rows copied over with INSERT ... SELECT, and a swap by DROP + RENAME, all in one
transaction. A deep copy is a new table, so everything the old one had beyond its columns
is read from the catalog first and given to the new one:

* **copied**: the rows, in the table's column order (the altered column converted);
* **kept** in the new CREATE TABLE: DISTSTYLE / DISTKEY / SORTKEY (the model's, or the
  table's ALL / EVEN / KEY set outside the model), column ENCODE settings of a table
  without ENCODE AUTO, IDENTITY columns seeded above every copied value;
* **restored** after the swap: the PRIMARY KEY and UNIQUE constraints under the names they
  had, unique_together and Meta.constraints under Django's names, FOREIGN KEYs in both
  directions (incoming ones are dropped first: Redshift refuses to DROP a referenced
  table), table and column comments, the owner, and every privilege granted to users,
  groups, roles and PUBLIC.

Before anything changes it stops when a view depends on the table (the DROP would fail,
or with CASCADE take the view along), naming the views. A row whose value cannot be
converted stops it too, with the table, the column and the first such value named.

The schema editor decides when a change takes this path (``schema.py``); this module only
knows how.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, DataError, IntegrityError, NotSupportedError
from django.db.backends.utils import strip_quotes, truncate_name

from . import high_water
from .indexes import TableKeys
from .introspection import run_catalog_query

if TYPE_CHECKING:
    from .schema import DatabaseSchemaEditor

_IDENTITY_SEED = re.compile(r"IDENTITY\(\s*-?\d+\s*,", re.IGNORECASE)
_NULLABILITY = re.compile(r" (NOT NULL|NULL)\b")
# Redshift's table privileges (DG:r_GRANT); PostgreSQL's others (TRIGGER, MAINTAIN) have
# no Redshift meaning and are not re-granted.
_TABLE_PRIVILEGES = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "REFERENCES",
    "DROP",
    "ALTER",
    "TRUNCATE",
)
# Redshift's pg_class.reldiststyle (DG:r_PG_CLASS_INFO): 0 EVEN, 1 KEY, 8 ALL.
_DISTSTYLES = {0: "EVEN", 8: "ALL"}
# How long the search for a value that cannot be converted may take per statement.
_PROBE_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Grant:
    """One privilege on the table, as SVV_RELATION_PRIVILEGES lists it."""

    privilege: str
    grantee: str
    kind: str  # user, group, role or public (DG:r_SVV_RELATION_PRIVILEGES)
    grant_option: bool = False

    def sql(self, table: str, quote_name: Any) -> str:
        if self.kind == "public":
            to = "PUBLIC"
        elif self.kind in ("group", "role"):
            to = f"{self.kind.upper()} {quote_name(self.grantee)}"
        else:
            to = quote_name(self.grantee)
        option = " WITH GRANT OPTION" if self.grant_option else ""
        return f"GRANT {self.privilege} ON TABLE {table} TO {to}{option}"


@dataclass
class TableState:
    """What the old table had that a CREATE TABLE from the model would not give."""

    oid: int | None = None
    owner: str | None = None
    grants: list[Grant] = field(default_factory=list)
    diststyle: str | None = None  # ALL, EVEN or KEY
    distkey: str | None = None  # the table's DISTKEY column when DISTSTYLE KEY
    encodings: dict[str, str] = field(default_factory=dict)  # explicit ENCODE per column
    names: dict[Any, str] = field(default_factory=dict)  # "pk" or column -> constraint name


def read_table_state(editor: DatabaseSchemaEditor, table: str) -> TableState:
    """The old table's owner, privileges, distribution, encodings and key names.

    Catalog queries only, each on its own (they run on Redshift's leader node,
    DG:c_sql-functions-leader-node). With ``collect_sql`` (sqlmigrate) nothing is read.
    """
    state = TableState()
    if editor.collect_sql:
        return state
    name = strip_quotes(table)
    with editor.connection.cursor() as cursor:
        run_catalog_query(
            cursor,
            "SELECT c.oid, n.nspname, u.usename, i.reldiststyle FROM pg_catalog.pg_class c "
            "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_catalog.pg_user u ON u.usesysid = c.relowner "
            # DG:r_PG_CLASS_INFO: the distribution style, 0 EVEN, 1 KEY, 8 ALL.
            "LEFT JOIN pg_class_info i ON i.reloid = c.oid "
            "WHERE c.relname = %s AND c.relkind = 'r' AND pg_catalog.pg_table_is_visible(c.oid)",
            [name],
        )
        row = cursor.fetchone()
        if row is None:
            return state
        state.oid, schema, state.owner, diststyle = row
        state.diststyle = _DISTSTYLES.get(diststyle, "KEY" if diststyle == 1 else None)
        # DG:r_SVV_RELATION_PRIVILEGES: the privileges granted explicitly.
        run_catalog_query(
            cursor,
            "SELECT privilege_type, identity_name, identity_type, admin_option "
            "FROM svv_relation_privileges WHERE namespace_name = %s AND relation_name = %s "
            "ORDER BY identity_type, identity_name, privilege_type",
            [schema, name],
        )
        state.grants = [
            Grant(privilege.upper(), grantee, kind.lower(), bool(option))
            for privilege, grantee, kind, option in cursor.fetchall()
            if privilege.upper() in _TABLE_PRIVILEGES and grantee != state.owner
        ]
        # DG:r_SVV_TABLE_INFO: "encoded" says whether the table has ENCODE AUTO; a table
        # without rows is not listed (and keeps ENCODE AUTO).
        run_catalog_query(
            cursor,
            'SELECT encoded FROM svv_table_info WHERE "schema" = %s AND "table" = %s',
            [schema, name],
        )
        encoded = cursor.fetchone()
        # DG:r_PG_TABLE_DEF (search-path tables): per column ENCODE and DISTKEY.
        run_catalog_query(
            cursor,
            'SELECT "column", encoding, distkey FROM pg_table_def '
            "WHERE schemaname = %s AND tablename = %s",
            [schema, name],
        )
        for column, encoding, distkey in cursor.fetchall():
            explicit = encoded is not None and "AUTO" not in encoded[0].upper()
            if explicit and encoding and re.fullmatch(r"\s*\w+\s*", encoding):
                state.encodings[column] = encoding.strip()
            if distkey:
                state.distkey = column
        for constraint, info in editor.connection.introspection.get_constraints(
            cursor, name
        ).items():
            if info["primary_key"]:
                state.names["pk"] = constraint
            elif info["unique"] and len(info["columns"]) == 1:
                state.names[info["columns"][0]] = constraint
    return state


def dependent_views(editor: DatabaseSchemaEditor, table: str) -> list[str]:
    """The views and materialized views bound to the table (late-binding views are not:
    they name the table, DG:r_CREATE_VIEW)."""
    with editor.connection.cursor() as cursor:
        run_catalog_query(
            cursor,
            "SELECT DISTINCT n.nspname, v.relname FROM pg_catalog.pg_class t "
            "JOIN pg_catalog.pg_depend d ON d.refobjid = t.oid "
            "JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid "
            "JOIN pg_catalog.pg_class v ON v.oid = r.ev_class "
            "JOIN pg_catalog.pg_namespace n ON n.oid = v.relnamespace "
            "WHERE t.relname = %s AND pg_catalog.pg_table_is_visible(t.oid) "
            "AND v.oid <> t.oid ORDER BY 1, 2",
            [strip_quotes(table)],
        )
        return [f"{schema}.{view}" for schema, view in cursor.fetchall()]


def refuse_dependent_views(editor: DatabaseSchemaEditor, table: str, where: str) -> None:
    """Stop a rebuild, before anything changes, when views are bound to the table: DROP
    TABLE would fail on them (or, with CASCADE, take them along)."""
    if editor.collect_sql:
        return
    if views := dependent_views(editor, table):
        raise NotSupportedError(
            f"Cannot rebuild table {strip_quotes(table)!r} for {where}: {len(views)} view(s) "
            f"depend on it: {', '.join(views)}. Drop them before this migration and create "
            "them again after it (or make them late-binding, WITH NO SCHEMA BINDING, "
            "DG:r_CREATE_VIEW). Nothing was changed."
        )


def copy_expression(quote_name: Any, column: str, old_type: str, new_type: str) -> str:
    """How a value of the old column becomes a value of the new one."""
    source = quote_name(column)
    if old_type == new_type:
        return source
    old, new = old_type.lower(), new_type.lower()
    old_text = old.startswith(("char", "varchar", "character"))
    new_text = new.startswith(("char", "varchar", "character"))
    if new == "varbyte" and old_text:
        # Redshift: VARBYTE has no implicit conversion (DG:r_VARBYTE_type).
        return f"TO_VARBYTE({source}, 'utf8')"
    if old == "varbyte" and new_text:
        return f"FROM_VARBYTE({source}, 'utf8')"
    if new == "super" and old_text:
        # JSONField stores JSON text in a text column; SUPER takes it parsed
        # (DG:JSON_PARSE). Text that is not JSON fails the copy, which rolls back.
        return f"JSON_PARSE({source})"
    if old == "super" and new_text:
        return f"JSON_SERIALIZE({source})"
    if new_text:
        if old_text:
            # Assignment, not CAST: a CAST to a shorter VARCHAR truncates silently, an
            # assignment of a too-long value is an error (DG:r_Character_types).
            return source
        return f"CAST({source} AS varchar(65535))"
    return f"CAST({source} AS {new_type})"


@dataclass
class _Column:
    altered: bool
    field: Any
    source_type: str | None
    target_type: Any  # str once columns without one are left out


class TableRebuild:
    """One deep copy of ``model``'s table, ``old_field`` becoming ``new_field``.

    ``fields`` replaces the table's fields (AddField passes them plus the new one, with
    ``added``); ``fill_value`` replaces NULLs of the altered column while copying (a Python
    default, evaluated once per migration run); ``keep_keys`` keeps the altered column's own
    PRIMARY KEY / UNIQUE (otherwise the caller drops and re-adds them, as for any
    AlterField).
    """

    def __init__(
        self,
        editor: DatabaseSchemaEditor,
        model: Any,
        old_field: Any,
        new_field: Any,
        *,
        fields: list[Any] | None = None,
        fill_value: Any = None,
        added: bool = False,
        keep_keys: bool = False,
    ) -> None:
        self.editor = editor
        self.model = model
        self.old_field = old_field
        self.new_field = new_field
        self.fill_value = fill_value
        self.added = added
        self.keep_keys = keep_keys
        self.table = model._meta.db_table
        self.tmp = truncate_name(
            f"{strip_quotes(self.table)}__rebuild", editor.connection.ops.max_name_length()
        )
        source_fields = list(model._meta.local_concrete_fields) if fields is None else fields
        if fields is None and not editor.collect_sql:
            source_fields = self._fields_in_table()
        self.columns = [self._column(f) for f in source_fields]
        self.columns = [c for c in self.columns if c.target_type is not None]

    def _column(self, f: Any) -> _Column:
        ed = self.editor
        # By column: the model may still carry the field as it was (schema tests, or a
        # migration's state model).
        if f is self.old_field or f is self.new_field or f.column == self.old_field.column:
            return _Column(
                True,
                self.new_field,
                ed._column_type(self.old_field),
                ed._column_type(self.new_field),
            )
        return _Column(False, f, ed._column_type(f), ed._column_type(f))

    @property
    def where(self) -> str:
        return f"{self.model._meta.label}.{self.new_field.name}"

    # ------------------------------------------------------------------ checks

    def check(self) -> None:
        """Refuse, before anything changes, what the copy could not do."""
        ed = self.editor
        if ed.collect_sql:
            return
        refuse_dependent_views(ed, self.table, self.where)
        new = self.new_field
        if (
            not new.null
            and self.old_field.null
            and self.fill_value is None
            and not _has_db_default(new)
            and not self.added
            and self._has_nulls(new.column)
        ):
            raise IntegrityError(
                f"Cannot make {self.where} NOT NULL: column {new.column!r} of "
                f"{self.table!r} has NULL values and the field has no default to put in "
                "their place. Fill them in a data migration first, or give the field a "
                "default."
            )

    def _has_nulls(self, column: str) -> bool:
        qn = self.editor.quote_name
        with self.editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {qn(self.table)} WHERE {qn(column)} IS NULL LIMIT 1")
            return cursor.fetchone() is not None

    def _fields_in_table(self) -> list[Any]:
        """The model's fields for the table's columns as they are in the database, in
        their order: the model may lag behind the table (fields removed or renamed in this
        editor, or a migration's state model)."""
        ed, model = self.editor, self.model
        by_column = {strip_quotes(f.column): f for f in model._meta.local_concrete_fields}
        altered = (strip_quotes(self.old_field.column), strip_quotes(self.new_field.column))
        with ed.connection.cursor() as cursor:
            names = [
                info.name
                for info in ed.connection.introspection.get_table_description(cursor, self.table)
            ]
        found = []
        for column in names:
            if column in altered:
                found.append(self.old_field)
            elif column in by_column:
                found.append(by_column[column])
            else:
                raise NotSupportedError(
                    f"Cannot rebuild {self.table!r}: its column {column!r} is not a field of "
                    f"{model._meta.label}, and a deep copy would lose it."
                )
        return found

    # ------------------------------------------------------------------ the copy

    def run(self) -> None:
        ed = self.editor
        state = read_table_state(ed, self.table)
        self.check()
        create, create_params = self._create_sql(state)
        insert, insert_params = self._insert_sql()
        incoming = self._incoming_foreign_keys()
        qn = ed.quote_name
        with ed._one_transaction():
            for rel_field, name in incoming:
                ed.execute(ed._delete_fk_sql(rel_field.model, name))
            ed.execute(create, create_params or None)
            try:
                ed.execute(insert, insert_params or None)
            except DatabaseError as exc:
                raise self._copy_error(exc) from exc
            ed.execute(f"DROP TABLE {qn(self.table)}")
            ed.execute(f"ALTER TABLE {qn(self.tmp)} RENAME TO {qn(self.table)}")
            for sql in self._restore_sql(state, incoming):
                ed.execute(sql)

    def _create_sql(self, state: TableState) -> tuple[str, list[Any]]:
        ed = self.editor
        qn = ed.quote_name
        definitions: list[str] = []
        params: list[Any] = []
        for column in self.columns:
            definition, extra = ed._column_definition(self.model, column.field, inline_keys=False)
            assert definition is not None  # as target_type is not None
            if column.field.db_type_suffix(connection=ed.connection):
                seed = self._next_identity(column.field.column)
                definition = _IDENTITY_SEED.sub(f"IDENTITY({seed},", definition)
            encoding = state.encodings.get(strip_quotes(column.field.column))
            if encoding and column.source_type == column.target_type:
                # Redshift: ENCODE comes before NOT NULL / NULL (DG:r_CREATE_TABLE_NEW).
                definition = _NULLABILITY.sub(rf" ENCODE {encoding} \1", definition, count=1)
            definitions.append(f"{qn(column.field.column)} {definition}")
            params.extend(extra)
        sql = ed.sql_create_table % {"table": qn(self.tmp), "definition": ", ".join(definitions)}
        if options := self._keys(state):
            sql += " " + options
        return sql, params

    def _keys(self, state: TableState) -> str:
        """DISTSTYLE / DISTKEY / SORTKEY: the model's, else what the table had."""
        keys = self.editor._table_keys(self.model)
        rename = {self.old_field.column: self.new_field.column}
        columns = {c.field.column for c in self.columns}
        distkey = rename.get(keys.distkey, keys.distkey) if keys.distkey else None
        if distkey is None and state.diststyle == "KEY" and state.distkey in columns:
            distkey = state.distkey
        keys = TableKeys(distkey, tuple(rename.get(c, c) for c in keys.sortkey), keys.interleaved)
        options = keys.options_sql(self.editor.quote_name)
        if distkey is None and state.diststyle in ("ALL", "EVEN"):
            options = f"DISTSTYLE {state.diststyle} {options}".strip()
        return options

    def _insert_sql(self) -> tuple[str, list[Any]]:
        qn = self.editor.quote_name
        targets: list[str] = []
        sources: list[str] = []
        params: list[Any] = []
        for column in self.columns:
            target_type = column.target_type
            targets.append(qn(column.field.column))
            if column.altered and self.added:
                # A new column: every row gets the value (a literal cast to the type).
                expression = f"CAST(%s AS {target_type})"
                params.append(self.fill_value)
            else:
                # Django's alter_field refuses to alter a column to or from no column type.
                assert column.source_type is not None
                expression = copy_expression(
                    qn, column.field.column, column.source_type, target_type
                )
                if column.altered and not column.field.null and self.fill_value is not None:
                    expression = f"COALESCE({expression}, CAST(%s AS {target_type}))"
                    params.append(self.fill_value)
            sources.append(expression)
        sql = (
            f"INSERT INTO {qn(self.tmp)} ({', '.join(targets)}) "
            f"SELECT {', '.join(sources)} FROM {qn(self.table)}"
        )
        return sql, params

    def _restore_sql(self, state: TableState, incoming: list[tuple[Any, str]]) -> Iterator[Any]:
        """What goes back on the new table once it has the old one's name."""
        ed, model = self.editor, self.model
        qn = ed.quote_name
        table = qn(self.table)
        # PRIMARY KEY and UNIQUE after the swap, under the names the old table's had (the
        # names CREATE TABLE gives, table_pkey / table_column_key): while both tables exist
        # the names would clash.
        for column in self.columns:
            target = column.field
            if column.altered and not self.keep_keys:
                continue
            if target.primary_key:
                name = state.names.get("pk") or truncate_name(
                    f"{strip_quotes(self.table)}_pkey", ed.connection.ops.max_name_length()
                )
                yield (
                    f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} "
                    f"PRIMARY KEY ({qn(target.column)})"
                )
            elif target.unique:
                name = state.names.get(strip_quotes(target.column)) or truncate_name(
                    f"{strip_quotes(self.table)}_{strip_quotes(target.column)}_key",
                    ed.connection.ops.max_name_length(),
                )
                yield (
                    f"ALTER TABLE {table} ADD CONSTRAINT {qn(name)} UNIQUE ({qn(target.column)})"
                )
        opts = model._meta
        for field_names in opts.unique_together:
            yield ed._create_unique_sql(model, [opts.get_field(n) for n in field_names])
        for constraint in opts.constraints:
            if sql := constraint.create_sql(model, ed):
                yield sql
        for column in self.columns:
            # A FOREIGN KEY still waiting in deferred_sql (the table was created in this
            # editor) is created there, once.
            if (
                not column.altered
                and ed._fk_target(column.field) is not None
                and not ed.has_deferred_fk(self.table, column.field.column)
            ):
                yield ed._create_fk_sql(model, column.field, "_fk_%(to_table)s_%(to_column)s")
        for rel_field, _name in incoming:
            yield ed._create_fk_sql(rel_field.model, rel_field, "_fk")
        if opts.db_table_comment and ed.connection.features.supports_comments:
            yield ed.sql_alter_table_comment % {
                "table": table,
                "comment": ed.quote_value(opts.db_table_comment),
            }
        for column in self.columns:
            target = column.field
            if target.db_comment and ed.connection.features.supports_comments:
                sql, params = ed._alter_column_comment_sql(
                    model, target, column.target_type, target.db_comment
                )
                yield sql % tuple(ed.quote_value(p) for p in params)
        # Privileges after the constraints (a REFERENCES grant is independent of them);
        # the owner last, so that the editor's user may still do all of the above.
        for grant in state.grants:
            yield grant.sql(table, qn)
        if state.owner and state.owner != self._current_user():
            yield f"ALTER TABLE {table} OWNER TO {qn(state.owner)}"

    def _current_user(self) -> str | None:
        with self.editor.connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            row = cursor.fetchone()
        return row[0] if row else None

    def _incoming_foreign_keys(self) -> list[tuple[Any, str]]:
        """(field, constraint name) of every FOREIGN KEY on another table that references
        this one and exists in the database (Redshift refuses to DROP a referenced table)."""
        model, ed = self.model, self.editor
        candidates = []
        for rel in model._meta.related_objects:
            if rel.many_to_many:
                candidates.extend(_through_fields(rel.through))
            else:
                candidates.append(rel.field)
        for m2m in model._meta.local_many_to_many:
            candidates.extend(_through_fields(m2m.remote_field.through))
        found = []
        seen = set()
        for f in candidates:
            target = f.remote_field.model._meta.db_table
            key = (f.model._meta.db_table, f.column)
            if target != self.table or key in seen or not f.concrete or not f.db_constraint:
                continue
            seen.add(key)
            if f.model._meta.db_table == self.table:
                continue  # a self-reference goes with the table
            for name in ed._constraint_names(f.model, [f.column], foreign_key=True):
                found.append((f, name))
        return found

    def _next_identity(self, column: str) -> int:
        """The seed for a rebuilt IDENTITY column: above every value it holds.

        Redshift shows no IDENTITY generator's position in its catalog; the largest value
        is the high-water mark that can be read (explicit values do not advance the
        generator, DG:r_CREATE_TABLE_NEW), and so is the mark "lock" mode keeps of the pks
        it handed out (high_water.py): the seed is above both, so no pk comes back.
        """
        ed = self.editor
        qn = ed.quote_name
        if ed.collect_sql and self.table in ed.created_tables:
            return 1  # only printed so far
        with ed.connection.cursor() as cursor:
            if self.table not in ed.connection.introspection.table_names(cursor):
                return 1
            cursor.execute(f"SELECT MAX({qn(column)}) FROM {qn(self.table)}")
            row = cursor.fetchone()
            top = int(row[0]) if row and row[0] is not None else 0
            if high_water.exists(ed.connection):
                cursor.execute(high_water.read_sql(self.table))
                mark = cursor.fetchone()
                top = max(top, int(mark[0])) if mark else top
        return top + 1

    # ------------------------------------------------------------------ a failed copy

    def _copy_error(self, exc: DatabaseError) -> DatabaseError:
        """The error of a failed INSERT ... SELECT, naming the table, the column and the
        first value (in the column's order) that cannot be converted."""
        altered = next((c for c in self.columns if c.altered), None)
        if altered is None or self.added or altered.source_type == altered.target_type:
            return exc
        column = altered.field.column
        value = self._first_bad_value(
            strip_quotes(column),
            copy_expression(
                self.editor.quote_name, column, altered.source_type or "", altered.target_type
            ),
            altered.target_type,
        )
        found = f"; the first value that cannot be converted is {value!r}" if value else ""
        error = DataError if isinstance(exc, DataError) else type(exc)
        return error(
            f"Cannot convert column {strip_quotes(column)!r} of table "
            f"{strip_quotes(self.table)!r} from {altered.source_type} to "
            f"{altered.target_type} ({self.where}){found}. Nothing was changed. "
            f"The database said: {str(exc).strip()}"
        )

    def _first_bad_value(self, column: str, expression: str, target_type: str) -> str | None:
        """Search the committed table for the first value the copy cannot convert.

        The migration's transaction has failed (it is rolled back as this error
        propagates), so the search runs on a connection of its own: a bisection over the
        column's values in their order, each step one statement that converts a prefix of
        them or fails. None when the table is not readable there (created in this
        migration), the search takes too long, or no value fails on its own.
        """
        ed = self.editor
        qn = ed.quote_name
        source = f"{qn(self.table)} WHERE {qn(column)} IS NOT NULL"
        narrowing = expression == qn(column)
        if narrowing:
            # Text to shorter text, by assignment: the values too long for the new type
            # (Redshift counts VARCHAR lengths in bytes, DG:r_Character_types).
            length = re.search(r"\((\d+)\)", target_type)
            if length is None:
                return None
            source += f" AND OCTET_LENGTH({qn(column)}) > {int(length[1])}"
        try:
            raw = ed.connection.connect_raw()  # type: ignore[attr-defined]  # ours
        except Exception:
            return None
        cursor = raw.cursor()

        def run(sql: str) -> Any:
            try:
                cursor.execute(sql)
                row = cursor.fetchone() if cursor.description else None
                raw.commit()
                return row
            except Exception:
                raw.rollback()
                raise

        def converts(limit: int, offset: int = 0) -> bool:
            values = f"SELECT {qn(column)} FROM {source} ORDER BY 1 LIMIT {limit} OFFSET {offset}"
            try:
                run(f"SELECT COUNT({expression}) FROM ({values}) p")
                return True
            except Exception:
                return False

        try:
            # Redshift: statement_timeout in milliseconds (DG:r_statement_timeout).
            run(f"SET statement_timeout TO {_PROBE_TIMEOUT_MS}")
            total = int(run(f"SELECT COUNT(*) FROM {source}")[0])
            if narrowing:
                total = min(total, 1)  # every one of them is too long: the first
            low, high = 0, total  # the first `low` values convert, the first `high` do not
            while high - low > 1:
                middle = (low + high) // 2
                if converts(middle):
                    low = middle
                else:
                    high = middle
            if total == 0 or (not narrowing and converts(1, high - 1)):
                return None
            row = run(
                f"SELECT CAST({qn(column)} AS varchar(65535)) FROM {source} "
                f"ORDER BY {qn(column)} LIMIT 1 OFFSET {high - 1}"
            )
            return None if row is None else row[0]
        except Exception:
            return None
        finally:
            raw.close()


def _has_db_default(field: Any) -> bool:
    # Field.db_default is Django 5.0+; on 4.2 no field has one.
    has_db_default = getattr(field, "has_db_default", None)
    return bool(has_db_default and has_db_default())


def _through_fields(through: Any) -> list[Any]:
    """The foreign keys of a many-to-many table (they reference both ends)."""
    if through is None or isinstance(through, str):
        return []
    return [f for f in through._meta.local_concrete_fields if f.remote_field]


__all__ = [
    "Grant",
    "TableRebuild",
    "TableState",
    "copy_expression",
    "read_table_state",
    "refuse_dependent_views",
]
