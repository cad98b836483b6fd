"""Risk factors: Spearman intervals, young people's share from whatever bands exist, the crime
domain kept out unless asked for, and a negative binomial model that recovers known rate ratios."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import transforms.risk as risk
from transforms.grid import grid_neighbours
from transforms.risk import (
    deprivation_factors,
    lsoa_factors,
    negative_binomial,
    residual_moran,
    risk_correlations,
    risk_model,
    spearman_ci,
    ward_factors,
    young_people,
)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(risk).failed == 0


def test_spearman_interval_is_fisher_z_with_bonett_wright_se() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=80)
    y = x + rng.normal(size=80)
    r = spearman_ci(x, y)
    rho = spearmanr(x, y).statistic
    se = np.sqrt((1 + rho**2 / 2) / 77)
    assert r["estimate"] == pytest.approx(rho)
    assert r["ci_lower"] == pytest.approx(np.tanh(np.arctanh(rho) - 1.959964 * se))
    assert r["ci_upper"] == pytest.approx(np.tanh(np.arctanh(rho) + 1.959964 * se))
    assert r["p_value"] == pytest.approx(spearmanr(x, y).pvalue)
    assert np.isnan(spearman_ci([1, 2, 3], [3, 2, 1])["estimate"])  # n < 4
    with_gaps = spearman_ci([1, 2, np.nan, 4, 5, 6], [2, 1, 3, np.nan, 5, 6])
    assert with_gaps["n"] == 4


def population(bands: list[tuple[int, int]], persons: list[int], lsoa: str = "A") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "lsoa_code": lsoa,
            "year": 2022,
            "sex": "all",
            "age_from": [b[0] for b in bands],
            "age_to": [b[1] for b in bands],
            "persons": persons,
        }
    )


def test_young_people_share_uses_10_24_where_bands_allow_else_0_24() -> None:
    single = population([(a, a) for a in range(91)], [10] * 91)
    table, band = young_people(single, 2022)
    assert (
        band == "10-24" and table["young"].tolist() == [150] and table["persons"].tolist() == [910]
    )
    census = population([(0, 15), (16, 24), (25, 34), (35, 120)], [300, 200, 250, 250])
    table, band = young_people(census, 2022)
    assert band == "0-24" and table["young"].tolist() == [500]
    broad = population([(0, 15), (16, 29), (30, 120)], [300, 300, 400])  # 2015 broad bands
    assert young_people(broad, 2022)[1] is None


def test_scores_are_preferred_ranks_are_the_fallback_and_crime_stays_out() -> None:
    dep = pd.DataFrame(
        {
            "lsoa_code": ["A", "B"],
            "imd_score": [30.0, 10.0],
            "imd_rank": [100, 20_000],
            "income_score": [None, None],
            "income_rank": [90, 19_000],
            "crime_score": [1.2, -0.5],
        }
    )
    factors = deprivation_factors(dep)
    assert list(factors.columns) == ["lsoa_code", "imd_score", "income_rank"]
    assert "crime_score" in deprivation_factors(dep, include_crime=True).columns


def toy_county(n: int = 60, seed: int = 9):
    """n LSOAs on a 6 x 10 lattice in six wards, with a real link between deprivation and rates."""
    rng = np.random.default_rng(seed)
    codes = [f"E{i:03d}" for i in range(n)]
    imd = rng.gamma(3, 8, n)
    crime = imd * 0.05 + rng.normal(0, 0.1, n)
    persons = rng.integers(1200, 2200, n)
    count = rng.poisson(persons / 1000 * 10 * np.exp(0.03 * (imd - imd.mean())))
    dep = pd.DataFrame({"lsoa_code": codes, "imd_score": imd, "income_score": imd / 100})
    dep["crime_score"] = crime
    pop = pd.concat(
        [
            population([(0, 9), (10, 24), (25, 120)], [int(p * 0.1), int(p * 0.2), int(p * 0.7)], c)
            for c, p in zip(codes, persons, strict=True)
        ]
    )
    areas = pd.DataFrame({"lsoa_code": codes, "ward_code": [f"W{i // 10}" for i in range(n)]})
    rates = pd.DataFrame(
        {
            "area_level": "lsoa",
            "area_code": codes,
            "period": "2022",
            "measure": "all_serious_violence",
            "count": count,
            "population": pop.groupby("lsoa_code")["persons"].sum().reindex(codes).to_numpy(),
        }
    )
    rates["rate_per_1000"] = rates["count"] / rates["population"] * 1000
    return dep, pop, areas, rates


def test_factor_tables_for_lsoas_and_wards_say_what_was_left_out() -> None:
    dep, pop, areas, _ = toy_county()
    lsoa_rows, notes = lsoa_factors(dep, pop, 2022, ["2022"])
    assert set(lsoa_rows["factor"]) == {"imd_score", "income_score", "young_people_share"}
    assert any("crime domain left out" in n for n in notes)
    assert any("asb_rates not built" in n for n in notes)
    assert any("success_measures not built" in n for n in notes)
    share = lsoa_rows[lsoa_rows["factor"] == "young_people_share"]["value"]
    assert share.astype(float).round(2).unique().tolist() == [0.2]
    label = lsoa_rows.loc[lsoa_rows["factor"] == "young_people_share", "label"].iloc[0]
    assert label == "Share of residents aged 10-24"
    wards = ward_factors(lsoa_rows, areas, pop, 2022)
    imd = wards[wards["factor"] == "imd_score"].set_index("area_code")["value"].astype(float)
    persons = pop.groupby("lsoa_code")["persons"].sum()
    w0 = dep.iloc[:10].set_index("lsoa_code")["imd_score"]
    expected = (w0 * persons.reindex(w0.index)).sum() / persons.reindex(w0.index).sum()
    assert imd["W0"] == pytest.approx(expected)  # population-weighted mean of its LSOAs
    assert len(imd) == 6


def test_no_deprivation_and_no_age_bands_give_empty_factor_tables_not_errors() -> None:
    _, _, areas, _ = toy_county(n=12)
    totals = population([(0, 120)], [1500])
    rows, notes = lsoa_factors(None, totals, 2022, ["2022"])
    assert rows.empty and any("no deprivation file" in n for n in notes)
    assert any("do not split at 25" in n for n in notes)
    assert ward_factors(rows, areas, totals, 2022).empty


def test_asb_and_nhs_tables_become_factors_when_present() -> None:
    dep, pop, _, _ = toy_county(n=12)
    asb = pd.DataFrame(
        {
            "area_level": "lsoa",
            "area_code": dep["lsoa_code"],
            "period": "2022",
            "rate_per_1000": 5.0,
        }
    )
    nhs = pd.DataFrame(
        {
            "area_level": "lsoa",
            "area_code": dep["lsoa_code"],
            "period": "2022",
            "measure": "knife_admissions",
            "victims": "all",
            "source": "hes",
            "rate": 0.3,
            "rate_per": 100000,
        }
    )
    rows, notes = lsoa_factors(dep, pop, 2022, ["2022"], asb=asb, nhs=nhs)
    assert {"asb_rate", "knife_admissions_rate"} <= set(rows["factor"])
    assert not any("asb" in n or "success" in n for n in notes)


def test_correlations_recover_the_link_and_flag_the_crime_domain() -> None:
    dep, pop, _, rates = toy_county()
    rows, _ = lsoa_factors(dep, pop, 2022, ["2022"], include_crime=True)
    table = risk_correlations(rates, rows)
    by = table.set_index("factor")
    assert by.loc["imd_score", "estimate"] > 0.3 and by.loc["imd_score", "ci_lower"] > 0
    assert bool(by.loc["crime_score", "circular"]) and not bool(by.loc["imd_score", "circular"])
    assert "9.3%" in by.loc["imd_score", "note"]
    assert (table["q_value"] >= table["p_value"] - 1e-12).all()
    assert set(table.columns) >= {
        "area_level",
        "period",
        "measure",
        "factor",
        "method",
        "estimate",
        "ci_lower",
        "ci_upper",
        "p_value",
        "q_value",
    }


def test_negative_binomial_recovers_known_rate_ratios() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    exposure = rng.integers(1000, 3000, n)
    mu = exposure / 1000 * 8 * np.exp(0.3 * x["a"] - 0.2 * x["b"])
    alpha = 0.25
    y = rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))
    terms, fitted_alpha, residuals = negative_binomial(y, exposure, x)
    by = terms.set_index("term")
    sd = x.std(ddof=0)
    for term, beta in (("a", 0.3), ("b", -0.2)):
        truth = np.exp(beta * sd[term])  # per one standard deviation
        assert by.loc[term, "ci_lower"] < truth < by.loc[term, "ci_upper"]
    assert fitted_alpha == pytest.approx(alpha, rel=0.2)
    assert len(residuals) == n


def test_residual_moran_sees_spatial_structure_left_in_residuals() -> None:
    rows, cols = np.divmod(np.arange(100), 10)
    neighbours = grid_neighbours(rows, cols)
    smooth = np.sin(rows / 3.0) + np.cos(cols / 3.0)
    i, p = residual_moran(smooth, neighbours, permutations=199, seed=1)
    assert i > 0.5 and p <= 0.01
    noise = np.random.default_rng(2).normal(size=100)
    assert residual_moran(noise, neighbours, permutations=199, seed=1)[1] > 0.05


def test_model_runs_per_level_and_says_when_there_are_too_few_areas() -> None:
    dep, pop, areas, rates = toy_county()
    rows, _ = lsoa_factors(dep, pop, 2022, ["2022"])
    wards = ward_factors(rows, areas, pop, 2022)
    ward_rates = (
        rates.assign(ward=areas["ward_code"].to_numpy())
        .groupby("ward", as_index=False)[["count", "population"]]
        .sum()
        .rename(columns={"ward": "area_code"})
        .assign(area_level="ward", period="2022", measure="all_serious_violence")
    )
    factors = pd.concat([rows, wards])
    rows_lattice = np.divmod(np.arange(60), 10)
    neighbours = {"lsoa": grid_neighbours(*rows_lattice)}
    neighbours["lsoa"] = type(neighbours["lsoa"])(
        tuple(dep["lsoa_code"]), neighbours["lsoa"].adjacency, (), "lattice"
    )
    table, notes = risk_model(pd.concat([rates, ward_rates]), factors, neighbours)
    assert table["area_level"].unique().tolist() == ["lsoa"]
    by = table.set_index("term")
    assert list(by.index) == ["income_score", "young_people_share"]
    assert by.loc["income_score", "irr"] > 1 and by.loc["income_score", "ci_lower"] > 1
    assert table["residual_morans_i"].notna().all()
    assert any("ward 2022" in n and "not fitted" in n for n in notes)
    assert any("no factor for asb_rate" in n for n in notes)
