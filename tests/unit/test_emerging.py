"""Emerging hotspots: Mann-Kendall by hand, one constructed series per ArcGIS category, and the
mart built from yearly Gi* rows (full years only, three at least)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

import transforms.emerging as emerging
from transforms.emerging import classify, emerging_hotspots, mann_kendall


def test_docstring_examples_run() -> None:
    assert doctest.testmod(emerging).failed == 0


def test_mann_kendall_by_hand() -> None:
    # 4, 1, 3, 2: pairs (4,1)- (4,3)- (4,2)- (1,3)+ (1,2)+ (3,2)-: S = 2 - 4 = -2
    # Var(S) = 4 * 3 * 13 / 18 = 8.667; z = (-2 + 1) / 2.944 = -0.3397; p = 0.7341; tau = -2/6
    mk = mann_kendall([4, 1, 3, 2])
    assert mk.s == -2
    assert mk.var_s == pytest.approx(26 / 3)
    assert mk.z == pytest.approx(-1 / np.sqrt(26 / 3))
    assert mk.p == pytest.approx(0.7341, abs=1e-4)
    assert mk.tau == pytest.approx(-1 / 3)


def test_mann_kendall_corrects_the_variance_for_ties_and_agrees_with_kendall_tau() -> None:
    # 1, 2, 2, 3: one tied pair; Var(S) = (4*3*13 - 2*1*9) / 18 = 7.667
    assert mann_kendall([1, 2, 2, 3]).var_s == pytest.approx(138 / 18)
    x = np.random.default_rng(0).normal(size=12)
    mk = mann_kendall(x)
    assert mk.tau == pytest.approx(kendalltau(np.arange(12), x).statistic)  # no ties: tau-a = b
    assert np.isnan(mann_kendall([1.0]).p)


def flags(text: str) -> tuple[list[bool], list[bool]]:
    """'H.C' -> hot, cold flags per year ('H' hot, 'C' cold, '.' neither)."""
    return [c == "H" for c in text], [c == "C" for c in text]


FLAT = mann_kendall([1.0, 1.2, 0.9, 1.1, 1.0, 1.2, 0.9, 1.1, 1.0, 1.05])
UP = mann_kendall(np.arange(10.0))
DOWN = mann_kendall(-np.arange(10.0))


@pytest.mark.parametrize(
    ("series", "trend", "expected"),
    [
        ("..H", FLAT, "new hot spot"),
        ("..C", FLAT, "new cold spot"),
        (".HH", FLAT, "consecutive hot spot"),
        ("..CCC", FLAT, "consecutive cold spot"),
        ("HHHHHHHHHH", UP, "intensifying hot spot"),
        ("CCCCCCCCCC", DOWN, "intensifying cold spot"),
        ("HHH", FLAT, "persistent hot spot"),
        ("CCCCCCCCCC", FLAT, "persistent cold spot"),
        ("HHHHHHHHHH", DOWN, "diminishing hot spot"),
        ("CCCCCCCCCC", UP, "diminishing cold spot"),
        ("H.H.H", FLAT, "sporadic hot spot"),
        ("C..CC.C", FLAT, "sporadic cold spot"),
        ("C.H", FLAT, "oscillating hot spot"),
        ("HH.C", FLAT, "oscillating cold spot"),
        ("HHHHHHHHH.", FLAT, "historical hot spot"),
        ("CCCCCCCCC.", FLAT, "historical cold spot"),
        ("H..", FLAT, "no pattern detected"),
        ("...", FLAT, "no pattern detected"),
        ("HH.", FLAT, "no pattern detected"),  # 2 of 3 hot is not 90%: not historical
        ("HH", FLAT, "no pattern detected"),  # fewer than 3 years
    ],
)
def test_each_category_from_a_constructed_series(series: str, trend, expected: str) -> None:
    hot, cold = flags(series)
    assert classify(hot, cold, trend) == expected


def yearly(z: dict[str, list[float]], periods: list[str], months: list[int]) -> pd.DataFrame:
    """build.hotspots-shaped rows: z per area and year, q small where |z| is large."""
    rows = []
    for code, series in z.items():
        for period, value, m in zip(periods, series, months, strict=True):
            rows.append(
                {
                    "area_level": "lsoa",
                    "area_code": code,
                    "area_name": f"Area {code}",
                    "period": period,
                    "months": m,
                    "measure": "all_serious_violence",
                    "value_type": "rate_per_1000",
                    "gi_z": value,
                    "gi_q": 0.001 if abs(value) > 3 else 0.5,
                }
            )
    return pd.DataFrame(rows)


def test_mart_uses_full_years_only_and_needs_three() -> None:
    periods = ["2020/21", "2021/22", "2022/23", "2023/24", "2024/25"]
    z = {"A": [4.0, 4.0, 4.0, 4.0, 0.0], "B": [0.0, 0.0, 0.0, 5.0, 9.0], "C": [0, 0, 0, 0, 0]}
    table = emerging_hotspots(yearly(z, periods, [12, 12, 12, 12, 6]))
    assert table["last_period"].unique().tolist() == ["2023/24"]  # the part year is left out
    got = table.set_index("area_code")["category"].to_dict()
    assert got == {"A": "persistent hot spot", "B": "new hot spot", "C": "no pattern detected"}
    a = table.set_index("area_code").loc["A"]
    assert a["years"] == 4 and a["hot_years"] == 4 and a["gi_z_series"] == "4.00, 4.00, 4.00, 4.00"
    two_years = emerging_hotspots(yearly(z, periods, [6, 6, 6, 12, 12]))
    assert two_years.empty and list(two_years.columns) == list(table.columns)
