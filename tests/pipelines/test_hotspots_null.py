"""False positives on a null county, and the false discovery rate with a known planted truth.

The demo generator cannot write a county without structure, so the counts are simulated here on
the demo county's own LSOAs and populations (seeded): Poisson counts proportional to population
(the null), optionally plus the demo's planted night-time-economy extras (the truth). Tolerances
come from the sampling distribution of the simulation, not from what makes the test pass:
replications are independent, so their count of "any discovery" is binomial and their mean
false-positive share has a standard error estimated from the replications themselves; each test
allows the one-sided 99.9% margin (z = 3.09), so a correct method fails it once in a thousand
runs, and the seeds make every run identical.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pytest
from libpysal.weights import fill_diagonal
from scipy.stats import binom

from tests.pipelines.conftest import Run
from transforms.db import read_geotable
from transforms.hotspots import (
    NOT_SIGNIFICANT,
    confidence_bins,
    contiguity,
    fdr_bh,
    gi_star,
    hotspot_statistics,
)

Z_999 = 3.09  # one-sided 99.9%
ALPHA = 0.05
RATE = 25 / 1000  # serious violence per resident per year, about the demo county's


@pytest.fixture(scope="module")
def county(demo_run: Run) -> dict:
    con = duckdb.connect(str(demo_run.settings.database), read_only=True)
    try:
        areas = read_geotable(con, "ref.lsoa").sort_values("lsoa_code").reset_index(drop=True)
        persons = dict(
            con.execute(
                "SELECT lsoa_code, sum(persons) FROM ref.population WHERE year = ? GROUP BY 1",
                [demo_run.settings.population_year],
            ).fetchall()
        )
    finally:
        con.close()
    codes = areas["lsoa_code"].tolist()
    truth = json.loads((demo_run.demo_dir / "planted_structure.json").read_text())
    extra = {
        h["lsoa_code"]: h["extra_crimes_per_year"]
        for h in truth["night_time_economy_hotspots"]["hotspots"]
    }
    neighbours = contiguity(areas.geometry.to_numpy(), codes)
    return {
        "codes": codes,
        "persons": np.array([persons[c] for c in codes], dtype=float),
        "extra": np.array([extra.get(c, 0.0) for c in codes]),
        "city": np.array([c in extra and extra[c] > 200 for c in codes]),
        "neighbours": neighbours,
        "w_star": fill_diagonal(neighbours.to_w(), 1.0),
    }


def gi_bins(y: np.ndarray, w_star) -> tuple[np.ndarray, np.ndarray]:
    gi = gi_star(y, w_star)
    return confidence_bins(gi["gi_z"], fdr_bh(gi["gi_p"])), gi["gi_p"].to_numpy()


def test_null_county_gives_no_more_than_the_expected_false_positives(county: dict) -> None:
    rng = np.random.default_rng(20240401)
    replications = 400
    any_binned, raw_share = 0, []
    for _ in range(replications):
        y = rng.poisson(county["persons"] * RATE) / county["persons"] * 1000
        bins, p = gi_bins(y, county["w_star"])
        any_binned += bool((np.abs(bins) >= 2).any())
        raw_share.append((p < ALPHA).mean())
    # With every LSOA null, BH's false discovery rate is the chance of any discovery: <= 5%.
    assert any_binned <= binom.ppf(0.999, replications, ALPHA)
    # Unadjusted, each LSOA's test rejects at its nominal 5% (Gi*'s normal approximation holds).
    share = np.asarray(raw_share)
    assert share.mean() <= ALPHA + Z_999 * share.std(ddof=1) / np.sqrt(replications)


def test_null_county_lisa_labels_no_more_than_the_expected_false_positives(county: dict) -> None:
    rng = np.random.default_rng(7)
    replications = 60
    any_labelled, raw_share = 0, []
    for r in range(replications):
        y = rng.poisson(county["persons"] * RATE) / county["persons"] * 1000
        stats = hotspot_statistics(y, county["neighbours"], permutations=999, seed=r)
        any_labelled += bool((stats["lisa_quadrant"] != NOT_SIGNIFICANT).any())
        raw_share.append((stats["lisa_p"] < ALPHA).mean())
    assert any_labelled <= binom.ppf(0.999, replications, ALPHA)
    share = np.asarray(raw_share)
    assert share.mean() <= ALPHA + Z_999 * share.std(ddof=1) / np.sqrt(replications)


def test_false_discovery_rate_holds_with_a_known_planted_truth(county: dict) -> None:
    # Truth for Gi*: an LSOA's neighbourhood (itself and its neighbours) holds a planted hotspot.
    adjacency = county["neighbours"].adjacency
    planted = county["extra"] > 0
    near = planted | (adjacency @ planted.astype(float) > 0)
    rng = np.random.default_rng(11)
    replications = 300
    fdp, city_found = [], []
    for _ in range(replications):
        counts = rng.poisson(county["persons"] * RATE + county["extra"])
        bins, _ = gi_bins(counts / county["persons"] * 1000, county["w_star"])
        hot = bins >= 2
        fdp.append((hot & ~near).sum() / max(1, hot.sum()))
        city_found.append(hot[county["city"]].mean())
    fdp = np.asarray(fdp)
    assert fdp.mean() <= ALPHA + Z_999 * fdp.std(ddof=1) / np.sqrt(replications)
    assert np.mean(city_found) >= 0.9  # the planted city-centre cluster is found
