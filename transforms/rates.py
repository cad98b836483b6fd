"""Crude rates per 1,000 residents with 95% confidence intervals, by area, period and measure.

Intervals follow the Fingertips / PHEindicatormethods convention (DESIGN §5): Byar's approximation
for counts of 10 or more, the exact Poisson interval (chi-squared quantiles) below 10. Areas are
compared with the county (and England, when a benchmark is given) by whether their interval lies
above, below or across the comparator's rate.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from transforms.definition import Definition
from transforms.measures import available_measures, measure_membership
from transforms.periods import period_label

RATE_COLUMNS: list[str] = [
    "area_level",
    "area_code",
    "area_name",
    "period",
    "months",
    "measure",
    "count",
    "population",
    "rate_per_1000",
    "ci_lower",
    "ci_upper",
    "vs_county",
    "vs_england",
    "source",
    "definition_id",
]
AREA_LEVELS: tuple[str, ...] = ("lsoa", "ward", "district", "county")
BYAR_MIN_COUNT = 10


def _confidence(confidence: float) -> float:
    level = confidence / 100 if confidence > 1 else confidence
    if not 0 < level < 1:
        raise ValueError(f"confidence {confidence!r} must be between 0 and 1 (or 0 and 100)")
    return level


def count_ci(count, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Confidence limits for an observed Poisson count: Byar's method for counts >= 10, exact
    (chi-squared) below; a count of 0 has lower limit 0."""
    level = _confidence(confidence)
    alpha = 1 - level
    o = np.asarray(pd.to_numeric(pd.Series(np.ravel(count)), errors="coerce"), dtype=float)
    z = norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact_lower = np.where(o > 0, chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        exact_upper = chi2.ppf(1 - alpha / 2, 2 * (o + 1)) / 2
        byar_lower = o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3
        byar_upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + z / (3 * np.sqrt(o + 1))) ** 3
    big = o >= BYAR_MIN_COUNT
    lower = np.where(big, byar_lower, exact_lower)
    upper = np.where(big, byar_upper, exact_upper)
    missing = np.isnan(o) | (o < 0)
    lower[missing] = np.nan
    upper[missing] = np.nan
    return lower, upper


def rate_ci(count, population, per: float = 1000, confidence: float = 0.95):
    """Rate per `per` residents and its confidence limits, vectorised.

    Returns (rate, lower, upper): pandas Float64 Series (index of `count`) when `count` is a
    Series, numpy arrays for other array-likes, floats for scalars. Missing or non-positive
    populations give missing rates.
    """
    scalar = np.ndim(count) == 0 and np.ndim(population) == 0
    o = np.asarray(pd.to_numeric(pd.Series(np.ravel(count)), errors="coerce"), dtype=float)
    n = np.asarray(pd.to_numeric(pd.Series(np.ravel(population)), errors="coerce"), dtype=float)
    o, n = np.broadcast_arrays(o, n)
    lower_count, upper_count = count_ci(o, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, per / n, np.nan)
    rate, lower, upper = o * scale, lower_count * scale, upper_count * scale
    if scalar:
        return float(rate[0]), float(lower[0]), float(upper[0])
    if isinstance(count, pd.Series):
        wrap = lambda v: pd.Series(v, index=count.index, dtype="Float64")  # noqa: E731
        return wrap(rate), wrap(lower), wrap(upper)
    return rate, lower, upper


def compare_to(ci_lower, ci_upper, reference_rate) -> pd.Series:
    """Fingertips comparison of an area's interval with a comparator's value: "higher" when the
    interval lies above it, "lower" when below, "similar" when it contains it; NA if unknown."""
    index = ci_lower.index if isinstance(ci_lower, pd.Series) else None
    lo = pd.Series(
        np.ravel(pd.to_numeric(pd.Series(np.ravel(ci_lower)), errors="coerce")), dtype="Float64"
    )
    hi = pd.Series(
        np.ravel(pd.to_numeric(pd.Series(np.ravel(ci_upper)), errors="coerce")), dtype="Float64"
    )
    ref = pd.to_numeric(pd.Series(np.ravel(reference_rate)), errors="coerce").astype("Float64")
    if len(ref) == 1 and len(lo) != 1:
        ref = pd.Series(
            np.repeat(ref.to_numpy(dtype=float, na_value=np.nan), len(lo)), dtype="Float64"
        )
    out = pd.Series("similar", index=lo.index, dtype="str")
    out = out.mask((lo > ref).fillna(False).astype(bool), "higher")
    out = out.mask((hi < ref).fillna(False).astype(bool), "lower")
    out = out.mask((lo.isna() | hi.isna() | ref.isna()).to_numpy(dtype=bool))
    if index is not None:
        out.index = index
    return out


def sv_rates(
    incidents: pd.DataFrame,
    areas: pd.DataFrame,
    population: pd.DataFrame,
    definition: Definition,
    period_type: str,
    source: str,
    england_rates: Mapping[tuple[str, str], float] | None = None,
    per: float = 1000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Counts, rates per 1,000 and CIs for every LSOA, ward, district and county x period x measure.

    Only incidents of `source` whose LSOA is in `areas` are counted; every LSOA x period x measure
    row exists, zero counts included. Wards, districts and the county sum their LSOAs' counts and
    populations, so the county equals the sum of its LSOAs. `months` is how many distinct months
    of the period have any incident of the source (a partial year shows). `england_rates` maps
    (period, measure) to an England rate per 1,000 for `vs_england`.
    """
    events = incidents[incidents["source"] == source].copy()
    events["period"] = period_label(events["occurred_month"], period_type)
    months = events.dropna(subset=["period"]).groupby("period")["occurred_month"].nunique()
    periods = sorted(months.index)

    areas = _areas(areas)
    pop = _population(population, areas["lsoa_code"])
    specs = available_measures(events, definition, source, pop)
    if not periods or not specs or areas.empty:
        return _empty()

    inside = events[events["lsoa_code"].isin(set(areas["lsoa_code"])) & events["period"].notna()]
    member = measure_membership(inside, specs)
    long = (
        member.assign(lsoa_code=inside["lsoa_code"].to_numpy(), period=inside["period"].to_numpy())
        .melt(id_vars=["lsoa_code", "period"], var_name="measure", value_name="member")
        .query("member")
        .groupby(["lsoa_code", "period", "measure"])
        .size()
    )
    grid = pd.MultiIndex.from_product(
        [areas["lsoa_code"], periods, [s.name for s in specs]],
        names=["lsoa_code", "period", "measure"],
    )
    lsoa = long.reindex(grid, fill_value=0).rename("count").reset_index()
    denominator = {s.name: s.denominator for s in specs}
    lsoa["population"] = _lookup_population(lsoa, pop, denominator)
    lsoa = lsoa.merge(areas, on="lsoa_code", how="left")

    table = pd.concat([_rollup(lsoa, level) for level in AREA_LEVELS], ignore_index=True)
    table["months"] = table["period"].map(months).astype("Int64")
    rate, lower, upper = rate_ci(
        table["count"], table["population"], per=per, confidence=confidence
    )
    table["rate_per_1000"], table["ci_lower"], table["ci_upper"] = rate, lower, upper

    county = table[table["area_level"] == "county"].drop_duplicates(["period", "measure"])
    county_rate = pd.MultiIndex.from_frame(table[["period", "measure"]]).map(
        county.set_index(["period", "measure"])["rate_per_1000"].to_dict()
    )
    table["vs_county"] = compare_to(
        table["ci_lower"], table["ci_upper"], pd.Series(county_rate, dtype="Float64")
    )
    table.loc[table["area_level"] == "county", "vs_county"] = pd.NA
    if england_rates:
        keys = list(zip(table["period"], table["measure"], strict=True))
        england = pd.Series(
            [england_rates.get(k) for k in keys], index=table.index, dtype="Float64"
        )
        table["vs_england"] = compare_to(table["ci_lower"], table["ci_upper"], england)
    else:
        table["vs_england"] = pd.Series(pd.NA, index=table.index, dtype="str")
    table["source"] = source
    table["definition_id"] = definition.id
    return _typed(table, [s.name for s in specs])


def _areas(areas: pd.DataFrame) -> pd.DataFrame:
    """One row per in-area LSOA with its ward, district and county codes and names."""
    columns = ["lsoa_code", "lsoa_name", "ward_code", "ward_name", "district_code", "district_name"]
    columns += ["county_code", "county_name"]
    out = pd.DataFrame(areas).copy()
    for column in columns:
        if column not in out:
            out[column] = pd.NA
        out[column] = out[column].astype("str")
    out = out[columns].dropna(subset=["lsoa_code"]).drop_duplicates("lsoa_code")
    return out.sort_values("lsoa_code", kind="stable").reset_index(drop=True)


def _population(population: pd.DataFrame, lsoa_codes: pd.Series) -> pd.DataFrame:
    """Denominators per in-area LSOA (NA where the population file has none)."""
    pop = pd.DataFrame(population).copy()
    for column in ("persons", "persons_under_25"):
        if column not in pop:
            pop[column] = pd.NA
        pop[column] = pd.to_numeric(pop[column], errors="coerce").round().astype("Int64")
    pop = pop.drop_duplicates("lsoa_code").set_index("lsoa_code")[["persons", "persons_under_25"]]
    return pop.reindex(pd.Index(lsoa_codes, name="lsoa_code"))


def _lookup_population(
    lsoa: pd.DataFrame, pop: pd.DataFrame, denominator: dict[str, str]
) -> pd.Series:
    out = pd.Series(pd.NA, index=lsoa.index, dtype="Int64")
    for column in set(denominator.values()):
        rows = lsoa["measure"].map(denominator) == column
        out[rows] = lsoa.loc[rows, "lsoa_code"].map(pop[column]).astype("Int64")
    return out


def _rollup(lsoa: pd.DataFrame, level: str) -> pd.DataFrame:
    """Sum LSOA counts and populations to one area level (a population is NA if any part is)."""
    code, name = f"{level}_code", f"{level}_name"
    frame = lsoa.dropna(subset=[code]).assign(_missing=lambda f: f["population"].isna())
    out = (
        frame.groupby([code, "period", "measure"], sort=True)
        .agg(count=("count", "sum"), population=("population", "sum"), _missing=("_missing", "max"))
        .reset_index()
    )
    out["population"] = out["population"].astype("Int64").mask(out.pop("_missing").astype(bool))
    names = frame.drop_duplicates(code).set_index(code)[name]
    out["area_name"] = out[code].map(names)
    out["area_level"] = level
    return out.rename(columns={code: "area_code"})


def _typed(table: pd.DataFrame, measures: list[str]) -> pd.DataFrame:
    """Analyst order: county, districts, wards, LSOAs; periods; headline measure first."""
    level_order = {level: i for i, level in enumerate(reversed(AREA_LEVELS))}
    measure_order = {name: i for i, name in enumerate(measures)}
    table = table.assign(
        _level=table["area_level"].map(level_order), _measure=table["measure"].map(measure_order)
    )
    table = table.sort_values(["_level", "area_code", "period", "_measure"], kind="stable")
    out = pd.DataFrame(
        {
            "area_level": table["area_level"].astype("str"),
            "area_code": table["area_code"].astype("str"),
            "area_name": table["area_name"].astype("str"),
            "period": table["period"].astype("str"),
            "months": table["months"].astype("Int64"),
            "measure": table["measure"].astype("str"),
            "count": table["count"].astype("Int64"),
            "population": table["population"].astype("Int64"),
            "rate_per_1000": table["rate_per_1000"].astype("Float64"),
            "ci_lower": table["ci_lower"].astype("Float64"),
            "ci_upper": table["ci_upper"].astype("Float64"),
            "vs_county": table["vs_county"].astype("str"),
            "vs_england": table["vs_england"].astype("str"),
            "source": table["source"].astype("str"),
            "definition_id": table["definition_id"].astype("str"),
        }
    )
    return out[RATE_COLUMNS].reset_index(drop=True)


def _empty() -> pd.DataFrame:
    dtypes = {"months": "Int64", "count": "Int64", "population": "Int64"}
    dtypes |= {c: "Float64" for c in ("rate_per_1000", "ci_lower", "ci_upper")}
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "str")) for c in RATE_COLUMNS})
