"""OPTIONS["pool"] in the Django backend: one shared pool per alias, through the emulator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connections, transaction

from pool import ConnectionPool
from redshift_async_backend.emulator import Emulator
from tests.testapp.models import Item

pytestmark = pytest.mark.integration

MakeAlias = Callable[..., str]


@pytest.fixture
def own_emulator(emulator: Any) -> Iterator[Emulator]:
    """A second emulator on the same PostgreSQL: kill_all() there spares other tests."""
    with Emulator(upstream=emulator.upstream_url) as emu:
        yield emu


@pytest.fixture
def make_alias(settings_dict: dict[str, Any], transactional_db: None) -> Iterator[MakeAlias]:
    """``make_alias(pool=..., emulator=..., **settings)`` adds a DATABASES alias."""
    made: list[str] = []

    def make(pool: Any = True, emulator: Emulator | None = None, **extra: Any) -> str:
        alias = f"pooled{len(made)}"
        options = {**settings_dict["OPTIONS"], **extra.pop("OPTIONS", {}), "pool": pool}
        sd = {**settings_dict, "OPTIONS": options, **extra}
        if emulator is not None:
            sd.update(HOST=emulator.host, PORT=str(emulator.port))
        connections.settings[alias] = sd
        made.append(alias)
        return alias

    yield make
    for alias in made:
        connections[alias].close()
        connections[alias].close_pool()
        del connections[alias]
        del connections.settings[alias]


def backend_pid(alias: str) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def run_threads(n: int, target: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_pool_property_is_one_pool_per_alias_shared_by_threads(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 3})
    pool = connections[alias].pool
    assert isinstance(pool, ConnectionPool)
    assert pool.max_size == 3
    seen: list[Any] = []
    assert not run_threads(4, lambda i: seen.append(connections[alias].pool))
    assert all(p is pool for p in seen)
    # Without OPTIONS["pool"] there is none.
    assert connections["default"].pool is None


def test_threads_doing_orm_queries_share_at_most_max_size_connections(
    make_alias: MakeAlias,
) -> None:
    alias = make_alias({"max_size": 3, "min_size": 1})
    pids: set[int] = set()

    def work(i: int) -> None:
        try:
            for j in range(10):
                Item.objects.using(alias).create(name=f"t{i}-{j}", amount=j)
                assert Item.objects.using(alias).filter(name=f"t{i}-{j}").count() == 1
                pids.add(backend_pid(alias))
                connections[alias].close()  # the end of a "request": back to the pool
        finally:
            connections[alias].close()

    assert run_threads(8, work) == []
    assert Item.objects.using(alias).count() == 80
    assert 1 <= len(pids) <= 3
    stats = connections[alias].pool.get_stats()
    assert stats["connections_num"] <= 3
    assert stats["pool_size"] <= 3
    assert stats["requests_num"] >= 80
    assert stats["returns_bad"] == 0
    assert stats["requests_errors"] == 0


def test_connection_is_returned_on_close_and_reused(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 2, "min_size": 0})
    wrapper = connections[alias]
    first = backend_pid(alias)
    assert wrapper.pool.get_stats()["pool_available"] == 0  # borrowed
    wrapper.close()
    assert wrapper.connection is None
    assert wrapper.pool.get_stats()["pool_available"] == 1
    assert backend_pid(alias) == first  # the same physical connection again
    assert wrapper.pool.get_stats()["connections_num"] == 1


def test_uncommitted_work_is_rolled_back_on_return(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 1})
    wrapper = connections[alias]
    with transaction.atomic(using=alias):
        Item.objects.using(alias).create(name="never")
        wrapper.close()  # returned mid-transaction: the pool rolls it back
    wrapper.close()
    assert not Item.objects.using(alias).filter(name="never").exists()
    assert wrapper.pool.get_stats()["returns_bad"] == 0


def test_conn_max_age_with_pool_is_improperly_configured(make_alias: MakeAlias) -> None:
    alias = make_alias(True, CONN_MAX_AGE=60)
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE = 0"):
        _ = connections[alias].pool
    with pytest.raises(ImproperlyConfigured, match="CONN_MAX_AGE"):
        connections[alias].ensure_connection()


def test_time_zone_configured_once_per_physical_connection(
    make_alias: MakeAlias, own_emulator: Emulator
) -> None:
    alias = make_alias({"max_size": 1}, own_emulator, TIME_ZONE="Asia/Tokyo")
    wrapper = connections[alias]
    own_emulator.reset_stats()
    for _ in range(5):
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert wrapper.connection.info.parameter_status("TimeZone") == "Asia/Tokyo"
        wrapper.close()
    stats = own_emulator.stats()
    # 5 x SELECT 1 plus one time zone SET (in autocommit) on the one physical connection.
    assert stats["statements"] == 6, stats
    assert wrapper.pool.get_stats()["connections_num"] == 1


def test_time_zone_changed_by_a_borrower_is_restored_for_the_next(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 1}, TIME_ZONE="UTC")
    wrapper = connections[alias]
    with wrapper.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Europe/Paris'")
    wrapper.close()
    wrapper.ensure_connection()
    assert wrapper.connection.info.parameter_status("TimeZone") == "UTC"


def test_isolation_level_applied_on_every_checkout(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 1}, OPTIONS={"isolation_level": "serializable"})
    wrapper = connections[alias]
    wrapper.ensure_connection()
    raw = wrapper.connection
    raw.isolation_level = None  # a borrower fiddles with it
    wrapper.close()
    wrapper.ensure_connection()
    assert wrapper.connection is raw
    assert raw.isolation_level is not None
    assert raw.isolation_level.name == "SERIALIZABLE"


def test_broken_connection_never_goes_back_to_the_pool(
    make_alias: MakeAlias, own_emulator: Emulator
) -> None:
    alias = make_alias({"max_size": 2, "min_size": 1}, own_emulator)
    wrapper = connections[alias]
    backend_pid(alias)
    assert own_emulator.kill_all() >= 1  # mid-use: the borrowed connection dies
    with pytest.raises(OperationalError):
        backend_pid(alias)
    wrapper.close()
    stats = wrapper.pool.get_stats()
    assert stats["returns_bad"] == 1
    # The next request works, on a new physical connection.
    assert backend_pid(alias) > 0
    wrapper.close()
    assert wrapper.pool.get_stats()["connections_num"] >= 2


def test_health_check_after_kill_all_hands_out_a_live_connection(
    make_alias: MakeAlias, own_emulator: Emulator
) -> None:
    # check_bypass 0: check every checkout, however recently the connection was used.
    alias = make_alias(
        {"max_size": 2, "min_size": 2, "check_bypass": 0}, own_emulator, CONN_HEALTH_CHECKS=True
    )
    wrapper = connections[alias]
    wrapper.pool.open(wait=True)
    pid = backend_pid(alias)
    wrapper.close()
    assert own_emulator.kill_all() == 2  # both idle connections die
    assert backend_pid(alias) != pid  # no error: the check caught the dead one
    wrapper.close()
    assert wrapper.pool.get_stats()["connections_lost"] >= 1


def test_without_health_checks_a_dead_idle_connection_fails_once(
    make_alias: MakeAlias, own_emulator: Emulator
) -> None:
    alias = make_alias({"max_size": 1}, own_emulator, CONN_HEALTH_CHECKS=False)
    wrapper = connections[alias]
    backend_pid(alias)
    wrapper.close()
    own_emulator.kill_all()
    with pytest.raises(OperationalError):
        backend_pid(alias)
    wrapper.close()  # discarded, not returned
    assert backend_pid(alias) > 0
    wrapper.close()


def test_pool_timeout_is_an_operational_error(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 1, "timeout": 0.2})
    connections[alias].ensure_connection()  # holds the only connection
    errors = run_threads(1, lambda i: connections[alias].ensure_connection())
    assert len(errors) == 1
    assert isinstance(errors[0], OperationalError)
    assert "couldn't get a connection" in str(errors[0])
    assert connections[alias].pool.get_stats()["requests_errors"] == 1


def test_close_pool_closes_it_and_a_new_one_is_built(make_alias: MakeAlias) -> None:
    alias = make_alias({"max_size": 2})
    wrapper = connections[alias]
    backend_pid(alias)
    old = wrapper.pool
    wrapper.close_pool()
    assert old.closed
    wrapper.close()  # a connection borrowed from the closed pool is closed on return
    assert old.get_stats()["pool_size"] == 0
    assert wrapper.pool is not old
    assert backend_pid(alias) > 0


def test_every_physical_connection_logs_in_with_fresh_parameters(make_alias: MakeAlias) -> None:
    # login_params() is where IAM credentials are fetched: the pool must call it each time.
    alias = make_alias({"max_size": 1, "min_size": 0})
    wrapper = connections[alias]
    # The pool talks to connections through the adapter of the alias's driver.
    assert type(wrapper.pool._adapter) is type(wrapper.driver.pool_adapter())
    logins: list[int] = []
    real = wrapper.login_params

    def counting(params: dict[str, Any]) -> dict[str, Any]:
        logins.append(1)
        return real(params)

    wrapper.login_params = counting  # type: ignore[method-assign]
    for _ in range(3):
        backend_pid(alias)
        wrapper.close()
        wrapper.pool.drain()  # retire it: the next checkout needs a new physical connection
    assert len(logins) == 3
    assert wrapper.pool.get_stats()["connections_num"] == 3
