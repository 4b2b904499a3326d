"""PostgreSQL's refusals of what reaches the emulator's machine, as Redshift words them.

A client session is never a PostgreSQL superuser (:mod:`.roles`), so PostgreSQL itself
refuses server file access, ``COPY ... PROGRAM`` / file, server-side large objects and
untrusted extensions: nothing here decides anything, it only rewords. Redshift has none
of these (DG:c_unsupported-postgresql-functions; its COPY and UNLOAD use Amazon S3 and
other AWS sources, DG:r_COPY, DG:r_UNLOAD).
"""

from __future__ import annotations

import re

_FUNCTION = re.compile(
    r"permission denied for function "
    r"(pg_read_file|pg_read_binary_file|pg_ls_\w+|pg_stat_file|pg_file_\w+|lo_import|lo_export)"
)
_COPY_HINT = (
    "Amazon Redshift's COPY loads from Amazon S3 and other AWS sources, and UNLOAD writes "
    "to Amazon S3 (DG:r_COPY, DG:r_UNLOAD)"
)
# PostgreSQL 16+: "permission denied to COPY ..."; 15: "must be superuser or have ... to".
_COPY_REFUSAL = re.compile(r"(?:permission denied|must be superuser .*) to COPY (.+)")
_COPY = {
    "to or from an external program": "COPY to or from a program is not supported",
    "from a file": "COPY from a file on the server is not supported",
    "to a file": "COPY to a file on the server is not supported",
}


def reword(fields: dict[str, str]) -> dict[str, str]:
    """``fields`` of an upstream error, reworded if it refuses reaching the machine."""
    if fields.get("C") != "42501":
        return fields
    message = fields.get("M", "")
    base = {k: v for k, v in fields.items() if k not in "DHFLR"}
    match = _FUNCTION.match(message)
    if match:
        return {
            **base,
            "C": "42883",
            "M": f"function {match.group(1)} does not exist",
            "H": "Amazon Redshift has no server file access or large object functions "
            "(DG:c_unsupported-postgresql-functions)",
        }
    match = _COPY_REFUSAL.fullmatch(message)
    if match and match.group(1) in _COPY:
        return {**base, "C": "0A000", "M": _COPY[match.group(1)], "H": _COPY_HINT}
    if message.startswith("permission denied to create extension"):
        return {
            **base,
            "C": "0A000",
            "M": "CREATE EXTENSION is not supported",
            "H": "Amazon Redshift has no PostgreSQL extensions",
        }
    return fields
