"""Reporting periods: calendar years and financial years from 1 April."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.periods import describe_months, period_label, period_start, period_with_months


def _dates(*values: str | None) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values)))


def test_financial_year_turns_over_between_31_march_and_1_april():
    labels = period_label(
        _dates("2022-03-31", "2022-04-01", "2023-03-31", "2023-04-01"), "financial_year"
    )
    assert labels.tolist() == ["2021/22", "2022/23", "2022/23", "2023/24"]


def test_calendar_year_turns_over_between_31_december_and_1_january():
    labels = period_label(
        _dates("2021-12-31", "2022-01-01", "2022-03-31", "2022-04-01"), "calendar_year"
    )
    assert labels.tolist() == ["2021", "2022", "2022", "2022"]


def test_financial_year_label_across_a_century_and_missing_dates():
    labels = period_label(_dates("2000-03-01", "1999-04-01", None), "financial")
    assert labels.iloc[0] == "1999/00"
    assert labels.iloc[1] == "1999/00"
    assert pd.isna(labels.iloc[2])
    assert labels.dtype == "str"


def test_month_starts_from_the_readers_label_like_any_day():
    months = pd.Series(pd.date_range("2021-01-01", periods=24, freq="MS"))
    labels = period_label(months, "financial_year")
    assert labels.value_counts().to_dict() == {"2020/21": 3, "2021/22": 12, "2022/23": 9}


def test_unknown_period_type_is_refused():
    with pytest.raises(ValueError, match="unknown period type"):
        period_label(_dates("2022-01-01"), "quarterly")


def test_period_start():
    assert period_start("2022/23", "financial_year") == pd.Timestamp("2022-04-01")
    assert period_start("2022", "calendar_year") == pd.Timestamp("2022-01-01")


def test_months_are_described_and_part_years_marked() -> None:
    year = pd.Series(pd.date_range("2022-01-01", periods=12, freq="MS"))
    assert describe_months(year) == "2022-01 to 2022-12"
    assert describe_months(year[:11]) == "2022-01 to 2022-11 (11 of 12 months)"
    gap = year[:4].drop(index=1)
    assert describe_months(gap) == "2022-01 to 2022-04 (3 of 12 months; none for 2022-02)"
    assert period_with_months("2022", 12, describe_months(year)) == "2022"
    assert period_with_months("2022", 11, describe_months(year[:11])) == (
        "2022, part year: 2022-01 to 2022-11 (11 of 12 months)"
    )
