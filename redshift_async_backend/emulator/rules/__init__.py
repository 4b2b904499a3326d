"""Redshift SQL on PostgreSQL: the emulator's rules, arranged as AWS's *Amazon Redshift
Database Developer Guide* is.

The server calls :func:`rewrite` for every statement a client sends (it returns a
:class:`Rewrite`, or raises :class:`RedshiftError` to refuse) and :func:`translate_error`
for every error the upstream PostgreSQL returns. Pure code, no I/O.

* :mod:`.pipeline`: the statement pipeline (cache, split, one scan, one parse, dispatch);
* :mod:`.declare`: how a rule is declared (:class:`~.declare.Part`);
* :mod:`.source`: positions, tokens and edits;
* one module per part of the guide: :mod:`.ddl` (and :mod:`.ddl_alter`), :mod:`.dml`,
  :mod:`.functions` (and :mod:`.functions_more`, :mod:`.leader_node`, :mod:`.windows`,
  :mod:`.super_navigation`),
  :mod:`.datatypes`, :mod:`.identifiers`, :mod:`.settings`, :mod:`.catalog`,
  :mod:`.security`;
* :mod:`.docs`: docs/emulator-sql.md's rule tables, generated from the declarations
  (``python -m redshift_async_backend.emulator.rules --write-docs``).

RULES_GUIDE.md at the top of the repository says how to add a rule.
"""

from __future__ import annotations

from . import (  # noqa: F401
    catalog,
    datatypes,
    ddl,
    ddl_alter,
    dml,
    functions,
    functions_more,
    identifiers,
    leader_node,
    security,
    settings,
    super_navigation,
    windows,
)
from .declare import REGISTRY, Fidelity, Part, Rule
from .errors import RedshiftError
from .identifiers import LONG_NAMES, short_name
from .pipeline import Rewrite, SessionState, Statement, rewrite, translate_error

__all__ = [
    "LONG_NAMES",
    "REGISTRY",
    "Fidelity",
    "Part",
    "RedshiftError",
    "Rewrite",
    "Rule",
    "SessionState",
    "Statement",
    "rewrite",
    "short_name",
    "translate_error",
]
