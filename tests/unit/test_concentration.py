"""Concentration: Gini and Bernasco-Steenbeek's generalised Gini on their published examples,
top-N% shares and the Lorenz curve on a small county, and a seeded random baseline."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

import transforms.concentration as concentration_module
from transforms.concentration import (
    concentration,
    concentration_tables,
    generalised_gini,
    gini,
    random_allocation_baseline,
)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(concentration_module).failed == 0


def test_gini_matches_the_mean_absolute_difference_definition() -> None:
    x = np.random.default_rng(0).poisson(3, 40)
    mad = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert gini(x) == pytest.approx(mad)
    assert gini([5, 5, 5, 5]) == 0
    assert gini([10] + [0] * 9) == pytest.approx(0.9)  # all in one of ten: 1 - 1/n


def test_generalised_gini_compares_with_maximal_equality() -> None:
    # Bernasco & Steenbeek (2017): with N incidents in n > N places, maximal equality puts one
    # incident in each of N places; the generalised Gini of that is 0, the ordinary 1 - N/n.
    spread = [1] * 8 + [0] * 2
    assert gini(spread) == pytest.approx(0.2)
    assert generalised_gini(spread) == pytest.approx(0.0)
    # all 8 in one place: 1 - 1/N, the paper's (biased) form; lorenzgini's `unbiased = TRUE`
    # would rescale it by N / (N - 1) to 1
    assert generalised_gini([8] + [0] * 9) == pytest.approx(1 - 1 / 8)
    assert generalised_gini([5, 2, 1] + [0] * 7) == pytest.approx(0.75)  # their example
    many = [30, 20, 10, 5]
    assert generalised_gini(many) == gini(many)  # N >= n: the same


def test_random_baseline_is_seeded_and_follows_the_population() -> None:
    a = random_allocation_baseline(500, [1000] * 100, simulations=50, seed=1)
    assert a == random_allocation_baseline(500, [1000] * 100, simulations=50, seed=1)
    # 5 incidents per place at random: Poisson dispersion only, far from concentrated
    assert 0.1 < a[0] < 0.35
    skewed = random_allocation_baseline(500, [10_000] + [100] * 99, simulations=50, seed=1)
    assert skewed[0] > a[0]


def small_county() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": [f"E{i:02d}" for i in range(20)],
            "count": [40, 30, 10, 5, 5] + [1] * 10 + [0] * 5,
            "population": [500, 800] + [1500] * 18,
            "area_km2": [0.2, 0.5] + [4.0] * 18,
        }
    )


def test_top_shares_and_lorenz_curve() -> None:
    rows, lorenz = concentration(small_county(), top_percents=(5, 10, 20), simulations=20)
    top = rows.set_index("top_percent")
    # 20 LSOAs: top 5% = 1 LSOA (40 of 100 incidents), 10% = 2 (70), 20% = 4 (85)
    assert top["lsoas"].tolist() == [1, 2, 4]
    assert top["share_of_incidents"].tolist() == pytest.approx([0.4, 0.7, 0.85])
    assert top.loc[5, "share_of_population"] == pytest.approx(500 / 28_300)
    assert top.loc[10, "share_of_area"] == pytest.approx(0.7 / 72.7)
    assert rows["total_incidents"].unique().tolist() == [100]
    assert rows["gini"].iloc[0] == pytest.approx(gini(small_county()["count"]))
    assert rows["gini"].iloc[0] > rows["gini_random_baseline"].iloc[0]
    assert lorenz.iloc[0][
        ["cumulative_share_of_lsoas", "cumulative_share_of_incidents"]
    ].tolist() == [0, 0]
    assert lorenz.iloc[-1]["cumulative_share_of_incidents"] == pytest.approx(1)
    assert lorenz["cumulative_share_of_incidents"].is_monotonic_increasing
    assert lorenz.iloc[1]["cumulative_share_of_incidents"] == pytest.approx(0.4)


def test_ties_are_broken_by_code_so_a_rerun_gives_the_same_top_list() -> None:
    county = small_county().sample(frac=1, random_state=3)  # rows in another order
    rows, _ = concentration(county, top_percents=(20,), simulations=5)
    again, _ = concentration(small_county(), top_percents=(20,), simulations=5)
    pd.testing.assert_frame_equal(rows, again)


def test_tables_skip_periods_without_incidents() -> None:
    base = small_county().rename(columns={})
    rates = pd.concat(
        [
            base.assign(period="2022/23", count=base["count"]),
            base.assign(period="2023/24", count=0),
        ]
    ).assign(area_level="lsoa", measure="all_serious_violence", months=12, source="police")
    areas = base[["area_code", "area_km2"]].rename(columns={"area_code": "lsoa_code"})
    shares, lorenz = concentration_tables(rates.drop(columns="area_km2"), areas, simulations=5)
    assert shares["period"].unique().tolist() == ["2022/23"]
    assert len(lorenz) == 21 and set(shares["top_percent"]) == {1, 5, 10, 20}
