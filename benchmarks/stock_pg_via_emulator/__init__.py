"""BENCHMARK ONLY: Django's stock PostgreSQL backend, minus its server version check.

It lets ``orm_bench`` send the stock backend's SQL through the emulator (which reports
Redshift's ``server_version`` 8.0.2, below what the stock backend accepts), so the table
can separate the emulator's cost from this backend's. Not a Redshift backend: the stock
SQL that Redshift refuses (``INSERT … RETURNING``) is refused here too.
"""
