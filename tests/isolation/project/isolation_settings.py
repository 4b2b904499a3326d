"""Settings of the small project whose TestCase tests check the isolation (issue #20 item 7).

The database comes from the environment (the outer test points it at the emulator)."""

import os

SECRET_KEY = "isolation-tests-not-secret"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "isoapp"]
DATABASES = {
    alias: {
        "ENGINE": "redshift_async_backend",
        "NAME": os.environ["ISOLATION_DB_NAME"],
        "USER": os.environ["ISOLATION_DB_USER"],
        "PASSWORD": os.environ.get("ISOLATION_DB_PASSWORD", ""),
        "HOST": os.environ["ISOLATION_DB_HOST"],
        "PORT": os.environ["ISOLATION_DB_PORT"],
        "OPTIONS": {"driver": os.environ["ISOLATION_DB_DRIVER"]},
        "TEST": {
            "NAME": f"{os.environ['ISOLATION_TEST_PREFIX']}_{alias}",
            "MAINTENANCE_NAME": os.environ["ISOLATION_DB_NAME"],
        },
    }
    for alias in ("default", "other")
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
