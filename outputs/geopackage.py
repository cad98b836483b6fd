"""sna.gpkg: LSOA, ward and district layers for QGIS (EPSG:27700) with the period's headline rates,
intervals, hotspot bins and suppression markers, plus the hotspot grid when it was built."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from outputs import maps
from outputs.findings import HEADLINE, hotspot_rows
from outputs.tables import atomic_path

if TYPE_CHECKING:
    from outputs.publish import Publication

LAYERS = ("lsoa", "ward", "district")
RATE_COLUMNS = [
    "area_code",
    "area_name",
    "period",
    "months",
    "measure",
    "source",
    "count",
    "population",
    "rate_per_1000",
    "ci_lower",
    "ci_upper",
    "vs_county",
    "suppressed",
]
HOTSPOT_COLUMNS = ["gi_z", "gi_p", "gi_q", "gi_bin", "lisa_quadrant"]


def area_layer(pub: Publication, level: str, period: str) -> gpd.GeoDataFrame:
    """One level's areas with the period's headline rates, hotspot bins and markers."""
    lsoas = maps.in_bng(pub.pack.lsoas)
    if level == "lsoa":
        shapes = lsoas[["lsoa_code", "ward_code", "ward_name", "district_code", "district_name",
                        "geometry"]].rename(columns={"lsoa_code": "area_code"})  # fmt: skip
        shapes["geometry"] = shapes.geometry.make_valid()
    else:
        shapes = maps.dissolve_areas(lsoas, level).rename(columns={f"{level}_code": "area_code"})
        shapes = shapes.drop(columns=[f"{level}_name"], errors="ignore")
        if shapes.empty:  # no lookup placed the LSOAs in wards or districts
            return gpd.GeoDataFrame(shapes, geometry="geometry", crs=maps.BNG)
    rates = pub.pack.rates
    rows = rates[
        (rates["area_level"] == level)
        & (rates["period"] == period)
        & (rates["measure"] == HEADLINE)
    ]
    cols = [c for c in RATE_COLUMNS if c in rows.columns]
    layer = shapes.merge(rows[cols], on="area_code", how="left")
    hot = pub.tables.get("hotspots")
    if hot is not None and len(hot):
        h = hotspot_rows(hot, period=period, level=level)
        keep = [c for c in HOTSPOT_COLUMNS if c in h.columns]
        layer = layer.merge(h[["area_code", *keep]], on="area_code", how="left")
        if "gi_bin" in layer:
            labels = {b: label for b, (label, _) in maps.HOTSPOT_BINS.items()}
            layer["hotspot"] = pd.to_numeric(layer["gi_bin"], errors="coerce").map(labels)
    layer["suppressed"] = layer.get("suppressed", pd.Series(False, index=layer.index)).fillna(False)
    layer["suppressed"] = layer["suppressed"].astype(bool)
    layer["audience"] = pub.audience.name
    layer["definition_id"] = pub.pack.definition.id
    if pub.pack.run_id:
        layer["run_id"] = pub.pack.run_id
    layer["period_text"] = pub.pack.infos[period].text if period in pub.pack.infos else period
    layer["geometry"] = [
        g
        if g is None or g.geom_type == "MultiPolygon"
        else shapely.MultiPolygon([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
        for g in layer.geometry
    ]  # one geometry type per layer, as QGIS expects
    return gpd.GeoDataFrame(layer, geometry="geometry", crs=maps.BNG)


def _period_rows(pub: Publication, name: str, period: str) -> pd.DataFrame | None:
    """The period's rows of a published table (every row when it has no period), read a part at a
    time: a country's grid is 2.9M cells, a third of them the period's."""
    if name not in pub.tables:
        return None
    parts = list(
        pub.tables.parts(
            name, lambda p: p[p["period"].astype(str) == period] if "period" in p else p
        )
    )
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def write_geopackage(pub: Publication, period: str, path: str | Path) -> Path:
    """Write the GeoPackage atomically: one layer per area level (and the grid when built)."""
    path = Path(path)
    layers = {level: area_layer(pub, level, period) for level in LAYERS}
    grid = _period_rows(pub, "hotspot_grid", period)
    if grid is not None and len(grid) and "geometry" in grid:
        geometry = gpd.GeoSeries.from_wkb(grid["geometry"].map(bytes), crs=maps.BNG)
        layers["hotspot_grid"] = gpd.GeoDataFrame(
            grid.drop(columns="geometry").assign(
                audience=pub.audience.name, run_id=pub.pack.run_id
            ),
            geometry=geometry,
        )
    with atomic_path(path, suffix=".gpkg") as tmp:
        os.unlink(tmp)  # GDAL creates the file itself
        for name, layer in layers.items():
            if layer.empty:
                continue
            pyogrio.write_dataframe(
                layer,
                tmp,
                layer=name,
                driver="GPKG",
                layer_options={
                    "DESCRIPTION": f"{name} layer, {period}; for: {pub.audience.marking}; "
                    f"definition {pub.pack.definition.id}; run {pub.pack.run_id or 'not recorded'}"
                },
            )
    return path
