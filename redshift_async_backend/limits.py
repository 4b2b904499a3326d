"""Redshift's size limits, shared by the backend and the emulator (no imports)."""

# A statement is at most 16 MB (DG:r_INSERT_30, DG:amazon-redshift-limits).
MAX_STATEMENT_BYTES = 16 * 1024 * 1024
