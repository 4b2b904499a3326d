"""System checks for model features that Redshift ignores or cannot do.

They run for the models a Redshift database serves (``router.allow_migrate_model``), through
Django's database validation hooks (``DatabaseValidation`` in ``validation.py``): field checks
with every ``Model.check()``, model checks when databases are checked (``migrate``,
``test``, ``check --database <alias>``), as Django's own backend-specific checks do.

Ids: ``redshift_async_backend.W0xx`` (ignored, works otherwise) and ``E0xx`` (cannot work).
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core import checks
from django.db import connections, router
from django.db.models import ForeignObject, Index, UniqueConstraint

from .indexes import DistKey, SortKey, table_keys

# Redshift: VARCHAR holds at most 65535 bytes (DG:r_Character_types).
MAX_VARCHAR_BYTES = 65535
# The fields that are VARCHAR(max_length x varchar_bytes_per_char).
_CHAR_FIELDS = ("CharField", "SlugField", "FileField", "FilePathField")

_ID = "redshift_async_backend.{}"

# Redshift: COLLATE takes CASE_SENSITIVE | CS | CASE_INSENSITIVE | CI (DG:r_CREATE_TABLE_NEW).
REDSHIFT_COLLATIONS = frozenset({"case_sensitive", "cs", "case_insensitive", "ci"})


def _warning(msg: str, hint: str, obj: Any, code: str) -> checks.Warning:
    return checks.Warning(msg, hint=hint, obj=obj, id=_ID.format(code))


def _error(msg: str, hint: str, obj: Any, code: str) -> checks.Error:
    return checks.Error(msg, hint=hint, obj=obj, id=_ID.format(code))


def _lowercase_hint(what: str, value: str) -> str:
    return (
        f"Redshift folds identifiers to lower case, quoted ones too, unless "
        f"enable_case_sensitive_identifier is on (DG:r_names). Use {what}={value.lower()!r}."
    )


def check_model(model: Any) -> list[checks.CheckMessage]:
    """Checks of one model's Meta (tables only: unmanaged and proxy models are skipped)."""
    opts = model._meta
    if not opts.managed or opts.proxy or opts.swapped:
        return []
    errors: list[checks.CheckMessage] = []
    # Plain indexes and db_index=True are reported once per database by the deploy check
    # (check_indexes); CHECK constraints and the unique constraints Redshift cannot create
    # by Django's own checks (models.W027, W036, W038, W039, W044, W047), from
    # DatabaseFeatures. Only what Django does not check is checked here.
    for constraint in opts.constraints:
        if isinstance(constraint, UniqueConstraint) and getattr(constraint, "opclasses", None):
            errors.append(
                _warning(
                    f"Redshift cannot create unique constraint {constraint.name!r} with "
                    "opclasses: only a plain list of fields becomes UNIQUE.",
                    "Use UniqueConstraint(fields=[...]) alone. Redshift does not enforce "
                    "UNIQUE either (DG:r_CREATE_TABLE_NEW): check duplicates in Python.",
                    model,
                    "W003",
                )
            )
    if opts.db_table != opts.db_table.lower():
        errors.append(
            _warning(
                f"db_table {opts.db_table!r} has upper-case letters; Redshift creates "
                f"{opts.db_table.lower()!r}, and introspection reports that name.",
                _lowercase_hint("db_table", opts.db_table),
                model,
                "W004",
            )
        )
    try:
        table_keys(model)
    except (ValueError, LookupError) as exc:
        errors.append(
            _error(
                f"Invalid Redshift table keys: {exc}",
                "A table has at most one DistKey (one field) and one SortKey, declared "
                "either in Meta.indexes or (the older form) in Meta.ordering.",
                model,
                "E002",
            )
        )
    else:
        errors.extend(_check_key_fields(model))
    return errors


def _check_key_fields(model: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for index in model._meta.indexes:
        if not isinstance(index, DistKey | SortKey):
            continue
        for name in index.fields:
            try:
                field = model._meta.get_field(name)
            except LookupError:
                continue  # Django's models.E012 reports fields that do not exist.
            if field.many_to_many or not field.concrete:
                errors.append(
                    _error(
                        f"{type(index).__name__} {index.name!r} names {name!r}, which is "
                        "not a column of this table.",
                        "Name a concrete field (a ForeignKey uses its _id column).",
                        model,
                        "E003",
                    )
                )
    return errors


def check_field(field: Any, bytes_per_char: int = 1) -> list[checks.CheckMessage]:
    """Checks of one field for a Redshift database."""
    errors: list[checks.CheckMessage] = []
    model = getattr(field, "model", None)
    if model is None or not model._meta.managed or model._meta.proxy:
        return errors
    column = getattr(field, "db_column", None)
    if column and column != column.lower():
        errors.append(
            _warning(
                f"db_column {column!r} has upper-case letters; Redshift creates "
                f"{column.lower()!r}.",
                _lowercase_hint("db_column", column),
                field,
                "W005",
            )
        )
    collation = getattr(field, "db_collation", None)
    if collation and collation.lower() not in REDSHIFT_COLLATIONS:
        errors.append(
            _error(
                f"Redshift has no collation {collation!r}: a column takes COLLATE "
                "case_sensitive or case_insensitive only (DG:r_CREATE_TABLE_NEW).",
                "Use db_collation='case_insensitive' or 'case_sensitive' (or 'ci'/'cs').",
                field,
                "E004",
            )
        )
    max_length = getattr(field, "max_length", None)
    if max_length is None or field.get_internal_type() not in _CHAR_FIELDS:
        return errors
    if max_length > MAX_VARCHAR_BYTES:
        errors.append(
            _error(
                f"max_length={max_length} is over Redshift's VARCHAR limit of "
                f"{MAX_VARCHAR_BYTES} bytes (DG:r_Character_types).",
                f"Use max_length <= {MAX_VARCHAR_BYTES // max(bytes_per_char, 1)} "
                "(with the backend's varchar_bytes_per_char), or a TextField, which is "
                "VARCHAR(MAX).",
                field,
                "E001",
            )
        )
        return errors
    size = min(max_length * bytes_per_char, MAX_VARCHAR_BYTES)
    if max_length * bytes_per_char > MAX_VARCHAR_BYTES:
        errors.append(
            _warning(
                f"max_length={max_length} x varchar_bytes_per_char={bytes_per_char} is "
                f"over {MAX_VARCHAR_BYTES} bytes: the column is VARCHAR({MAX_VARCHAR_BYTES}) "
                "and a long value of multi-byte characters will not fit "
                "(DG:r_Character_types).",
                f"Use max_length <= {MAX_VARCHAR_BYTES // bytes_per_char}.",
                field,
                "W006",
            )
        )
    value = _overflowing_value(field, max_length, size)
    if value is not None:
        errors.append(
            _warning(
                f"{value!r} is {len(value)} characters but {len(value.encode())} bytes: it "
                f"does not fit in the column, VARCHAR({size}), which Redshift counts in "
                "bytes (DG:r_Character_types).",
                "Raise max_length, or set OPTIONS['varchar_bytes_per_char'] (4 fits any "
                "UTF-8 text of max_length characters).",
                field,
                "W008",
            )
        )
    return errors


def _overflowing_value(field: Any, max_length: int, size: int) -> str | None:
    """A string of the field's choices or default that Django's max_length lets through and
    that is over the column's ``size`` UTF-8 bytes."""
    values: list[Any] = [field.default, *(choice[0] for choice in field.flatchoices or ())]
    for value in values:
        if (
            isinstance(value, str)
            and not value.isascii()
            and len(value) <= max_length
            and len(value.encode()) > size
        ):
            return value
    return None


def _char_fields(models: list[Any]) -> int:
    return sum(
        1
        for model in models
        if model._meta.managed and not model._meta.proxy
        for f in model._meta.local_fields
        if f.get_internal_type() in _CHAR_FIELDS and getattr(f, "max_length", None)
    )


def check_varchar_bytes(
    alias: str, per_char: int | None, app_configs: Any = None
) -> list[checks.CheckMessage]:
    """One warning per database whose ``varchar_bytes_per_char`` nobody chose: Django's
    max_length counts characters, Redshift's VARCHAR(n) bytes (DG:r_Character_types), so a
    value of max_length non-ASCII characters passes validation and fails at the INSERT."""
    if per_char is not None:
        return []
    if app_configs is None:
        models = apps.get_models()
    else:
        models = [m for config in app_configs for m in config.get_models()]
    count = _char_fields([m for m in models if router.allow_migrate_model(alias, m)])
    if not count:
        return []
    return [
        _warning(
            f"Database {alias!r}: {count} CharField{'s' if count > 1 else ''} become "
            "VARCHAR(max_length), which Redshift counts in bytes (DG:r_Character_types): a "
            "value of max_length characters that are not ASCII passes Django's validation and "
            "fails at the INSERT (value too long for type character varying).",
            "Choose OPTIONS['varchar_bytes_per_char']: 4 fits any UTF-8 text of max_length "
            "characters (the columns are 4 times as wide), 1 keeps VARCHAR(max_length) for "
            "ASCII data (django-redshift-backend's default). Setting it silences this.",
            None,
            "W007",
        )
    ]


def check_database(alias: str, app_configs: Any = None) -> list[checks.CheckMessage]:
    """Model checks for every model the database ``alias`` serves."""
    if app_configs is None:
        models = apps.get_models()
    else:
        models = [m for config in app_configs for m in config.get_models()]
    errors: list[checks.CheckMessage] = []
    for model in models:
        if router.allow_migrate_model(alias, model):
            errors.extend(check_model(model))
    return errors


# -- indexes: one summary per database, in ``check --deploy`` ---------------------------


def declared_indexes(model: Any) -> int:
    """Indexes ``model`` asks for that Redshift does not have: ``Meta.indexes`` entries
    other than DistKey/SortKey, ``index_together`` (Django 4.2) and ``db_index=True`` on a
    field that is neither unique nor a relation (Django gives every ForeignKey one by
    default; it is not the model's choice)."""
    opts = model._meta
    if not opts.managed or opts.proxy or opts.swapped:
        return 0
    count = sum(
        1 for i in opts.indexes if isinstance(i, Index) and not isinstance(i, DistKey | SortKey)
    )
    count += len(getattr(opts, "index_together", None) or ())
    count += sum(
        1
        for f in opts.local_fields
        if f.db_index and not f.unique and not isinstance(f, ForeignObject)
    )
    return count


def _redshift_aliases() -> list[str]:
    return [
        alias
        for alias, entry in connections.settings.items()
        if str(entry.get("ENGINE", "")).split(".")[0] == "redshift_async_backend"
    ]


def check_indexes(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """``manage.py check --deploy``: per Redshift database, one warning counting the
    indexes its models declare, none of which exist on Redshift (registered by the app,
    apps.py). Not part of ``migrate``: a third-party app's indexes are nothing a project
    can change, and nothing is wrong without them."""
    if app_configs is None:
        models = apps.get_models()
    else:
        models = [m for config in app_configs for m in config.get_models()]
    redshift = _redshift_aliases()
    aliases = [a for a in databases or redshift if a in redshift]
    messages: list[checks.CheckMessage] = []
    for alias in aliases:
        per_app: dict[str, int] = {}
        for model in models:
            if router.allow_migrate_model(alias, model) and (n := declared_indexes(model)):
                label = model._meta.app_label
                per_app[label] = per_app.get(label, 0) + n
        total = sum(per_app.values())
        if not total:
            continue
        where = ", ".join(f"{label}: {n}" for label, n in sorted(per_app.items()))
        messages.append(
            _warning(
                f"Redshift has no indexes: {total} {'indexes' if total > 1 else 'index'} "
                f"declared by the models of database {alias!r} (Meta.indexes, "
                f"db_index=True) {'are' if total > 1 else 'is'} not created ({where}).",
                "Queries return the same rows without them, and no migration needs "
                "changing, third-party apps' included. For a large table of your own, "
                "choose its sort key (range filters, ORDER BY, merge joins) and "
                "distribution key (joins) instead: Meta.indexes = [SortKey(fields=[...]), "
                "DistKey(fields=[...])] from redshift_async_backend.indexes. Silence with "
                "SILENCED_SYSTEM_CHECKS = ['redshift_async_backend.W001'].",
                None,
                "W001",
            )
        )
    return messages
