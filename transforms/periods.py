"""Reporting periods: calendar years, or financial years running 1 April to 31 March."""

from __future__ import annotations

import pandas as pd

CALENDAR = "calendar_year"
FINANCIAL = "financial_year"
_ALIASES = {
    "calendar_year": CALENDAR,
    "calendar": CALENDAR,
    "financial_year": FINANCIAL,
    "financial": FINANCIAL,
}


def period_type_of(period_type: str) -> str:
    """The canonical period type ("calendar_year" or "financial_year") for a settings value."""
    key = str(period_type).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in _ALIASES:
        raise ValueError(
            f"unknown period type {period_type!r}: use calendar_year or financial_year"
        )
    return _ALIASES[key]


def period_label(month: pd.Series, period_type: str) -> pd.Series:
    """Label each date with its period: "2022" (calendar) or "2022/23" (financial, April start).

    Any day of the month works (dates are read as their month). Missing dates stay missing.
    """
    kind = period_type_of(period_type)
    dates = pd.to_datetime(month)
    year = dates.dt.year.astype("Int64")
    if kind == CALENDAR:
        labels = year.astype("str")
    else:
        start = year - (dates.dt.month < 4).astype("Int64")
        labels = start.astype("str") + "/" + ((start + 1) % 100).astype("str").str.zfill(2)
    return labels.where(dates.notna()).astype("str").rename("period")


def period_start(label: str, period_type: str) -> pd.Timestamp:
    """First day of a period label, e.g. "2022/23" -> 2022-04-01."""
    kind = period_type_of(period_type)
    year = int(str(label)[:4])
    return pd.Timestamp(year, 4 if kind == FINANCIAL else 1, 1)


def period_sql(date_expr: str, period_type: str) -> str:
    """SQL labelling a DATE/TIMESTAMP expression with its period, as `period_label` does."""
    kind = period_type_of(period_type)
    if kind == CALENDAR:
        return f"CAST(year({date_expr}) AS VARCHAR)"
    start = f"(year({date_expr}) - CASE WHEN month({date_expr}) < 4 THEN 1 ELSE 0 END)"
    return (
        f"(CAST({start} AS VARCHAR) || '/' || lpad(CAST(({start} + 1) % 100 AS VARCHAR), 2, '0'))"
    )
