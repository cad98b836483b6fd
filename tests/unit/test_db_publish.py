"""Marts change only when a run publishes: build.* becomes marts.* whole, or not at all."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from transforms.db import connect, publish_build


def _rows(con, table: str) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def test_publish_copies_every_build_table_and_drops_stale_marts(tmp_path: Path) -> None:
    con = connect(tmp_path / "sna.duckdb")
    con.execute("CREATE TABLE marts.old_table AS SELECT 1 AS x")
    con.execute("CREATE TABLE build.sv_rates AS SELECT * FROM range(3) t(n)")
    con.execute("CREATE TABLE build.hotspots AS SELECT 'E01000001' AS area_code")

    assert publish_build(con) == ["hotspots", "sv_rates"]

    assert _rows(con, "marts.sv_rates") == [(0,), (1,), (2,)]
    assert _rows(con, "marts.hotspots") == [("E01000001",)]
    tables = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
    ).fetchall()
    assert sorted(t for (t,) in tables) == ["hotspots", "sv_rates"]


def test_a_failed_publish_leaves_every_mart_as_it_was(tmp_path: Path) -> None:
    con = connect(tmp_path / "sna.duckdb")
    con.execute("CREATE TABLE build.a AS SELECT 1 AS x")
    con.execute("CREATE TABLE build.b AS SELECT 1 AS x")
    publish_build(con)
    con.execute("CREATE OR REPLACE TABLE build.a AS SELECT 2 AS x")
    # build.c fails when copied, after build.a and build.b were copied in the same transaction
    con.execute("CREATE VIEW build.c AS SELECT error('disk full') AS x")
    with pytest.raises(duckdb.Error, match="disk full"):
        publish_build(con)
    assert _rows(con, "marts.a") == [(1,)]
    assert _rows(con, "marts.b") == [(1,)]
