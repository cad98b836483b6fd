"""LSOA boundaries (GeoJSON incl. CRS84, GeoPackage, shapefile) as one GeoDataFrame in EPSG:27700."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from sources._csv import load_spec, match_headers, sha256_file, type_frame
from sources._result import (
    InputFormatError,
    ReadResult,
    concat_results,
    make_loads,
    make_rejects,
    reject_rows,
)
from sources.lookups import vintage

SOURCE = "lsoa_boundaries"
CRS = "EPSG:27700"  # British National Grid: metres, for areas and distances
COLUMNS = ["lsoa_code", "lsoa_name", "lsoa_vintage", "area_km2", "geometry", "_file", "_line"]


def read_lsoa_boundaries(paths: Iterable[str | Path] | str | Path) -> ReadResult:
    """Read and stack boundary files; a code seen twice (in any file) is rejected after its first."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    result = concat_results([_read_one(Path(p)) for p in paths])
    rows = result.rows
    if not isinstance(rows, gpd.GeoDataFrame):
        rows = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
        result = ReadResult(rows, result.rejects, result.loads, result.cell_issues)
    first = rows.groupby("lsoa_code")["_line"].transform("first").astype("str")
    first_file = rows.groupby("lsoa_code")["_file"].transform("first").map(lambda f: Path(f).name)
    reason = "lsoa_code already read (feature " + first + " of " + first_file + ")"
    return reject_rows(result, rows["lsoa_code"].duplicated(keep="first"), "lsoa_code", reason)


def _pick_layer(path: Path) -> str:
    """The only layer, else the first whose fields include an LSOA code."""
    layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    if len(layers) == 1:
        return layers[0]
    spec = load_spec(SOURCE)
    for layer in layers:
        fields = list(pyogrio.read_info(path, layer=layer)["fields"])
        try:
            match_headers(fields, spec, path)
            return layer
        except InputFormatError:
            continue
    raise InputFormatError(path, ["a layer with an LSOA code field (e.g. LSOA21CD)"], layers)


def _polygonal(geom):
    """Repair an invalid geometry and keep its polygon parts (None when nothing is left)."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else None


def _read_one(path: Path) -> ReadResult:
    path = path.resolve()
    file = str(path)
    spec = load_spec(SOURCE)
    layer = _pick_layer(path)
    n = int(pyogrio.read_info(path, layer=layer, force_feature_count=True)["features"])
    gdf = pyogrio.read_dataframe(path, layer=layer)
    if n != len(gdf):
        raise InputFormatError(path, problem=f"{n} features counted but {len(gdf)} read")
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    found, _ = match_headers(fields, spec, path)
    if gdf.crs is None:
        raise InputFormatError(
            path, problem="no coordinate reference system (is the .prj missing?)", found=fields
        )

    raw = pd.DataFrame(
        {
            name: gdf[fields[i]].astype("str").where(gdf[fields[i]].notna(), "")
            for name, i in found.items()
        }
    )
    raw["_line"] = np.arange(1, len(gdf) + 1, dtype="int64")  # feature number in the layer
    typed, rejects, cells = type_frame(raw, spec, file)
    position = typed["_line"].to_numpy() - 1
    geoms = gdf.geometry.to_crs(CRS).to_numpy()[position]
    fixed = np.array([_polygonal(g) for g in geoms], dtype=object)
    no_geom = np.array([g is None for g in fixed], dtype=bool)
    if no_geom.any():
        kinds = ["" if g is None else g.geom_type for g in geoms[no_geom]]
        bad_geom = make_rejects(
            SOURCE,
            file,
            typed["_line"][no_geom],
            "geometry",
            kinds,
            "missing, empty or not a polygon",
        )
        rejects = pd.concat([rejects, bad_geom], ignore_index=True)
    keep = ~no_geom
    geometry = gpd.GeoSeries(fixed[keep], crs=CRS)
    rows = gpd.GeoDataFrame(
        {
            "lsoa_code": typed["lsoa_code"][keep].to_numpy(),
            "lsoa_name": typed["lsoa_name"][keep].to_numpy(),
            "lsoa_vintage": vintage(fields[found["lsoa_code"]].upper()),
            "area_km2": geometry.area.to_numpy() / 1e6,
        },
        geometry=geometry,
        crs=CRS,
    )
    rows = rows.astype({"lsoa_code": "str", "lsoa_name": "str", "lsoa_vintage": "str"})
    rows["_file"] = pd.array([file] * len(rows), dtype="str")
    rows["_line"] = typed["_line"][keep].to_numpy(dtype="int64")
    rows = rows[COLUMNS]
    load = {
        "source": SOURCE,
        "file": file,
        "sha256": sha256_file(path),
        "encoding": "",
        "reader": "pyogrio",
        "physical_lines": None,  # not a text file: features are counted by GDAL instead
        "data_lines": n,
        "rows_loaded": len(rows),
        "rows_rejected": int(rejects["line"].nunique()) if len(rejects) else 0,
        "duplicate_of": None,
    }
    return ReadResult(rows, rejects, make_loads([load]), cells)
