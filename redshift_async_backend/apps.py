"""AppConfig for projects that list ``redshift_async_backend`` in INSTALLED_APPS.

The backend works without it: ENGINE is enough. The app is the place for what only an
installed app can provide (management commands, the migration autodetector, and the
``check --deploy`` summary of indexes Redshift does not create); the other Redshift system
checks run through the backend's database validation either way (see ``checks.py``).
"""

from django.apps import AppConfig
from django.core import checks


class RedshiftAsyncBackendConfig(AppConfig):
    name = "redshift_async_backend"
    label = "redshift_async_backend"
    verbose_name = "Amazon Redshift backend"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .checks import check_indexes

        checks.register(check_indexes, checks.Tags.models, deploy=True)
