"""Proportion intervals, the two-Poisson-count test and Byar's limit against published values.

References (each value is copied as published, never computed here):
- Wilson score limits: PHStatsMethods (DHSC's Python port of PHEindicatormethods, the Fingertips
  methods), tests of `wilson_lower` / `wilson_upper`, 95% and 99.8%.
- Byar's lower limit for 100 events: PHStatsMethods `byars_lower(100)` test.
- R `poisson.test(c(11, 6 + 8 + 7), c(800, 1083 + 1050 + 878))`, the example in R's
  documentation (Fredericia against three other cities): rate ratio 1.971488, p-value 0.07967.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from transforms.rates import compare_poisson_counts, count_ci, wilson_ci, wilson_sql
from transforms.success import previous_period

# (numerator, denominator, confidence, which limit, published value)
PUBLISHED_WILSON = [
    (20, 360, 0.95, "lower", 0.036248204600072345),
    (550, 2400, 0.998, "lower", 0.20375892211705743),
    (30, 400, 0.95, "upper", 0.10504770626130437),
    (76, 238, 0.998, "upper", 0.418131030603369),
]


@pytest.mark.parametrize(("x", "n", "confidence", "limit", "value"), PUBLISHED_WILSON)
def test_wilson_limits_equal_the_published_values(x, n, confidence, limit, value):
    lower, upper = wilson_ci([x], [n], confidence)
    got = lower[0] if limit == "lower" else upper[0]
    assert got == pytest.approx(value, abs=1e-6, rel=0)
    # the SQL the proportions table uses gives the same limits
    sql_lower, sql_upper = wilson_sql("x", "n", confidence)
    con = duckdb.connect()
    row = con.execute(
        f"SELECT {sql_lower}, {sql_upper} FROM (SELECT {x} AS x, {n} AS n)"
    ).fetchone()
    assert row[0 if limit == "lower" else 1] == pytest.approx(value, abs=1e-6, rel=0)


def test_wilson_limits_bound_the_proportion_and_stay_in_zero_one():
    x = np.array([0, 1, 5, 50, 99, 100])
    lower, upper = wilson_ci(x, np.full(6, 100))
    assert lower[0] == 0 and upper[-1] == pytest.approx(1)
    assert np.all(lower <= x / 100) and np.all(x / 100 <= upper)
    assert np.all((lower >= 0) & (upper <= 1))
    nan_lower, _ = wilson_ci([3, 0], [0, np.nan])  # no denominator: no interval
    assert np.isnan(nan_lower).all()


def test_wilson_limits_of_all_or_none_stay_in_zero_one_in_sql_too():
    """24 of 24 gave an upper limit of 1 + 2e-16, and a 6,000-LSOA run's blocking check stopped."""
    n = np.arange(1, 501)
    assert np.all(wilson_ci(n, n)[1] <= 1) and np.all(wilson_ci(0 * n, n)[0] >= 0)
    lower, upper = wilson_sql("x", "n")
    outside = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FILTER ({upper} > 1), count(*) FILTER ({lower} < 0) FROM"
            " (SELECT n AS x, n FROM range(1, 501) t(n) UNION ALL SELECT 0, n FROM range(1, 501) t(n))"
        )
        .fetchone()
    )
    assert outside == (0, 0)


def test_byar_lower_limit_equals_the_published_value():
    lower, _ = count_ci([100])
    assert lower[0] == pytest.approx(81.36210549052788, abs=1e-6, rel=0)


def test_two_poisson_counts_test_equals_r_poisson_test():
    ratio, p = compare_poisson_counts(11, 6 + 8 + 7, 800, 1083 + 1050 + 878)
    assert ratio == pytest.approx(1.971488, abs=1e-6)
    assert p == pytest.approx(0.07967, abs=5e-6)


def test_two_poisson_counts_edge_cases():
    ratio, p = compare_poisson_counts(0, 0)
    assert np.isnan(ratio) and p == 1.0
    ratio, p = compare_poisson_counts(12, 0)
    assert np.isnan(ratio) and p < 0.001  # 12 against none: exact binomial 2 * 0.5^12
    assert p == pytest.approx(2 * 0.5**12)
    # equal exposures, equal counts: no evidence of change
    assert compare_poisson_counts(40, 40)[1] == pytest.approx(1.0)
    # a part year: 30 in 6 months against 60 in 12 is the same rate
    ratio, p = compare_poisson_counts(30, 60, 6, 12)
    assert ratio == pytest.approx(1.0) and p == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("period", "previous"), [("2022/23", "2021/22"), ("2000/01", "1999/00"), ("2024", "2023")]
)
def test_previous_period_labels(period, previous):
    assert previous_period(period) == previous
