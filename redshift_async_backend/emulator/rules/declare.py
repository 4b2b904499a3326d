"""How a rule is declared: once, in the module of its part of the guide.

Each part module makes one :class:`Part` and declares its rules with it::

    part = Part("dml", "Queries, DML and COPY", order=2)

    @part.node(
        ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt,
        id="no-returning",
        page="r_INSERT_30",
        does="INSERT, UPDATE and DELETE have no RETURNING clause",
        fidelity=FULL,
        answer='42601 syntax error at or near "RETURNING"',
        source=STYLE,
        tests=("tests/emulator/test_sql_rules.py::test_refused_like_redshift[returning]",),
        words=("returning",),
    )
    def no_returning(stmt: Statement, node: ast.InsertStmt) -> None: ...

Four ways to declare, one set of fields (see :class:`Rule`):

* ``@part.statement(*kinds, ...)``: ``handler(stmt)`` runs, before the parse, for each
  statement of these kinds ("truncate", "create table", a first word such as "create";
  none: every statement).
  It reads ``stmt.tokens`` and edits the text; it must not read ``stmt.tree``.
* ``@part.node(*node_types, ...)``: ``handler(stmt, node)`` runs for each node of these
  pglast types in the statement's one parse tree.
* ``@part.error(*sqlstates, ...)``: ``handler(fields) -> fields`` rewrites an upstream
  ErrorResponse with one of these SQLSTATEs (none: every error).
* ``part.rule(...)``: a rule carried out inside another rule's handler (CREATE TABLE's one
  walk over its columns checks several); ``part.not_emulated(...)``: what the emulator does
  *not* do, declared as honestly.

Which statements a rule runs for is its price, so it says so:

* ``kinds``: statement kinds ("create table", "alter table", "truncate", or a first word
  such as "create"); none: every kind;
* ``words``: words of which at least one must occur in the statement, outside string
  literals, quoted names and comments (case-insensitive); also the symbols ``[``, ``~*``
  and ``!~*``. The statement's words are found once, in one pass, for every rule;
* ``screen``: else a regular expression searched in the whole text, lower-cased
  (literals included; write it in lower case, starting with a literal: ``distinct\\s+on``
  is searched at a few ns a byte, ``\\bdistinct`` at 100), or a function of the
  statement's :class:`~.pipeline.Screening` (``.text``, ``.low``, ``.words``); each costs a
  pass of its own, so keep them for what words cannot say;
* neither ``words`` nor ``screen``: every statement of its kinds.

A statement that no rule selects is sent on unscanned and unparsed: that keeps plain DML
cheap, and tests/emulator/test_rules_declared.py fails if a rule selects plain DML.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pglast import ast

DOCS_URL = "https://docs.aws.amazon.com/redshift/latest/dg/{page}.html"
STYLE = "style"  # no source gives Redshift's text: Redshift's parser's style
_PAGE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_TEST = re.compile(r"tests/[\w/]+\.py::\w+(\[[^\]]+\])?")
_ID = re.compile(r"[a-z][a-z0-9-]*")
_WORD = re.compile(r"[a-z_][a-z0-9_$]*|\[|!?~\*")


class Fidelity(enum.Enum):
    FULL = "full"  # what a client can observe is Redshift's behaviour
    PARTLY = "partly"  # accepted with the meaning that matters; the gap is named
    NO = "no"  # not emulated (declared with part.not_emulated)


FULL, PARTLY, NO = Fidelity.FULL, Fidelity.PARTLY, Fidelity.NO

Screen = str | Callable[[Any], bool] | None
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, eq=False)
class Rule:
    """One behaviour of Redshift the emulator reproduces (or declares it does not)."""

    id: str  # unique, lower-case-with-dashes
    part: Part
    page: str  # the guide's page, e.g. "r_CREATE_TABLE_NEW" (DOCS_URL)
    does: str  # what Redshift does, one line (Markdown)
    fidelity: Fidelity
    gap: str = ""  # what the emulator does not reproduce; required unless FULL
    tests: tuple[str, ...] = ()  # pytest node ids that prove it; required unless NO
    answer: str = ""  # the error the emulator answers with, "SQLSTATE message"
    source: str = ""  # where that text comes from: "Redshift (a public report)" or STYLE
    see: tuple[str, ...] = ()  # further pages of the guide
    # Dispatch: "statement", "node", "error", or "" (declared only).
    on: str = ""
    kinds: tuple[str, ...] = ()
    nodes: tuple[type[ast.Node], ...] = ()
    sqlstates: tuple[str, ...] = ()
    words: frozenset[str] = frozenset()
    screen: Screen = None
    handler: Callable[..., Any] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return DOCS_URL.format(page=self.page)

    def __post_init__(self) -> None:
        problems = []
        if not _ID.fullmatch(self.id):
            problems.append("id must be lower-case words joined by '-'")
        for page in (self.page, *self.see):
            if not _PAGE.fullmatch(page or ""):
                problems.append(f"page {page!r} is not a guide page name (e.g. r_TRUNCATE)")
        if not self.does.strip():
            problems.append("does: say what Redshift does")
        if self.fidelity is not FULL and not self.gap.strip():
            problems.append("gap: say what is not emulated")
        if self.fidelity is not NO and not self.tests:
            problems.append("tests: name the tests that prove it")
        problems += [f"test {t!r} is not a node id" for t in self.tests if not _TEST.fullmatch(t)]
        if (self.fidelity is NO) != (self.on == "not emulated"):
            problems.append("fidelity NO is declared with part.not_emulated, and only it")
        problems += [
            f"word {w!r} is not a lower-case word" for w in self.words if not _WORD.fullmatch(w)
        ]
        if problems:
            raise ValueError(f"rule {self.id}: " + "; ".join(problems))


class Registry:
    """Every rule, in declaration order; ``version`` changes with each registration."""

    def __init__(self) -> None:
        self.rules: list[Rule] = []
        self.parts: list[Part] = []
        self.version = 0
        self.listeners: list[Callable[[], Any]] = []  # told of every change

    def add(self, rule: Rule) -> Rule:
        if any(r.id == rule.id for r in self.rules):
            raise ValueError(f"rule {rule.id} is declared twice")
        self.rules.append(rule)
        self._changed()
        return rule

    def remove(self, rule: Rule) -> None:
        self.rules.remove(rule)
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        for listener in self.listeners:
            listener()

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


REGISTRY = Registry()


class Part:
    """One part of the guide, one module of this package."""

    def __init__(self, key: str, title: str, intro: str, *, order: int) -> None:
        self.key = key
        self.title = title
        self.intro = intro
        self.order = order
        REGISTRY.parts.append(self)
        REGISTRY.parts.sort(key=lambda p: p.order)

    def __repr__(self) -> str:
        return f"Part({self.key!r})"

    def _add(self, **fields: Any) -> Rule:
        return REGISTRY.add(Rule(part=self, **fields))

    def rule(self, **decl: Any) -> Rule:
        """A rule that another rule's handler carries out."""
        return self._add(**decl)

    def not_emulated(self, **decl: Any) -> Rule:
        """Something Redshift does that the emulator does not; ``gap`` says what happens."""
        return self._add(fidelity=NO, on="not emulated", **decl)

    def statement(
        self,
        *kinds: str,
        words: tuple[str, ...] = (),
        screen: Screen = None,
        **decl: Any,
    ) -> Callable[[F], F]:
        """``handler(stmt)`` for statements of these kinds (none: every kind), before the
        parse."""

        def register(fn: F) -> F:
            self._add(
                on="statement",
                kinds=kinds,
                words=frozenset(words),
                screen=screen,
                handler=fn,
                **decl,
            )
            return fn

        return register

    def node(
        self,
        *nodes: type[ast.Node],
        kinds: tuple[str, ...] = (),
        words: tuple[str, ...] = (),
        screen: Screen = None,
        **decl: Any,
    ) -> Callable[[F], F]:
        """``handler(stmt, node)`` for each node of these types in the parse tree."""
        if not nodes:
            raise ValueError("a node rule names the node types it applies to")

        def register(fn: F) -> F:
            self._add(
                on="node",
                nodes=nodes,
                kinds=kinds,
                words=frozenset(words),
                screen=screen,
                handler=fn,
                **decl,
            )
            return fn

        return register

    def error(self, *sqlstates: str, **decl: Any) -> Callable[[F], F]:
        """``handler(fields) -> fields`` for upstream errors with these SQLSTATEs."""

        def register(fn: F) -> F:
            self._add(on="error", sqlstates=sqlstates, handler=fn, **decl)
            return fn

        return register
