"""The point grid: the documented cell-size rule, neighbours from indices, exact counting, the
quartic kernel, and Gi* finding a planted cluster of points."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

import transforms.grid as grid
from transforms.grid import (
    cell_size_rule,
    count_in_cells,
    grid_hotspots,
    grid_neighbours,
    kde_bandwidth,
    quartic_kde,
    study_grid,
)


def test_docstring_examples_run() -> None:
    assert doctest.testmod(grid).failed == 0


def test_cell_size_rule_takes_the_finest_of_sfhotspot_small_lsoas_and_1_km() -> None:
    town = (0, 0, 12_000, 30_000)
    assert cell_size_rule(town) == 200  # sfhotspot: 12 km / 50 = 240 m, down to 200 m
    county = (0, 0, 108_000, 69_000)
    assert cell_size_rule(county) == 1000  # sfhotspot's 1,380 m is capped at 1 km
    lsoas = np.r_[np.full(20, 300.0**2), np.full(30, 800.0**2), np.full(50, 5000.0**2)]
    assert cell_size_rule(county, lsoas) == 300  # the smallest tenth of LSOAs: 300 m squares
    assert cell_size_rule((0, 0, 9_999, 9_999), [10.0] * 5) == 100  # never below 100 m


def test_grid_is_aligned_to_the_national_grid_and_covers_the_area() -> None:
    area = shapely.Polygon([(601_050, 302_020), (603_900, 302_020), (601_050, 304_700)])
    cells = study_grid(area, 500)
    assert set(cells["cell_id"].str.split("_").str[0].astype(int) % 500) == {0}
    covered = shapely.union_all(cells["geometry"].to_numpy())
    assert covered.contains(area)
    # only cells touching the triangle: the far corner of its bounding box is left out
    assert not (cells["cell_id"] == "603500_304500").any()


def test_neighbours_come_from_indices_even_with_gaps_and_large_coordinates() -> None:
    rows = np.array([1_000_000, 1_000_000, 1_000_001, 1_000_003])
    cols = np.array([5_000_000, 5_000_001, 5_000_002, 5_000_002])
    n = grid_neighbours(rows, cols)
    assert n.cardinalities.tolist() == [1, 2, 1, 0]
    assert (n.adjacency != n.adjacency.T).nnz == 0


def test_points_are_counted_in_exactly_one_cell() -> None:
    cells = study_grid(box(0, 0, 1000, 1000), 250)
    x = np.array([0.0, 249.999, 250.0, 999.0, 500.0, 1500.0])
    y = np.array([0.0, 0.0, 0.0, 999.0, 750.0, 10.0])
    counts, outside = count_in_cells(x, y, cells, 250)
    by_id = dict(zip(cells["cell_id"], counts, strict=True))
    assert by_id["0_0"] == 2 and by_id["250_0"] == 1  # a point on a line goes to the cell east
    assert by_id["750_750"] == 1 and by_id["500_750"] == 1
    assert outside == 1 and counts.sum() == 5


def test_quartic_kernel_integrates_to_the_number_of_points() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 100, 50), rng.normal(0, 100, 50)
    step = 10.0
    gx, gy = np.meshgrid(np.arange(-2000, 2000, step), np.arange(-2000, 2000, step))
    density = quartic_kde(x, y, gx.ravel(), gy.ravel(), 500.0)  # per km2
    assert density.sum() * step**2 / 1e6 == pytest.approx(50, rel=1e-3)
    one = quartic_kde([0], [0], [0, 250, 500, 600], [0, 0, 0, 0], 500.0)
    h2 = 0.25  # (0.5 km)^2
    assert one == pytest.approx([3 / (np.pi * h2), 3 / (np.pi * h2) * 0.75**2, 0, 0])


def test_duplicate_map_points_weigh_as_many_points() -> None:
    at = ([0.0, 100.0], [0.0, 0.0])
    assert quartic_kde([5, 5, 5], [5, 5, 5], *at, 300.0) == pytest.approx(
        3 * quartic_kde([5], [5], *at, 300.0)
    )


def test_bandwidth_follows_the_arcgis_rule() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(0, 1000, 500), rng.normal(0, 1000, 500)
    d = np.hypot(x - x.mean(), y - y.mean())
    sd, dm = np.sqrt((d**2).mean()), np.median(d)
    expected = 0.9 * min(sd, np.sqrt(1 / np.log(2)) * dm) * 500**-0.2
    assert kde_bandwidth(x, y) == pytest.approx(expected)


def test_a_planted_cluster_of_points_is_a_99_percent_hotspot() -> None:
    rng = np.random.default_rng(8)
    area = box(0, 0, 10_000, 10_000)
    background = rng.uniform(0, 10_000, (600, 2))
    cluster = rng.normal([5_250, 5_250], 80, (150, 2))
    xy = np.vstack([background, cluster])
    points = pd.DataFrame(
        {
            "period": "2023/24",
            "occurred_month": pd.to_datetime("2023-04-01")
            + pd.to_timedelta(rng.integers(0, 12, len(xy)) * 31, "D"),
            "x": xy[:, 0],
            "y": xy[:, 1],
            "source": "police",
        }
    )
    table = grid_hotspots(points, area, cell_size=500)
    assert table["cell_size_m"].unique().tolist() == [500]
    assert table["count"].sum() == len(xy)
    centre = table.set_index("cell_id").loc["5000_5000"]
    assert centre["gi_bin"] == 3 and centre["kde"] == table["kde"].max()
    hot = table[table["gi_bin"] >= 2]
    # hot cells are the cluster's cell and its neighbours, nothing far away
    assert (np.hypot(hot["x"] - 5_250, hot["y"] - 5_250) < 1_100).all()
    assert table["months"].unique().tolist() == [12]
