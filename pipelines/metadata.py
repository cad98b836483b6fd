"""Dagster metadata helpers: row counts and previews an analyst can read in the UI."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd


def md_table(df: pd.DataFrame, rows: int = 20, empty: str = "_none_") -> dg.MetadataValue:
    """The first rows as a markdown table, or `empty` when there are none."""
    return dg.MetadataValue.md(df.head(rows).to_markdown(index=False) if len(df) else empty)


def preview(df: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    """The first rows of a stored table (geometry and bulky columns left out)."""
    shown = df.drop(columns=[c for c in ("geometry", "_file") if c in df.columns])
    return md_table(shown, rows, empty="_no rows_")


def table_metadata(df: pd.DataFrame, table: str, **extra: Any) -> dict[str, Any]:
    """Standard metadata for an asset stored as a DuckDB table."""
    return {
        "dagster/row_count": len(df),
        "table": table,
        "preview": preview(df),
        **extra,
    }
