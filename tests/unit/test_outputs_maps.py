"""Map building blocks: classes and fixed breaks, outlines, insets chosen from the data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from outputs.maps import choose_insets, class_breaks, classify_rates, dissolve_districts
from tests import packdata


def synthetic_lsoas(nx: int = 6, ny: int = 4, size: float = 1000.0) -> gpd.GeoDataFrame:
    """A grid of square LSOAs in British National Grid; west half is district A, east half B."""
    rows = []
    for i in range(nx):
        for j in range(ny):
            west = i < nx // 2
            rows.append(
                {
                    "lsoa_code": f"E01900{i * ny + j:03d}",
                    "district_code": "E07900001" if west else "E07900002",
                    "district_name": "Westmere" if west else "Eastbrook",
                    "geometry": box(600_000 + i * size, 300_000 + j * size,
                                    600_000 + (i + 1) * size, 300_000 + (j + 1) * size),
                }
            )  # fmt: skip
    return gpd.GeoDataFrame(rows, crs="EPSG:27700")


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).gamma(2.0, 3.0, 300),
        np.r_[np.zeros(40), np.random.default_rng(2).exponential(5.0, 60)],  # many ties at zero
        np.array([0.0, 0.0, 1.5, 1.5, 3.0]),  # fewer distinct values than k
        np.random.default_rng(3).lognormal(1.0, 1.0, 2500),  # large: sampled breaks
    ],
)
def test_classes_cover_min_to_max_and_every_value_is_in_its_class(values):
    rc = classify_rates(pd.Series(values))
    edges = np.r_[rc.lower, rc.bins]
    assert rc.lower == values.min() and rc.bins[-1] == values.max()
    assert np.all(np.diff(edges[1:]) > 0)
    assert 1 <= rc.k <= 5 and len(rc.labels) == len(rc.colours) == rc.k
    assert rc.k == min(5, len(np.unique(values)))
    assert (rc.classes >= 0).all() and sum(rc.counts()) == len(values)
    lo = np.where(rc.classes == 0, -np.inf, edges[rc.classes])
    hi = edges[rc.classes + 1]
    assert np.all((values > lo) & (values <= hi))
    assert rc.labels[0].startswith(f"{values.min():.1f}"[:3])


def test_classification_is_deterministic_for_large_inputs():
    values = np.random.default_rng(4).lognormal(1.0, 1.0, 3000)
    assert classify_rates(values).bins == classify_rates(values.copy()).bins


def test_missing_rates_go_to_the_no_data_class():
    rates = pd.array([1.0, pd.NA, 2.0, 3.0, None, 4.0], dtype="Float64")
    rc = classify_rates(pd.Series(rates))
    assert list(rc.classes == -1) == [False, True, False, False, True, False]
    assert rc.n_no_data == 2
    assert classify_rates(pd.Series([np.nan, np.inf])).k == 0


def test_dissolve_districts_gives_one_outline_per_district():
    lsoas = synthetic_lsoas()
    d = dissolve_districts(lsoas)
    assert list(d["district_code"]) == ["E07900001", "E07900002"]
    assert list(d["district_name"]) == ["Westmere", "Eastbrook"]
    assert d.crs.to_epsg() == 27700
    assert d.area.sum() == pytest.approx(lsoas.area.sum())
    assert d.geometry.geom_type.eq("Polygon").all()


def test_dissolve_fills_hairline_holes_but_keeps_real_enclaves():
    cells = []
    for i in range(3):
        for j in range(3):
            geom = box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000)
            if (i, j) == (0, 0):
                geom = geom.difference(
                    box(400, 400, 405, 405)
                )  # a 25 m² gap, as generalisation leaves
            cells.append({"district_code": "B" if (i, j) == (1, 1) else "A", "geometry": geom})
    d = dissolve_districts(gpd.GeoDataFrame(cells, crs="EPSG:27700")).set_index("district_code")
    a = d.loc["A", "geometry"]
    assert a.geom_type == "Polygon"
    assert [round(shapely.Polygon(r).area) for r in a.interiors] == [1_000_000]  # district B, kept
    assert a.area == pytest.approx(8_000_000)


def test_a_class_of_zeros_is_labelled_zero():
    values = np.r_[np.zeros(50), np.linspace(10, 11, 25), np.linspace(30, 31, 25)]
    rc = classify_rates(values, k=3)
    assert rc.bins[0] == 0.0 and rc.labels[0] == "0.0"
    assert rc.counts()[0] == 50


def test_fixed_breaks_put_later_values_above_the_maximum_in_the_top_class():
    breaks = class_breaks(np.linspace(0, 50, 200), k=4)
    assert breaks.labels[-1].endswith("or more")
    assert list(breaks.assign([0.0, 49.0, 75.0, np.nan])) == [0, 3, 3, -1]


def test_insets_go_to_the_dense_cluster_of_high_rate_lsoas():
    areas = packdata.lsoas()
    rates = pd.Series(np.where(areas["town"], 40.0, 8.0)) + np.arange(len(areas)) * 0.01
    insets = choose_insets(areas, rates, map_m_per_inch=20_000 / 6.5)
    town = shapely.union_all(areas.geometry[areas["town"]].to_numpy())
    assert len(insets) == 1
    assert shapely.box(*insets[0].bounds).contains(town)
    assert set(insets[0].lsoa_codes) <= set(areas.loc[areas["town"], "lsoa_code"])
    assert insets[0].title == "Westmere: Westmere North"


def test_no_inset_when_the_high_rate_lsoas_are_big_enough_to_read():
    areas = packdata.lsoas()
    rates = pd.Series(np.where(areas["town"], 8.0, 40.0)) + np.arange(len(areas)) * 0.01
    assert choose_insets(areas, rates, map_m_per_inch=20_000 / 6.5) == []
