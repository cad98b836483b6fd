"""The study area: the LSOAs in the boundary file, placed in their ward, district and county."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

LSOA_COLUMNS = [
    "lsoa_code",
    "lsoa_name",
    "lsoa_vintage",
    "ward_code",
    "ward_name",
    "district_code",
    "district_name",
    "county_code",
    "county_name",
    "area_km2",
    "geometry",
]
LOOKUP_COLUMNS = ["lsoa_code", "ward_code", "ward_name", "district_code", "district_name"]


def study_area(
    boundaries: gpd.GeoDataFrame,
    lookup: pd.DataFrame | None,
    county_code: str,
    county_name: str,
) -> gpd.GeoDataFrame:
    """One row per LSOA in the boundaries, with its ward and district from the lookup.

    The boundary file defines the area: a national lookup is fine, only its matching rows are
    used. LSOAs the lookup does not place keep empty ward and district codes so the gap is
    visible (`unplaced_lsoas`) rather than the LSOA disappearing.
    """
    areas = boundaries.drop(columns=[c for c in ("_file", "_line", "_load_id") if c in boundaries])
    if lookup is not None and len(lookup):
        placed = lookup[LOOKUP_COLUMNS].drop_duplicates("lsoa_code")
        areas = areas.merge(placed, on="lsoa_code", how="left")
    else:
        for column in LOOKUP_COLUMNS[1:]:
            areas[column] = pd.Series(pd.NA, index=areas.index, dtype="str")
    areas["county_code"] = county_code
    areas["county_name"] = county_name
    return gpd.GeoDataFrame(areas[LSOA_COLUMNS], geometry="geometry", crs=boundaries.crs)


def unplaced_lsoas(areas: pd.DataFrame) -> list[str]:
    """LSOA codes the lookup did not place in a district (vintage mismatch, missing lookup)."""
    return sorted(areas.loc[areas["district_code"].isna(), "lsoa_code"])
