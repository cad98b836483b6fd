"""replace_periods: a refresh of some years swaps their rows and keeps the rest, all or nothing."""

import duckdb
import pytest

from transforms.db import replace_periods


def _table(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute("SELECT period, n FROM core.t ORDER BY ALL").fetchall()


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA core")
    con.execute(
        "CREATE TABLE core.t AS SELECT * FROM (VALUES ('2021/22', 1), ('2022/23', 2),"
        " ('2022/23', 3), (NULL, 4)) v(period, n)"
    )
    return con


def test_only_the_given_periods_and_undated_rows_are_replaced(con) -> None:
    replace_periods(con, "core.t", "SELECT '2022/23' AS period, 20 AS n", ["2022/23"])
    assert _table(con) == [("2021/22", 1), ("2022/23", 20)]  # the undated row goes with any year
    replace_periods(con, "core.t", "SELECT '2023/24' AS period, 30 AS n", ["2023/24"])
    assert _table(con) == [("2021/22", 1), ("2022/23", 20), ("2023/24", 30)]


def test_the_whole_table_is_replaced_without_periods(con) -> None:
    replace_periods(con, "core.t", "SELECT '2024/25' AS period, 5 AS n", None)
    assert _table(con) == [("2024/25", 5)]


def test_a_failed_insert_leaves_the_table_as_it_was(con) -> None:
    before = _table(con)
    with pytest.raises(duckdb.Error):
        replace_periods(con, "core.t", "SELECT '2022/23' AS period, 'x'::INT AS n", ["2022/23"])
    assert _table(con) == before
