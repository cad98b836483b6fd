"""Geographies for the scaled synthetic data (helper of `sources.demo_scale`).

Two kinds, both returned as one `Areas` record (arrays aligned, one row per LSOA, in code order):

- `synthetic_areas(n, rng)`: n Voronoi LSOAs in a rectangle of England-like density (about
  4.2 km2 per LSOA, so 35,672 LSOAs cover ~150,000 km2), with cities and towns where generator
  points crowd together (small, dense LSOAs) and a jittered grid elsewhere; nested forces,
  districts and wards by recursive bisection (equal LSOA counts, compact), clearly synthetic codes
  (LSOA E019xxxxx, ward E059xxxxx, district E079xxxxx) and invented place names.
- `england_wales_areas(folder, limit)`: the real ONS LSOA 2021 polygons, the ONS LSOA -> ward ->
  district lookup and the Census 2021 population from `../shared/data/lsoa21/` (never copied into
  the repository); `limit` keeps whole districts in code order until that many LSOAs are in.
  Forces are synthetic: districts grouped by k-means on their centroids (~830 LSOAs a force, so
  43 forces for England and Wales), because no district -> police force lookup is at hand.

Coordinates are British National Grid metres (EPSG:27700).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely
from scipy.cluster.vq import kmeans2
from shapely.geometry import box

from sources import demo_geo as dg
from sources.demo import WARD_STEMS, WARD_SUFFIXES

KM2_PER_LSOA = 4.2  # England and Wales: ~151,000 km2 over 35,672 LSOAs
LSOAS_PER_FORCE = 830  # 35,672 LSOAs over 43 forces
LSOAS_PER_DISTRICT = 112  # over 318 districts (2024)
LSOAS_PER_WARD = 4.7  # over 7,536 wards (2024)
MAX_SYNTHETIC_LSOAS = 99_999  # codes E019xxxxx have five digits
# Census 2021 age bands (as in the shared file) and the female share of each, England and Wales
# (the Census file has no sex split; this one is synthetic and said to be so).
AGE_BANDS = ((0, 15), (16, 24), (25, 34), (35, 49), (50, 64), (65, None))
CENSUS_BAND_COLUMNS = (
    "age_0_15",
    "age_16_24",
    "age_25_34",
    "age_35_49",
    "age_50_64",
    "age_65_plus",
)
BAND_SHARES = np.array([0.186, 0.107, 0.136, 0.192, 0.193, 0.186])  # E&W Census 2021
FEMALE_SHARE = np.array([0.488, 0.492, 0.505, 0.508, 0.507, 0.545])

EW_BOUNDARIES = Path("boundaries/LSOA21_EW_BSC_V4.geojson")
EW_LOOKUP = Path("lookups/LSOA21_WD24_LAD24_EW_LU.csv")
EW_POPULATION = Path("population/census2021_lsoa21_usual_residents_age6_EW.csv")


class GeographyMissingError(FileNotFoundError):
    """A real-geography file is not where it should be; the message names it."""


@dataclass(frozen=True)
class Areas:
    """One row per LSOA (arrays aligned, in LSOA code order) plus the forces."""

    lsoa_code: np.ndarray
    lsoa_name: np.ndarray
    ward_code: np.ndarray
    ward_name: np.ndarray
    district_code: np.ndarray
    district_name: np.ndarray
    force: np.ndarray  # index into force_names
    force_names: tuple[str, ...]
    cells: np.ndarray  # shapely polygons, EPSG:27700
    anchor: np.ndarray  # (n, 2) a point inside each cell (its centre for hotspots)
    area_km2: np.ndarray
    bands: np.ndarray | None  # (n, 6) Census persons by AGE_BANDS, None when synthetic
    source_files: dict[str, Path]  # real files the areas came from (empty when synthetic)

    def __len__(self) -> int:
        return len(self.lsoa_code)

    def frame(self) -> pd.DataFrame:
        """Codes and names per LSOA, the columns of the ONS lookup."""
        return pd.DataFrame(
            {
                "lsoa_code": self.lsoa_code,
                "lsoa_name": self.lsoa_name,
                "ward_code": self.ward_code,
                "ward_name": self.ward_name,
                "district_code": self.district_code,
                "district_name": self.district_name,
            }
        )


def bisect(points: np.ndarray, parts: np.ndarray | int) -> np.ndarray:
    """Label points 0..parts-1 by recursive median cuts along the longer side (compact groups).

    Each group gets about len(points) / parts points; labels run along the cut order, so
    neighbouring labels are neighbouring places.
    """
    labels = np.zeros(len(points), dtype=np.int64)
    stack = [(np.arange(len(points)), int(parts), 0)]
    while stack:
        idx, k, first = stack.pop()
        if k <= 1 or len(idx) <= 1:
            labels[idx] = first
            continue
        p = points[idx]
        axis = int(np.ptp(p[:, 0]) < np.ptp(p[:, 1]))
        order = idx[np.argsort(p[:, axis], kind="stable")]
        k_low = k // 2
        cut = round(len(idx) * k_low / k)
        stack.append((order[:cut], k_low, first))
        stack.append((order[cut:], k - k_low, first + k_low))
    return labels


def _place_names(rng: np.random.Generator, n: int) -> list[str]:
    """n invented place names (unique; numbered when the stems run out)."""
    pool = [a + b for a in WARD_STEMS for b in WARD_SUFFIXES]
    picks = rng.permutation(len(pool))
    return [
        pool[picks[i % len(pool)]] + ("" if i < len(pool) else f" {i // len(pool) + 1}")
        for i in range(n)
    ]


def _hierarchy(points: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Nested force, district and ward labels (global, 0-based) by recursive bisection."""
    n = len(points)
    n_forces = max(1, round(n / LSOAS_PER_FORCE))
    force = bisect(points, n_forces)
    district = np.zeros(n, dtype=np.int64)
    ward = np.zeros(n, dtype=np.int64)
    next_d = next_w = 0
    for f in range(n_forces):
        fi = np.nonzero(force == f)[0]
        k_d = max(1, round(len(fi) / LSOAS_PER_DISTRICT))
        d_lab = bisect(points[fi], k_d)
        for d in range(k_d):
            di = fi[d_lab == d]
            k_w = max(1, round(len(di) / LSOAS_PER_WARD))
            ward[di] = bisect(points[di], k_w) + next_w
            district[di] = next_d
            next_d += 1
            next_w += k_w
    return {"force": force, "district": district, "ward": ward}


def synthetic_points(n: int, rng: np.random.Generator) -> tuple[np.ndarray, shapely.Polygon]:
    """Generator points for n LSOAs: ~45% in cities and towns, the rest on a jittered grid.

    The rectangle (3:5, west to east : south to north) starts at E 150 km, N 100 km, so
    eastings stay inside the grid's 0-700 km for every allowed size.
    """
    area = n * KM2_PER_LSOA * 1e6
    width = np.sqrt(area * 0.6)
    height = width / 0.6
    x0, y0 = 150_000.0, 100_000.0
    outline = box(x0, y0, x0 + width, y0 + height)
    n_cities = max(1, round(n / 4_000))
    n_towns = max(1, round(n / 600))
    n_city = round(0.27 * n)
    n_town = round(0.18 * n)
    n_rural = n - n_city - n_town
    lo, hi = np.array([x0 + 50, y0 + 50]), np.array([x0 + width - 50, y0 + height - 50])
    pts = []
    for count, k, lsoa_km2 in ((n_city, n_cities, 0.5), (n_town, n_towns, 0.9)):
        sizes = rng.multinomial(count, rng.dirichlet(np.full(k, 2.0)))
        cx = rng.uniform(x0 + 0.2 * width, x0 + 0.8 * width, k)
        cy = rng.uniform(y0 + 0.2 * height, y0 + 0.8 * height, k)
        for s, x, y in zip(sizes, cx, cy, strict=True):
            sd = np.sqrt(max(s, 1) * lsoa_km2 * 1e6 / np.pi) / 1.6
            town = rng.normal((x, y), sd, (s, 2))
            for _ in range(20):  # redraw what falls off the map rather than pile it on the edge
                off = ((town < lo) | (town > hi)).any(axis=1)
                if not off.any():
                    break
                town[off] = rng.normal((x, y), sd, (int(off.sum()), 2))
            pts.append(town)
    spacing = np.sqrt(width * height / n_rural)
    xs = np.arange(x0 + spacing / 2, x0 + width, spacing)
    ys = np.arange(y0 + spacing / 2, y0 + height, spacing)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    grid = grid[rng.choice(len(grid), size=min(n_rural, len(grid)), replace=False)]
    grid += rng.uniform(-0.35, 0.35, grid.shape) * spacing
    pts.append(grid)
    points = np.vstack(pts)
    missing = n - len(points)  # the grid can fall a few short: top up uniformly
    if missing > 0:
        extra = np.column_stack(
            [rng.uniform(x0, x0 + width, missing), rng.uniform(y0, y0 + height, missing)]
        )
        points = np.vstack([points, extra])
    return np.clip(points, lo, hi), outline


def synthetic_areas(n: int, rng: np.random.Generator) -> Areas:
    """n synthetic LSOAs with forces, districts and wards (see the module docstring)."""
    if not 30 <= n <= MAX_SYNTHETIC_LSOAS:
        raise ValueError(
            f"a synthetic geography needs 30 to {MAX_SYNTHETIC_LSOAS:,} LSOAs, got {n}"
        )
    points, outline = synthetic_points(n, rng)
    cells = dg.voronoi_cells(points, outline)
    anchor = np.column_stack([points[:, 0], points[:, 1]])
    outside = ~shapely.contains_xy(cells, anchor[:, 0], anchor[:, 1])
    if outside.any():  # a clipped generator point: use a point guaranteed inside
        anchor[outside] = shapely.get_coordinates(shapely.point_on_surface(cells[outside]))
    h = _hierarchy(anchor, rng)
    # code order: force, district, ward, then north to south
    order = np.lexsort((-anchor[:, 1], h["ward"], h["district"], h["force"]))
    cells, anchor = cells[order], anchor[order]
    force, district, ward = h["force"][order], h["district"][order], h["ward"][order]
    n_d, n_w = int(district.max()) + 1, int(ward.max()) + 1
    district_names = np.array(_place_names(rng, n_d), dtype=object)
    ward_names = np.array(_place_names(rng, n_w), dtype=object)
    first_in_district = np.r_[0, np.nonzero(np.diff(district))[0] + 1]
    k = np.arange(n) - np.repeat(first_in_district, np.diff(np.r_[first_in_district, n]))
    lsoa_name = [
        f"{district_names[d]} {kk // 4 + 1:03d}{'ABCD'[kk % 4]}"
        for d, kk in zip(district, k, strict=True)
    ]
    return Areas(
        lsoa_code=np.array([f"E019{i + 1:05d}" for i in range(n)], dtype=object),
        lsoa_name=np.array(lsoa_name, dtype=object),
        ward_code=np.array([f"E059{w + 1:05d}" for w in ward], dtype=object),
        ward_name=ward_names[ward],
        district_code=np.array([f"E079{d + 1:05d}" for d in district], dtype=object),
        district_name=district_names[district],
        force=force,
        force_names=tuple(f"Synthetic Force {f + 1:02d}" for f in range(int(force.max()) + 1)),
        cells=cells,
        anchor=anchor,
        area_km2=shapely.area(cells) / 1e6,
        bands=None,
        source_files={},
    )


def england_wales_files(folder: Path) -> dict[str, Path]:
    """The three real files the England and Wales geography needs; raise naming any missing."""
    files = {
        "boundaries": folder / EW_BOUNDARIES,
        "lookup": folder / EW_LOOKUP,
        "population": folder / EW_POPULATION,
    }
    missing = [p for p in files.values() if not p.is_file()]
    if missing:
        listed = "; ".join(str(p) for p in missing)
        raise GeographyMissingError(
            f"--geography england-wales needs the real LSOA 2021 files from ../shared/data/lsoa21,"
            f" and this one is missing: {listed}. Use --geography synthetic (the default) for a"
            " synthetic geography of any size."
        )
    return files


def england_wales_areas(folder: Path, rng: np.random.Generator, limit: int | None = None) -> Areas:
    """The real LSOA 2021 geography of England and Wales (or its first districts, in code order)."""
    files = england_wales_files(folder)
    lookup = pd.read_csv(files["lookup"], dtype=str, encoding="utf-8-sig", keep_default_na=False)
    lookup = lookup.sort_values(["LAD24CD", "LSOA21CD"], kind="stable").reset_index(drop=True)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of LSOAs, got {limit}")
        per_lad = lookup.groupby("LAD24CD", sort=True).size()
        keep = per_lad.index[: int(np.searchsorted(per_lad.cumsum().to_numpy(), limit)) + 1]
        lookup = lookup[lookup["LAD24CD"].isin(keep)].reset_index(drop=True)
    codes = lookup["LSOA21CD"].to_numpy(dtype=object)
    gdf = pyogrio.read_dataframe(files["boundaries"], columns=["LSOA21CD"])
    gdf = gdf.set_index("LSOA21CD").reindex(codes)
    if gdf.geometry.isna().any():
        absent = list(gdf.index[gdf.geometry.isna()][:5])
        raise ValueError(f"{files['boundaries']}: no polygon for LSOAs {absent} of the lookup")
    cells = gdf.geometry.to_crs("EPSG:27700").to_numpy()
    census = pd.read_csv(files["population"], dtype={"LSOA21CD": str}).set_index("LSOA21CD")
    bands = census.reindex(codes)[list(CENSUS_BAND_COLUMNS)]
    if bands.isna().any().any():
        raise ValueError(f"{files['population']}: no Census population for some LSOAs")
    anchor = shapely.get_coordinates(shapely.point_on_surface(cells))
    district_codes, district = np.unique(lookup["LAD24CD"].to_numpy(), return_inverse=True)
    force = _forces_from_districts(anchor, district, rng)
    return Areas(
        lsoa_code=codes,
        lsoa_name=lookup["LSOA21NM"].to_numpy(dtype=object),
        ward_code=lookup["WD24CD"].to_numpy(dtype=object),
        ward_name=lookup["WD24NM"].to_numpy(dtype=object),
        district_code=lookup["LAD24CD"].to_numpy(dtype=object),
        district_name=lookup["LAD24NM"].to_numpy(dtype=object),
        force=force,
        force_names=tuple(f"Synthetic Force {f + 1:02d}" for f in range(int(force.max()) + 1)),
        cells=cells,
        anchor=anchor,
        area_km2=shapely.area(cells) / 1e6,
        bands=bands.to_numpy(dtype=np.int64),
        source_files=files,
    )


def _forces_from_districts(
    anchor: np.ndarray, district: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Force index per LSOA: k-means of district centroids, numbered west to east."""
    n_d = int(district.max()) + 1
    k = min(n_d, max(1, round(len(anchor) / LSOAS_PER_FORCE)))
    centres = np.column_stack(
        [np.bincount(district, weights=anchor[:, i]) / np.bincount(district) for i in (0, 1)]
    )
    if k == 1:
        return np.zeros(len(anchor), dtype=np.int64)
    _, lab = kmeans2(centres, k, minit="++", seed=rng)
    _, lab = np.unique(lab, return_inverse=True)  # drop empty clusters
    west_to_east = np.argsort(
        np.argsort([centres[lab == g, 0].mean() for g in range(lab.max() + 1)])
    )
    return west_to_east[lab][district]
