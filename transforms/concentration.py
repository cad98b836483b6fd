"""Concentration of serious violence in few places: top-N% shares, Lorenz curve, Gini.

The evidence behind a "places and spaces" priority: how much of the county's serious violence
happens in its top 1%, 5%, 10% and 20% of LSOAs, against their share of residents and of land.
LSOAs are ranked by count (most first; ties by LSOA code, so a rerun gives the same list); the top
p% is the first round(n * p / 100) LSOAs (at least one), and `share_of_lsoas` says exactly what
share that is.

The Gini coefficient summarises the Lorenz curve. With fewer incidents than places (a rare
offence, a small area) the ordinary Gini cannot reach equality: N incidents in n > N places leave
at least n - N places empty, so Bernasco and Steenbeek (2017, "More places than crimes",
J. Quant. Criminol. 33:451-467) compare with *maximal* equality given the data:
G' = max(1, n / N) * (G - 1) + 1, equal to G when N >= n. Both are compared with a random-allocation
baseline: the mean Gini when the same number of incidents is spread over the LSOAs at random in
proportion to their population (every resident equally likely to be a victim where they live).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np
import pandas as pd

from transforms.hotspots import DEFAULT_SEED, HEADLINE, latest_period

TOP_PERCENTS: tuple[int, ...] = (1, 5, 10, 20)
BASELINE_SIMULATIONS = 200
CONCENTRATION_COLUMNS = [
    "period",
    "months",
    "measure",
    "top_percent",
    "lsoas",
    "share_of_lsoas",
    "incidents",
    "share_of_incidents",
    "share_of_population",
    "share_of_area",
    "total_lsoas",
    "total_incidents",
    "gini",
    "generalised_gini",
    "gini_random_baseline",
    "generalised_gini_random_baseline",
    "baseline_simulations",
    "seed",
    "source",
]
LORENZ_COLUMNS = [
    "period",
    "measure",
    "rank",
    "cumulative_share_of_lsoas",
    "cumulative_share_of_incidents",
    "cumulative_share_of_population",
]


def gini(counts: Sequence[float]) -> float:
    """The ordinary Gini coefficient of non-negative counts (0 = equal, 1 - 1/n = all in one).

    G = 2 * sum_i i * x_(i) / (n * sum x) - (n + 1) / n, with x sorted ascending (i = 1..n).

    Examples
    --------
    Bernasco and Steenbeek's examples (lorenzgini::gini, generalized = FALSE, unbiased = FALSE):

    >>> gini([10, 8, 2] + [0] * 7)
    0.78
    >>> gini([5, 2, 1] + [0] * 7)
    0.8
    """
    x = np.sort(np.asarray(counts, dtype=float))
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return round(float(2 * (i * x).sum() / (n * total) - (n + 1) / n), 12)


def generalised_gini(counts: Sequence[float]) -> float:
    """Bernasco and Steenbeek's generalised Gini for sparse counts: max(1, n/N) * (G - 1) + 1.

    Examples
    --------
    Ten places, eight incidents: the ordinary Gini is 0.8, the generalised 0.75 (their example);
    with 20 incidents in 10 places the two agree.

    >>> generalised_gini([5, 2, 1] + [0] * 7)
    0.75
    >>> generalised_gini([10, 8, 2] + [0] * 7)
    0.78
    """
    x = np.asarray(counts, dtype=float)
    n, total = len(x), x.sum()
    if n == 0 or total <= 0:
        return float("nan")
    return round(float(max(1.0, n / total) * (gini(x) - 1) + 1), 12)


def random_allocation_baseline(
    total: int,
    weights: Sequence[float],
    simulations: int = BASELINE_SIMULATIONS,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Mean Gini and generalised Gini when `total` incidents fall at random, in proportion to
    `weights` (population), over the places; seeded."""
    w = np.asarray(weights, dtype=float)
    w = np.where(np.isfinite(w) & (w > 0), w, 0.0)
    if total <= 0 or w.sum() <= 0:
        return float("nan"), float("nan")
    draws = np.random.default_rng(seed).multinomial(int(total), w / w.sum(), size=simulations)
    ginis = [gini(d) for d in draws]
    general = [generalised_gini(d) for d in draws]
    return float(np.mean(ginis)), float(np.mean(general))


def concentration(
    lsoas: pd.DataFrame,
    top_percents: Sequence[int] = TOP_PERCENTS,
    simulations: int = BASELINE_SIMULATIONS,
    seed: int = DEFAULT_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Top-N% shares with Gini figures, and the Lorenz curve, for one period and measure.

    Parameters
    ----------
    lsoas : one row per LSOA with `area_code`, `count`, `population` and `area_km2`
    top_percents : the shares of LSOAs to report (1, 5, 10, 20 by default)
    simulations, seed : the random-allocation baseline

    Returns
    -------
    (rows, lorenz): one row per top percent; the curve from (0, 0) to (1, 1), LSOAs from the
    highest count down (a concentration curve: "the top x% of LSOAs hold y% of incidents").
    """
    frame = lsoas.assign(
        count=pd.to_numeric(lsoas["count"], errors="coerce").fillna(0).astype(float),
        population=pd.to_numeric(lsoas["population"], errors="coerce").astype(float),
        area_km2=pd.to_numeric(lsoas["area_km2"], errors="coerce").astype(float),
    ).sort_values(["count", "area_code"], ascending=[False, True], kind="stable")
    n, total = len(frame), float(frame["count"].sum())
    counts = frame["count"].to_numpy()
    pop_total = frame["population"].sum(min_count=1)
    area_total = frame["area_km2"].sum(min_count=1)
    g, gg = gini(counts), generalised_gini(counts)
    base_g, base_gg = random_allocation_baseline(
        int(total), frame["population"].fillna(0), simulations, seed
    )
    rows = []
    for percent in top_percents:
        k = max(1, int(np.floor(n * percent / 100 + 0.5))) if n else 0
        top = frame.iloc[:k]
        rows.append(
            {
                "top_percent": percent,
                "lsoas": k,
                "share_of_lsoas": k / n if n else np.nan,
                "incidents": int(top["count"].sum()),
                "share_of_incidents": top["count"].sum() / total if total else np.nan,
                "share_of_population": top["population"].sum() / pop_total if pop_total else np.nan,
                "share_of_area": top["area_km2"].sum() / area_total if area_total else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    out["total_lsoas"] = n
    out["total_incidents"] = int(total)
    out["gini"] = g
    out["generalised_gini"] = gg
    out["gini_random_baseline"] = base_g
    out["generalised_gini_random_baseline"] = base_gg
    out["baseline_simulations"] = simulations
    out["seed"] = seed
    lorenz = pd.DataFrame(
        {
            "rank": np.arange(0, n + 1),
            "cumulative_share_of_lsoas": np.arange(0, n + 1) / n if n else [0.0],
            "cumulative_share_of_incidents": np.concatenate([[0.0], np.cumsum(counts)])
            / (total or np.nan),
            "cumulative_share_of_population": np.concatenate(
                [[0.0], np.cumsum(frame["population"].fillna(0).to_numpy())]
            )
            / (pop_total or np.nan),
        }
    )
    return out, lorenz


def concentration_tables(
    rates: pd.DataFrame,
    areas: pd.DataFrame,
    measures: Sequence[str] = (HEADLINE,),
    simulations: int = BASELINE_SIMULATIONS,
    seed: int = DEFAULT_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`build.concentration` and `build.lorenz_curve` for every period and measure (LSOA level)."""
    lsoa = rates[(rates["area_level"] == "lsoa") & rates["measure"].isin(measures)]
    lsoa = lsoa.merge(
        areas[["lsoa_code", "area_km2"]].rename(columns={"lsoa_code": "area_code"}),
        on="area_code",
        how="left",
    )
    shares, curves = [], []
    for (period, measure), group in lsoa.groupby(["period", "measure"], sort=True):
        if not pd.to_numeric(group["count"], errors="coerce").fillna(0).sum():
            continue  # nothing to concentrate: no rows rather than shares of zero
        rows, lorenz = concentration(group, simulations=simulations, seed=seed)
        meta = {
            "period": period,
            "months": group["months"].max(),
            "measure": measure,
            "source": ",".join(sorted(group["source"].astype(str).unique())),
        }
        shares.append(rows.assign(**meta))
        curves.append(lorenz.assign(period=period, measure=measure))
    if not shares:
        return (
            pd.DataFrame(columns=CONCENTRATION_COLUMNS),
            pd.DataFrame(columns=LORENZ_COLUMNS),
        )
    table = pd.concat(shares, ignore_index=True)[CONCENTRATION_COLUMNS]
    for column in ("months", "top_percent", "lsoas", "incidents", "total_lsoas"):
        table[column] = table[column].astype("Int64")
    return table, pd.concat(curves, ignore_index=True)[LORENZ_COLUMNS]


def concentration_table(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    measure: str = HEADLINE,
    schema: str = "marts",
) -> pd.DataFrame:
    """The top-N% table for one period (default: latest full year), ready to print or chart."""
    period = period or latest_period(con, f"{schema}.concentration", measure)
    return con.execute(
        f"SELECT * FROM {schema}.concentration WHERE period = ? AND measure = ?"
        " ORDER BY top_percent",
        [period, measure],
    ).df()


def lorenz_curve(
    con: duckdb.DuckDBPyConnection,
    period: str | None = None,
    measure: str = HEADLINE,
    schema: str = "marts",
) -> pd.DataFrame:
    """The Lorenz (concentration) curve points for one period, ready for `plot(x, y)`."""
    period = period or latest_period(con, f"{schema}.concentration", measure)
    return con.execute(
        f"SELECT * FROM {schema}.lorenz_curve WHERE period = ? AND measure = ? ORDER BY rank",
        [period, measure],
    ).df()
