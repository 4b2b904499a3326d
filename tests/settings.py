"""Django settings for the backend tests; importable without a server.

HOST, PORT and NAME are placeholders: ``tests/backend/conftest.py`` points them at the
emulator when a test asks for the database.
"""

import os

SECRET_KEY = "tests-only-not-secret"
USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "tests.testapp"]
DATABASES = {
    "default": {
        "ENGINE": "redshift_async_backend",
        "NAME": "dev",
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": "127.0.0.1",
        "PORT": "5439",
        "CONN_MAX_AGE": 0,
        # REDSHIFT_TEST_DRIVER=redshift_connector runs every backend test on AWS's driver
        # (read here, before any connection object exists).
        "OPTIONS": {"driver": os.environ.get("REDSHIFT_TEST_DRIVER", "psycopg")},
        # One name per test process: several runs may share an upstream server.
        "TEST": {"NAME": f"test_redshift_backend_{os.getpid()}"},
    }
}
