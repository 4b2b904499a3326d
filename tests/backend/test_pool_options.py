"""OPTIONS["pool"] validation and how it maps onto the pool's arguments (no server)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from pool import ConnectionPool
from redshift_async_backend.base import DatabaseWrapper
from redshift_async_backend.pooling import pool_settings

pytestmark = pytest.mark.unit


def wrapper(pool: Any, alias: str = "unit_pool", **settings: Any) -> DatabaseWrapper:
    return DatabaseWrapper(
        {
            "ENGINE": "redshift_async_backend",
            "NAME": "dev",
            "USER": "u",
            "PASSWORD": "s3cret",
            "HOST": "h",
            "PORT": "5439",
            "OPTIONS": {"pool": pool},
            "TIME_ZONE": None,
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": False,
            "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False,
            **settings,
        },
        alias,
    )


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("yes", "use True, False or a dict"),
        ({"max_sise": 3}, "Did you mean 'max_size'"),
        ({"min_size": "2"}, "'min_size'"),
        ({"max_size": True}, "'max_size'"),
        ({"timeout": "30"}, "'timeout'"),
        ({"max_idle": -1}, "max_idle"),
        ({"min_size": 5, "max_size": 2}, "max_size"),
        ({"check": "yes"}, "'check'"),
        ({"reset": "RESET ALL"}, "'reset'"),
        ({"connect": print}, "through the driver"),
        ({"adapter": object()}, "the driver chooses"),
    ],
)
def test_bad_pool_options_are_named(value: Any, named: str) -> None:
    with pytest.raises(ImproperlyConfigured) as err:
        wrapper(value)
    assert named in str(err.value)
    assert "s3cret" not in str(err.value)


def test_good_pool_options() -> None:
    assert pool_settings(None) is None
    assert pool_settings(False) is None
    assert pool_settings(True) == {}
    opts = {"min_size": 0, "max_size": 4, "timeout": 2, "max_lifetime": None, "check": False}
    assert pool_settings(opts) == opts


def test_pool_is_built_unopened_with_the_options() -> None:
    conn = wrapper({"min_size": 0, "max_size": 4, "timeout": 2.5})
    try:
        pool = conn.pool
        assert isinstance(pool, ConnectionPool)
        assert (pool.min_size, pool.max_size, pool.timeout) == (0, 4, 2.5)
        assert pool.name == "unit_pool"
        assert "not open" in repr(pool)  # nothing connects before the first checkout
        assert conn.pool is pool
        assert "pool" not in conn.get_connection_params()
    finally:
        conn.close_pool()
    assert pool.closed


@pytest.mark.parametrize(
    ("health_checks", "check", "expected"),
    [
        (False, None, None),  # CONN_HEALTH_CHECKS off: no checkout check
        (True, None, "adapter"),
        (False, True, "adapter"),
        (True, False, None),
    ],
)
def test_conn_health_checks_turn_the_checkout_check_on(
    health_checks: bool, check: Any, expected: str | None
) -> None:
    options: dict[str, Any] = {} if check is None else {"check": check}
    conn = wrapper(options, CONN_HEALTH_CHECKS=health_checks)
    try:
        pool = conn.pool
        # The check the pool will run at checkout: the adapter's, or none.
        assert (pool._check_fn is not None) == (expected == "adapter")
    finally:
        conn.close_pool()


def test_conn_max_age_must_be_zero() -> None:
    conn = wrapper(True, CONN_MAX_AGE=None)
    with pytest.raises(ImproperlyConfigured, match=r"CONN_MAX_AGE = 0 \(got None\)"):
        _ = conn.pool


def test_no_pool_for_the_no_db_alias() -> None:
    assert wrapper(True, alias="__no_db__").pool is None
