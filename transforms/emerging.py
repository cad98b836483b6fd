"""Emerging hotspots: how each area's Gi* hot or cold spot status changed across the years.

Each full year (12 months) gets its own Gi* (from `build.hotspots`: same weights, z-scores,
Benjamini-Hochberg q-values). A year is a **hot year** for an area when its Gi* z > 0 and q <= alpha
(0.05: the 95% and 99% bins), a **cold year** when z < 0 and q <= alpha. The Mann-Kendall test on the
area's z-scores over the years gives the trend. With n years, h hot years and c cold years, the
categories are those of ArcGIS Pro's Emerging Hot Spot Analysis, decided in this order:

1. fewer than 3 years: no category (the table is empty and says why).
2. the final year is hot:
   - h >= 90% of n: **intensifying** if the trend is up (Mann-Kendall p <= alpha, tau > 0),
     **diminishing** if it is down (p <= alpha, tau < 0), otherwise **persistent**;
   - some earlier year was cold: **oscillating** (a place that turned from cold to hot);
   - h = 1 (only the final year): **new**;
   - the hot years are one uninterrupted run of at least 2 ending in the final year (never hot
     before it): **consecutive**;
   - otherwise (hot on and off, never cold): **sporadic**.
3. the final year is not hot but h >= 90% of n: **historical** (needs 10 or more years: with
   fewer, 90% of the years means every year, the final one included).
4. steps 2 and 3 with hot and cold swapped give the cold twins (new cold spot, ...).
5. anything else: **no pattern detected**.

Deliberate differences from ArcGIS: each year's Gi* is purely spatial (ArcGIS's space-time cube
also pools the neighbouring time step by default); a year with less than 12 months (a part year)
is left out, because its counts are not comparable; and significance is FDR-adjusted, as
everywhere in this project. With few years the trend test has little power: the smallest
two-sided Mann-Kendall p-value is 0.30 with 3 years, 0.09 with 4 and 0.03 with 5, so intensifying
and diminishing need at least 5 years, and then a trend in every single year.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.stats import norm

from transforms.hotspots import ALPHA, HEADLINE, with_shapes

MIN_YEARS = 3
PERSISTENT_SHARE = 0.9
NO_PATTERN = "no pattern detected"
CATEGORIES = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
)
EMERGING_COLUMNS = [
    "area_level",
    "area_code",
    "area_name",
    "measure",
    "value_type",
    "category",
    "years",
    "first_period",
    "last_period",
    "periods",
    "gi_z_series",
    "hot_years",
    "cold_years",
    "mk_s",
    "mk_tau",
    "mk_z",
    "mk_p",
    "alpha",
    "method",
]
INT_COLUMNS = ("years", "hot_years", "cold_years")
FLOAT_COLUMNS = ("mk_s", "mk_tau", "mk_z", "mk_p", "alpha")
EMERGING_METHOD = (
    "ArcGIS Emerging Hot Spot categories on yearly Gi* (BH-adjusted, q <= alpha) and a"
    " Mann-Kendall trend of the Gi* z-scores; full years only"
)


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall trend test: S, its variance (ties corrected), z (continuity corrected), p, tau."""

    s: float
    var_s: float
    z: float
    p: float
    tau: float


def mann_kendall(values: Sequence[float]) -> MannKendall:
    """Mann-Kendall test of a monotonic trend in a series in time order (two-sided).

    S = sum over i < j of sign(x_j - x_i); Var(S) = [n(n-1)(2n+5) - sum_t t(t-1)(2t+5)] / 18 over
    tied groups of size t; z = (S - sign(S)) / sqrt(Var(S)); p = 2 * (1 - Phi(|z|));
    tau = S / (n(n-1)/2) (Kendall's tau-a between time and value).

    Examples
    --------
    The series 1, 3, 2, 5, 4: 8 pairs rise and 2 fall, so S = 6, Var(S) = 5*4*15/18 = 16.67,
    z = 5 / 4.08 = 1.2247, p = 0.2207, tau = 0.6.

    >>> mk = mann_kendall([1, 3, 2, 5, 4])
    >>> mk.s, round(mk.var_s, 2), round(mk.z, 4), round(mk.p, 4), mk.tau
    (6.0, 16.67, 1.2247, 0.2207, 0.6)
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2 or not np.isfinite(x).all():
        return MannKendall(np.nan, np.nan, np.nan, np.nan, np.nan)
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(x[j] - x[i]).sum())
    _, ties = np.unique(x, return_counts=True)
    var_s = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18
    z = (s - np.sign(s)) / np.sqrt(var_s) if var_s > 0 else 0.0
    return MannKendall(s, var_s, float(z), float(2 * norm.sf(abs(z))), s / (n * (n - 1) / 2))


def classify(
    hot: Sequence[bool], cold: Sequence[bool], trend: MannKendall, alpha: float = ALPHA
) -> str:
    """The Emerging Hot Spot category of one area's yearly hot/cold flags (rules in module doc).

    Examples
    --------
    >>> flat = mann_kendall([1.0, 1.1, 0.9])
    >>> classify([False, False, True], [False, False, False], flat)
    'new hot spot'
    >>> classify([True, True, True], [False, False, False], flat)
    'persistent hot spot'
    >>> classify([False, True, True], [True, False, False], flat)
    'oscillating hot spot'
    """
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    n = len(hot)
    if n < MIN_YEARS:
        return NO_PATTERN
    for kind, this, other, up in (("hot", hot, cold, 1.0), ("cold", cold, hot, -1.0)):
        share = this.sum() / n
        significant = np.isfinite(trend.p) and trend.p <= alpha
        if this[-1]:
            if share >= PERSISTENT_SHARE:
                if significant and np.sign(trend.tau) == up:
                    name = "intensifying"
                elif significant and np.sign(trend.tau) == -up:
                    name = "diminishing"
                else:
                    name = "persistent"
            elif other[:-1].any():
                name = "oscillating"
            elif this.sum() == 1:
                name = "new"
            elif _single_final_run(this):
                name = "consecutive"
            else:
                name = "sporadic"
            return f"{name} {kind} spot"
        if share >= PERSISTENT_SHARE:
            return f"historical {kind} spot"
    return NO_PATTERN


def _single_final_run(flags: np.ndarray) -> bool:
    """True when the set flags are one run of at least two that ends at the last position."""
    on = np.flatnonzero(flags)
    return len(on) >= 2 and on[-1] == len(flags) - 1 and (np.diff(on) == 1).all()


def emerging_hotspots(
    hotspots: pd.DataFrame, alpha: float = ALPHA, min_years: int = MIN_YEARS
) -> pd.DataFrame:
    """`build.emerging_hotspots` from the yearly Gi* rows of `build.hotspots`.

    One row per area level, area, measure and value type, over the full years (months >= 12)
    that have Gi* results; empty when fewer than `min_years` full years exist.
    """
    rows = hotspots[(pd.to_numeric(hotspots["months"], errors="coerce") >= 12)].dropna(
        subset=["gi_z", "gi_q"]
    )
    out = []
    keys = ["area_level", "measure", "value_type"]
    for (level, measure, value_type), group in rows.groupby(keys, sort=True):
        periods = sorted(group["period"].unique())
        if len(periods) < min_years:
            continue
        z = group.pivot(index="area_code", columns="period", values="gi_z")[periods]
        q = group.pivot(index="area_code", columns="period", values="gi_q")[periods]
        names = group.drop_duplicates("area_code").set_index("area_code")["area_name"]
        complete = z.notna().all(axis=1) & q.notna().all(axis=1)
        for code in z.index[complete]:
            zs = z.loc[code].to_numpy(dtype=float)
            qs = q.loc[code].to_numpy(dtype=float)
            hot, cold = (zs > 0) & (qs <= alpha), (zs < 0) & (qs <= alpha)
            trend = mann_kendall(zs)
            out.append(
                {
                    "area_level": level,
                    "area_code": code,
                    "area_name": names.get(code),
                    "measure": measure,
                    "value_type": value_type,
                    "category": classify(hot, cold, trend, alpha),
                    "years": len(periods),
                    "first_period": periods[0],
                    "last_period": periods[-1],
                    "periods": ", ".join(periods),
                    "gi_z_series": ", ".join(f"{v:.2f}" for v in zs),
                    "hot_years": int(hot.sum()),
                    "cold_years": int(cold.sum()),
                    "mk_s": trend.s,
                    "mk_tau": trend.tau,
                    "mk_z": trend.z,
                    "mk_p": trend.p,
                }
            )
    table = pd.DataFrame(out, columns=EMERGING_COLUMNS)
    table["alpha"] = alpha
    table["method"] = EMERGING_METHOD
    for column in EMERGING_COLUMNS:
        if column in INT_COLUMNS:
            table[column] = table[column].astype("Int64")
        elif column in FLOAT_COLUMNS:
            table[column] = pd.to_numeric(table[column]).astype("Float64")
        else:
            table[column] = table[column].astype("str")
    return table[EMERGING_COLUMNS]


def emerging_layer(
    con: duckdb.DuckDBPyConnection,
    measure: str = HEADLINE,
    value_type: str = "rate_per_1000",
    area_level: str = "lsoa",
    schema: str = "marts",
) -> gpd.GeoDataFrame:
    """One map layer of emerging hotspot categories with area polygons (empty if < 3 years)."""
    rows = con.execute(
        f"SELECT * FROM {schema}.emerging_hotspots WHERE measure = ? AND value_type = ?"
        " AND area_level = ?",
        [measure, value_type, area_level],
    ).df()
    return with_shapes(con, rows, area_level)
