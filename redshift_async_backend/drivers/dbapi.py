"""PEP 249 type objects for both drivers: ``connection.Database.NUMBER == type_code``.

PEP 249 says a driver's module has ``STRING``, ``BINARY``, ``NUMBER``, ``DATETIME`` and
``ROWID`` objects that compare equal to the ``type_code`` of every column of their kind in
``cursor.description``. Both drivers' type codes are the server's type OIDs, but
redshift_connector's objects are single OIDs (``NUMBER`` is NUMERIC only, ``BINARY`` is the
``bytes`` class) and psycopg's know nothing of Redshift's own types (VARBYTE). Django hands
out ``connection.Database``; the backend's is the driver's module with these objects in
place of its own, everything else (the exception classes Django maps) unchanged.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

# Type OIDs: PostgreSQL's, which Redshift keeps (RC:utils/oids.py), and Redshift's own.
_CHAR, _NAME, _TEXT, _BPCHAR, _VARCHAR = 18, 19, 25, 1042, 1043
_BYTEA, _VARBYTE = 17, 6551  # VARBYTE (DG:r_VARBYTE_type); the emulator's is bytea
_INT8, _INT2, _INT4, _OID, _FLOAT4, _FLOAT8, _NUMERIC = 20, 21, 23, 26, 700, 701, 1700
_DATE, _TIME, _TIMESTAMP, _TIMESTAMPTZ, _INTERVAL, _TIMETZ = 1082, 1083, 1114, 1184, 1186, 1266
# Redshift's INTERVAL YEAR TO MONTH and DAY TO SECOND (DG:r_interval_data_types).
_INTERVAL_Y2M, _INTERVAL_D2S = 1188, 1190


class TypeObject:
    """Equal to the type code of each column of one kind (PEP 249 "Type Objects").

    ``values`` holds those codes, as psycopg's and psycopg2's type objects do (code such as
    django-sql-explorer reads ``Database.NUMBER.values``)."""

    def __init__(self, name: str, *values: int) -> None:
        self.name = name
        self.values = values

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TypeObject):
            return other is self
        if isinstance(other, int):
            return other in self.values
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.name, self.values))

    def __repr__(self) -> str:
        return f"<TypeObject {self.name} {self.values}>"


STRING = TypeObject("STRING", _CHAR, _NAME, _TEXT, _BPCHAR, _VARCHAR)
BINARY = TypeObject("BINARY", _BYTEA, _VARBYTE)
NUMBER = TypeObject("NUMBER", _INT2, _INT4, _INT8, _OID, _FLOAT4, _FLOAT8, _NUMERIC)
DATETIME = TypeObject(
    "DATETIME",
    *(_DATE, _TIME, _TIMETZ, _TIMESTAMP, _TIMESTAMPTZ),
    *(_INTERVAL, _INTERVAL_Y2M, _INTERVAL_D2S),
)
ROWID = TypeObject("ROWID", _OID)
TYPE_OBJECTS = {t.name: t for t in (STRING, BINARY, NUMBER, DATETIME, ROWID)}

_modules: dict[str, ModuleType] = {}


class _Module(ModuleType):
    _driver_module: ModuleType

    def __getattr__(self, name: str) -> Any:
        return getattr(self._driver_module, name)


def with_type_objects(module: ModuleType) -> ModuleType:
    """``module`` (a DB-API driver) with this file's type objects; one object per module."""
    if module.__name__ not in _modules:
        proxy = _Module(module.__name__, module.__doc__)
        proxy._driver_module = module
        proxy.__dict__.update(TYPE_OBJECTS)
        _modules[module.__name__] = proxy
    return _modules[module.__name__]
