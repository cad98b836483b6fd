"""Risk factors: what serious violence goes with, per LSOA and ward.

Factors (`build.risk_factors`, long: one row per area, period and factor):

- the Indices of Deprivation: the IMD and its domains, as scores where the file has them
  (`imd_score`, `income_score`, ...: higher = more deprived), else as national ranks
  (`imd_rank`, ...: 1 = most deprived, so higher = *less* deprived). The **crime domain is left
  out** unless asked for: it is built from recorded crime, so it "predicts" crime by
  construction; when included, its rows say `circular = true`. The IMD itself carries the crime
  domain at 9.3% of its weight, which its label says;
- `young_people_share`: residents aged 10-24 over all residents, or 0-24 where the population's
  age bands only split at 25 (the label says which);
- `asb_rate`: anti-social behaviour incidents per 1,000 residents, when `build.asb_rates` exists;
- NHS indicators from `build.success_measures` (sources ae or hes), when it exists. They count
  the same violence through hospitals: a corroborating outcome, not an independent cause.

Ward values are the population-weighted mean of their LSOAs' deprivation values (the usual way of
summarising IMD scores for larger areas), the ward's own share of young residents, and the ward
rows of the ASB and NHS tables.

Statistics:

- `build.risk_correlations`: Spearman's rank correlation of each factor with the serious-violence
  rate per 1,000, with a 95% interval from Fisher's z and Bonett and Wright's (2000) standard
  error sqrt((1 + r^2 / 2) / (n - 3)), scipy's p-value and Benjamini-Hochberg q-values across the
  factors of one area level, period and measure;
- `build.risk_model`: a negative binomial (NB2) regression of serious-violence counts with the
  population as exposure and alpha estimated by maximum likelihood (statsmodels), each term
  standardised, so incidence rate ratios are per one standard deviation of the factor; Moran's I
  of the Pearson residuals (row-standardised Queen weights, seeded permutations) says whether
  the model left spatial structure unexplained (if so, its p-values are too small).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import esda
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm, spearmanr

from transforms.hotspots import (
    DEFAULT_SEED,
    HEADLINE,
    Neighbours,
    fdr_bh,
    latest_period,
    quiet_weights,
    two_sided_from_directed,
)

DOMAINS: dict[str, str] = {
    "imd": "Index of Multiple Deprivation (includes the crime domain at 9.3% weight)",
    "income": "Income deprivation",
    "employment": "Employment deprivation",
    "education": "Education, skills and training deprivation",
    "health": "Health deprivation and disability",
    "crime": "Crime domain (circular: built from recorded crime)",
    "barriers": "Barriers to housing and services",
    "living_environment": "Living environment deprivation",
}
CIRCULAR_DOMAIN = "crime"
YOUNG = "young_people_share"
ASB = "asb_rate"
NHS_SOURCES = ("ae", "hes")
DEFAULT_MODEL_TERMS: tuple[str, ...] = ("income", YOUNG, ASB)
MIN_CORRELATION_N = 10
MIN_MODEL_N_PER_TERM = 10
MODEL_PERMUTATIONS = 999
FACTOR_COLUMNS = ["area_level", "area_code", "period", "factor", "value", "label", "source"]
CORRELATION_COLUMNS = [
    "area_level",
    "period",
    "measure",
    "factor",
    "label",
    "method",
    "estimate",
    "ci_lower",
    "ci_upper",
    "p_value",
    "q_value",
    "n",
    "circular",
    "direction",
    "note",
]
MODEL_COLUMNS = [
    "area_level",
    "period",
    "measure",
    "term",
    "label",
    "per",
    "irr",
    "ci_lower",
    "ci_upper",
    "p_value",
    "alpha",
    "residual_morans_i",
    "residual_morans_p",
    "n",
    "circular",
    "method",
]


# ---------------------------------------------------------------------------------------------
# Factors
# ---------------------------------------------------------------------------------------------
def young_people(population: pd.DataFrame, year: int) -> tuple[pd.DataFrame, str | None]:
    """Residents aged 10-24 (or 0-24) and all residents per LSOA for one year, and the band.

    10-24 needs age bands that split at 10 and at 25 (single years, five-year bands); 0-24 needs
    only the split at 25 (Census 2021's 0-15 and 16-24). Neither: no rows and band None.

    Examples
    --------
    >>> pop = pd.DataFrame({"lsoa_code": "A", "year": 2021, "age_from": [0, 16, 25],
    ...                     "age_to": [15, 24, 120], "persons": [300, 200, 500]})
    >>> table, band = young_people(pop, 2021)
    >>> band, table["young"].tolist(), table["persons"].tolist()
    ('0-24', [500], [1000])
    """
    rows = population[population["year"] == year]
    age_from = pd.to_numeric(rows["age_from"], errors="coerce")
    age_to = pd.to_numeric(rows["age_to"], errors="coerce").fillna(np.inf)

    def splits_at(age: int) -> bool:
        return not ((age_from < age) & (age_to >= age)).any()

    if splits_at(10) and splits_at(25):
        band, young = "10-24", (age_from >= 10) & (age_to <= 24)
    elif splits_at(25):
        band, young = "0-24", age_to <= 24
    else:
        return pd.DataFrame(columns=["lsoa_code", "young", "persons"]), None
    out = (
        rows.assign(young=rows["persons"].where(young, 0))
        .groupby("lsoa_code", as_index=False)
        .agg(young=("young", "sum"), persons=("persons", "sum"))
    )
    return out, band


def deprivation_factors(deprivation: pd.DataFrame, include_crime: bool = False) -> pd.DataFrame:
    """One column per domain: its score where the file gives scores, else its national rank."""
    out = pd.DataFrame({"lsoa_code": deprivation["lsoa_code"].astype(str)})
    for domain in DOMAINS:
        if domain == CIRCULAR_DOMAIN and not include_crime:
            continue
        for kind in ("score", "rank"):
            column = f"{domain}_{kind}"
            if column in deprivation and deprivation[column].notna().any():
                out[column] = pd.to_numeric(deprivation[column], errors="coerce").to_numpy()
                break
    return out.drop_duplicates("lsoa_code")


def factor_label(factor: str, band: str | None = None) -> str:
    """Plain words for a factor name, saying which way is more deprived."""
    if factor == YOUNG:
        return f"Share of residents aged {band or '10-24'}"
    if factor == ASB:
        return "Anti-social behaviour incidents per 1,000 residents"
    domain, _, kind = factor.rpartition("_")
    if domain in DOMAINS:
        if kind == "score":
            return f"{DOMAINS[domain]} score (higher = more deprived)"
        return f"{DOMAINS[domain]} national rank (1 = most deprived)"
    return factor.replace("_", " ")


def direction(factor: str) -> str:
    """Which way a factor runs, for reading the sign of a correlation."""
    if factor.endswith("_rank"):
        return "higher = less deprived"
    if factor.endswith("_score"):
        return "higher = more deprived"
    return "higher = more"


def lsoa_factors(
    deprivation: pd.DataFrame | None,
    population: pd.DataFrame,
    population_year: int,
    periods: Sequence[str],
    asb: pd.DataFrame | None = None,
    nhs: pd.DataFrame | None = None,
    include_crime: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """`build.risk_factors` rows for LSOAs (every period), and notes on what was left out."""
    notes: list[str] = []
    static = []
    if deprivation is not None and len(deprivation):
        dep = deprivation_factors(deprivation, include_crime)
        for factor in dep.columns[1:]:
            static.append(
                pd.DataFrame(
                    {"area_code": dep["lsoa_code"], "factor": factor, "value": dep[factor]}
                ).assign(label=factor_label(factor), source="ref.lsoa_deprivation")
            )
        if not include_crime:
            notes.append("IMD crime domain left out (circular); set risk_include_crime_domain")
    else:
        notes.append("no deprivation file: IMD factors skipped")
    young, band = young_people(population, population_year)
    if band:
        share = young["young"] / young["persons"].where(young["persons"] > 0)
        static.append(
            pd.DataFrame({"area_code": young["lsoa_code"], "factor": YOUNG, "value": share}).assign(
                label=factor_label(YOUNG, band), source=f"ref.lsoa_population {population_year}"
            )
        )
    else:
        notes.append("population age bands do not split at 25: young people's share skipped")
    rows = [frame.assign(period=p) for p in periods for frame in static]
    rows += _period_factors(asb, nhs, "lsoa", periods, notes)
    return _factor_table(rows, "lsoa"), notes


def ward_factors(
    lsoa_rows: pd.DataFrame,
    areas: pd.DataFrame,
    population: pd.DataFrame,
    population_year: int,
    asb: pd.DataFrame | None = None,
    nhs: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Ward rows: population-weighted means of LSOA deprivation, ward young share, ward ASB/NHS."""
    young, band = young_people(population, population_year)
    weights = (
        young.set_index("lsoa_code")["persons"] if band else _persons(population, population_year)
    )
    wards = areas.set_index("lsoa_code")["ward_code"].dropna()
    static = lsoa_rows[lsoa_rows["source"].isin(["ref.lsoa_deprivation"])].copy()
    static["ward_code"] = static["area_code"].map(wards)
    static["weight"] = static["area_code"].map(weights).astype(float)
    static = static.dropna(subset=["ward_code", "value", "weight"])
    static["weighted"] = static["value"] * static["weight"]
    dep = (
        static.groupby(["ward_code", "period", "factor", "label", "source"], as_index=False)
        .agg(weighted=("weighted", "sum"), weight=("weight", "sum"))
        .assign(value=lambda f: f["weighted"] / f["weight"])
        .rename(columns={"ward_code": "area_code"})
    )
    rows = [dep[["area_code", "period", "factor", "value", "label", "source"]]]
    if band:
        by_ward = young.assign(ward_code=young["lsoa_code"].map(wards)).dropna(subset=["ward_code"])
        sums = by_ward.groupby("ward_code")[["young", "persons"]].sum()
        share = (sums["young"] / sums["persons"].where(sums["persons"] > 0)).rename("value")
        periods = sorted(lsoa_rows["period"].unique())
        rows += [
            share.reset_index()
            .rename(columns={"ward_code": "area_code"})
            .assign(
                factor=YOUNG,
                period=p,
                label=factor_label(YOUNG, band),
                source=f"ref.population {population_year}",
            )
            for p in periods
        ]
    rows += _period_factors(asb, nhs, "ward", sorted(lsoa_rows["period"].unique()), [])
    return _factor_table(rows, "ward")


def _persons(population: pd.DataFrame, year: int) -> pd.Series:
    rows = population[population["year"] == year]
    return rows.groupby("lsoa_code")["persons"].sum()


def _period_factors(
    asb: pd.DataFrame | None,
    nhs: pd.DataFrame | None,
    level: str,
    periods: Sequence[str],
    notes: list[str],
) -> list[pd.DataFrame]:
    """ASB rates and NHS indicators for one area level, per period, when their tables exist."""
    rows = []
    if asb is not None and len(asb):
        part = asb[(asb["area_level"] == level) & asb["period"].isin(periods)]
        rows.append(
            pd.DataFrame(
                {
                    "area_code": part["area_code"],
                    "period": part["period"],
                    "factor": ASB,
                    "value": pd.to_numeric(part["rate_per_1000"], errors="coerce"),
                    "label": factor_label(ASB),
                    "source": "build.asb_rates",
                }
            )
        )
    else:
        notes.append("build.asb_rates not built: ASB rate skipped")
    if nhs is not None and len(nhs):
        part = nhs[
            (nhs["area_level"] == level)
            & nhs["period"].isin(periods)
            & nhs["source"].isin(NHS_SOURCES)
            & (nhs["victims"] == "all")
        ]
        rows.append(
            pd.DataFrame(
                {
                    "area_code": part["area_code"],
                    "period": part["period"],
                    "factor": part["measure"].astype(str) + "_rate",
                    "value": pd.to_numeric(part["rate"], errors="coerce"),
                    "label": part["measure"].astype(str).str.replace("_", " ")
                    + " per "
                    + part["rate_per"].astype(str)
                    + " residents (NHS "
                    + part["source"].astype(str)
                    + ")",
                    "source": "build.success_measures",
                }
            )
        )
    else:
        notes.append("build.success_measures not built: NHS indicators skipped")
    return rows


def _factor_table(rows: list[pd.DataFrame], level: str) -> pd.DataFrame:
    rows = [r for r in rows if len(r)]
    if not rows:
        return pd.DataFrame(
            {c: pd.Series(dtype="Float64" if c == "value" else "str") for c in FACTOR_COLUMNS}
        )
    table = pd.concat(rows, ignore_index=True).assign(area_level=level)
    table["value"] = pd.to_numeric(table["value"], errors="coerce").astype("Float64")
    for column in set(FACTOR_COLUMNS) - {"value"}:
        table[column] = table[column].astype("str")
    return (
        table[FACTOR_COLUMNS].sort_values(["period", "factor", "area_code"]).reset_index(drop=True)
    )


# ---------------------------------------------------------------------------------------------
# Correlations
# ---------------------------------------------------------------------------------------------
def spearman_ci(x, y, confidence: float = 0.95) -> dict[str, float]:
    """Spearman's rho with a Fisher-z interval (Bonett-Wright standard error) and scipy's p.

    Examples
    --------
    Ten pairs with one swap: rho = 1 - 6 * 2 / (10 * 99) = 0.9879; the interval is
    tanh(atanh(rho) -/+ 1.96 * sqrt((1 + rho^2 / 2) / 7)).

    >>> r = spearman_ci(range(10), [0, 1, 2, 3, 5, 4, 6, 7, 8, 9])
    >>> round(r["estimate"], 4), round(r["ci_lower"], 4), round(r["ci_upper"], 4), r["n"]
    (0.9879, 0.9283, 0.998, 10)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    nan = {"estimate": np.nan, "ci_lower": np.nan, "ci_upper": np.nan, "p_value": np.nan}
    if n < 4 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return {**nan, "n": n}
    result = spearmanr(x[ok], y[ok])
    rho, p = float(result.statistic), float(result.pvalue)
    se = np.sqrt((1 + rho**2 / 2) / (n - 3))
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    half = norm.ppf(0.5 + confidence / 2) * se
    return {
        "estimate": rho,
        "ci_lower": float(np.tanh(z - half)),
        "ci_upper": float(np.tanh(z + half)),
        "p_value": p,
        "n": n,
    }


def risk_correlations(
    rates: pd.DataFrame,
    factors: pd.DataFrame,
    measures: Sequence[str] = (HEADLINE,),
    min_n: int = MIN_CORRELATION_N,
) -> pd.DataFrame:
    """`build.risk_correlations`: Spearman of every factor with the rate, per level/period/measure."""
    out = []
    for level, level_factors in factors.groupby("area_level"):
        level_rates = rates[(rates["area_level"] == level) & rates["measure"].isin(measures)]
        for (period, measure), group in level_rates.groupby(["period", "measure"], sort=True):
            rate = group.set_index("area_code")["rate_per_1000"].astype(float)
            here = level_factors[level_factors["period"] == period]
            rows = []
            for factor, f in here.groupby("factor", sort=True):
                value = f.set_index("area_code")["value"].astype(float).reindex(rate.index)
                stats = spearman_ci(value.to_numpy(), rate.to_numpy())
                if stats["n"] < min_n:
                    continue
                rows.append(
                    {
                        "factor": factor,
                        "label": f["label"].iloc[0],
                        **stats,
                        "circular": factor.startswith(f"{CIRCULAR_DOMAIN}_"),
                        "direction": direction(factor),
                        "note": _note(factor),
                    }
                )
            if not rows:
                continue
            frame = pd.DataFrame(rows)
            frame["q_value"] = fdr_bh(frame["p_value"])
            out.append(frame.assign(area_level=level, period=period, measure=measure))
    if not out:
        return _typed(pd.DataFrame(columns=CORRELATION_COLUMNS), CORRELATION_COLUMNS)
    table = pd.concat(out, ignore_index=True).assign(
        method="spearman (95% CI: Fisher z, Bonett-Wright SE; q: Benjamini-Hochberg)"
    )
    return _typed(table, CORRELATION_COLUMNS)


def _note(factor: str) -> str:
    if factor.startswith(f"{CIRCULAR_DOMAIN}_"):
        return "circular: the crime domain is built from recorded crime"
    if factor.startswith("imd_"):
        return "the IMD includes the crime domain (9.3% weight)"
    if factor.endswith("_rate") and factor != ASB:
        return "NHS-recorded violence: an outcome of the same violence, not a cause"
    return ""


# ---------------------------------------------------------------------------------------------
# Negative binomial model
# ---------------------------------------------------------------------------------------------
def resolve_terms(terms: Sequence[str], available: Sequence[str]) -> tuple[list[str], list[str]]:
    """Model terms as factor names: a domain name ("income") means its score, else its rank.

    Returns (resolved, missing).

    Examples
    --------
    >>> resolve_terms(["income", "young_people_share", "asb_rate"],
    ...               ["income_rank", "imd_rank", "young_people_share"])
    (['income_rank', 'young_people_share'], ['asb_rate'])
    """
    resolved, missing = [], []
    for term in terms:
        for candidate in (term, f"{term}_score", f"{term}_rank"):
            if candidate in available:
                if candidate not in resolved:
                    resolved.append(candidate)
                break
        else:
            missing.append(term)
    return resolved, missing


def negative_binomial(
    counts, exposure, predictors: pd.DataFrame
) -> tuple[pd.DataFrame, float, np.ndarray]:
    """NB2 regression of counts on standardised predictors with log(exposure) as offset.

    Returns (terms, alpha, pearson_residuals): one row per predictor with `irr` per one standard
    deviation, its 95% interval and p-value, plus `per` (the standard deviation in the factor's
    own units).
    """
    y = np.asarray(counts, dtype=float)
    sd = predictors.std(ddof=0)
    X = sm.add_constant((predictors - predictors.mean()) / sd.replace(0, np.nan))
    model = sm.NegativeBinomial(y, X, loglike_method="nb2", exposure=np.asarray(exposure, float))
    fit = model.fit(disp=0, maxiter=500)
    if not fit.mle_retvals.get("converged", False):
        raise RuntimeError("the negative binomial model did not converge")
    ci = fit.conf_int()
    terms = pd.DataFrame(
        {
            "term": predictors.columns,
            "per": sd.to_numpy(),
            "irr": np.exp(fit.params[predictors.columns].to_numpy()),
            "ci_lower": np.exp(ci.loc[predictors.columns, 0].to_numpy()),
            "ci_upper": np.exp(ci.loc[predictors.columns, 1].to_numpy()),
            "p_value": fit.pvalues[predictors.columns].to_numpy(),
        }
    )
    alpha = float(fit.params["alpha"])
    mu = fit.predict(X, exposure=np.asarray(exposure, float))
    residuals = (y - mu) / np.sqrt(mu + alpha * mu**2)
    return terms, alpha, np.asarray(residuals, dtype=float)


def residual_moran(
    residuals,
    neighbours: Neighbours,
    permutations: int = MODEL_PERMUTATIONS,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float]:
    """Moran's I of model residuals (row-standardised) and its two-sided permutation p-value."""
    w = neighbours.to_w()
    np.random.seed(seed)  # esda.Moran draws its permutations from numpy's global generator
    with quiet_weights():
        mi = esda.Moran(
            np.asarray(residuals, dtype=float), w, transformation="r", permutations=permutations
        )
    return float(mi.I), float(two_sided_from_directed(mi.p_sim))


def risk_model(
    rates: pd.DataFrame,
    factors: pd.DataFrame,
    neighbours: dict[str, Neighbours],
    terms: Sequence[str] = DEFAULT_MODEL_TERMS,
    measures: Sequence[str] = (HEADLINE,),
    seed: int = DEFAULT_SEED,
) -> tuple[pd.DataFrame, list[str]]:
    """`build.risk_model` per area level, period and measure, and notes on models not fitted.

    `neighbours` maps an area level to its contiguity, used for Moran's I of the residuals
    (areas without a complete row are dropped from it).
    """
    out, notes = [], []
    for level, level_factors in factors.groupby("area_level"):
        level_rates = rates[(rates["area_level"] == level) & rates["measure"].isin(measures)]
        for (period, measure), group in level_rates.groupby(["period", "measure"], sort=True):
            here = level_factors[level_factors["period"] == period]
            wide = here.pivot_table(
                index="area_code", columns="factor", values="value", aggfunc="first"
            )
            used, missing = resolve_terms(terms, list(wide.columns))
            if missing:
                notes.append(f"{level} {period} {measure}: no factor for {', '.join(missing)}")
            data = (
                group.set_index("area_code")[["count", "population"]]
                .astype(float)
                .join(wide[used].astype(float))
                .dropna()
            )
            data = data[data["population"] > 0]
            need = max(2 * MIN_MODEL_N_PER_TERM, MIN_MODEL_N_PER_TERM * len(used))
            if not used or len(data) < need:
                notes.append(
                    f"{level} {period} {measure}: model not fitted ({len(data)} areas with every"
                    f" term; needs {need} for {len(used)} term(s))"
                )
                continue
            try:
                fitted, alpha, residuals = negative_binomial(
                    data["count"], data["population"], data[used]
                )
            except (RuntimeError, np.linalg.LinAlgError, ValueError) as error:
                notes.append(f"{level} {period} {measure}: model not fitted ({error})")
                continue
            moran_i, moran_p = _moran_for(residuals, data.index, neighbours.get(level), seed)
            labels = here.drop_duplicates("factor").set_index("factor")["label"]
            out.append(
                fitted.assign(
                    area_level=level,
                    period=period,
                    measure=measure,
                    label=fitted["term"].map(labels),
                    alpha=alpha,
                    residual_morans_i=moran_i,
                    residual_morans_p=moran_p,
                    n=len(data),
                    circular=fitted["term"].str.startswith(f"{CIRCULAR_DOMAIN}_"),
                )
            )
    if not out:
        return _typed(pd.DataFrame(columns=MODEL_COLUMNS), MODEL_COLUMNS), notes
    table = pd.concat(out, ignore_index=True).assign(
        method="negative binomial (NB2, alpha by ML; exposure = population; terms per 1 SD)"
    )
    return _typed(table, MODEL_COLUMNS), notes


def _moran_for(
    residuals: np.ndarray, codes: pd.Index, neighbours: Neighbours | None, seed: int
) -> tuple[float, float]:
    if neighbours is None:
        return np.nan, np.nan
    position = {code: i for i, code in enumerate(neighbours.ids)}
    keep = np.array([position[c] for c in codes if c in position])
    if len(keep) < 3:
        return np.nan, np.nan
    adjacency = neighbours.adjacency[keep][:, keep].tocsr()
    sub = Neighbours(tuple(neighbours.ids[i] for i in keep), adjacency, (), neighbours.rule)
    if (sub.cardinalities == 0).any():  # areas whose only neighbours were dropped
        return np.nan, np.nan
    ordered = pd.Series(residuals, index=codes).reindex(list(sub.ids)).to_numpy()
    return residual_moran(ordered, sub, seed=seed)


def _typed(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    table = table.reindex(columns=columns)
    floats = {
        "estimate",
        "ci_lower",
        "ci_upper",
        "p_value",
        "q_value",
        "irr",
        "per",
        "alpha",
        "residual_morans_i",
        "residual_morans_p",
    }
    for column in columns:
        if column in floats:
            table[column] = pd.to_numeric(table[column], errors="coerce").astype("Float64")
        elif column == "n":
            table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
        elif column == "circular":
            table[column] = table[column].astype("boolean")
        else:
            table[column] = table[column].astype("str")
    return table.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# For the map pack and the notebook
# ---------------------------------------------------------------------------------------------
def correlation_table(
    con: duckdb.DuckDBPyConnection,
    area_level: str = "lsoa",
    period: str | None = None,
    measure: str = HEADLINE,
    schema: str = "marts",
) -> pd.DataFrame:
    """Risk-factor correlations for one level and period (default: latest full year), strongest
    first, with their intervals and FDR q-values."""
    period = period or latest_period_of(con, schema, measure)
    return con.execute(
        f"SELECT * FROM {schema}.risk_correlations WHERE area_level = ? AND period = ?"
        " AND measure = ? ORDER BY abs(estimate) DESC, factor",
        [area_level, period, measure],
    ).df()


def model_table(
    con: duckdb.DuckDBPyConnection,
    area_level: str = "lsoa",
    period: str | None = None,
    measure: str = HEADLINE,
    schema: str = "marts",
) -> pd.DataFrame:
    """The negative binomial model's incidence rate ratios for one level and period."""
    period = period or latest_period_of(con, schema, measure)
    return con.execute(
        f"SELECT * FROM {schema}.risk_model WHERE area_level = ? AND period = ? AND measure = ?"
        " ORDER BY term",
        [area_level, period, measure],
    ).df()


def latest_period_of(con: duckdb.DuckDBPyConnection, schema: str, measure: str) -> str | None:
    """The latest full-year period of the rates the risk tables were built from."""
    return latest_period(con, f"{schema}.sv_rates", measure)
