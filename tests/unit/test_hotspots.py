"""Area hotspots: Gi* against a hand-computed grid and esda's published values, FDR, bins, LISA,
contiguity that survives imperfect boundaries, and a mart that never drops an area."""

from __future__ import annotations

import doctest

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import DistanceBand, fill_diagonal, lat2W
from shapely.geometry import box
from statsmodels.stats.multitest import multipletests

import transforms.hotspots as hotspots
from transforms.grid import grid_neighbours
from transforms.hotspots import (
    NOT_SIGNIFICANT,
    area_hotspots,
    confidence_bins,
    contiguity,
    fdr_bh,
    gi_star,
    hotspot_statistics,
    local_moran,
)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(hotspots).failed == 0


def arcgis_gi_star(y: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
    """Gi* written out as ArcGIS documents it (binary weights, w_ii = 1), loop by loop."""
    n = len(y)
    w = adjacency + np.eye(n)
    mean = y.sum() / n
    s = np.sqrt((y**2).sum() / n - mean**2)
    z = np.empty(n)
    for i in range(n):
        wi = w[i].sum()
        numerator = (w[i] * y).sum() - mean * wi
        denominator = s * np.sqrt((n * (w[i] ** 2).sum() - wi**2) / (n - 1))
        z[i] = numerator / denominator
    return z


def test_gi_star_on_a_5x5_grid_matches_the_hand_computation() -> None:
    # 25 cells, all 0 but the centre (25): mean 1, S^2 = 625/25 - 1 = 24.
    # Centre and its 8 neighbours: 9 cells summing 25 -> z = (25 - 9) / (sqrt(24) * sqrt((225 - 81) / 24)) = 16 / 12.
    # Corner (0, 0): 4 cells summing 0 -> z = -4 / (sqrt(24) * sqrt((100 - 16) / 24)) = -4 / sqrt(84).
    # Cell (1, 0): 6 cells summing 0 -> z = -6 / (sqrt(24) * sqrt((150 - 36) / 24)) = -6 / sqrt(114).
    rows, cols = np.divmod(np.arange(25), 5)
    y = np.zeros(25)
    y[12] = 25.0
    neighbours = grid_neighbours(rows, cols)
    z = gi_star(y, neighbours.to_w())["gi_z"].to_numpy()
    assert z[12] == pytest.approx(4 / 3)
    assert z[6] == pytest.approx(4 / 3)  # (1, 1) has the centre among its neighbours
    assert z[0] == pytest.approx(-4 / np.sqrt(84))
    assert z[5] == pytest.approx(-6 / np.sqrt(114))
    # every cell, against the formula written out; and a non-trivial surface too
    assert z == pytest.approx(arcgis_gi_star(y, neighbours.adjacency.toarray()))
    surface = np.random.default_rng(3).gamma(2.0, 5.0, 25)
    assert gi_star(surface, neighbours.to_w())["gi_z"].to_numpy() == pytest.approx(
        arcgis_gi_star(surface, neighbours.adjacency.toarray())
    )


def test_gi_star_reproduces_esda_published_values() -> None:
    # esda.getisord.G_Local docstring and esda/tests/test_getisord.py (test_star_binary)
    points = [(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)]
    w = DistanceBand(points, threshold=15, silence_warnings=True)
    out = gi_star([2, 3, 3.2, 5, 8, 7], w)
    assert out["gi_z"].to_numpy() == pytest.approx(
        [-1.39727626, -0.28917762, 0.65064964, -0.28917762, 1.23452088, 2.02424331], abs=1e-8
    )
    # two-sided from z, as ArcGIS: 2 * (1 - Phi(|z|)); the last z of 2.024 gives p = 0.0429
    assert out["gi_p"].iloc[5] == pytest.approx(0.04294, abs=1e-5)


def test_gi_star_accepts_weights_that_already_include_the_focal_area() -> None:
    w = lat2W(4, 4, rook=False)
    y = np.random.default_rng(1).poisson(5, 16).astype(float)
    plain = gi_star(y, w)["gi_z"]
    w_star = fill_diagonal(lat2W(4, 4, rook=False), 1.0)
    assert gi_star(y, w_star)["gi_z"].to_numpy() == pytest.approx(plain.to_numpy())


def test_fdr_matches_statsmodels_and_keeps_missing_values() -> None:
    p = np.random.default_rng(7).uniform(0, 0.2, 40)
    expected = multipletests(p, method="fdr_bh")[1]
    assert fdr_bh(p) == pytest.approx(expected)
    with_gap = np.r_[p[:5], np.nan]
    q = fdr_bh(with_gap)
    assert np.isnan(q[-1]) and q[:5] == pytest.approx(multipletests(p[:5], method="fdr_bh")[1])


def test_bins_use_the_fdr_q_values_at_90_95_and_99_percent() -> None:
    z = np.array([4.0, 2.5, 2.0, 1.7, -3.0, -2.0, 0.5, np.nan])
    q = np.array([0.01, 0.0100001, 0.05, 0.1, 0.001, 0.2, 0.6, np.nan])
    assert confidence_bins(z, q).tolist() == [3, 2, 2, 1, -3, 0, 0, 0]


@pytest.mark.filterwarnings("ignore:The alternative hypothesis:DeprecationWarning")
def test_local_moran_labels_quadrants_and_doubles_esdas_directed_p() -> None:
    # A 7 x 7 lattice: a high block in one corner, low elsewhere, one high cell among lows.
    y = np.ones(49)
    y[[0, 1, 2, 7, 8, 9, 14, 15, 16]] = 10.0
    y[40] = 12.0
    w = lat2W(7, 7, rook=False)
    out = local_moran(y, w, permutations=999, seed=5)
    assert out.loc[8, "lisa_quadrant"] == "HH"
    assert out.loc[40, "lisa_quadrant"] == "HL"
    assert out.loc[30, "lisa_quadrant"] == "LL"  # low, and so are its 8 neighbours
    assert out.loc[48, "lisa_quadrant"] == "LH"  # low, next to the high outlier
    assert ((out["lisa_p"] > 0) & (out["lisa_p"] <= 1)).all()
    import esda

    w.transform = "r"
    directed = esda.Moran_Local(y, w, permutations=999, seed=5, n_jobs=1).p_sim
    assert out["lisa_p"].to_numpy() == pytest.approx(np.minimum(1, 2 * directed))
    again = local_moran(y, lat2W(7, 7, rook=False), permutations=999, seed=5)
    assert again["lisa_p"].equals(out["lisa_p"])  # seeded: a rerun gives the same p-values


def test_statistics_label_only_fdr_significant_lisa_areas() -> None:
    rows, cols = np.divmod(np.arange(100), 10)
    y = np.random.default_rng(2).normal(10, 1, 100)
    y[[44, 45, 54, 55]] += 8
    stats = hotspot_statistics(y, grid_neighbours(rows, cols), permutations=999, seed=1)
    assert set(stats.loc[[44, 45, 54, 55], "gi_bin"]) == {3}
    labelled = stats["lisa_quadrant"] != NOT_SIGNIFICANT
    assert (stats.loc[labelled, "lisa_q"] <= 0.05).all()
    assert (stats["lisa_q"] >= stats["lisa_p"] - 1e-12).all()


def test_contiguity_is_queen_and_tolerates_overlaps_and_slivers() -> None:
    squares = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)]
    assert contiguity(squares, list("abcd")).cardinalities.tolist() == [3, 3, 3, 3]
    # generalised boundaries: b overlaps a by 0.2 m, c leaves a 0.5 m sliver: both still touch a
    shapes = [box(0, 0, 100, 100), box(99.8, 0, 200, 100), box(0, 100.5, 100, 200)]
    n = contiguity(shapes, list("abc"))
    assert n.adjacency[0, 1] == n.adjacency[0, 2] == 1
    assert n.islands_joined == ()
    assert (n.adjacency != n.adjacency.T).nnz == 0


def test_islands_are_joined_to_their_nearest_area_both_ways() -> None:
    shapes = [box(0, 0, 100, 100), box(100, 0, 200, 100), box(200, 0, 300, 100)]
    shapes.append(box(1000, 0, 1100, 100))
    n = contiguity(shapes, ["a", "b", "c", "island"])
    assert n.islands_joined == ("island",)
    assert n.adjacency[3, 2] == n.adjacency[2, 3] == 1  # c is nearest to the island
    assert n.cardinalities.tolist() == [1, 2, 2, 1]
    assert "1 island(s) joined" in n.describe() and "island" in n.describe()


def lattice_county(side: int = 6) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """side x side square LSOAs of 1 km in two wards, and one period of rates."""
    cells = [(r, c) for r in range(side) for c in range(side)]
    areas = gpd.GeoDataFrame(
        {
            "lsoa_code": [f"E{r:02d}{c:02d}" for r, c in cells],
            "ward_code": ["W1" if c < side // 2 else "W2" for r, c in cells],
        },
        geometry=[box(c * 1000, r * 1000, (c + 1) * 1000, (r + 1) * 1000) for r, c in cells],
        crs="EPSG:27700",
    )
    rng = np.random.default_rng(4)
    count = rng.poisson(20, len(cells))
    population = np.full(len(cells), 1500)
    rates = pd.DataFrame(
        {
            "area_level": "lsoa",
            "area_code": areas["lsoa_code"],
            "area_name": areas["lsoa_code"],
            "period": "2023/24",
            "months": 12,
            "measure": "all_serious_violence",
            "count": count,
            "population": population,
            "rate_per_1000": count / population * 1000,
            "source": "police",
            "definition_id": "test",
        }
    )
    return areas, rates


def test_mart_keeps_every_area_and_rebuilds_neighbours_without_missing_values() -> None:
    areas, rates = lattice_county()
    rates.loc[rates["area_code"] == "E0000", "rate_per_1000"] = np.nan  # no population
    table = area_hotspots(rates, areas, area_levels=["lsoa"], permutations=99, seed=3)
    for value_type, analysed in [("rate_per_1000", 35), ("count", 36)]:
        part = table[table["value_type"] == value_type]
        assert len(part) == 36 and part["area_code"].is_unique
        assert part["gi_z"].notna().sum() == analysed
        assert f"across the {analysed} areas" in part["fdr"].iloc[0]
    missing = table[(table["value_type"] == "rate_per_1000") & (table["area_code"] == "E0000")]
    assert missing["gi_z"].isna().all() and missing["value"].isna().all()
    # E0001 lost its neighbour E0000 in the rate analysis, not in the count analysis
    e0001 = table[table["area_code"] == "E0001"].set_index("value_type")["neighbours"]
    assert e0001["count"] == e0001["rate_per_1000"] + 1
    assert set(table.columns) >= {
        "area_level",
        "area_code",
        "period",
        "measure",
        "value",
        "gi_z",
        "gi_p",
        "gi_bin",
        "lisa_quadrant",
        "lisa_p",
        "method",
        "weights",
        "permutations",
        "seed",
        "alpha",
    }
    assert table["permutations"].unique().tolist() == [99]
    assert table["seed"].unique().tolist() == [3]


def test_an_area_whose_neighbourhood_is_every_area_has_no_gi_star() -> None:
    squares = [box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2), box(1, 1, 2, 2)]
    neighbours = contiguity(squares, list("abcd"))
    with np.errstate(all="raise"):  # no floating-point warning escapes
        stats = hotspot_statistics([1.0, 2.0, 3.0, 10.0], neighbours, permutations=99, seed=1)
    assert stats["gi_z"].isna().all() and (stats["gi_bin"] == 0).all()


def test_every_measure_and_level_asked_for_is_analysed_separately() -> None:
    areas, rates = lattice_county()
    robbery = rates.assign(measure="robbery", count=rates["count"] // 4)
    robbery["rate_per_1000"] = robbery["count"] / robbery["population"] * 1000
    wards = (
        rates.assign(ward=areas["ward_code"].to_numpy())
        .groupby("ward", as_index=False)[["count", "population"]]
        .sum()
        .rename(columns={"ward": "area_code"})
        .assign(area_level="ward", area_name="Ward", period="2023/24", months=12)
        .assign(measure="all_serious_violence", source="police", definition_id="test")
    )
    wards["rate_per_1000"] = wards["count"] / wards["population"] * 1000
    table = area_hotspots(
        pd.concat([rates, robbery, wards]),
        areas,
        measures=["all_serious_violence", "robbery"],
        permutations=99,
    )
    sizes = table.groupby(["area_level", "measure", "value_type"]).size().to_dict()
    assert (
        sizes[("lsoa", "robbery", "count")] == 36
        and sizes[("ward", "all_serious_violence", "count")] == 2
    )
    assert ("ward", "robbery", "count") not in sizes  # no ward rows for robbery were given


def test_without_permutations_lisa_has_no_p_value_and_labels_nothing() -> None:
    rows, cols = np.divmod(np.arange(25), 5)
    y = np.arange(25.0)
    stats = hotspot_statistics(y, grid_neighbours(rows, cols), permutations=0)
    assert stats["lisa_p"].isna().all() and (stats["lisa_quadrant"] == NOT_SIGNIFICANT).all()
    assert stats["gi_z"].notna().all()  # Gi* never needed them
