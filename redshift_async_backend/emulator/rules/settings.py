"""Session parameters (the guide's "Configuration reference", SET, RESET and SHOW).

Redshift has a short list of parameters a session can SET (DG:cm_chap_ConfigurationRef);
PostgreSQL has hundreds, and knows few of Redshift's own. So:

* a parameter both have (``datestyle``, ``search_path``, ``statement_timeout``,
  ``timezone``, ...) goes to PostgreSQL unchanged;
* a parameter only Redshift has (``query_group``, ``enable_case_sensitive_identifier``,
  ...) is kept upstream as a custom setting, ``redshift_emulator.<name>``, so that SET LOCAL,
  a rolled-back SET and RESET behave as PostgreSQL's own do; SHOW reads it back with
  Redshift's default when unset. The few that change what rules do are also recorded in
  the session state (``stmt.set_session``), which rules read with ``stmt.setting``;
* any other name (``work_mem``, ``enable_seqscan``, a typo) is refused as Redshift refuses
  it: ``unrecognized configuration parameter``. A two-part name (``app.user``) is a
  session context variable, which both accept (DG:r_SET).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import SCHEMA
from .declare import FULL, PARTLY, STYLE, Part
from .errors import RedshiftError
from .pipeline import Screening, Statement
from .source import Token

part = Part(
    "settings",
    "Configuration (session parameters)",
    "SET, RESET and SHOW of the parameters of the guide's configuration reference.",
    order=5,  # after identifiers (registered first), before the catalog
)


@dataclass(frozen=True, slots=True)
class Parameter:
    default: str  # what SHOW answers when the session has not set it
    boolean: bool = False
    native: bool = False  # PostgreSQL has it, with the same meaning: sent on unchanged
    page: str = ""


def _redshift(default: str, page: str, *, boolean: bool = False) -> Parameter:
    return Parameter(default, boolean=boolean, page=page)


def _native(default: str, page: str) -> Parameter:
    return Parameter(default, native=True, page=page)


# Redshift: the parameters a session can SET (DG:cm_chap_ConfigurationRef), with their
# defaults as each parameter's page gives them.
PARAMETERS: dict[str, Parameter] = {
    "analyze_threshold_percent": _redshift("10", "r_analyze_threshold_percent"),
    "cast_super_null_on_error": _redshift("on", "r_cast_super_null_on_error", boolean=True),
    "datestyle": _native("ISO, MDY", "r_datestyle"),
    "describe_field_name_in_uppercase": _redshift(
        "off", "r_describe_field_name_in_uppercase", boolean=True
    ),
    "downcase_delimited_identifier": _redshift(
        "on", "r_downcase_delimited_identifier", boolean=True
    ),
    "enable_case_sensitive_identifier": _redshift(
        "off", "r_enable_case_sensitive_identifier", boolean=True
    ),
    "enable_case_sensitive_super_attribute": _redshift(
        "off", "r_enable_case_sensitive_super_attribute", boolean=True
    ),
    "enable_numeric_rounding": _redshift("on", "r_enable_numeric_rounding", boolean=True),
    "enable_result_cache_for_session": _redshift(
        "on", "r_enable_result_cache_for_session", boolean=True
    ),
    "error_on_nondeterministic_update": _redshift(
        "off", "r_error_on_nondeterministic_update", boolean=True
    ),
    "extra_float_digits": _native("0", "r_extra_float_digits"),
    "mv_enable_aqmv_for_session": _redshift("on", "r_mv_enable_aqmv_for_session", boolean=True),
    "navigate_super_null_on_error": _redshift("on", "r_navigate_super_null_on_error", boolean=True),
    "parse_super_null_on_error": _redshift("off", "r_parse_super_null_on_error", boolean=True),
    "query_group": _redshift("default", "r_query_group"),
    "search_path": _native("$user, public", "r_search_path"),
    "spectrum_query_maxerror": _redshift("-1", "r_spectrum_query_maxerror"),
    "statement_timeout": _native("0", "r_statement_timeout"),
    "stored_proc_log_min_messages": _redshift("LOG", "r_stored_proc_log_min_messages"),
    "timezone": _native("UTC", "r_timezone_config"),
    "wlm_query_slot_count": _redshift("1", "r_wlm_query_slot_count"),
}
# Set by drivers and tools; Redshift accepts them though the reference does not list them.
_ALSO_NATIVE = frozenset({"client_encoding", "application_name"})
# What Redshift reports at connect (ParameterStatus) can be read with SHOW too.
_REPORTED = frozenset(
    {"server_version", "server_encoding", "integer_datetimes", "is_superuser",
     "session_authorization", "standard_conforming_strings", "intervalstyle"}
)  # fmt: skip
# Parameters rules follow: recorded in the session state too (part of the cache's key).
RULE_SETTINGS = frozenset({"enable_case_sensitive_identifier", "describe_field_name_in_uppercase"})
_TRUE = ("on", "true", "yes", "1")
_FALSE = ("off", "false", "no", "0")
# SET forms that are not parameters; they go on as they are (SET CONSTRAINTS: dml.py).
_NOT_PARAMETERS = frozenset({"transaction", "constraints", "role", "authorization", "seed"})


def is_on(value: str | None) -> bool:
    """A boolean parameter's recorded value, as a rule reads it."""
    return value == "on"


def unrecognized(name: str) -> RedshiftError:
    return RedshiftError(
        f'unrecognized configuration parameter "{name}"',
        "42704",
        hint="Amazon Redshift's session parameters are those of its configuration reference "
        "(DG:cm_chap_ConfigurationRef)",
    )


def upstream_name(name: str) -> str:
    """Where a Redshift-only parameter's value is kept upstream."""
    return f"{SCHEMA}.{name}"


def _value_text(toks: list[Token]) -> str:
    """The value as SHOW would answer it: quotes taken off, list items joined by ', '."""
    items: list[str] = []
    for t in toks:
        if t.text == ",":
            continue
        if t.name == "SCONST":
            items.append(t.text[1:-1].replace("''", "'"))
        elif t.name == "IDENT" and t.text.startswith('"'):
            items.append(t.ident)
        else:
            items.append(t.text.lower() if t.name == "IDENT" else t.text)
    return ", ".join(items)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _checked(name: str, param: Parameter, value: str) -> str:
    if not param.boolean:
        return value
    low = value.lower()
    if low in _TRUE:
        return "on"
    if low in _FALSE:
        return "off"
    raise RedshiftError(f'invalid value for parameter "{name}": "{value}"', "22023")


def _name_at(toks: list[Token], i: int) -> tuple[str, int]:
    """The (maybe two-part) parameter name at ``toks[i]`` and the index past it."""
    name = toks[i].ident.lower() if toks[i].name != "SCONST" else ""
    j = i + 1
    while j + 1 < len(toks) and toks[j].text == ".":
        name += "." + toks[j + 1].ident
        j += 2
    return name, j


def _lookup(name: str) -> Parameter | None:
    """The parameter, None for one PostgreSQL handles as it is; refuses unknown names."""
    if "." in name or name in _ALSO_NATIVE:
        return None
    param = PARAMETERS.get(name)
    if param is None:
        raise unrecognized(name)
    return None if param.native else param


def _not_time_zone(seen: Screening) -> bool:
    """Screen: SET TIME ZONE (sent by drivers and tools at every connect) is PostgreSQL's."""
    words = seen.words
    return "zone" not in words or "time" not in words


@part.statement(
    "set",
    screen=_not_time_zone,
    id="set-session-parameters",
    page="r_SET",
    see=("cm_chap_ConfigurationRef",),
    does="SET accepts the parameters of the configuration reference (`query_group`, "
    "`enable_case_sensitive_identifier`, `describe_field_name_in_uppercase`, ...) and refuses "
    'any other: `unrecognized configuration parameter "work_mem"`',
    fidelity=PARTLY,
    gap="a Redshift-only parameter is kept upstream (SET LOCAL and ROLLBACK undo it), but the "
    "two that change rules (`enable_case_sensitive_identifier`, "
    "`describe_field_name_in_uppercase`) are followed as last SET in the session, whatever "
    "the transaction does; values other than booleans are not validated; `set_config()` "
    "knows only PostgreSQL's parameters",
    answer='42704 unrecognized configuration parameter "work_mem"',
    source=STYLE,
    tests=(
        "tests/emulator/test_settings.py::test_redshift_parameters_set_show_reset",
        "tests/emulator/test_settings.py::test_set_local_and_rollback_undo_a_parameter",
        "tests/emulator/test_settings.py::test_refused_like_redshift",
        "tests/emulator/test_settings.py::test_native_parameters_go_upstream",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[set_unknown]",
    ),
)
def set_parameter(stmt: Statement) -> None:
    toks = stmt.tokens
    i = 1
    scope = ""
    if i < len(toks) and toks[i].word in ("session", "local"):
        scope = toks[i].word.upper() + " "
        i += 1
    if i >= len(toks) or toks[i].word in _NOT_PARAMETERS:
        return
    if toks[i].word == "time" and i + 1 < len(toks) and toks[i + 1].word == "zone":
        return  # SET TIME ZONE: PostgreSQL's
    if toks[i].word == "session" or toks[i].word == "characteristics":
        return  # SET SESSION AUTHORIZATION / CHARACTERISTICS
    name, j = _name_at(toks, i)
    param = _lookup(name)
    if param is None:
        return
    if j < len(toks) and (toks[j].text == "=" or toks[j].word == "to"):
        j += 1
    rest = [t for t in toks[j:] if t.text != ";"]
    if not rest:
        raise RedshiftError(f'syntax error at end of input after "{name}"', "42601")
    if len(rest) == 1 and rest[0].word == "default":
        _reset(stmt, name, scope)
        return
    value = _checked(name, param, _value_text(rest))
    if name in RULE_SETTINGS:
        stmt.set_session(name, value)
    stmt.replace_statement(f"SET {scope}{upstream_name(name)} = {_literal(value)}", tag="SET")


def _reset(stmt: Statement, name: str, scope: str = "") -> None:
    if name in RULE_SETTINGS:
        stmt.set_session(name, None)
    if scope == "LOCAL ":
        stmt.replace_statement(f"SET LOCAL {upstream_name(name)} = DEFAULT", tag="SET")
    else:
        stmt.replace_statement(f"RESET {upstream_name(name)}", tag="RESET")


@part.statement(
    "reset",
    id="reset-session-parameters",
    page="r_RESET",
    does="RESET puts a parameter back to its default; RESET ALL every one; an unknown name "
    "is refused",
    fidelity=FULL,
    answer='42704 unrecognized configuration parameter "work_mem"',
    source=STYLE,
    tests=(
        "tests/emulator/test_settings.py::test_redshift_parameters_set_show_reset",
        "tests/emulator/test_settings.py::test_reset_all_resets_redshift_parameters",
        "tests/emulator/test_settings.py::test_refused_like_redshift",
    ),
)
def reset_parameter(stmt: Statement) -> None:
    toks = stmt.tokens
    if len(toks) < 2:
        return
    if toks[1].word == "all":
        # PostgreSQL's RESET ALL resets the custom settings too.
        for name in RULE_SETTINGS:
            stmt.set_session(name, None)
        return
    if toks[1].word == "session":
        return  # RESET SESSION AUTHORIZATION
    name, _ = _name_at(toks, 1)
    if _lookup(name) is not None:
        _reset(stmt, name)


def _current(name: str, param: Parameter) -> str:
    """SQL for a parameter's current value."""
    if param.native:
        return f"pg_catalog.current_setting({_literal(name)})"
    return (
        f"coalesce(nullif(pg_catalog.current_setting({_literal(upstream_name(name))}, true), "
        f"''), {_literal(param.default)})"
    )


# SHOW forms that are not parameters (SHOW TABLES, SHOW COLUMNS, ...: catalog rules).
_SHOW_OBJECTS = frozenset(
    {
        "databases", "schemas", "tables", "columns", "table", "view", "model", "models",
        "datashares", "grants", "constraints", "procedures", "procedure", "functions",
        "parameters", "external", "transaction", "session", "search_path_list",
    }
)  # fmt: skip


@part.statement(
    "show",
    id="show-session-parameters",
    page="r_SHOW",
    see=("cm_chap_ConfigurationRef",),
    does="SHOW answers a parameter's value (Redshift's default when the session has not set "
    "it); SHOW ALL lists the parameters a session can set; an unknown name is refused",
    fidelity=FULL,
    answer='42704 unrecognized configuration parameter "work_mem"',
    source=STYLE,
    tests=(
        "tests/emulator/test_settings.py::test_redshift_parameters_set_show_reset",
        "tests/emulator/test_settings.py::test_show_all_lists_redshift_parameters",
        "tests/emulator/test_rules.py::test_a_leading_comment_keeps_every_rule[show_parameter]",
        "tests/emulator/test_settings.py::test_refused_like_redshift",
    ),
)
def show_parameter(stmt: Statement) -> None:
    toks = stmt.tokens
    if len(toks) < 2 or toks[1].word in _SHOW_OBJECTS:
        return
    if toks[1].word == "all":
        rows = ", ".join(
            f"({_literal(name)}, {_current(name, param)})" for name, param in PARAMETERS.items()
        )
        stmt.replace_statement(
            f"SELECT name::varchar, setting::varchar FROM (VALUES {rows}) AS s(name, setting)",
            tag="SHOW",
        )
        return
    if toks[1].word == "time" and len(toks) > 2 and toks[2].word == "zone":
        name = "timezone"
    else:
        name, _ = _name_at(toks, 1)
    if name in _REPORTED:
        return
    param = _lookup(name)
    if param is None:
        return
    stmt.replace_statement(f'SELECT {_current(name, param)}::varchar AS "{name}"', tag="SHOW")
