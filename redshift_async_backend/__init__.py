"""A Django database backend for Amazon Redshift.

``ENGINE = "redshift_async_backend"`` (Django imports ``.base``). The names below are the
public ones users import: table keys for ``Meta.indexes`` and the conflict-retry helpers.
"""

from .errors import SerializationFailure, retry_on_conflict
from .indexes import DistKey, SortKey

__version__ = "0.1.0"

__all__ = ["DistKey", "SerializationFailure", "SortKey", "__version__", "retry_on_conflict"]
