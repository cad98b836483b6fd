"""England comparators: the documented table, the period chosen, and no part-year comparisons."""

from pathlib import Path

import pandas as pd
import pytest

from transforms.comparators import england_benchmarks, load_comparators, run_basis

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "reference" / "comparators.csv"


def test_the_shipped_table_has_norfolks_england_figure_with_its_source() -> None:
    table = load_comparators(SHIPPED)
    row = table.set_index("comparator_id").loc["england-sna-2023"]
    assert row["rate_per_1000"] == 38.1 and row["area_code"] == "E92000001"
    assert row["measure"] == "all_serious_violence" and row["source_date"] == "2023-11"
    assert "November 2023" in row["source"] and row["definition"]


def test_full_years_are_compared_part_years_are_not() -> None:
    table = load_comparators(SHIPPED)
    months = {"2022": 12, "2024": 4}
    period_months = {"2022": "2022-01 to 2022-12", "2024": "2024-01 to 2024-04 (4 of 12 months)"}
    rates, notes = england_benchmarks(
        table, months, period_months, "calendar_year", run_basis("police_uk", "norfolk-2024")
    )
    assert rates == {("2022", "all_serious_violence"): 38.1}
    assert notes[("2022", "all_serious_violence")].startswith("England 38.1 per 1,000 in 2022/23")
    assert (
        "definition differs from this run's (police_uk_proxy)"
        in notes[("2022", "all_serious_violence")]
    )
    assert notes[("2024", "all_serious_violence")] == (
        "not compared with an annual England rate: 2024, part year: 2024-01 to 2024-04"
        " (4 of 12 months)"
    )


def test_the_same_period_wins_else_the_nearest_start(tmp_path: Path) -> None:
    rows = pd.read_csv(SHIPPED, dtype=str, keep_default_na=False)
    extra = rows.iloc[[0, 0]].copy()
    extra["comparator_id"] = ["e-2019", "e-2023"]
    extra["period"] = ["2019/20", "2023/24"]
    extra["rate_per_1000"] = ["30.0", "40.0"]
    extra["same_definition_as"] = ["norfolk-2024", ""]
    path = tmp_path / "comparators.csv"
    pd.concat([rows, extra]).to_csv(path, index=False)
    table = load_comparators(path)
    rates, notes = england_benchmarks(
        table, {"2023/24": 12, "2020/21": 12}, {}, "financial_year", "norfolk-2024"
    )
    assert rates[("2023/24", "all_serious_violence")] == 40.0
    assert rates[("2020/21", "all_serious_violence")] == 30.0  # 2019/20 starts nearest
    assert notes[("2020/21", "all_serious_violence")].endswith("same definition as this run")


def test_a_bad_rate_names_the_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace(",38.1,", ",n/a,")
    path = tmp_path / "comparators.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: rate_per_1000 'n/a'"):
        load_comparators(path)
