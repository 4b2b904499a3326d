"""The statement pipeline: every client statement goes through :func:`rewrite` once.

1. The result cache (``(sql, session key)`` -> result) answers repeated statements.
2. The query string is split into statements (PostgreSQL's scanner, on the masked text).
3. Each statement's head (its first words, comments skipped) gives its *kind*
   ("select", "create table", ...). The rules whose kinds and screens select the statement
   are the only ones that run; a statement no rule selects goes on unscanned, unparsed.
4. Statement rules run (they read the tokens of the one scan and edit the text), then the
   text as edited is parsed once and each node rule gets the nodes it asked for, with
   positions in the client's statement; then ``at_end`` checks, then the edits are made.

Nothing here knows a Redshift rule; they live in the part modules (ddl, dml, functions,
datatypes, identifiers, catalog).
"""

from __future__ import annotations

import bisect
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError, split
from pglast.stream import RawStream

from ...limits import MAX_STATEMENT_BYTES
from .declare import REGISTRY, Rule
from .errors import RedshiftError, cannot_rewrite
from .source import (
    Edits,
    PositionMap,
    Source,
    Token,
    Unbalanced,
    fold_backslashes,
    matching,
    tokens,
)

logger = logging.getLogger("redshift_async_backend.emulator")

# Longer statements (bulk inserts, each one different) are not kept in the result cache.
CACHED_CHARS = 64 * 1024


@dataclass(slots=True)
class SessionState:
    """Per client connection, kept by the server."""

    in_transaction: bool = False
    # The upstream's server_version_num (the server reads it at connect). Some rules depend
    # on it: PostgreSQL 18 has NOT ENFORCED foreign keys, older versions need other means.
    server_version_num: int = 180000
    # Redshift session parameters rules track (stmt.setting, stmt.set_session): sorted
    # (name, value) pairs, part of the result cache's key. rewrite() keeps it.
    settings: tuple[tuple[str, str], ...] = ()

    def key(self) -> tuple[Any, ...]:
        """What rules may depend on."""
        return (self.in_transaction, self.server_version_num, *self.settings)

    def setting(self, name: str) -> str | None:
        return dict(self.settings).get(name)

    def apply(self, changes: tuple[tuple[str, str | None], ...]) -> None:
        """Record what a statement set (None: reset)."""
        values = dict(self.settings)
        for name, value in changes:
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        self.settings = tuple(sorted(values.items()))


@dataclass(frozen=True, slots=True)
class Rewrite:
    """What the server sends instead of the client's SQL."""

    sql: str
    prelude: tuple[str, ...] = ()  # statements sent before, their results not shown
    tag: str | None = None  # the command tag the client sees instead of the upstream's
    # Session parameters the statement changes: (name, value); value None resets it.
    settings: tuple[tuple[str, str | None], ...] = ()


def rewrite(sql: str, state: SessionState) -> Rewrite:
    """Rewrite one client Query (maybe several statements) or one Parse statement."""
    if len(sql) > CACHED_CHARS:
        size = len(sql) if sql.isascii() else len(sql.encode("utf-8", "surrogateescape"))
        if size > MAX_STATEMENT_BYTES:
            # Redshift: a statement is at most 16 MB (DG:r_INSERT_30, DG:amazon-redshift-limits).
            raise RedshiftError(
                f"Statement is too large. Statement Size: {size} bytes. "
                f"Maximum Allowed: {MAX_STATEMENT_BYTES} bytes",
                "54000",
            )
        result = _rewrite(sql, state.key())
    else:
        result = _cached(sql, state.in_transaction, state.server_version_num, state.settings)
    if isinstance(result, RedshiftError):
        raise result.copy()
    if result.settings:
        state.apply(result.settings)
    return result


def translate_error(fields: dict[str, str]) -> dict[str, str]:
    """Upstream ErrorResponse fields -> what a Redshift client would see."""
    plan = _plan()
    for rule in plan.any_error:
        fields = rule.handler(fields)  # type: ignore[misc]
    for rule in plan.errors.get(fields.get("C", ""), ()):
        fields = rule.handler(fields)  # type: ignore[misc]
    return fields


# ---------------------------------------------------------------------------------------
# The plan: the registry compiled for dispatch


class Plan:
    def __init__(self, rules: list[Rule]) -> None:
        self.version = REGISTRY.version
        self.rules = [r for r in rules if r.on in ("statement", "node")]
        self.any_error = [r for r in rules if r.on == "error" and not r.sqlstates]
        self.errors: dict[str, list[Rule]] = {}
        for r in rules:
            for code in r.sqlstates if r.on == "error" else ():
                self.errors.setdefault(code, []).append(r)
        self._by_kind: dict[str, tuple[Rule, ...]] = {}
        self._screens = {r.id: _compile(r.screen) for r in self.rules if isinstance(r.screen, str)}

    def candidates(self, kind: str) -> tuple[Rule, ...]:
        found = self._by_kind.get(kind)
        if found is None:
            first = kind.split(" ", 1)[0]
            found = tuple(
                r for r in self.rules if not r.kinds or kind in r.kinds or first in r.kinds
            )
            self._by_kind[kind] = found
        return found

    def select(self, kind: str, text: str) -> list[Rule]:
        """The rules this statement's kind and text select, in declaration order."""
        rules = self.candidates(kind)
        if not rules:
            return []
        seen = Screening(text)
        out = []
        for r in rules:
            if r.words and not r.words.isdisjoint(seen.words):
                out.append(r)
            elif r.screen is not None:
                if r.screen(seen) if callable(r.screen) else self._screens[r.id].search(seen.low):
                    out.append(r)
            elif not r.words:
                out.append(r)
        return out


class Screening:
    """What screens look at: the statement's text, lower-cased, and its words (found
    once, on first use)."""

    __slots__ = ("_low", "_words", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._low: str | None = None
        self._words: set[str] | None = None

    @property
    def low(self) -> str:
        if self._low is None:
            self._low = self.text.lower()
        return self._low

    @property
    def words(self) -> set[str]:
        """Words outside string literals, quoted names and comments; also the symbols '[',
        '~*' and '!~*', and quoted names of 16 characters or more (with their quotes), which
        may be too long for PostgreSQL."""
        if self._words is None:
            low = self.low
            if "$" in low and _DOLLAR_QUOTE.search(low):
                self._words = set(_ANY_WORD.findall(low))  # dollar quotes: every word
            else:
                self._words = set(_WORDS.findall(low))
        return self._words


# A literal is skipped whole, so its content cannot select a rule (an E'...' literal with
# \' may end early, which only selects more rules).
_WORDS = re.compile(
    r"""'[^']*'|"[^"]{0,15}"|--[^\n]*|/\*.*?\*/|("[^"]*"|[a-z_][a-z0-9_$]*|\[|!?~\*)""",
    re.S,
)
_DOLLAR_QUOTE = re.compile(r"\$(?:[a-z_][a-z0-9_]*)?\$")
_ANY_WORD = re.compile(r""""[^"]*"|[a-z_][a-z0-9_$]*|\[|!?~\*""")


def _compile(screen: str) -> re.Pattern[str]:
    """A screen is searched in the lower-cased statement."""
    return re.compile(screen)


_PLAN: Plan | None = None


def _plan() -> Plan:
    global _PLAN
    if _PLAN is None or _PLAN.version != REGISTRY.version:
        _PLAN = Plan(REGISTRY.rules)
        _cached.cache_clear()
    return _PLAN


@functools.lru_cache(maxsize=4096)
def _cached(
    sql: str, in_tx: bool, pg: int, settings: tuple[tuple[str, str], ...]
) -> Rewrite | RedshiftError:
    return _rewrite(sql, (in_tx, pg, *settings))


# A rule registered or removed (tests do) makes every cached result suspect.
REGISTRY.listeners.append(_cached.cache_clear)


# ---------------------------------------------------------------------------------------
# A query string


def _rewrite(sql: str, key: tuple[Any, ...]) -> Rewrite | RedshiftError:
    try:
        return _rewrite_query(sql, key)
    except RedshiftError as exc:
        return exc


def _rewrite_query(sql: str, key: tuple[Any, ...]) -> Rewrite:
    plan = _plan()
    in_tx = bool(key[0])
    if ";" not in sql.rstrip().rstrip(";"):
        return _rewrite_statement(plan, sql, in_tx, key)
    whole = Source(sql)
    try:
        slices = split(whole.masked, with_parser=False, only_slices=True)
    except ParseError:
        return Rewrite(sql)  # the upstream reports the lexical error
    out: list[str] = []
    prelude: list[str] = []
    settings: list[tuple[str, str | None]] = []
    tag: str | None = None
    changed = False
    for part in slices:
        text = whole.slice(part.start, part.stop)
        one = _rewrite_statement(plan, text, in_tx, key)
        changed = changed or one != Rewrite(text)
        out.append(one.sql)
        prelude.extend(one.prelude)
        settings.extend(one.settings)
        tag = one.tag
        word = head_words(text, 1)
        if word in (("begin",), ("start",)):
            in_tx = True
        elif word in (("commit",), ("end",), ("rollback",), ("abort",)):
            in_tx = False
    if not changed:
        return Rewrite(sql)
    return Rewrite(
        "; ".join(out), tuple(prelude), tag if len(slices) == 1 else None, tuple(settings)
    )


# Passes over a statement's text before any rule sees it, ``(text, kind, key) -> text``
# (identifiers.py folds quoted names there): the rules then read the text as PostgreSQL
# is to get it. A pass returns the text itself when it has nothing to do.
TEXT_PASSES: list[Callable[[str, str, tuple[Any, ...]], str]] = []


def _rewrite_statement(plan: Plan, text: str, in_tx: bool, key: tuple[Any, ...]) -> Rewrite:
    words = head_words(text)
    kind = kind_of(words)
    for prepare in TEXT_PASSES:
        text = prepare(text, kind, key)
    active = plan.select(kind, text)
    if not active:
        return Rewrite(text)
    stmt = Statement(text, words, kind, in_tx, key)
    try:
        return stmt.run(active)
    except Unbalanced:
        return Rewrite(text)
    except RedshiftError:
        raise
    except RecursionError as exc:
        raise cannot_rewrite("its expressions are nested too deeply") from exc
    except Exception as exc:
        # A bug in a rule: the statement fails with a clear error, the session goes on.
        logger.error("a rule failed on a %d-byte statement", len(stmt.source), exc_info=True)
        raise cannot_rewrite(f"internal error ({type(exc).__name__})") from exc


# ---------------------------------------------------------------------------------------
# A statement's head

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_BLANK = re.compile(r"\s+")
_OBJECTS = frozenset(
    {
        "table", "view", "index", "sequence", "database", "schema", "function", "procedure",
        "user", "group", "role", "library", "model", "datashare", "extension", "type", "domain",
        "trigger", "rule", "materialized", "external",
    }
)  # fmt: skip


def head_words(text: str, n: int = 6) -> tuple[str, ...]:
    """The statement's first ``n`` words, lower case, comments and blanks skipped; it stops
    at the first thing that is not a word."""
    words: list[str] = []
    i, end = 0, len(text)
    while len(words) < n and i < end:
        m = _BLANK.match(text, i)
        if m:
            i = m.end()
            continue
        if text.startswith("--", i):
            nl = text.find("\n", i)
            i = end if nl < 0 else nl + 1
            continue
        if text.startswith("/*", i):
            i = _comment_end(text, i)
            continue
        m = _WORD.match(text, i)
        if not m:
            break
        words.append(m.group().lower())
        i = m.end()
    return tuple(words)


def _comment_end(text: str, i: int) -> int:
    """The end of the /* comment */ at ``i`` (PostgreSQL's nest)."""
    depth = 0
    while i < len(text):
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return i


def kind_of(words: tuple[str, ...]) -> str:
    """ "select", "insert", "truncate", ...; for CREATE/DROP/ALTER the object too:
    "create table" (also CREATE TEMP TABLE ...), "alter table", "create materialized view"."""
    if not words:
        return ""
    first = words[0]
    if first in ("create", "drop", "alter"):
        for k, w in enumerate(words[1:5], 1):
            if w in _OBJECTS:
                if w in ("materialized", "external") and k + 1 < len(words):
                    return f"{first} {w} {words[k + 1]}"
                return f"{first} {w}"
    return first


# ---------------------------------------------------------------------------------------
# A statement, as rules see it


@dataclass
class Call:
    """A function call's tokens (indexes into ``stmt.tokens``)."""

    name: tuple[int, int]  # the (maybe qualified) name: first, past-last
    open: int  # '('
    close: int  # its ')'
    args: list[tuple[int, int]]  # each argument: first, past-last
    end: int  # past WITHIN GROUP (...), FILTER (...) and OVER ... that follow


_UNPARSED: Any = object()


class Statement:
    """One statement, as every rule sees it.

    Read: ``text``, ``words`` (its first words), ``kind``, ``in_transaction``,
    ``server_version_num``, ``setting(name)``, ``tokens`` (one scan, comments left out),
    ``tree`` (one parse; node rules only), ``facts`` (scratch space rules share).
    Write: ``replace``/``insert`` (edits in byte offsets), ``replace_statement``,
    ``prelude``/``tag``, ``at_end(check)``, ``set_session``, ``transform`` (the slow path).
    """

    def __init__(
        self, text: str, words: tuple[str, ...], kind: str, in_tx: bool, key: tuple[Any, ...]
    ) -> None:
        self.source = Source(text)
        self.text = text
        self.words = words
        self.kind = kind
        self.in_transaction = in_tx
        self.server_version_num: int = key[1]
        self._settings = dict(key[2:])
        self.edits = Edits()
        self.prelude: list[str] = []
        self.tag: str | None = None
        self.facts: dict[str, Any] = {}
        self._replacement: str | None = None
        self._tokens: list[Token] | None = None
        self._starts: list[int] | None = None
        self._tree: Any = _UNPARSED
        self._before_parse = True
        self._at_end: list[Callable[[Statement], None]] = []
        self._transforms: list[Callable[[Any], None]] = []
        self._set: list[tuple[str, str | None]] = []

    # -- reading -------------------------------------------------------------------------

    @property
    def tokens(self) -> list[Token]:
        if self._tokens is None:
            self._tokens = tokens(self.source)
        return self._tokens

    @property
    def tree(self) -> ast.Node | None:
        """The statement's parse tree (``RawStmt.stmt``), None when PostgreSQL's parser
        refuses it (the upstream then reports the error). Positions are the client's."""
        if self._before_parse:
            raise RuntimeError("statement rules run before the parse: use a node rule")
        if self._tree is _UNPARSED:
            self._tree = self._parse()
        return self._tree

    def source_text(self, start: int, end: int) -> str:
        """The client's text between two byte offsets."""
        return self.source.slice(start, end)

    def position(self, node: Any) -> int:
        """A tree node's byte offset in the client's statement."""
        location = getattr(node, "location", None)
        if not isinstance(location, int) or location < 0:
            raise RuntimeError(f"a {type(node).__name__} node without a position")
        return location

    def token_index(self, pos: int) -> int:
        """The index of the token that starts at (or else contains) byte offset ``pos``."""
        if self._starts is None:
            self._starts = [t.start for t in self.tokens]
        return max(0, bisect.bisect_right(self._starts, pos) - 1)

    def span(self, first: int, past: int) -> tuple[int, int]:
        """Byte offsets of the tokens ``first`` to ``past - 1``."""
        return self.tokens[first].start, self.tokens[past - 1].end

    def span_text(self, first: int, past: int) -> str:
        return self.source_text(*self.span(first, past))

    def call(self, node: ast.FuncCall) -> Call:
        """The tokens of a function call node."""
        toks = self.tokens
        first = i = self.token_index(self.position(node))
        while i + 1 < len(toks) and toks[i + 1].text == ".":
            i += 2
        open_i = i + 1
        close = matching(toks, open_i)
        args = _arguments(toks, open_i, close)
        end = close + 1
        while end < len(toks):
            w = toks[end].word
            if w == "within" and end + 2 < len(toks) and toks[end + 2].text == "(":
                end = matching(toks, end + 2) + 1
            elif w == "filter" and end + 1 < len(toks) and toks[end + 1].text == "(":
                end = matching(toks, end + 1) + 1
            elif w == "over" and end + 1 < len(toks):
                end = matching(toks, end + 1) + 1 if toks[end + 1].text == "(" else end + 2
            else:
                break
        return Call((first, open_i), open_i, close, args, end)

    def setting(self, name: str, default: str | None = None) -> str | None:
        """A session parameter's value as a rule last recorded it (set_session)."""
        return self._settings.get(name, default)

    # -- writing -------------------------------------------------------------------------

    def replace(self, start: int, end: int, text: str) -> None:
        """Replace the client's bytes ``start`` to ``end`` with ``text``."""
        self.edits.replace(start, end, text)

    def insert(self, pos: int, text: str) -> None:
        self.edits.replace(pos, pos, text)

    def replace_statement(self, sql: str, tag: str | None = None) -> None:
        """Send ``sql`` instead of the statement (every edit is dropped); the client sees
        ``tag`` as the command tag if given. Later rules do not run."""
        self._replacement = sql
        if tag is not None:
            self.tag = tag

    def at_end(self, check: Callable[[Statement], None]) -> None:
        """Run ``check(stmt)`` once every node rule has seen the tree (to decide on facts
        gathered from several nodes)."""
        self._at_end.append(check)

    def set_session(self, name: str, value: str | None) -> None:
        """Record that this statement sets a session parameter (None: resets it)."""
        self._set.append((name, value))

    def transform(self, change: Callable[[Any], None]) -> None:
        """The slow path, for a rewrite that edits cannot express: after every rule, the
        edited statement is parsed again from its exact text, ``change(tree)`` restructures
        that tree, and the statement sent is the tree printed. Comments are lost, and a tree
        too deep to print is a RedshiftError. Use it only for rare statements."""
        self._transforms.append(change)

    # -- running -------------------------------------------------------------------------

    def run(self, rules: list[Rule]) -> Rewrite:
        visit: dict[type, list[Callable[..., None]]] = {}
        for rule in rules:
            if rule.on == "statement":
                rule.handler(self)  # type: ignore[misc]
                if self._replacement is not None:
                    return self._result()
            else:
                for node_type in rule.nodes:
                    visit.setdefault(node_type, []).append(rule.handler)  # type: ignore[arg-type]
        self._before_parse = False
        if visit:
            tree = self.tree
            if tree is not None:
                walk(tree, visit, self)
                if self._replacement is not None:
                    return self._result()
        for check in self._at_end:
            check(self)
        return self._result()

    def _result(self) -> Rewrite:
        if self._replacement is not None:
            sql = self._replacement
        elif self._transforms:
            sql = self._reprint()
        else:
            sql = self.edits.apply(self.source)
        return Rewrite(sql, tuple(self.prelude), self.tag, tuple(self._set))

    def _parse(self) -> ast.Node | None:
        text = fold_backslashes(self.edits.apply_masked(self.source))
        try:
            raw = parse_sql(text)
        except ParseError:
            return None
        if len(raw) != 1:
            return None
        node = raw[0].stmt
        if self.edits:
            _map_locations(node, self.edits.position_map(self.source))
        return node

    def _reprint(self) -> str:
        if not self.source.valid_utf8:
            raise RedshiftError('invalid byte sequence for encoding "UTF8"', "22021")
        text = self.edits.apply(self.source)
        try:
            tree = parse_sql(text)
        except ParseError:
            return text
        for change in self._transforms:
            change(tree)
        try:
            return str(RawStream()(tree[0])) if len(tree) == 1 else text
        except RecursionError as exc:
            raise cannot_rewrite("its expressions are nested too deeply to print") from exc


def _arguments(toks: list[Token], open_i: int, close: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    depth, first = 0, open_i + 1
    for j in range(open_i + 1, close):
        text = toks[j].text
        if text in ("(", "["):
            depth += 1
        elif text in (")", "]"):
            depth -= 1
        elif text == "," and depth == 0:
            out.append((first, j))
            first = j + 1
    if first < close:
        out.append((first, close))
    return out


# ---------------------------------------------------------------------------------------
# The tree walk: iterative (deep trees are no RecursionError), pre-order, left to right

_CHILDREN: dict[type, tuple[str, ...]] = {}


def _children(cls: type) -> tuple[str, ...]:
    names = _CHILDREN.get(cls)
    if names is None:
        slots = getattr(cls, "__slots__", {})
        names = tuple(
            name
            for name, info in slots.items()
            if (getattr(info, "c_type", "").endswith("*") and info.c_type != "char*")
            or getattr(info, "c_type", "") == "ValUnion"
        )
        _CHILDREN[cls] = names
    return names


def walk(root: Any, visit: dict[type, list[Callable[..., None]]], stmt: Statement) -> None:
    """Call ``visit[type(node)]`` handlers for every node under ``root``."""
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        cls = type(node)
        if cls is tuple or cls is list:
            stack.extend(reversed(node))
            continue
        handlers = visit.get(cls)
        if handlers:
            for handler in handlers:
                handler(stmt, node)
        for name in reversed(_children(cls)):
            child = getattr(node, name)
            if child is not None and not isinstance(child, str | int):
                push(child)


def _map_locations(root: Any, to_client: PositionMap) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is tuple or cls is list:
            stack.extend(node)
            continue
        location = getattr(node, "location", None)
        if isinstance(location, int) and location >= 0:
            node.location = to_client(location)
        for name in _children(cls):
            child = getattr(node, name)
            if child is not None and not isinstance(child, str | int):
                stack.append(child)
