"""LSOA boundaries: real ONS GeoJSON (CRS84) and a synthetic GeoPackage with broken features."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon

from sources.boundaries import read_lsoa_boundaries
from tests.unit.test_readers_csv import reconciles

LSOA_BY_LAD = "uk-geojson-norfolk/json/statistical/eng/lsoa_by_lad"


def test_norwich_geojson(shared_data):
    r = read_lsoa_boundaries([shared_data / LSOA_BY_LAD / "E07000148.json"])
    rows = r.rows
    assert isinstance(rows, gpd.GeoDataFrame) and rows.crs.to_epsg() == 27700
    assert len(rows) == 83 and rows["lsoa_code"].is_unique and reconciles(r)
    assert (rows["lsoa_vintage"] == "2011").all()
    assert rows["lsoa_name"].str.startswith("Norwich ").all()
    # Norwich district is 39.0 km2 (ONS Standard Area Measurements); clipped generalised boundaries.
    assert rows["area_km2"].sum() == pytest.approx(39.0, abs=1.0)
    # BNG metres: Norwich lies around E 623000, N 308000
    x, y = rows.union_all().centroid.coords[0]
    assert 615_000 < x < 632_000 and 300_000 < y < 316_000
    assert rows.is_valid.all() and set(rows.geom_type) <= {"Polygon", "MultiPolygon"}
    assert list(rows["_line"]) == list(range(1, 84))


def test_all_norfolk_districts(shared_data):
    files = sorted((shared_data / LSOA_BY_LAD).glob("*.json"))
    r = read_lsoa_boundaries(files)
    assert len(files) == 7 and len(r.rows) == 538 and reconciles(r)
    # Norfolk county is 5,371 km2 (2,074 sq mi)
    assert r.rows["area_km2"].sum() == pytest.approx(5371, rel=0.02)


def test_gpkg_invalid_empty_duplicate_and_missing(tmp_path):
    square = Polygon([(600000, 300000), (600100, 300000), (600100, 300100), (600000, 300100)])
    bowtie = Polygon([(0, 0), (100, 100), (100, 0), (0, 100), (0, 0)])  # self-intersecting
    gdf = gpd.GeoDataFrame(
        {
            "LSOA21CD": ["E01900001", "E01900002", "E01900003", "E01900001", None, "E01900006"],
            "LSOA21NM": ["Demo 001A", "Demo 001B", "Demo 001C", "Demo again", "Nameless", "Point"],
        },
        geometry=[square, bowtie, Polygon(), square, square, Point(1, 1)],
        crs="EPSG:27700",
    )
    path = tmp_path / "demo_lsoa21.gpkg"
    gdf.to_file(path, layer="lsoa21", driver="GPKG")
    r = read_lsoa_boundaries(path)
    rows = r.rows
    assert list(rows["lsoa_code"]) == ["E01900001", "E01900002"]
    assert (rows["lsoa_vintage"] == "2021").all() and rows.is_valid.all()
    assert rows["area_km2"].iloc[0] == pytest.approx(0.01)
    assert rows["area_km2"].iloc[1] == pytest.approx(5000 / 1e6)  # the bow tie's two triangles
    rej = r.rejects.set_index("line")
    assert rej.loc[3, "column"] == "geometry"
    assert rej.loc[4, "column"] == "lsoa_code" and "already read (feature 1" in rej.loc[4, "reason"]
    assert rej.loc[5, "reason"] == "required value is blank"
    assert rej.loc[6, "value"] == "Point"
    assert r.loads.loc[0, "data_lines"] == 6 and reconciles(r)
