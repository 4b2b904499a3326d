"""The test runner scripts/django_suite.py gives runtests.py: Django's DiscoverRunner, less
the tests that cannot pass for a reason that is not Redshift's: the machine (root) or the
emulator (a fidelity gap, which passes on a cluster).

Those are not DatabaseFeatures' business (it declares what Redshift cannot do); each one
here names its reason."""

from __future__ import annotations

import functools
import os
from typing import Any
from unittest import expectedFailure, skip

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


# Django's test of its XML deserializer's speed on crafted input measures the interpreter's
# xml.dom.minidom, which Python 3.11.7 (this project's) builds in quadratic time: it fails on
# SQLite too (runtests.py --settings=test_sqlite), whatever the database.
PYTHON_MINIDOM = (
    "Measures the interpreter's xml.dom.minidom (quadratic in Python 3.11.7), not the "
    "database: fails on SQLite too.",
    {"serializers.test_deserialization.TestDeserializer.test_crafted_xml_performance"},
)


def skips() -> list[tuple[str, set[str]]]:
    return [PYTHON_MINIDOM, AS_ROOT] if os.geteuid() == 0 else [PYTHON_MINIDOM]


def expected_failures() -> list[tuple[str, set[str]]]:
    # None now: the emulator folds quoted names as Redshift does (issue #14.3), which was
    # the last gap of the emulator's that a test of Django's met.
    return []


def _function(method: Any) -> Any:
    """A plain function calling a bound method (unittest marks its attributes)."""

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return call


class Runner(DiscoverRunner):
    def build_suite(self, *args: Any, **kwargs: Any) -> Any:
        suite = super().build_suite(*args, **kwargs)
        skipped = {name for _, names in skips() for name in names}
        reasons = {name: reason for reason, names in skips() for name in names}
        failing = {name for _, names in expected_failures() for name in names}
        for test in iter_test_cases(suite):
            name = test._testMethodName
            if test.id() in skipped:
                setattr(test, name, skip(reasons[test.id()])(getattr(test, name)))
            elif test.id() in failing:
                setattr(test, name, expectedFailure(_function(getattr(test, name))))
        return suite
