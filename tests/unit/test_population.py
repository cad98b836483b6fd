"""Population denominators: totals, under-25s only where the bands allow it."""

import pandas as pd
import pytest

from transforms.population import denominators, population_year


def long(rows: list[tuple[str, int, str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["lsoa_code", "year", "sex", "age_from", "age_to", "persons"])


def test_single_years_give_under_25s_and_totals() -> None:
    rows = [
        ("A", 2022, sex, age, age if age < 90 else 120, 10) for sex in "FM" for age in range(91)
    ]
    out = denominators(long(rows), 2022).set_index("lsoa_code")
    assert out.loc["A", "persons"] == 2 * 91 * 10
    assert out.loc["A", "persons_under_25"] == 2 * 25 * 10


def test_broad_bands_that_straddle_25_leave_under_25s_unknown() -> None:
    rows = [
        ("B", 2015, "F", 0, 15, 100),
        ("B", 2015, "F", 16, 29, 50),
        ("B", 2015, "F", 30, 120, 70),
    ]
    out = denominators(long(rows), 2015).set_index("lsoa_code")
    assert out.loc["B", "persons"] == 220
    assert pd.isna(out.loc["B", "persons_under_25"])


def test_other_years_are_not_mixed_in() -> None:
    rows = [("C", 2021, "all", 0, 120, 1000), ("C", 2022, "all", 0, 120, 1100)]
    out = denominators(long(rows), 2022)
    assert out["persons"].tolist() == [1100]


def test_population_year_defaults_to_latest_and_rejects_missing() -> None:
    table = long([("C", 2021, "all", 0, 120, 1), ("C", 2022, "all", 0, 120, 1)])
    assert population_year(table, None) == 2022
    assert population_year(table, 2021) == 2021
    with pytest.raises(ValueError, match="2019"):
        population_year(table, 2019)
