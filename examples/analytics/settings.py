"""Settings of the example analytics project.

The database comes from the environment (``python -m examples.demo`` fills it in after
starting the emulator); any Redshift cluster works the same way.
"""

import os

SECRET_KEY = "example-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "redshift_async_backend",
    "examples.analytics.warehouse",
]
DATABASES = {
    "default": {
        "ENGINE": "redshift_async_backend",
        "NAME": os.environ.get("ANALYTICS_DB_NAME", "dev"),
        "USER": os.environ.get("ANALYTICS_DB_USER", "awsuser"),
        "PASSWORD": os.environ.get("ANALYTICS_DB_PASSWORD", ""),
        "HOST": os.environ.get("ANALYTICS_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("ANALYTICS_DB_PORT", "5439"),
        "CONN_MAX_AGE": 0,
        "OPTIONS": {"driver": os.environ.get("ANALYTICS_DB_DRIVER", "psycopg")},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
