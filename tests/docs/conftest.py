"""The backend's Django + emulator fixtures (tests/backend/conftest.py) for the docs tests."""

from tests.backend.conftest import (  # noqa: F401
    db,
    django_db_setup,
    emulator,
    settings_dict,
    transactional_db,
)
