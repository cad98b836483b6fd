"""Geography coverage: how many incidents fall inside the area, outside it, or have no LSOA."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

SQL = Path(__file__).with_name("sql") / "geography_coverage.sql"


def build_geography_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rebuild build.geography_coverage from core.incidents and ref.lsoa, and return it."""
    con.execute(SQL.read_text(encoding="utf-8"))
    return con.execute("SELECT * FROM build.geography_coverage").df()
