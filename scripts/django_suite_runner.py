"""The test runner scripts/django_suite.py gives runtests.py: Django's DiscoverRunner, less
the tests that cannot pass for a reason that is not the database's.

Those are not DatabaseFeatures' business (it declares what Redshift cannot do); each one
here names its reason."""

from __future__ import annotations

import os
from typing import Any
from unittest import skip

from django.test.runner import DiscoverRunner
from django.test.utils import iter_test_cases

# Root reads and writes files whatever their mode: a test that expects a PermissionError
# from a read-only file or directory cannot pass as root (CI runs as root).
AS_ROOT = (
    "Running as root, which file permissions do not stop.",
    {
        "file_uploads.tests.DirectoryCreationTests.test_readonly_root",
        "i18n.test_compilation.PoFileTests.test_no_write_access",
        "template_tests.test_loaders.FileSystemLoaderTests.test_permissions_error",
    },
)


def skips() -> list[tuple[str, set[str]]]:
    return [AS_ROOT] if os.geteuid() == 0 else []


class Runner(DiscoverRunner):
    def build_suite(self, *args: Any, **kwargs: Any) -> Any:
        suite = super().build_suite(*args, **kwargs)
        reasons = {name: reason for reason, names in skips() for name in names}
        for test in iter_test_cases(suite):
            reason = reasons.get(test.id())
            if reason:
                name = test._testMethodName
                setattr(test, name, skip(reason)(getattr(test, name)))
        return suite
