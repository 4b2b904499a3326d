"""Clients of the emulator for its tests: either driver as any user, and the backend."""

from __future__ import annotations

import os
from typing import Any

import psycopg
import redshift_connector

from redshift_async_backend.emulator import Emulator

DRIVERS = ["psycopg", "redshift_connector"]


def login(emu: Emulator, user: str, password: str | None = None, driver: str = "psycopg") -> Any:
    """An autocommit connection through ``emu`` as ``user``."""
    if driver == "psycopg":
        return psycopg.connect(
            host=emu.host,
            port=emu.port,
            dbname=emu.database,
            user=user,
            password=password,
            autocommit=True,
            connect_timeout=10,
        )
    conn = redshift_connector.connect(
        host=emu.host,
        port=emu.port,
        database=emu.database,
        user=user,
        password=password or "",
        ssl=False,
    )
    conn.autocommit = True
    return conn


def backend(emu: Emulator, alias: str) -> Any:
    """A DatabaseWrapper of the backend on ``emu``'s database, as the admin user."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    from django.db import connections

    from redshift_async_backend.base import DatabaseWrapper

    settings = {
        **connections.settings["default"],  # tests/settings.py, with Django's defaults
        "NAME": emu.database,
        "USER": emu.admin_user,
        "PASSWORD": "",
        "HOST": emu.host,
        "PORT": str(emu.port),
        "OPTIONS": {},
    }
    return DatabaseWrapper(settings, alias=alias)
