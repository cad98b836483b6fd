"""Yearly analysis partitions: a month falls in the year Dagster's own month -> year mapping says,
and a key reads as the period label the tables use."""

from datetime import date

import dagster as dg
import pandas as pd
import pytest

from pipelines.partitions import (
    MONTHLY,
    period_key_of_month,
    period_label_of_key,
    period_range_of_months,
    periods_def,
)
from transforms.periods import period_label


@pytest.mark.parametrize("kind", ["financial_year", "calendar_year"])
def test_months_map_to_the_year_dagsters_time_window_mapping_gives(kind: str) -> None:
    years = periods_def(kind)
    mapping = dg.TimeWindowPartitionMapping()
    for month in pd.date_range("2010-01-01", "2024-12-01", freq="MS").date:
        subset = MONTHLY.empty_subset().with_partition_keys([f"{month:%Y-%m-%d}"])
        mapped = mapping.get_downstream_partitions_for_partitions(subset, MONTHLY, years)
        assert list(mapped.get_partition_keys()) == [period_key_of_month(month, kind)], month
        label = period_label_of_key(period_key_of_month(month, kind), kind)
        assert label == period_label(pd.Series([month]), kind).iloc[0]  # as core.incidents


def test_a_range_of_months_covers_the_years_they_touch() -> None:
    assert period_range_of_months(date(2023, 2, 1), date(2023, 5, 1), "financial_year") == (
        "2022-04-01",
        "2023-04-01",
    )
    assert period_range_of_months(date(2024, 3, 1), date(2024, 3, 1), "calendar_year") == (
        "2024-01-01",
        "2024-01-01",
    )
    assert period_label_of_key("2023-04-01", "financial_year") == "2023/24"
    assert period_label_of_key("2009-04-01", "financial_year") == "2009/10"
