"""Synthetic SNA inputs at any size, up to England and Wales: the benchmark's data.

`write_scaled_demo(out_dir, n_lsoas=..., crimes_per_year=..., years=..., geography=...)` writes the
same real formats as the demo county (`sources.demo`), the way national data arrives:

- data.police.uk street files, one per synthetic force per month
  (`police_uk/YYYY-MM/YYYY-MM-force-NN-street.csv`, CRLF, as published);
- force crime extracts, one per force per financial year (`police/force-NN_crimes_YYYY-YY.csv`);
- LSOA boundaries, the ONS LSOA -> ward -> district lookup, a population file by LSOA, sex and
  Census 2021 age band, and an IoD-style deprivation file (scores, ranks, deciles);
- `planted_structure.json` (the truth tests check against) and `settings.yaml` (absolute paths,
  so `sna run --settings DIR/settings.yaml` works from any folder).

Geography (`sources.demo_scale_geo`): `synthetic` builds n Voronoi LSOAs; `england-wales` uses the
real LSOA 2021 polygons, lookup and Census 2021 population in `../shared/data/lsoa21/` (the
settings point at those files; nothing is copied unless a limit asks for a subset).

Crimes come from the demo county's generator (`sources.demo_crime.generate_crimes`: streams per
police.uk crime type with a deprivation gradient, urban factors, season and trend; codes, times,
places, flags and victims; suspect ages from `demo_crime.suspect_ages` on a seventh seed stream),
run in chunks of whole months so memory stays bounded (~1.5M crimes a chunk) and written chunk by
chunk with pyarrow. The planted structure scales with the area:
- urban classes from residential density (rural < 1,500 a km2, city >= 4,000); in each district
  the LSOAs nearest its densest one are its centre, and 1 (town) or 4 (city: 8+ city LSOAs)
  of them are night-time economy hotspots (extra Friday/Saturday night violence);
- deprivation: a latent from density, smooth regional variation, a district effect and noise;
  the IoD-style file is derived from it, and crime intensity rises as exp(beta * latent);
- high domestic abuse: the 4% most deprived residential urban LSOAs;
- county lines: in each force, the most deprived urban LSOAs (up to 8) of its most deprived
  district other than the most populous one.
Quirks, as real files have them: ~0.1% unknown offence codes, five malformed extract rows (file,
line, column and value recorded), ~0.5% extract rows with no location, ~2% police.uk rows with
"No Location", ~1% of a force's police.uk crimes geocoded into another force's LSOA, and ~12% of
police.uk rows anti-social behaviour.

Everything is drawn from `numpy.random.SeedSequence(seed)`: the same arguments give the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import shapely
import yaml
from pyproj import Transformer

from sources import demo_crime as dc
from sources import demo_geo as dg
from sources import demo_scale_geo as sg
from sources.demo import (
    DECILE_SUFFIX,
    DEPRIVATION_COLUMNS,
    DEPRIVATION_DOMAINS,
    FORCE_COLUMNS,
    LOOKUP_COLUMNS,
    MAP_POIS,
    OFFENCE_CODES_PATH,
    POLICE_UK_COLUMNS,
    RANK_SUFFIX,
    REPO_ROOT,
    STREET_TYPES,
    STREET_WORDS,
    domain_scores,
)

SHARED_LSOA21 = REPO_ROOT.parent / "shared" / "data" / "lsoa21"
DEFINITION = REPO_ROOT / "config" / "definitions" / "norfolk-2024.yaml"
GEOGRAPHIES = ("synthetic", "england-wales")
DEFAULT_START = "2021-04-01"  # whole financial years from April 2021 (LSOA 2021 codes)
CRIMES_PER_LSOA = 168  # a year: ~6M for England and Wales, as police.uk publishes
SYNTHETIC_POPULATION_YEAR = 2022
CHUNK_ROWS = 1_600_000  # most crimes generated at once (whole months)
POOL_POINTS = 48  # address points per LSOA that crimes happen at
HOT_POINTS = 12  # of which the first are clustered round a hotspot's centre
MAP_POINTS = 12  # police.uk anonymous map points per LSOA
NO_LOCATION_SHARE = 0.02
UNLOCATED_SHARE = 0.005
OUTSIDE_FORCE_SHARE = 0.01
ASB_SHARE = 0.12
CITY_DENSITY, URBAN_DENSITY = 4_000, 1_500  # residents per km2
EXTRACT_GLOB = "police/force-*_crimes_*.csv"
POLICE_UK_GLOB = "police_uk/*/*-force-*-street.csv"
HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
FLAG_COLUMNS = {  # force extract column: flag column of `demo_crime.generate_crimes`
    "Domestic Abuse Flag": "domestic_abuse",
    "Hate Crime Flag": "hate",
    "Knife Flag": "knife",
    "Firearm Flag": "firearm",
    "County Lines Flag": "county_lines",
    "Alcohol Related": "alcohol",
    "Drugs Related": "drugs",
}


@dataclass(frozen=True)
class ScaledManifest:
    """What `write_scaled_demo` wrote: paths (absolute) and headline counts."""

    out_dir: Path
    seed: int
    geography: str
    settings: Path
    boundaries: Path
    lookup: Path
    population: Path
    deprivation: Path
    police_extracts: tuple[Path, ...]
    police_uk: tuple[Path, ...]
    planted_structure: Path
    n_lsoas: int
    n_wards: int
    n_districts: int
    n_forces: int
    population_total: int
    n_crimes: int
    n_police_uk_rows: int
    n_asb: int
    n_unknown_code_rows: int
    n_malformed_rows: int
    n_unlocated: int
    n_outside_force: int

    def summary(self) -> str:
        """One plain sentence of what was written, for the CLI and the benchmark."""
        return (
            f"{self.n_lsoas:,} LSOAs ({self.geography}) in {self.n_wards:,} wards,"
            f" {self.n_districts:,} districts and {self.n_forces} forces,"
            f" {self.population_total:,} residents; {self.n_crimes:,} police crimes in"
            f" {len(self.police_extracts):,} extract files, {self.n_police_uk_rows:,} police.uk"
            f" rows in {len(self.police_uk):,} monthly files ({self.n_malformed_rows} rows"
            f" deliberately malformed, {self.n_unknown_code_rows:,} with unknown offence codes,"
            f" {self.n_unlocated:,} extract rows with no location); settings in {self.settings}"
        )

    @property
    def csv_paths(self) -> tuple[Path, ...]:
        """Every CSV input the settings name (for all of England and Wales the lookup is the
        shared ONS file itself)."""
        return (
            self.lookup,
            self.population,
            self.deprivation,
            *self.police_extracts,
            *self.police_uk,
        )


# ----------------------------------------------------------------------------- CSV writing


def _field(text: str) -> str:
    """One CSV field, quoted only when it must be (as Excel and data.police.uk write them)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _text(values: np.ndarray | pd.Series) -> pa.Array:
    """Strings for a CSV column from any array of labels (None and NaN become empty fields)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    table = pa.array([_field(str(u)) for u in uniques], type=pa.string())
    return table.take(pa.array(codes, mask=codes < 0))


def _numbers(values: np.ndarray, blank: np.ndarray | None = None) -> pa.Array:
    """Whole numbers as CSV text, empty where `blank`."""
    return pa.array(np.asarray(values, dtype=np.int64), mask=blank).cast(pa.string())


def _lines(columns: list[pa.Array], eol: str) -> pa.Array:
    """One CSV line (with its line ending) per row, built in pyarrow."""
    joined = pc.binary_join_element_wise(
        *columns, ",", null_handling="replace", null_replacement=""
    )
    return pc.binary_join_element_wise(joined, "", eol)


def _group_bounds(key: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each run of equal values in a sorted key."""
    if not len(key):
        return []
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    return list(zip(starts.tolist(), np.r_[starts[1:], len(key)].tolist(), strict=True))


class _Files:
    """CSV files written chunk by chunk: the header once, then lines appended; rows counted."""

    def __init__(self, header: list[str], eol: str) -> None:
        self.header = (",".join(header) + eol).encode()
        self.eol = eol
        self.rows: dict[Path, int] = {}

    def write(self, path: Path, lines: pa.Array, start: int, stop: int) -> None:
        """Append lines[start:stop] (a pyarrow string array from `_lines`) to path."""
        assert lines.type == pa.string(), "32-bit offsets expected: keep chunks under 2 GB of text"
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset :]
        data = lines.buffers()[2]
        new = path not in self.rows
        if new:
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb" if new else "ab") as handle:
            if new:
                handle.write(self.header)
            handle.write(memoryview(data)[offsets[start] : offsets[stop]])
        self.rows[path] = self.rows.get(path, 0) + stop - start


def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """n random 64-character lower-case hex strings (data.police.uk Crime IDs look like sha256)."""
    raw = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    nibbles = np.empty((n, 64), dtype=np.uint8)
    nibbles[:, 0::2] = HEX[raw >> 4]
    nibbles[:, 1::2] = HEX[raw & 15]
    offsets = np.arange(n + 1, dtype=np.int32) * 64
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(nibbles.tobytes()))


# ----------------------------------------------------------------------------- people and places


def _population(areas: sg.Areas, rng: np.random.Generator) -> np.ndarray:
    """(n, 2, 6) persons by LSOA, sex (F, M) and Census age band.

    Real geography: the Census 2021 bands, split by sex with binomial draws at the England and
    Wales female share of each band (the Census file has no sex split). Synthetic: ~1,670 per
    LSOA, younger where dense, older where sparse.
    """
    if areas.bands is not None:
        bands = areas.bands
    else:
        n = len(areas)
        total = np.clip(np.round(rng.normal(1_670, 350, n)), 1_000, 3_500).astype(np.int64)
        ld = np.log(total / areas.area_km2)
        dz = (ld - ld.mean()) / ld.std()
        tilt = np.array([0.05, 0.35, 0.3, 0.0, -0.15, -0.35])
        shares = sg.BAND_SHARES * np.exp(dz[:, None] * tilt + rng.normal(0, 0.08, (n, 6)))
        bands = rng.multinomial(total, shares / shares.sum(axis=1, keepdims=True))
    female = rng.binomial(bands, sg.FEMALE_SHARE)
    return np.stack([female, bands - female], axis=1)


def _urban_and_hotspots(areas: sg.Areas, persons: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Urban class per LSOA (`demo_crime.CLASSES`) and the night-time economy hotspots.

    Density decides city / town / rural; in each district with urban LSOAs, the ones nearest its
    densest LSOA are its centre (2 x hotspots) and the nearest 4 (city district: 8+ city LSOAs)
    or 1 (town) are hotspots.
    """
    density = persons / areas.area_km2
    urban = np.where(
        density >= CITY_DENSITY, "city", np.where(density >= URBAN_DENSITY, "town", "rural")
    ).astype(object)
    nte: dict[int, str] = {}
    groups = pd.Series(np.arange(len(areas))).groupby(areas.district_code, sort=True).indices
    for members in groups.values():
        built = members[urban[members] != "rural"]
        if not len(built):
            continue
        city = int((urban[members] == "city").sum()) >= 8
        top = built[np.argmax(density[built])]
        d = np.hypot(*(areas.anchor[built] - areas.anchor[top]).T)
        near = built[np.argsort(d, kind="stable")]
        n_hot = 4 if city else 1
        urban[near[: 2 * n_hot]] = "city_centre" if city else "town_centre"
        for i in near[:n_hot]:
            nte[int(i)] = "city" if city else "town"
    return urban, nte


def _latent(
    areas: sg.Areas, persons: np.ndarray, urban: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Deprivation latent (mean 0, sd 1): density, regional variation, district effect, noise."""
    n = len(areas)
    ld = np.log(persons / areas.area_km2)
    z = 0.5 * (ld - ld.mean()) / ld.std()
    z += 0.4 * np.isin(urban, ["city_centre", "town_centre"])
    lo, hi = areas.anchor.min(axis=0), areas.anchor.max(axis=0)
    for _ in range(max(3, n // 300)):  # smooth regional variation
        c = rng.uniform(lo, hi)
        sd = rng.uniform(10_000, 40_000)
        d2 = ((areas.anchor - c) ** 2).sum(axis=1)
        z += rng.normal(0, 0.6) * np.exp(-d2 / (2 * sd**2))
    _, district = np.unique(areas.district_code, return_inverse=True)
    z += rng.normal(0, 0.3, district.max() + 1)[district]
    z += rng.normal(0, 0.45, n)
    return (z - z.mean()) / z.std()


def _deprivation(
    z: np.ndarray, urban: np.ndarray, rng: np.random.Generator
) -> dict[str, dict[str, np.ndarray]]:
    """Domain latents, scores, ranks (1 = most deprived of the LSOAs written) and deciles."""
    n = len(z)
    rural = urban == "rural"
    centre = np.isin(urban, ["city_centre", "town_centre"])

    def mix(rho: float) -> np.ndarray:
        return rho * z + np.sqrt(1 - rho**2) * rng.normal(0, 1, n)

    lat, score = domain_scores(
        {
            "income": mix(0.93),
            "employment": mix(0.9),
            "education": mix(0.8),
            "health": mix(0.8),
            "crime": mix(0.7) + 0.6 * centre,
            "barriers": 0.45 * mix(0.0) - 0.3 * z + 1.1 * rural - 0.6,
            "living_environment": mix(0.4) + 0.5 * ~rural,
        }
    )
    rank, decile = {}, {}
    for k in lat:
        order = np.lexsort((-lat[k], -score[k]))  # most deprived first
        rank[k] = np.empty(n, dtype=np.int64)
        rank[k][order] = np.arange(1, n + 1)
        decile[k] = 1 + (rank[k] - 1) * 10 // n
    return {"latent": lat, "score": score, "rank": rank, "decile": decile}


def _plant(
    areas: sg.Areas, urban: np.ndarray, latent: np.ndarray, nte: dict[int, str], persons: np.ndarray
) -> dict[str, np.ndarray]:
    """High domestic abuse LSOAs and county-lines LSOAs (sorted indices)."""
    n = len(areas)
    residential = np.isin(urban, ["city", "town"]) & ~np.isin(np.arange(n), list(nte))
    cand = np.nonzero(residential)[0]
    k_da = min(len(cand), max(3, round(0.04 * n)))
    high_da = np.sort(cand[np.argsort(-latent[cand], kind="stable")[:k_da]])
    county_lines = []
    for f in range(len(areas.force_names)):
        members = np.nonzero(areas.force == f)[0]
        frame = pd.DataFrame(
            {"d": areas.district_code[members], "p": persons[members], "z": latent[members]}
        )
        by_d = frame.groupby("d").agg(p=("p", "sum"), z=("z", "mean"))
        if len(by_d) > 1:
            by_d = by_d.drop(index=by_d["p"].idxmax())
        target = by_d["z"].idxmax()
        inside = members[(areas.district_code[members] == target) & residential[members]]
        k = min(8, max(2, len(inside) // 2), len(inside))
        county_lines += inside[np.argsort(-latent[inside], kind="stable")[:k]].tolist()
    return {"high_da": high_da, "county_lines": np.sort(np.array(county_lines, dtype=np.int64))}


@dataclass(frozen=True)
class _Points:
    """Where crimes happen (address points) and where police.uk shows them (map points)."""

    x: np.ndarray  # (n, POOL_POINTS) whole metres
    y: np.ndarray
    snap: np.ndarray  # (n, POOL_POINTS) index of the nearest map point of the same LSOA
    lon: pa.Array  # (n * MAP_POINTS) "%.6f" text
    lat: pa.Array
    location: pa.Array  # "On or near ..."


def _points(areas: sg.Areas, nte: dict[int, str], rng: np.random.Generator) -> _Points:
    n = len(areas)
    shapely.prepare(areas.cells)
    every = np.arange(n)
    px, py = dg.sample_in_cells(areas.cells, np.repeat(every, POOL_POINTS), rng)
    px, py = px.reshape(n, POOL_POINTS), py.reshape(n, POOL_POINTS)
    hot = np.array(sorted(nte), dtype=np.int64)
    if len(hot):
        centre = np.repeat(areas.anchor[hot], HOT_POINTS, axis=0)
        hx, hy = dg.sample_in_cells(
            areas.cells, np.repeat(hot, HOT_POINTS), rng, centre=centre, sd=120.0
        )
        px[hot, :HOT_POINTS] = hx.reshape(-1, HOT_POINTS)
        py[hot, :HOT_POINTS] = hy.reshape(-1, HOT_POINTS)
    mx, my = dg.sample_in_cells(areas.cells, np.repeat(every, MAP_POINTS), rng)
    mx, my = mx.reshape(n, MAP_POINTS), my.reshape(n, MAP_POINTS)
    names = np.array(
        [f"{w} {t}" for w in STREET_WORDS for t in STREET_TYPES] + MAP_POIS * 6, dtype=object
    )
    mp_name = names[rng.integers(len(names), size=(n, MAP_POINTS))]
    if len(hot):
        mx[hot, 0], my[hot, 0] = areas.anchor[hot, 0], areas.anchor[hot, 1]
        mp_name[hot, 0] = "Nightclub"
    snap = np.empty((n, POOL_POINTS), dtype=np.int64)
    for b in range(0, n, 4_000):
        s = slice(b, b + 4_000)
        d2 = (px[s, :, None] - mx[s, None, :]) ** 2 + (py[s, :, None] - my[s, None, :]) ** 2
        snap[s] = np.argmin(d2, axis=2)
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(mx.ravel(), my.ravel())
    return _Points(
        x=np.round(px),
        y=np.round(py),
        snap=snap,
        lon=pa.array(np.char.mod("%.6f", lon)),
        lat=pa.array(np.char.mod("%.6f", lat)),
        location=_text("On or near " + mp_name.ravel()),
    )


# ----------------------------------------------------------------------------- crimes, chunk by chunk


def _chunk_months(crimes_per_year: int) -> int:
    """Months generated at once: the most (dividing a year) that keep a chunk under CHUNK_ROWS."""
    for months in (12, 6, 4, 3, 2):
        if crimes_per_year * months / 12 <= CHUNK_ROWS:
            return months
    return 1


def _financial_year(date: np.ndarray) -> np.ndarray:
    """Start year of the financial year (April-March) of each date."""
    year = date.astype("datetime64[Y]").astype(np.int64) + 1970
    month = date.astype("datetime64[M]").astype(np.int64) % 12 + 1
    return np.where(month >= 4, year, year - 1)


def _day_text(first: np.datetime64, last: np.datetime64) -> pa.Array:
    """dd/mm/yyyy for every day from first to last (index = days since first)."""
    iso = np.datetime_as_string(np.arange(first, last + np.timedelta64(1, "D")))
    return pa.array([f"{s[8:10]}/{s[5:7]}/{s[:4]}" for s in iso])


@dataclass
class _Run:
    """What every chunk needs, and the counts it adds to."""

    out_dir: Path
    areas: sg.Areas
    points: _Points
    ref: pd.DataFrame
    persons: np.ndarray  # (n,) residents per LSOA
    urban: np.ndarray
    latent: np.ndarray
    nte: dict[int, str]
    planted: dict[str, np.ndarray]
    start: str
    months: int
    per_year: int
    scale: float
    rng_crime: np.random.Generator
    rng_points: np.random.Generator
    rng_uk: np.random.Generator
    rng_suspects: np.random.Generator
    extract: _Files = field(default_factory=lambda: _Files(FORCE_COLUMNS, "\n"))
    police_uk: _Files = field(default_factory=lambda: _Files(POLICE_UK_COLUMNS, "\r\n"))
    counts: dict[str, int] = field(default_factory=dict)
    by_year: dict[str, int] = field(default_factory=dict)
    malformed: list[dict[str, Any]] = field(default_factory=list)
    used: dict[str, Any] = field(default_factory=dict)

    def add(self, key: str, value: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + int(value)

    @property
    def slugs(self) -> list[str]:
        return [f"force-{f + 1:02d}" for f in range(len(self.areas.force_names))]


def _generate(run: _Run) -> None:
    """Every chunk of months: generate the crimes, then write extract and police.uk rows."""
    starts = dc.month_starts(run.start, run.months)
    step = _chunk_months(run.per_year)
    days = _day_text(starts[0], starts[-1])
    unknown_pool = [(k, v) for k, v in dc.UNKNOWN_CODES if k not in set(run.ref["ho_code"])]
    for m0 in range(0, run.months, step):
        chunk = min(step, run.months - m0)
        crimes, used = dc.generate_crimes(
            run.rng_crime,
            run.ref,
            run.persons.astype(float),
            run.latent,
            run.urban,
            run.nte,
            run.planted["high_da"],
            run.planted["county_lines"],
            str(starts[m0]),
            chunk,
            scale=run.scale,
            months_before=m0,
            recorded_until=starts[-1],
        )
        run.used = run.used or used
        _write_chunk(run, crimes, m0, chunk, starts, days, unknown_pool)


def _write_chunk(
    run: _Run,
    crimes: pd.DataFrame,
    m0: int,
    chunk: int,
    starts: np.ndarray,
    days: pa.Array,
    unknown_pool: list[tuple[str, str]],
) -> None:
    areas, pts = run.areas, run.points
    date = crimes["date"].to_numpy().astype("datetime64[D]")
    fy = _financial_year(date)
    lsoa = crimes["lsoa"].to_numpy()
    force = areas.force[lsoa]
    order = np.lexsort((crimes["minute"].to_numpy(), date, fy, force))
    c = crimes.iloc[order].reset_index(drop=True)
    lsoa, force, fy, date = lsoa[order], force[order], fy[order], date[order]
    n = len(c)
    rng = run.rng_uk
    nte = (c["stream"] == "nte").to_numpy()
    j = np.where(
        nte,
        run.rng_points.integers(0, HOT_POINTS, n),
        run.rng_points.integers(HOT_POINTS, POOL_POINTS, n),
    )
    x, y = pts.x[lsoa, j].astype(np.int64), pts.y[lsoa, j].astype(np.int64)

    # force extract: one file per force and financial year, numbered in offence date order
    bounds = _group_bounds(force * 10_000 + fy)
    paths, prefixes = [], []
    group = np.empty(n, dtype=np.int64)
    seq = np.empty(n, dtype=np.int64)
    for g, (a, b) in enumerate(bounds):
        f, year = int(force[a]), int(fy[a])
        paths.append(
            run.out_dir / "police" / f"{run.slugs[f]}_crimes_{year}-{(year + 1) % 100:02d}.csv"
        )
        prefixes.append(f"F{f + 1:02d}/{year % 100:02d}")
        group[a:b] = g
        seq[a:b] = run.extract.rows.get(paths[-1], 0) + np.arange(1, b - a + 1)
    line = seq + 1  # the header is line 1
    reference = pc.binary_join_element_wise(
        pa.array(prefixes).take(pa.array(group)),
        pc.utf8_lpad(pa.array(seq).cast(pa.string()), 7, "0"),
        "/",
    )
    code = c["code"].to_numpy(dtype=object).copy()
    desc = c["description"].to_numpy(dtype=object).copy()
    unknown = rng.random(n) < dc.UNKNOWN_SHARE
    picks = rng.integers(len(unknown_pool), size=int(unknown.sum()))
    code[unknown] = [unknown_pool[k][0] for k in picks]
    desc[unknown] = [unknown_pool[k][1] for k in picks]
    age = c["victim_age"].to_numpy()
    suspect = dc.suspect_ages(run.rng_suspects, c)
    minute = c["minute"].to_numpy()
    day0 = starts[0].astype("datetime64[D]")
    columns = {
        "Crime Reference": reference,
        "Offence Date From": days.take(pa.array((date - day0).astype(np.int64))),
        "Offence Time From": pa.array(
            [f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
        ).take(pa.array(minute, mask=minute < 0)),
        "Recorded Date": days.take(
            pa.array((c["recorded"].to_numpy().astype("datetime64[D]") - day0).astype(np.int64))
        ),
        "HO Offence Code": _text(code),
        "HO Offence Description": _text(desc),
        "Easting": _numbers(x),
        "Northing": _numbers(y),
        "LSOA Code": pa.array(areas.lsoa_code).take(pa.array(lsoa)),
        "Location Type": _text(c["location_type"].to_numpy()),
        "Victim Age": _numbers(age, age < 0),
        "Victim Sex": _text(c["victim_sex"].to_numpy()),
        "Suspect Age": _numbers(suspect, suspect < 0),
    }
    yn = pa.array(["N", "Y"])
    for name, flag in FLAG_COLUMNS.items():
        columns[name] = yn.take(pa.array(c[flag].to_numpy().astype(np.int8)))
    bad = np.zeros(n, dtype=bool)
    if m0 == 0:
        bad = _malform(run, columns, paths, group, line, unknown, date, rng)
    free = np.nonzero(~bad)[0]
    unlocated = np.zeros(n, dtype=bool)
    unlocated[rng.choice(free, size=round(UNLOCATED_SHARE * n), replace=False)] = True
    for name in ("Easting", "Northing", "LSOA Code"):
        columns[name] = pc.if_else(pa.array(unlocated), pa.scalar(None, pa.string()), columns[name])
    lines = _lines([columns[name] for name in FORCE_COLUMNS], "\n")
    for path, (a, b) in zip(paths, bounds, strict=True):
        run.extract.write(path, lines, a, b)
    for f, count in zip(*np.unique(fy, return_counts=True), strict=True):
        label = f"{f}-{(f + 1) % 100:02d}"
        run.by_year[label] = run.by_year.get(label, 0) + int(count)
    run.add("crimes", n)
    run.add("unknown_code_rows", unknown.sum())
    run.add("unlocated_extract_rows", unlocated.sum())
    del lines, columns
    _write_police_uk(run, c, lsoa, force, j, date, unlocated, m0, chunk, starts)


def _malform(
    run: _Run,
    columns: dict[str, pa.Array],
    paths: list[Path],
    group: np.ndarray,
    line: np.ndarray,
    unknown: np.ndarray,
    date: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Corrupt five rows of the first chunk in place (each a different crime); record them."""
    n = len(group)
    ages = columns["Victim Age"].is_valid().to_numpy(zero_copy_only=False)
    chosen: list[int] = []

    def pick(mask: np.ndarray) -> int:
        idx = np.nonzero(mask & ~unknown & ~np.isin(np.arange(n), chosen))[0]
        chosen.append(int(idx[rng.integers(len(idx))]))
        return chosen[-1]

    edits = []
    i = pick(np.ones(n, bool))
    y, m = str(date[i])[:4], int(str(date[i])[5:7])
    bad_date = f"31/{m:02d}/{y}" if m in (2, 4, 6, 9, 11) else f"32/{m:02d}/{y}"
    edits.append((i, "Offence Date From", bad_date, "impossible date"))
    edits.append((pick(ages), "Victim Age", "-3", "negative victim age"))
    i = pick(np.ones(n, bool))
    e = columns["Easting"][i].as_py()
    edits.append((i, "Easting", e[:2] + "O" + e[3:], "non-numeric easting (letter O for zero)"))
    edits.append((pick(ages), "Victim Age", "230", "victim age out of range"))
    edits.append((pick(np.ones(n, bool)), "HO Offence Code", "", "blank offence code"))
    for i, column, value, reason in edits:
        original = columns[column][i].as_py()
        mask = np.zeros(n, dtype=bool)
        mask[i] = True
        columns[column] = pc.replace_with_mask(
            columns[column], pa.array(mask), pa.array([value], pa.string())
        )
        path = paths[group[i]]
        run.malformed.append(
            {
                "file": str(path.relative_to(run.out_dir)),
                "line": int(line[i]),
                "crime_reference": columns["Crime Reference"][i].as_py(),
                "column": column,
                "value": value,
                "original_value": original,
                "reason": reason,
                "offence_month": str(date[i])[:7],
            }
        )
    bad = np.zeros(n, dtype=bool)
    bad[chosen] = True
    return bad


def _write_police_uk(
    run: _Run,
    c: pd.DataFrame,
    lsoa: np.ndarray,
    force: np.ndarray,
    j: np.ndarray,
    date: np.ndarray,
    unlocated: np.ndarray,
    m0: int,
    chunk: int,
    starts: np.ndarray,
) -> None:
    """The same crimes as data.police.uk publishes them, plus anti-social behaviour."""
    areas, pts, rng = run.areas, run.points, run.rng_uk
    n, n_l = len(c), len(areas)
    month = (date.astype("datetime64[M]") - starts[m0].astype("datetime64[M]")).astype(np.int64)
    no_loc = (rng.random(n) < NO_LOCATION_SHARE) | unlocated
    shown = lsoa.copy()
    point = pts.snap[lsoa, j]
    outside = np.zeros(n, dtype=bool)
    if len(areas.force_names) > 1:
        other = rng.integers(n_l, size=n)
        outside = ~no_loc & (rng.random(n) < OUTSIDE_FORCE_SHARE) & (areas.force[other] != force)
        shown[outside] = other[outside]
        point[outside] = rng.integers(MAP_POINTS, size=int(outside.sum()))
    outcome = dc.police_uk_outcomes(rng, c["code"].to_numpy(dtype=object), m0 + month, run.months)

    # anti-social behaviour: ~12% of rows, more where dense and deprived, summer peak
    moy = starts[m0 : m0 + chunk].astype("datetime64[M]").astype(np.int64) % 12 + 1
    season = 1 + 0.2 * np.cos(2 * np.pi * (moy - 7) / 12)
    factor = {"city_centre": 4.0, "city": 1.3, "town_centre": 3.0, "town": 1.2, "rural": 0.6}
    w = run.persons * np.exp(0.4 * run.latent) * np.array([factor[u] for u in run.urban])
    per_month = n / chunk * ASB_SHARE / (1 - ASB_SHARE)
    counts = rng.poisson((w / w.sum())[:, None] * (per_month * season / season.mean())[None, :])
    a_lsoa, a_month = np.nonzero(counts)
    reps = counts[a_lsoa, a_month]
    a_lsoa, a_month = np.repeat(a_lsoa, reps), np.repeat(a_month, reps)
    n_asb = len(a_lsoa)

    row_force = np.r_[force, areas.force[a_lsoa]]
    row_month = np.r_[month, a_month]
    row_lsoa = np.r_[shown, a_lsoa]
    row_point = np.r_[point, rng.integers(MAP_POINTS, size=n_asb)]
    row_blank = np.r_[no_loc, np.zeros(n_asb, dtype=bool)]
    asb = np.r_[np.zeros(n, dtype=bool), np.ones(n_asb, dtype=bool)]
    order = np.lexsort((asb, row_lsoa, row_month, row_force))
    row_force, row_month, row_lsoa = row_force[order], row_month[order], row_lsoa[order]
    row_blank, asb = row_blank[order], asb[order]
    at = pa.array(row_lsoa * MAP_POINTS + row_point[order], mask=row_blank)
    where_lsoa = pa.array(row_lsoa, mask=row_blank)
    months = np.datetime_as_string(starts[m0 : m0 + chunk].astype("datetime64[M]"))
    forces = pa.array(list(run.areas.force_names)).take(pa.array(row_force))
    asb_type = np.full(n_asb, "Anti-social behaviour", dtype=object)
    crime_type = np.concatenate([c["crime_type"].to_numpy(dtype=object), asb_type])
    outcome = np.concatenate([outcome, np.full(n_asb, None, dtype=object)])
    columns = [
        pa.concat_arrays([_hex_ids(rng, n), pa.nulls(n_asb, pa.string())]).take(pa.array(order)),
        pa.array(months).take(pa.array(row_month)),
        forces,
        forces,
        pts.lon.take(at),
        pts.lat.take(at),
        pc.if_else(pa.array(row_blank), "No Location", pts.location.take(at)),
        pa.array(areas.lsoa_code).take(where_lsoa),
        _text(areas.lsoa_name).take(where_lsoa),
        _text(crime_type[order]),
        _text(outcome[order]),
        pa.nulls(len(order), pa.string()),
    ]
    lines = _lines(columns, "\r\n")
    for a, b in _group_bounds(row_force * 1_000 + row_month):
        label = months[row_month[a]]
        name = f"{label}-{run.slugs[row_force[a]]}-street.csv"
        run.police_uk.write(run.out_dir / "police_uk" / label / name, lines, a, b)
    run.add("police_uk_rows", len(order))
    run.add("asb_rows", n_asb)
    run.add("no_location_rows", row_blank.sum())
    run.add("outside_force_rows", outside.sum())


# ----------------------------------------------------------------------------- the other files


def _clean(out_dir: Path) -> None:
    """Remove what an earlier scaled run wrote here (only ours), so nothing stale is read."""
    for pattern in (
        EXTRACT_GLOB,
        POLICE_UK_GLOB,
        "boundaries/*_scaled.*",
        "lookups/*_scaled.csv",
        "population/*_scaled.csv",
        "deprivation/*_scaled.csv",
        "planted_structure.json",
        "settings.yaml",
    ):
        for p in out_dir.glob(pattern):
            p.unlink()
    for folder in (out_dir / "police_uk").glob("*"):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _write_population(path: Path, areas: sg.Areas, pop: np.ndarray) -> None:
    """Persons by LSOA in the ONS wide layout the population reader takes ("F0 to 15" ...)."""
    labels = [f"{a} to {b}" if b is not None else f"{a} and over" for a, b in sg.AGE_BANDS]
    frame = pd.DataFrame(
        {
            "LAD 2024 Code": areas.district_code,
            "LAD 2024 Name": areas.district_name,
            "LSOA 2021 Code": areas.lsoa_code,
            "LSOA 2021 Name": areas.lsoa_name,
            "Total": pop.sum(axis=(1, 2)),
        }
    )
    for s, sex in enumerate("FM"):
        for b, label in enumerate(labels):
            frame[f"{sex}{label}"] = pop[:, s, b]
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)


def _write_deprivation(path: Path, areas: sg.Areas, dep: dict[str, dict[str, np.ndarray]]) -> None:
    cols: dict[str, Any] = dict(
        zip(
            DEPRIVATION_COLUMNS[:4],
            (areas.lsoa_code, areas.lsoa_name, areas.district_code, areas.district_name),
            strict=True,
        )
    )
    for key, score, stem in DEPRIVATION_DOMAINS:
        cols[score] = np.char.mod("%.3f", dep["score"][key])
        cols[stem + RANK_SUFFIX] = dep["rank"][key]
        cols[stem + DECILE_SUFFIX] = dep["decile"][key]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(cols)[DEPRIVATION_COLUMNS].to_csv(path, index=False)


def _reference_files(out_dir: Path, areas: sg.Areas, limited: bool) -> dict[str, Path]:
    """Boundaries and lookup: the shared originals for all of England and Wales, else written."""
    if areas.source_files and not limited:
        return {
            "boundaries": areas.source_files["boundaries"],
            "lookup": areas.source_files["lookup"],
        }
    files = {
        "boundaries": out_dir / "boundaries" / "lsoa21_scaled.gpkg",
        "lookup": out_dir / "lookups" / "LSOA21_WD24_LAD24_scaled.csv",
    }
    files["boundaries"].parent.mkdir(parents=True, exist_ok=True)
    if areas.source_files:  # a subset of the real polygons, as published (CRS84, GeoJSON)
        files["boundaries"] = files["boundaries"].with_suffix(".geojson")
        real = pyogrio.read_dataframe(areas.source_files["boundaries"])
        real = real[real["LSOA21CD"].isin(set(areas.lsoa_code))]
        pyogrio.write_dataframe(real, files["boundaries"], driver="GeoJSON")
    else:
        gpd.GeoDataFrame(
            {"LSOA21CD": areas.lsoa_code, "LSOA21NM": areas.lsoa_name},
            geometry=list(areas.cells),
            crs="EPSG:27700",
        ).to_file(files["boundaries"], layer="lsoa21", driver="GPKG")
    files["lookup"].parent.mkdir(parents=True, exist_ok=True)
    lookup = areas.frame()
    lookup.columns = LOOKUP_COLUMNS
    lookup.to_csv(files["lookup"], index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return files


def _write_settings(path: Path, files: dict[str, Path], area: dict[str, str], year: int) -> None:
    out = path.parent
    settings = {
        "area_name": area["name"],
        "area_code": area["code"],
        "period": "financial_year",
        "definition": str(DEFINITION),
        "population_year": year,
        "inputs": {
            "police_extract": str(out / EXTRACT_GLOB),
            "police_uk": str(out / POLICE_UK_GLOB),
            "lsoa_boundaries": str(files["boundaries"]),
            "area_lookup": str(files["lookup"]),
            "population": str(files["population"]),
            "deprivation": str(files["deprivation"]),
        },
        "database": str(out / "sna.duckdb"),
        "output_dir": str(out / "out"),
    }
    head = (
        "# Written by `sna demo` (sources.demo_scale): synthetic police data, no personal data.\n"
        f"# Run it from any folder: sna run --settings {path}\n"
    )
    path.write_text(head + yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")


# ----------------------------------------------------------------------------- entry point


def write_scaled_demo(
    out_dir: Path,
    *,
    n_lsoas: int | None = None,
    crimes_per_year: int | None = None,
    years: int = 3,
    geography: str = "synthetic",
    seed: int = 20240401,
    start: str = DEFAULT_START,
    shared_lsoa21: Path | None = None,
) -> ScaledManifest:
    """Write synthetic SNA inputs of the size asked for into out_dir (see the module docstring).

    n_lsoas: synthetic, how many LSOAs (default 500); england-wales, keep whole districts in code
    order until at least this many (default: all 35,672). crimes_per_year: force extract crimes
    a year on average (default 168 per LSOA, ~6M for England and Wales). Raises
    GeographyMissingError, naming the file, when england-wales is asked and a file is missing.
    """
    if geography not in GEOGRAPHIES:
        raise ValueError(f"geography must be one of {GEOGRAPHIES}, got {geography!r}")
    if years < 1:
        raise ValueError("years must be at least 1")
    out_dir = Path(out_dir).resolve()
    # a 7th stream for suspect ages: the first six (and every other value) are as before
    streams = np.random.SeedSequence(seed).spawn(7)
    rng_geo, rng_pop, rng_dep, rng_crime, rng_points, rng_uk, rng_suspects = (
        np.random.default_rng(s) for s in streams
    )
    if geography == "england-wales":
        folder = Path(shared_lsoa21 or SHARED_LSOA21)
        areas = sg.england_wales_areas(folder, rng_geo, n_lsoas)
        area = {"code": "K04000001", "name": "England and Wales"}
        year = 2021
    else:
        areas = sg.synthetic_areas(500 if n_lsoas is None else n_lsoas, rng_geo)
        area = {"code": "E92900001", "name": f"Synthetic area ({len(areas):,} LSOAs)"}
        year = SYNTHETIC_POPULATION_YEAR
    n = len(areas)
    per_year = CRIMES_PER_LSOA * n if crimes_per_year is None else crimes_per_year
    pop = _population(areas, rng_pop)
    persons = pop.sum(axis=(1, 2))
    urban, nte = _urban_and_hotspots(areas, persons)
    dep = _deprivation(_latent(areas, persons, urban, rng_dep), urban, rng_dep)
    latent = dep["latent"]["imd"]
    planted = _plant(areas, urban, latent, nte, persons)
    ref = dc.load_offence_codes(OFFENCE_CODES_PATH)
    months = 12 * years
    scale = _scale(ref, per_year, months, start, nte, planted)

    out_dir.mkdir(parents=True, exist_ok=True)
    _clean(out_dir)
    files = _reference_files(out_dir, areas, limited=n_lsoas is not None)
    stem = "census2021_lsoa21_by_sex" if areas.bands is not None else f"synthetic_lsoa21_{year}"
    files["population"] = out_dir / "population" / f"{stem}_scaled.csv"
    files["deprivation"] = out_dir / "deprivation" / "synthetic_iod_file7_scaled.csv"
    _write_population(files["population"], areas, pop)
    _write_deprivation(files["deprivation"], areas, dep)

    run = _Run(
        out_dir=out_dir,
        areas=areas,
        points=_points(areas, nte, rng_points),
        ref=ref,
        persons=persons,
        urban=urban,
        latent=latent,
        nte=nte,
        planted=planted,
        start=start,
        months=months,
        scale=scale,
        rng_crime=rng_crime,
        rng_points=rng_points,
        rng_uk=rng_uk,
        rng_suspects=rng_suspects,
        per_year=per_year,
    )
    _generate(run)
    settings = out_dir / "settings.yaml"
    _write_settings(settings, files, area, year)
    structure = _structure(run, pop, dep, files, seed=seed, geography=geography, years=years)
    planted_path = out_dir / "planted_structure.json"
    planted_path.write_text(json.dumps(structure, indent=2) + "\n", encoding="utf-8")
    counts = run.counts
    return ScaledManifest(
        out_dir=out_dir,
        seed=seed,
        geography=geography,
        settings=settings,
        boundaries=files["boundaries"],
        lookup=files["lookup"],
        population=files["population"],
        deprivation=files["deprivation"],
        police_extracts=tuple(sorted(run.extract.rows)),
        police_uk=tuple(sorted(run.police_uk.rows)),
        planted_structure=planted_path,
        n_lsoas=n,
        n_wards=len(set(areas.ward_code)),
        n_districts=len(set(areas.district_code)),
        n_forces=len(areas.force_names),
        population_total=int(persons.sum()),
        n_crimes=counts["crimes"],
        n_police_uk_rows=counts["police_uk_rows"],
        n_asb=counts["asb_rows"],
        n_unknown_code_rows=counts["unknown_code_rows"],
        n_malformed_rows=len(run.malformed),
        n_unlocated=counts["unlocated_extract_rows"],
        n_outside_force=counts["outside_force_rows"],
    )


def _scale(
    ref: pd.DataFrame,
    per_year: int,
    months: int,
    start: str,
    nte: dict[int, str],
    planted: dict[str, np.ndarray],
) -> float:
    """Multiplier of the background streams so that the period averages per_year crimes a year."""
    tables = dc.code_tables(ref)
    background = sum(s["annual"] for name, s in dc.STREAMS.items() if name in tables)
    extra = (
        sum(dc.NTE_PER_YEAR[k] for k in nte.values()) * ("nte" in tables)
        + dc.DA_PER_YEAR * len(planted["high_da"]) * ("da_hotspot" in tables)
        + dc.COUNTY_LINES_PER_YEAR * len(planted["county_lines"]) * ("county_lines" in tables)
    )
    years_weighted = dc.season_trend(dc.month_starts(start, months)).sum() / 12
    if extra > per_year / 2:
        raise ValueError(
            f"{per_year:,} crimes a year is too few for this geography: its planted hotspots"
            f" alone make ~{extra:,.0f} a year; ask for at least {2 * extra:,.0f}"
        )
    return (per_year * months / 12 / years_weighted - extra) / background


def _structure(
    run: _Run,
    pop: np.ndarray,
    dep: dict[str, dict[str, np.ndarray]],
    files: dict[str, Path],
    *,
    seed: int,
    geography: str,
    years: int,
) -> dict[str, Any]:
    """The machine-readable truth: what was planted where, and what was written."""
    areas, counts = run.areas, run.counts
    codes = areas.lsoa_code
    persons = pop.sum(axis=(1, 2))
    hotspots = [
        {
            "lsoa_code": codes[i],
            "lsoa_name": areas.lsoa_name[i],
            "district_code": areas.district_code[i],
            "settlement_type": kind,
            "extra_crimes_per_year": dc.NTE_PER_YEAR[kind],
            "centre_easting": round(float(areas.anchor[i, 0])),
            "centre_northing": round(float(areas.anchor[i, 1])),
        }
        for i, kind in sorted(run.nte.items())
    ]
    forces = (
        pd.DataFrame({"force": areas.force, "district": areas.district_code, "persons": persons})
        .groupby("force")
        .agg(
            lsoas=("district", "size"),
            districts=("district", "nunique"),
            population=("persons", "sum"),
        )
    )
    classes, class_counts = np.unique(run.urban.astype(str), return_counts=True)
    real = {k: str(v) for k, v in areas.source_files.items()}
    return {
        "generator": "sources.demo_scale.write_scaled_demo",
        "seed": seed,
        "geography": geography,
        "start": run.start,
        "years": years,
        "months": run.months,
        "crimes_per_year_asked": run.per_year,
        "crs": "EPSG:27700",
        "real_files_used": real,
        "population": (
            "Census 2021 usual residents by age band (real); the split by sex is synthetic"
            " (binomial at the England and Wales female share of each band)"
            if areas.bands is not None
            else "synthetic: ~1,670 a LSOA, younger where dense"
        ),
        "forces": [
            {
                "name": areas.force_names[f],
                "file_slug": run.slugs[f],
                "lsoas": int(r.lsoas),
                "districts": int(r.districts),
                "population": int(r.population),
            }
            for f, r in forces.iterrows()
        ],
        "urban_class": {
            "rule": (
                f"rural below {URBAN_DENSITY:,} residents a km2, city from {CITY_DENSITY:,};"
                " centre: the LSOAs of a district nearest its densest one (2 x its hotspots)"
            ),
            "counts": {k: int(v) for k, v in zip(classes, class_counts, strict=True)},
        },
        "night_time_economy_hotspots": {
            "lsoa_codes": sorted(h["lsoa_code"] for h in hotspots),
            "rule": "per district with urban LSOAs: 4 nearest its densest (8+ city LSOAs), else 1",
            "hotspots": hotspots,
            "days": ["Friday", "Saturday"],
            "hours": "22:00-02:59 (after midnight the offence date is the next day)",
            "codes": dc.NTE_CODES,
        },
        "high_domestic_abuse": {
            "lsoa_codes": sorted(codes[run.planted["high_da"]].tolist()),
            "rule": "most deprived residential (non-centre) urban LSOAs, 4% of all LSOAs (at least 3)",
            "extra_crimes_per_year": dc.DA_PER_YEAR,
            "codes": dc.DA_CODES,
        },
        "county_lines": {
            "lsoa_codes": sorted(codes[run.planted["county_lines"]].tolist()),
            "rule": (
                "per force: the most deprived urban LSOAs (up to 8) of its most deprived district"
                " other than the most populous"
            ),
            "code": "92A",
            "extra_crimes_per_year": dc.COUNTY_LINES_PER_YEAR,
        },
        "deprivation": {
            "latent": "imd_latent = (ln(IMD score) - 2.8) / 0.62",
            "made_of": "log density, smooth regional variation, a district effect and noise",
            "ranks": "1 = most deprived of the LSOAs written",
        },
        "deprivation_gradient": {
            "intensity": (
                "k * population * exp(beta * imd_latent) * urban_factor[class]"
                " * lsoa_effect * season * trend"
            ),
            "background_scale": round(run.scale, 6),
            "streams": run.used.get("streams", {}),
            "seasonality": run.used.get("seasonality"),
            "trend_per_year": run.used.get("trend_per_year"),
        },
        "unknown_offence_codes": {
            "codes": dict(dc.UNKNOWN_CODES),
            "share": dc.UNKNOWN_SHARE,
            "rows": counts["unknown_code_rows"],
        },
        "malformed_rows": run.malformed,
        "force_extract": {
            "files": "one per force per financial year of the offence date (April-March)",
            "crime_reference": "F<force>/<fy start yy>/<sequence>, in offence date order",
            "unlocated": {"share": UNLOCATED_SHARE, "rows": counts["unlocated_extract_rows"]},
        },
        "police_uk": {
            "files": "one per force per month of the offence date, CRLF",
            "month_basis": "month of the offence date (same crimes as the force extract)",
            "no_location_share": NO_LOCATION_SHARE,
            "asb_share_of_rows": ASB_SHARE,
            "map_points_per_lsoa": MAP_POINTS,
            "outside_force": {
                "share_of_crime_rows": OUTSIDE_FORCE_SHARE,
                "rows": counts["outside_force_rows"],
                "rule": "geocoded to a map point of another force's LSOA (inside the study area)",
            },
        },
        "counts": {
            "lsoas": len(codes),
            "wards": len(set(areas.ward_code)),
            "districts": len(set(areas.district_code)),
            "forces": len(areas.force_names),
            "population": int(persons.sum()),
            "crimes": counts["crimes"],
            "crimes_by_financial_year": dict(sorted(run.by_year.items())),
            "police_uk_rows": counts["police_uk_rows"],
            "asb_rows": counts["asb_rows"],
            "no_location_rows": counts["no_location_rows"],
            "outside_force_rows": counts["outside_force_rows"],
            "unlocated_extract_rows": counts["unlocated_extract_rows"],
            "extract_files": len(run.extract.rows),
            "police_uk_files": len(run.police_uk.rows),
        },
        "inputs": {k: str(v) for k, v in files.items()},
        "data_lines": {
            str(p.relative_to(run.out_dir)): r
            for files_ in (run.extract, run.police_uk)
            for p, r in sorted(files_.rows.items())
        },
    }
