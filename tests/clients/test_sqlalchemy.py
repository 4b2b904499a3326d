"""sqlalchemy-redshift on the emulator, with both of its drivers (psycopg2 and
redshift_connector): DDL with its Redshift table options, every inspector method it
implements, ORM queries."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import orm

from redshift_async_backend.emulator import Emulator

from .conftest import PASSWORD, USER

# sqlalchemy-redshift reads Redshift's pg_class.reldiststyle and pg_attribute.attencodingtype
# / attisdistkey / attsortkeyord (and pg_attrdef.adsrc), and filters on select-list aliases
# in WHERE ("WHERE 1 AND schema = '...'"): the rules redshift-catalog-columns, where-integer
# and lateral-column-alias (docs/emulator-sql.md).

DRIVERS = {
    "psycopg2": {"sslmode": "disable"},
    "redshift_connector": {"ssl": False, "sslmode": "disable"},
}


@pytest.fixture(scope="module", params=list(DRIVERS))
def engine(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[sa.Engine]:
    driver = request.param
    url = (
        f"redshift+{driver}://{USER}:{PASSWORD}@{emulator.host}:{emulator.port}/{emulator.database}"
    )
    eng = sa.create_engine(url, connect_args=DRIVERS[driver])
    yield eng
    eng.dispose()


def _create_view(sql: Callable[..., Any], schema: str) -> None:
    sql(f"CREATE VIEW {schema}.big_orders AS SELECT * FROM {schema}.orders WHERE amount > 10")


@pytest.fixture(scope="module")
def shop(engine: sa.Engine, sql: Callable[..., Any]) -> Iterator[sa.MetaData]:
    """Two tables with sqlalchemy-redshift's table and column options."""
    schema = f"sa_{engine.dialect.driver}"
    sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    md = sa.MetaData(schema=schema)
    sa.Table(
        "customer",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
        redshift_diststyle="ALL",
    )
    sa.Table(
        "orders",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey(f"{schema}.customer.id")),
        sa.Column("amount", sa.Numeric(10, 2), redshift_encode="az64"),
        sa.Column("created", sa.DateTime, redshift_encode="raw"),
        redshift_diststyle="KEY",
        redshift_distkey="customer_id",
        redshift_sortkey=("created", "id"),
    )
    md.create_all(engine, checkfirst=False)
    _create_view(sql, schema)
    yield md
    sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_create_all_writes_redshift_table_options(
    engine: sa.Engine, shop: sa.MetaData, sql: Callable[..., Any]
) -> None:
    schema = shop.schema
    sql(f"SET search_path TO {schema}, public, redshift_emulator")
    try:
        table_def = sql(
            'SELECT "column", trim(encoding), distkey, sortkey FROM pg_table_def '
            "WHERE tablename = 'orders' ORDER BY 1"
        )
    finally:
        sql("RESET search_path")
    assert table_def == [
        ("amount", "az64", False, 0),
        ("created", "none", False, 1),
        ("customer_id", "az64", True, 0),
        ("id", "none", False, 2),
    ]
    # Redshift: PG_CLASS_INFO.reldiststyle 1 is KEY, 8 is ALL (DG:r_PG_CLASS_INFO).
    assert sql(
        "SELECT relname, reldiststyle FROM pg_class_info "
        f"WHERE relnamespace = '{schema}'::regnamespace AND relkind = 'r' ORDER BY 1"
    ) == [("customer", 8), ("orders", 1)]


def test_create_all_and_drop_all_check_existence_first(
    engine: sa.Engine, shop: sa.MetaData, sql: Callable[..., Any]
) -> None:
    shop.create_all(engine)  # finds the tables: creates none
    sql(f"DROP VIEW {shop.schema}.big_orders")
    shop.drop_all(engine)
    shop.drop_all(engine)  # nothing left to drop
    assert sql(f"SELECT count(*) FROM svv_tables WHERE table_schema = '{shop.schema}'") == [(0,)]
    shop.create_all(engine)
    _create_view(sql, shop.schema)
    assert sql(f"SELECT count(*) FROM svv_tables WHERE table_schema = '{shop.schema}'") == [(3,)]


def test_orm_queries(engine: sa.Engine, shop: sa.MetaData) -> None:
    class Base(orm.DeclarativeBase):
        pass

    class Customer(Base):
        __table__ = shop.tables[f"{shop.schema}.customer"]

    class Order(Base):
        __table__ = shop.tables[f"{shop.schema}.orders"]

    with orm.Session(engine) as session:
        session.add_all([Customer(id=1, name="Ada"), Customer(id=2, name="Grace")])
        session.add_all([Order(id=i, customer_id=1 + i % 2, amount=5 * i) for i in range(1, 6)])
        session.commit()
        totals = session.execute(
            sa.select(Customer.name, sa.func.sum(Order.amount))
            .join(Order, Order.customer_id == Customer.id)
            .group_by(Customer.name)
            .order_by(Customer.name)
        ).all()
        assert [(n, int(t)) for n, t in totals] == [("Ada", 30), ("Grace", 45)]
        # sqlalchemy-redshift's DELETE ... USING (DG:r_DELETE), a Core statement: its
        # compiler hook breaks SQLAlchemy 2's ORM-enabled DELETE before any SQL is sent.
        orders, customers = Order.__table__, Customer.__table__
        session.execute(
            sa.delete(orders).where(
                orders.c.customer_id == customers.c.id, customers.c.name == "Ada"
            )
        )
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(Order)) == 3
        assert session.scalars(sa.select(Customer.name).order_by(Customer.id).limit(1)).all() == [
            "Ada"
        ]


def test_inspector_methods_without_redshift_catalog_columns(
    engine: sa.Engine, shop: sa.MetaData
) -> None:
    insp = sa.inspect(engine)
    assert shop.schema in insp.get_schema_names()
    assert insp.get_indexes("orders", shop.schema) == []  # Redshift has no indexes
    assert insp.get_check_constraints("orders", shop.schema) == []
    assert insp.get_table_comment("orders", shop.schema) == {"text": None}


def test_inspector_tables_views_and_options(engine: sa.Engine, shop: sa.MetaData) -> None:
    insp = sa.inspect(engine)
    assert insp.has_table("orders", shop.schema)
    assert sorted(insp.get_table_names(shop.schema)) == ["customer", "orders"]
    assert insp.get_view_names(shop.schema) == ["big_orders"]
    assert "amount > 10" in insp.get_view_definition("big_orders", shop.schema)
    options = insp.get_table_options("orders", shop.schema)
    assert options["redshift_diststyle"] == "KEY"
    assert options["redshift_distkey"] == "customer_id"
    assert options["redshift_sortkey"] == ("created", "id")


def test_inspector_columns_with_encodings(engine: sa.Engine, shop: sa.MetaData) -> None:
    cols = {c["name"]: c for c in sa.inspect(engine).get_columns("orders", shop.schema)}
    assert list(cols) == ["id", "customer_id", "amount", "created"]
    # The dialect reports a column's ENCODE in its info (from pg_attribute.attencodingtype);
    # a sort key column's RAW encoding reads "none" and is left out.
    assert cols["amount"]["info"] == {"encode": "az64"}
    assert cols["customer_id"]["info"] == {"encode": "az64"}
    assert cols["created"]["info"] == {}
    assert isinstance(cols["amount"]["type"], sa.Numeric) and cols["amount"]["type"].scale == 2


def test_inspector_constraints(engine: sa.Engine, shop: sa.MetaData) -> None:
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("orders", shop.schema)["constrained_columns"] == ["id"]
    (fk,) = insp.get_foreign_keys("orders", shop.schema)
    assert fk["constrained_columns"] == ["customer_id"]
    assert (fk["referred_table"], fk["referred_columns"]) == ("customer", ["id"])
    (unique,) = insp.get_unique_constraints("customer", shop.schema)
    assert unique["column_names"] == ["name"]


def test_reflect_the_whole_schema(engine: sa.Engine, shop: sa.MetaData) -> None:
    md = sa.MetaData()
    md.reflect(engine, schema=shop.schema, views=True)
    orders = md.tables[f"{shop.schema}.orders"]
    assert orders.dialect_options["redshift"]["distkey"] == "customer_id"
    assert [c.name for c in orders.primary_key] == ["id"]


def test_pandas_to_sql_and_read_sql(engine: sa.Engine, shop: sa.MetaData) -> None:
    import pandas as pd

    frame = pd.DataFrame({"sku": ["a-1", "b-2"], "qty": [3, 4]})
    # pandas creates the table (its existence check is the dialect's) and inserts the rows.
    frame.to_sql("stock", engine, schema=shop.schema, index=False)
    frame.to_sql("stock", engine, schema=shop.schema, index=False, if_exists="append")
    got = pd.read_sql(f"SELECT sku, qty FROM {shop.schema}.stock ORDER BY sku, qty", engine)
    assert got.to_dict("records") == [
        {"sku": "a-1", "qty": 3},
        {"sku": "a-1", "qty": 3},
        {"sku": "b-2", "qty": 4},
        {"sku": "b-2", "qty": 4},
    ]
