"""Redshift's user and group statements, as calls of the emulator's own procedure. Pure code.

PostgreSQL has no CREATEUSER, SYSLOG ACCESS, SESSION TIMEOUT, ``CONNECTION LIMIT
UNLIMITED`` or ``PASSWORD DISABLE``, and client roles may not create roles at all (see
:mod:`.roles`), so CREATE / ALTER / DROP USER and CREATE / ALTER / DROP GROUP become

    CALL redshift_emulator.manage_user('<operation>', '<name>', '<json>'::jsonb)

which a superuser owns and runs with the checks Redshift makes (DG:r_CREATE_USER,
DG:r_ALTER_USER, DG:r_DROP_USER, DG:r_CREATE_GROUP, DG:r_ALTER_GROUP, DG:r_DROP_GROUP).
A clear text password never goes upstream: it is checked against Redshift's rules and
replaced by its stored form here (:func:`.auth.stored_form`).

:func:`translate` answers None for every other statement.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from pglast.parser import ParseError, scan

from .auth import PasswordError, stored_form
from .catalog import SCHEMA
from .rules import RedshiftError, Rewrite

_COMMENTS = r"\s*(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*"
_HEAD = re.compile(_COMMENTS + r"(create|alter|drop)\s+(user|group)\b", re.I | re.S)
# The same after a ";": a statement of a longer query.
_LATER = re.compile(r";" + _COMMENTS + r"(?:create|alter|drop)\s+(?:user|group)\b", re.I | re.S)
_TAGS = {
    ("create", "user"): "CREATE USER",
    ("alter", "user"): "ALTER USER",
    ("drop", "user"): "DROP USER",
    ("create", "group"): "CREATE GROUP",
    ("alter", "group"): "ALTER GROUP",
    ("drop", "group"): "DROP GROUP",
}


def is_user_statement(sql: str) -> bool:
    """Whether ``sql`` is, or holds, a user or group statement (a cheap look)."""
    return _HEAD.match(sql) is not None or (";" in sql and _LATER.search(sql) is not None)


class _Tokens:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        try:
            self.toks = [t for t in scan(sql) if t.name not in ("SQL_COMMENT", "C_COMMENT")]
        except ParseError as exc:
            raise RedshiftError(f"syntax error: {exc}", "42601") from None
        if self.toks and self.toks[-1].name == "ASCII_59":  # a trailing ";"
            self.toks.pop()
        self.i = 0

    def text(self, k: int | None = None) -> str:
        tok = self.toks[self.i if k is None else k]
        return self.sql[tok.start : tok.end + 1]

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def peek(self, *words: str) -> bool:
        """Whether the next tokens are these words (case-insensitive)."""
        if self.i + len(words) > len(self.toks):
            return False
        return all(self.text(self.i + n).lower() == w for n, w in enumerate(words))

    def take(self, *words: str) -> bool:
        if self.peek(*words):
            self.i += len(words)
            return True
        return False

    def error(self) -> RedshiftError:
        near = self.text() if not self.at_end() else "end of input"
        return RedshiftError(f'syntax error at or near "{near}"', "42601")

    def expect(self, *words: str) -> None:
        if not self.take(*words):
            raise self.error()

    def name(self) -> str:
        """An identifier: Redshift folds names to lower case (DG:r_names)."""
        if self.at_end():
            raise self.error()
        tok = self.toks[self.i]
        text = self.text()
        if tok.name == "IDENT" and text.startswith('"'):
            value = text[1:-1].replace('""', '"')
        elif tok.name == "IDENT" or tok.kind != "NO_KEYWORD":
            value = text
        else:
            raise self.error()
        self.i += 1
        if not value:
            raise RedshiftError("zero-length delimited identifier", "42601")
        return value.lower()

    def names(self) -> list[str]:
        out = [self.name()]
        while self.take(","):
            out.append(self.name())
        return out

    def string(self) -> str:
        if self.at_end() or self.toks[self.i].name != "SCONST":
            raise self.error()
        value = _string_value(self.text())
        self.i += 1
        return value

    def integer(self) -> int:
        if self.at_end() or self.toks[self.i].name != "ICONST":
            raise self.error()
        value = int(self.text())
        self.i += 1
        return value

    def rest(self) -> str:
        """The text of the remaining tokens (a SET value)."""
        if self.at_end():
            raise self.error()
        start = self.toks[self.i].start
        self.i = len(self.toks)
        return self.sql[start:].strip()


def _string_value(text: str) -> str:
    if text.startswith("$"):
        tag_end = text.index("$", 1) + 1
        return text[tag_end:-tag_end]
    if text[:1] in "eE":
        body = text[2:-1].replace("''", "'")
        return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m[1], m[1]), body)
    return text[1:-1].replace("''", "'")


def _literal(value: str) -> str:
    """A dollar-quoted literal: the session's standard_conforming_strings cannot change it."""
    tag = "rs"
    # The literal ends at the first "$tag$" after its start: that must be the closing one.
    while (value + f"${tag}$").find(f"${tag}$") != len(value):
        tag = "rs" + secrets.token_hex(4)
    return f"${tag}${value}${tag}$"


def _call(operation: str, name: str, spec: dict[str, Any], tag: str) -> Rewrite:
    body = json.dumps(spec, separators=(",", ":"), sort_keys=True)
    sql = (
        f"CALL {SCHEMA}.manage_user({_literal(operation)}, {_literal(name)}, "
        f"{_literal(body)}::jsonb)"
    )
    return Rewrite(sql, tag=tag)


def _password(toks: _Tokens, user: str, spec: dict[str, Any]) -> None:
    if toks.take("disable"):
        spec["password"] = None
    else:
        try:
            spec["password"] = stored_form(toks.string(), user)
        except PasswordError as exc:
            raise RedshiftError(str(exc), "22023") from None
    spec["password_set"] = True


def _common_option(toks: _Tokens, spec: dict[str, Any]) -> bool:
    """Options CREATE USER and ALTER USER share; False if the next token is none."""
    if toks.take("createdb"):
        spec["createdb"] = True
    elif toks.take("nocreatedb"):
        spec["createdb"] = False
    elif toks.take("createuser"):
        spec["superuser"] = True
    elif toks.take("nocreateuser"):
        spec["superuser"] = False
    elif toks.take("syslog", "access"):
        # Which system-table rows a user sees: the emulator has no other users' rows to hide.
        if not (toks.take("restricted") or toks.take("unrestricted")):
            raise toks.error()
    elif toks.take("valid", "until"):
        spec["valid_until"] = toks.string()
    elif toks.take("connection", "limit"):
        spec["connection_limit"] = -1 if toks.take("unlimited") else toks.integer()
    elif toks.take("session", "timeout"):
        spec["session_timeout"] = toks.integer()
    elif toks.take("externalid"):
        toks.string() if toks.toks[toks.i].name == "SCONST" else toks.name()
    else:
        return False
    return True


def _create_user(toks: _Tokens) -> Rewrite:
    name = toks.name()
    if name == "public":
        raise RedshiftError('user name "public" is reserved', "42939")  # DG:r_CREATE_USER
    toks.take("with")
    spec: dict[str, Any] = {}
    while not toks.at_end():
        if toks.take("password"):
            _password(toks, name, spec)
        elif toks.take("in", "group"):
            spec["groups"] = toks.names()
        elif not _common_option(toks, spec):
            raise toks.error()
    if "password_set" not in spec:
        # Redshift: PASSWORD is not optional (DG:r_CREATE_USER).
        raise RedshiftError(
            "syntax error at end of input",
            "42601",
            hint="CREATE USER needs PASSWORD '...' or PASSWORD DISABLE",
        )
    return _call("create_user", name, spec, "CREATE USER")


def _alter_user(toks: _Tokens) -> Rewrite:
    name = toks.name()
    spec: dict[str, Any] = {}
    if toks.take("rename", "to"):
        spec["rename"] = toks.name()
    elif toks.take("set"):
        param = toks.name()
        if not (toks.take("to") or toks.take("=")):
            raise toks.error()
        value = toks.rest()
        spec["set"] = [param, None if value.lower() == "default" else _set_value(value)]
    elif toks.take("reset", "session", "timeout"):
        spec["session_timeout"] = None
    elif toks.take("reset"):
        spec["reset"] = "all" if toks.take("all") else toks.name()
    else:
        toks.take("with")
        while not toks.at_end():
            if toks.take("password"):
                _password(toks, name, spec)
            elif not _common_option(toks, spec):
                raise toks.error()
        if not spec:
            raise toks.error()
    if not toks.at_end():
        raise toks.error()
    return _call("alter_user", name, spec, "ALTER USER")


def _set_value(text: str) -> list[str]:
    """A SET value's items, quotes taken off (the procedure quotes each again)."""
    items = [item.strip() for item in text.split(",")]
    return [_string_value(i) if i[:1] in "'$" else i for i in items]


def _drop(toks: _Tokens, kind: str) -> Rewrite:
    if_exists = toks.take("if", "exists")
    names = toks.names()
    if not toks.at_end():
        raise toks.error()
    return _call(
        f"drop_{kind}", names[0], {"names": names, "if_exists": if_exists}, f"DROP {kind.upper()}"
    )


def _create_group(toks: _Tokens) -> Rewrite:
    name = toks.name()
    toks.take("with")
    users = toks.names() if toks.take("user") else []
    if not toks.at_end():
        raise toks.error()
    return _call("create_group", name, {"users": users}, "CREATE GROUP")


def _alter_group(toks: _Tokens) -> Rewrite:
    name = toks.name()
    if toks.take("rename", "to"):
        spec: dict[str, Any] = {"rename": toks.name()}
    elif toks.take("add", "user"):
        spec = {"add": toks.names()}
    elif toks.take("drop", "user"):
        spec = {"drop": toks.names()}
    else:
        raise toks.error()
    if not toks.at_end():
        raise toks.error()
    return _call("alter_group", name, spec, "ALTER GROUP")


def translate(sql: str) -> Rewrite | None:
    """The procedure call for one user or group statement; None for any other statement."""
    match = _HEAD.match(sql)
    if match is None:
        return None
    verb, noun = match.group(1).lower(), match.group(2).lower()
    toks = _Tokens(sql)
    toks.i = 2
    if noun == "user":
        if verb == "create":
            return _create_user(toks)
        if verb == "alter":
            return _alter_user(toks)
        return _drop(toks, "user")
    if verb == "create":
        return _create_group(toks)
    if verb == "alter":
        return _alter_group(toks)
    return _drop(toks, "group")
