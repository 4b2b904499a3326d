"""Several prepared statements in one round trip on redshift_connector.

redshift_connector sends each statement as Parse/Describe/Sync (the first time) and then
Bind/Execute/Sync (RC:``core.py`` ``execute``): a string of several statements costs a round
trip each. PostgreSQL's extended protocol, which Redshift speaks, lets a client send many
Bind/Execute pairs and one Sync, and answers them in order; after an error the server skips
to the Sync. :func:`run` does that for statements the driver has prepared before on this
connection (its cache holds their Bind prefix and result readers), when at most one of them
returns rows, so the driver's own message handlers read the answers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from redshift_connector import core

# Bind and Execute without the Flush redshift_connector sends after each message: one Sync
# ends the whole pipeline.
_EXECUTE = core.EXECUTE_MSG


def _cached(raw: Any, cursor: Any, text: str, args: Any) -> tuple[dict[str, Any], Any] | None:
    """The driver's prepared statement for ``text`` with ``args`` and the values to bind, or
    None if it has not prepared it on this connection."""
    try:
        cache = raw._caches[cursor.paramstyle][os.getpid()]
        _statement, make_args = cache["statement"][text]
    except (KeyError, AttributeError):
        return None
    values = make_args(args) if args is not None else ()
    params = raw.make_params(values) if args is not None else ()
    ps = cache["ps"].get((text, params))
    return None if ps is None else (ps, values)


def run(raw: Any, cursor: Any, statements: Sequence[tuple[str, Any]]) -> int | None:
    """Send ``statements`` as one pipeline on redshift_connector's ``cursor``: the index of
    the one statement that returns rows (its rows are then in the raw cursor, as after
    ``cursor.execute()``; the last if none does). None, with nothing sent, when one of them
    is not prepared yet or more than one returns rows."""
    plan = [_cached(raw, cursor, text, args) for text, args in statements]
    if any(p is None for p in plan):
        return None
    entries = [p for p in plan if p is not None]
    with_rows = [i for i, (ps, _) in enumerate(entries) if ps["row_desc"]]
    if len(with_rows) > 1:
        return None
    index = with_rows[0] if with_rows else len(entries) - 1
    out = bytearray()
    for ps, values in entries:
        bind = bytearray(ps["bind_1"])
        for value, send in zip(values, ps["param_funcs"], strict=True):
            if value is None:
                bind += core.i_pack(-1)
            else:
                data = send(value)
                bind += core.i_pack(len(data)) + data
        bind += ps["bind_2"]
        out += core.BIND + core.i_pack(len(bind) + 4) + bind + _EXECUTE
    out += core.SYNC_MSG
    cursor.ps = entries[index][0]
    cursor._cached_rows.clear()
    cursor._row_count = -1
    cursor._redshift_row_count = -1
    try:
        raw._write(bytes(out))
        raw._flush()
    except (AttributeError, ValueError) as exc:
        raise core.InterfaceError("connection is closed") from exc
    if raw.merge_socket_read:
        raw.handle_messages_merge_socket_read(cursor)
    else:
        raw.handle_messages(cursor)
    return index
