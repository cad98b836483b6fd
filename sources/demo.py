"""The demo county: a seeded synthetic county written in the formats real owners publish.

`write_demo_county(out_dir)` writes boundaries (GeoPackage), the ONS-style LSOA -> ward ->
district lookup, single-year-of-age population, an IoD-style deprivation file, a force crime
extract (one CSV per financial year) and data.police.uk monthly street files derived from the
same crimes, plus `planted_structure.json`: the truth later tests check the pipeline against.
The pipeline reads these files like any real drop; nothing here is imported by the pipeline.

Everything is drawn from `numpy.random.SeedSequence(seed)`: the same seed, size and period
give byte-identical CSVs (the GeoPackage carries a write timestamp, so compare its features).

Geography (EPSG:27700, roughly E 560000-660000, N 280000-345000, where Norfolk sits):
- an irregular county outline whose north and east edges are a rough coastline with a bay in
  the north-west; one city (Norchester), three coastal towns (Yarmere: the deprived one,
  Lynnford: a port, Cromhithe: an older resort) and three market towns (Thetwell, Dereby,
  Dissingham);
- LSOAs are Voronoi cells clipped to the outline; generator points are packed densely in the
  settlements (urban LSOAs ~0.6 km2 at 500 LSOAs) and on a jittered grid elsewhere, so the
  cells tile the county exactly;
- 7 districts (the city is its own; the others are contiguous groups round the towns),
  ~60 wards (k-means groups of LSOAs inside each district, made contiguous), one county.
  Codes are clearly synthetic: LSOA E019xxxxx, ward E059xxxxx, district E079xxxxx, county
  E10900001. LSOA names follow ONS: "<District> 001A".

Population (~1,800 per LSOA, ~900k at 500 LSOAs): LSOA x sex x single year 0..90 (90 = 90+),
young near the city's university, older near the coast, more children in deprived areas.

Deprivation: a latent score per LSOA with spatial structure (deprived city core and three
deprived city estates, a deprived coastal town, moderately deprived port and market town,
an affluent commuter belt round the city, affluent countryside, smooth regional noise).
IMD score = exp(2.8 + 0.62 * latent); domains are correlated with it (barriers is higher in
the countryside). Ranks are national-equivalent (1 = most deprived of 33,755 LSOAs) and
strictly consistent with the scores; deciles follow the ranks.

Crimes (~65-70k a year at 900k people, ~43% violence and sexual offences):
- background streams per police.uk crime type: Poisson intensity per LSOA and month =
  k * population * exp(beta * latent) * urban_factor[class] * lsoa_effect * season * trend
  (lsoa_effect = exp(N(0, 0.3)), shared by the streams: unexplained local variation), with the
  season 1 + 0.12 cos(2 pi (month - 7) / 12) (summer peak) and a trend of +4% a year;
  beta and urban factors per stream are in `sources.demo_crime.STREAMS` and the JSON;
- night-time economy hotspots: the four LSOAs nearest the city centre (two when the city
  is small) and the centres of Yarmere, Lynnford and Dereby get extra violence and public
  order (240 a year per city LSOA, 100 per town LSOA) on Friday and Saturday nights
  22:00-02:59, in Pub/Bar, Nightclub or Street, victims mostly 18-30, 80% alcohol flagged,
  points clustered round a planted centre;
- high domestic abuse LSOAs: the most deprived residential (non-centre) urban LSOAs get
  30 extra domestic abuse crimes a year (Dwelling, DA flag Y, victims mostly female);
  about a quarter of all violence is DA flagged elsewhere too;
- county lines: 92A trafficking in the deprived half of Yarmere (10 extra a year per LSOA,
  70% county lines flagged; elsewhere 5% of 92A is);
- knife flag on a share of robbery, wounding (5A/5D), homicide, 10C/10D/90 possession;
- Suspect Age where a suspect is identified (most domestic abuse, possession and drug offences,
  about half of violence, few thefts and burglaries; `sources.demo_crime.SUSPECT_IDENTIFIED`),
  younger for robbery, weapons and the night-time economy, near the victim's age in domestic
  abuse; blank otherwise. Drawn from a ninth seed stream, so no other value of any file changes;
- ~0.1% of rows carry an HO code absent from the reference (listed in the JSON), and five
  rows are deliberately malformed (bad date, negative and impossible victim age, non-numeric
  easting, blank offence code): file, line, column and value are in the JSON.
Force extract rows are filed by financial year of the offence date; every located crime's
point is inside its LSOA polygon. ~0.5% of rows (never the malformed ones) have no location at
all: Easting, Northing and LSOA Code blank, as forces have for crimes whose location is unknown
or withheld. They are valid rows (the reader needs only the reference, date and offence code),
so the pipeline loads them and counts them as "no_lsoa".

police.uk files: one per month of the offence date, same crimes (so per month, non-ASB rows
== force extract rows, malformed ones included), points snapped to 12 anonymous map points
per LSOA ("On or near ..."), WGS84 6 dp, ~2% "No Location" with blank LSOA (plus the
extract's unlocated crimes, ~2.5% in all, as the real 2-3%), crime type from the reference
mapping, Crime ID = sha256 hex; plus anti-social behaviour rows (empty Crime ID, ~12% of rows).
As in the real files, 1% of the crime rows (drawn from the located ones) are geocoded OUTSIDE
the county: the same crimes as in the force extract (the force recorded them in the county;
police.uk placed them elsewhere, so the per-month reconciliation holds), put on one of 3 map
points of a synthetic LSOA of an invented neighbouring district west or south of the county
(Fenmoor, Ousebridge, Breckmere, Wavenham; codes E0199xxxx, never a county code; names such as
"Fenmoor 012B"), 5-40 km beyond the county's bounding box. Their count, codes and names are in
the JSON. CRLF line endings as the real files.

The location quirks (unlocated extract rows, outside-area rows and neighbouring LSOAs) are drawn
from a seventh seed stream, so every other draw is as it was without them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy.special import ndtr

from sources import demo_crime as dc
from sources import demo_geo as dg
from sources import demo_health as dh

REPO_ROOT = Path(__file__).resolve().parents[1]
OFFENCE_CODES_PATH = REPO_ROOT / "config" / "reference" / "ho_offence_codes.csv"
FORCE_NAME = "Demo Constabulary"
COUNTY_CODE, COUNTY_NAME = "E10900001", "Demo County"
N_ENGLAND_LSOAS = 33_755  # LSOA 2021 in England: the denominator of the national ranks
POP_PER_LSOA = 1_800
MAP_POINTS_PER_LSOA = 12
NO_LOCATION_SHARE = 0.02
OUTSIDE_AREA_SHARE = 0.01  # police.uk crime rows geocoded to a neighbouring district
UNLOCATED_SHARE = 0.005  # force extract rows with no location at all
OUTSIDE_MAP_POINTS = 3  # map points per neighbouring LSOA
ASB_SHARE = 0.12
WARDS_PER_500 = 60

FORCE_COLUMNS = [
    "Crime Reference",
    "Offence Date From",
    "Offence Time From",
    "Recorded Date",
    "HO Offence Code",
    "HO Offence Description",
    "Easting",
    "Northing",
    "LSOA Code",
    "Location Type",
    "Domestic Abuse Flag",
    "Hate Crime Flag",
    "Knife Flag",
    "Firearm Flag",
    "County Lines Flag",
    "Alcohol Related",
    "Drugs Related",
    "Victim Age",
    "Victim Sex",
    "Suspect Age",
]
POLICE_UK_COLUMNS = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
LOOKUP_COLUMNS = ["LSOA21CD", "LSOA21NM", "WD24CD", "WD24NM", "LAD24CD", "LAD24NM"]
RANK_SUFFIX = " Rank (where 1 is most deprived)"
DECILE_SUFFIX = " Decile (where 1 is most deprived 10% of LSOAs)"
# (domain key, score column, stem used for its rank and decile columns)
DEPRIVATION_DOMAINS = [
    ("imd", "Index of Multiple Deprivation (IMD) Score", "Index of Multiple Deprivation (IMD)"),
    ("income", "Income Score (rate)", "Income"),
    ("employment", "Employment Score (rate)", "Employment"),
    ("education", "Education, Skills and Training Score", "Education, Skills and Training"),
    ("health", "Health Deprivation and Disability Score", "Health Deprivation and Disability"),
    ("crime", "Crime Score", "Crime"),
    ("barriers", "Barriers to Housing and Services Score", "Barriers to Housing and Services"),
    ("living_environment", "Living Environment Score", "Living Environment"),
]
DEPRIVATION_COLUMNS = [
    "LSOA code (2021)",
    "LSOA name (2021)",
    "Local Authority District code (2024)",
    "Local Authority District name (2024)",
] + [
    c
    for _, score, stem in DEPRIVATION_DOMAINS
    for c in (score, stem + RANK_SUFFIX, stem + DECILE_SUFFIX)
]

WARD_STEMS = [
    "Ash",
    "Bry",
    "Cal",
    "Dun",
    "Elm",
    "Fen",
    "Gar",
    "Hal",
    "Ing",
    "Kel",
    "Lang",
    "Mar",
    "Ock",
    "Pet",
    "Quen",
    "Rye",
    "Salt",
    "Tav",
    "Wal",
    "Wym",
    "Yax",
    "Bar",
    "Col",
    "Hemp",
    "Stal",
    "Whit",
    "Brin",
    "Lud",
    "Cat",
    "Hor",
    "Swan",
    "Acle",
    "Marl",
    "Rack",
    "Tas",
    "Bun",
    "Caist",
    "Hethel",
    "Ket",
    "Loddon",
]
WARD_SUFFIXES = [
    "ham",
    "ford",
    "by",
    "thorpe",
    "well",
    "field",
    "stead",
    "wick",
    "ton",
    "ley",
    "mere",
    "brook",
    "worth",
    "hall",
    "ingham",
]
STREET_WORDS = [
    "Church",
    "Mill",
    "Station",
    "Chapel",
    "Market",
    "Manor",
    "School",
    "Park",
    "Queens",
    "Kings",
    "Victoria",
    "Albert",
    "Castle",
    "Bridge",
    "Water",
    "Green",
    "Orchard",
    "Meadow",
    "Beech",
    "Oak",
    "Elm",
    "Willow",
    "Cherry",
    "Holly",
    "Rectory",
    "Priory",
    "Abbey",
    "Harbour",
    "Quay",
    "Marsh",
    "Common",
    "Heath",
    "Windmill",
    "Malthouse",
    "Cromwell",
    "Nelson",
    "Wellington",
    "Coronation",
    "Jubilee",
    "Howard",
    "Beacon",
    "Sandy",
    "Long",
    "High",
    "North",
    "South",
    "East",
    "West",
    "Fen",
    "Broad",
]
STREET_TYPES = [
    "Road",
    "Street",
    "Lane",
    "Close",
    "Avenue",
    "Drive",
    "Way",
    "Gardens",
    "Crescent",
    "Place",
    "Walk",
    "Court",
    "Row",
    "Terrace",
    "Yard",
]
MAP_POIS = [
    "Supermarket",
    "Petrol Station",
    "Parking Area",
    "Shopping Area",
    "Sports/Recreation Area",
    "Bus/Coach Station",
    "Further/Higher Educational Building",
    "Hospital",
    "Police Station",
    "Theatre/Concert Hall",
    "Pedestrian Subway",
]


@dataclass(frozen=True)
class _County:
    """Everything the generator drew for one run (the inputs of planted_structure.json)."""

    geo: dg.Geography
    areas: pd.DataFrame  # codes and names per LSOA, index = position in the geo arrays
    urban: np.ndarray  # (n,) urban class per LSOA
    dep: dict[str, Any]  # see `_deprivation`
    pop: np.ndarray  # (n, 2, 91) persons by LSOA, sex and age
    planted: dict[str, Any]  # see `_plant`
    used: dict[str, Any]  # crime parameters actually used (`dc.generate_crimes`)
    crimes: pd.DataFrame
    unknown: dict[str, Any]  # the unknown offence codes planted in the force extract
    malformed: list[dict[str, Any]]  # the deliberately malformed force extract rows
    uk: pd.DataFrame  # police.uk rows, ASB included
    n_asb: int
    outside: dg.OutsideLsoas  # the neighbouring LSOAs police.uk geocodes some crimes to
    n_unlocated: int  # force extract rows with blank Easting, Northing and LSOA Code


@dataclass(frozen=True)
class DemoManifest:
    """What `write_demo_county` wrote: paths (absolute) and headline counts."""

    out_dir: Path
    seed: int
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
    population_total: int
    n_crimes: int
    n_police_uk_rows: int
    n_asb: int
    n_unknown_code_rows: int
    n_malformed_rows: int
    n_outside_area: int  # police.uk crime rows geocoded outside the county
    n_unlocated: int  # force extract rows with no location
    # NHS and council ASB files (sources.demo_health) and their counts (planted_health.json)
    ae_attendances: tuple[Path, ...] = ()
    hes_admissions: tuple[Path, ...] = ()
    ambulance_callouts: tuple[Path, ...] = ()
    asb_council: tuple[Path, ...] = ()
    planted_health: Path | None = None
    health_counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One plain sentence of what was written, for the CLI and the benchmark."""
        return (
            f"{self.n_lsoas} LSOAs in {self.n_wards} wards and {self.n_districts} districts,"
            f" {self.population_total:,} residents; {self.n_crimes:,} police crimes in"
            f" {len(self.police_extracts)} extract files, {self.n_police_uk_rows:,} police.uk rows"
            f" in {len(self.police_uk)} monthly files ({self.n_malformed_rows} rows deliberately"
            f" malformed, {self.n_unknown_code_rows} with unknown offence codes,"
            f" {self.n_unlocated:,} extract rows with no location and"
            f" {self.n_outside_area:,} police.uk rows outside the county, to show the"
            " quarantine and checks)"
            + (
                f"; {self.health_counts['ae_attendances']:,} ISTV A&E assault attendances,"
                f" {self.health_counts['hes_rows']:,} HES episodes,"
                f" {self.health_counts['ambulance_callouts']:,} ambulance call-outs and"
                f" {self.health_counts['council_asb']:,} council ASB incidents"
                if self.health_counts
                else ""
            )
        )

    @property
    def csv_paths(self) -> tuple[Path, ...]:
        """Every CSV written (the files that are byte-identical for the same seed)."""
        return (
            self.lookup,
            self.population,
            self.deprivation,
            *self.police_extracts,
            *self.police_uk,
            *self.ae_attendances,
            *self.hes_admissions,
            *self.ambulance_callouts,
            *self.asb_council,
        )


def write_demo_county(
    out_dir: Path,
    seed: int = 20240401,
    n_lsoas: int = 500,
    start: str = "2021-04-01",
    months: int = 36,
    *,
    offence_codes_path: Path | None = None,
) -> DemoManifest:
    """Write the synthetic county into out_dir (layout fixed by the contract) and return it.

    `offence_codes_path` defaults to config/reference/ho_offence_codes.csv in this repo.
    """
    if n_lsoas < 30:
        raise ValueError("n_lsoas must be at least 30 (seven districts with towns need room)")
    if months < 1:
        raise ValueError("months must be at least 1")
    out_dir = Path(out_dir).resolve()
    ref = dc.load_offence_codes(offence_codes_path or OFFENCE_CODES_PATH)
    # a 7th stream for the location quirks, an 8th for the NHS and council ASB files and a 9th for
    # suspect ages: the first six (and their draws) are as before, so no other value changes
    streams = np.random.SeedSequence(seed).spawn(9)
    rng_geo, rng_pop, rng_dep, rng_crime, rng_points, rng_uk, rng_quirks, rng_health = (
        np.random.default_rng(s) for s in streams[:8]
    )
    rng_suspects = np.random.default_rng(streams[8])

    n_wards = max(len(dg.DISTRICTS), round(n_lsoas * WARDS_PER_500 / 500))
    geo = dg.build_geography(rng_geo, n_lsoas, n_wards)
    areas = _area_table(geo, rng_geo)
    urban = _urban_class(geo)
    dep = _deprivation(geo, urban, rng_dep)
    pop = _population(geo, urban, dep["latent"], rng_pop)
    planted = _plant(geo, urban, dep["latent"])

    crimes, used = dc.generate_crimes(
        rng_crime,
        ref,
        pop.sum(axis=(1, 2)),
        dep["latent"],
        urban,
        planted["nte"],
        planted["high_da"],
        planted["county_lines"],
        start,
        months,
    )
    crimes = _place_crimes(crimes, geo, planted, rng_points)
    extract, unknown, malformed = _force_extract(crimes, areas, ref, start, rng_uk)
    _unlocate(extract, malformed, rng_quirks)
    suspect = dc.suspect_ages(rng_suspects, crimes)[extract["_row"].to_numpy()]
    extract["Suspect Age"] = np.where(suspect < 0, "", suspect.astype(str))
    outside = dg.outside_lsoas(rng_quirks, OUTSIDE_MAP_POINTS)
    uk, n_asb = _police_uk(
        crimes,
        extract,
        geo,
        planted["nte_centres"],
        areas,
        pop,
        dep["latent"],
        urban,
        start,
        months,
        seed,
        rng_uk,
        outside,
        rng_quirks,
    )

    paths = _paths(out_dir)
    _clean(out_dir)
    _write_boundaries(paths["boundaries"], geo, areas)
    _write_lookup(paths["lookup"], areas)
    _write_population(paths["population"], areas, pop)
    _write_deprivation(paths["deprivation"], areas, dep)
    extract_paths = _write_extract(out_dir, extract)
    uk_paths = _write_police_uk(out_dir, uk)
    health = dh.write_health_files(
        out_dir,
        crimes=crimes,
        areas=areas,
        geo=geo,
        urban=urban,
        pop=pop,
        latent=dep["latent"],
        outside_codes=outside.codes,
        starts=dc.month_starts(start, months),
        asb_per_month=n_asb / months,
        rng=rng_health,
    )

    county = _County(
        geo=geo,
        areas=areas,
        urban=urban,
        dep=dep,
        pop=pop,
        planted=planted,
        used=used,
        crimes=crimes,
        unknown=unknown,
        malformed=malformed,
        uk=uk,
        n_asb=n_asb,
        outside=outside,
        n_unlocated=int(extract["_unlocated"].sum()),
    )
    structure = _structure_json(county, seed=seed, n_lsoas=n_lsoas, start=start, months=months)
    paths["planted"].write_text(
        json.dumps(structure, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    return DemoManifest(
        out_dir=out_dir,
        seed=seed,
        boundaries=paths["boundaries"],
        lookup=paths["lookup"],
        population=paths["population"],
        deprivation=paths["deprivation"],
        police_extracts=tuple(extract_paths),
        police_uk=tuple(uk_paths),
        planted_structure=paths["planted"],
        n_lsoas=n_lsoas,
        n_wards=int(areas["ward_code"].nunique()),
        n_districts=int(areas["district_code"].nunique()),
        population_total=int(pop.sum()),
        n_crimes=len(crimes),
        n_police_uk_rows=len(uk),
        n_asb=n_asb,
        n_unknown_code_rows=int(unknown["rows"]),
        n_malformed_rows=len(malformed),
        n_outside_area=int(uk["_outside"].sum()),
        n_unlocated=county.n_unlocated,
        ae_attendances=health.ae,
        hes_admissions=health.hes,
        ambulance_callouts=health.ambulance,
        asb_council=health.asb_council,
        planted_health=health.planted,
        health_counts=health.counts,
    )


# ----------------------------------------------------------------------------- areas


def _paths(out_dir: Path) -> dict[str, Path]:
    return {
        "boundaries": out_dir / "boundaries" / "demo_lsoa21.gpkg",
        "lookup": out_dir / "lookups" / "LSOA21_WD24_LAD24_EW_LU.csv",
        "population": out_dir / "population" / "sapelsoasyoa2022.csv",
        "deprivation": out_dir / "deprivation" / "demo_iod2025_file7.csv",
        "planted": out_dir / "planted_structure.json",
    }


def _clean(out_dir: Path) -> None:
    """Remove files an earlier demo wrote (only ours), so a shorter period leaves no stale months."""
    for p in _paths(out_dir).values():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.unlink(missing_ok=True)
    for p in (out_dir / "police").glob("demo_force_crimes_*.csv"):
        p.unlink()
    for p in (out_dir / "police_uk").glob("*/*-demo-street.csv"):
        p.unlink()
        if not any(p.parent.iterdir()):
            p.parent.rmdir()
    for p in dh.paths_written(out_dir):
        p.unlink(missing_ok=True)


def _area_table(geo: dg.Geography, rng: np.random.Generator) -> pd.DataFrame:
    """Codes and names per LSOA, in code order; index = LSOA position in geo arrays."""
    n = len(geo.points)
    names = [d[0] for d in dg.DISTRICTS]
    # wards in order of district, then north to south
    w_y = np.array([geo.points[geo.ward == w, 1].mean() for w in range(geo.ward.max() + 1)])
    w_order = np.lexsort((-w_y, geo.ward_district))
    ward_code = np.empty(geo.ward.max() + 1, dtype=object)
    ward_name = np.empty(geo.ward.max() + 1, dtype=object)
    pool = [a + b for a in WARD_STEMS for b in WARD_SUFFIXES]
    pool = [p for p in pool if p.lower() not in {s.name.lower() for s in geo.settlements}]
    picks = rng.permutation(len(pool))
    used_names: set[str] = set()
    for k, w in enumerate(w_order):
        ward_code[w] = f"E059{k + 1:05d}"
    for k, w in enumerate(sorted(range(len(w_order)), key=lambda w: ward_code[w])):
        members = np.nonzero(geo.ward == w)[0]
        owners = {int(geo.settlement[i]) for i in members}
        name = None
        for s_idx, s in enumerate(geo.settlements):
            if s_idx in owners:
                d = np.hypot(geo.points[members, 0] - s.x, geo.points[members, 1] - s.y).min()
                if d < s.radius * 0.35 and f"{s.name} Central" not in used_names:
                    name = f"{s.name} Central"
        ward_name[w] = name or pool[picks[k]]
        used_names.add(ward_name[w])
    # LSOA order: district, ward (north to south), then north to south within the ward
    ward_rank = np.empty(len(w_order), int)
    ward_rank[w_order] = np.arange(len(w_order))
    order = np.lexsort((-geo.points[:, 1], ward_rank[geo.ward], geo.district))
    lsoa_code = np.empty(n, dtype=object)
    lsoa_name = np.empty(n, dtype=object)
    msoa_no = dict.fromkeys(range(len(names)), 0)
    letter = 0
    prev_ward = -1
    for k, i in enumerate(order):
        lsoa_code[i] = f"E019{k + 1:05d}"
        d = int(geo.district[i])
        if geo.ward[i] != prev_ward or letter >= 5:
            msoa_no[d] += 1
            letter = 0
            prev_ward = geo.ward[i]
        lsoa_name[i] = f"{names[d]} {msoa_no[d]:03d}{'ABCDE'[letter]}"
        letter += 1
    return pd.DataFrame(
        {
            "lsoa_code": lsoa_code,
            "lsoa_name": lsoa_name,
            "ward_code": ward_code[geo.ward],
            "ward_name": ward_name[geo.ward],
            "district_code": [f"E079{d + 1:05d}" for d in geo.district],
            "district_name": [names[d] for d in geo.district],
        }
    )


def _urban_class(geo: dg.Geography) -> np.ndarray:
    """city_centre / city / town_centre / town / rural per LSOA."""
    cls = np.full(len(geo.points), "rural", dtype=object)
    for k, s in enumerate(geo.settlements):
        members = np.nonzero(geo.settlement == k)[0]
        if not len(members):
            continue
        d = np.hypot(geo.points[members, 0] - s.x, geo.points[members, 1] - s.y)
        city = s.kind == "city"
        cls[members] = "city" if city else "town"
        n_core = (4 if len(members) >= 8 else 2) if city else 1
        core = set(members[np.argsort(d)[:n_core]].tolist())
        core |= set(members[d < s.radius * (0.3 if city else 0.2)].tolist())
        cls[sorted(core)] = "city_centre" if city else "town_centre"
    return cls


def _plant(geo: dg.Geography, urban: np.ndarray, latent: np.ndarray) -> dict[str, Any]:
    """Choose the night-time economy hotspots, high-DA LSOAs and county-lines LSOAs.

    Keys: nte (LSOA -> "city" | "town"), nte_centres (LSOA -> point), high_da, county_lines
    (sorted LSOA indices).
    """
    nte: dict[int, str] = {}
    centres: dict[int, tuple[float, float]] = {}
    for k, s in enumerate(geo.settlements):
        members = np.nonzero(geo.settlement == k)[0]
        if not len(members) or s.name not in ("Norchester", "Yarmere", "Lynnford", "Dereby"):
            continue
        d = np.hypot(geo.points[members, 0] - s.x, geo.points[members, 1] - s.y)
        n_hot = (4 if len(members) >= 8 else 2) if s.kind == "city" else 1
        for i in members[np.argsort(d)[:n_hot]]:
            nte[int(i)] = "city" if s.kind == "city" else "town"
            centres[int(i)] = (float(geo.points[i, 0]), float(geo.points[i, 1]))
    residential = np.isin(urban, ["city", "town"]) & ~np.isin(np.arange(len(urban)), list(nte))
    cand = np.nonzero(residential)[0]
    k_da = max(3, round(0.04 * len(urban)))
    high_da = np.sort(cand[np.argsort(-latent[cand], kind="stable")[:k_da]])
    yar = [k for k, s in enumerate(geo.settlements) if s.name == "Yarmere"][0]
    ycand = np.nonzero((geo.settlement == yar) & (urban == "town"))[0]
    k_cl = min(8, max(2, len(ycand) // 2))
    county_lines = np.sort(ycand[np.argsort(-latent[ycand], kind="stable")[:k_cl]])
    return {"nte": nte, "nte_centres": centres, "high_da": high_da, "county_lines": county_lines}


# ----------------------------------------------------------------------------- people


def _gauss(d: np.ndarray, sd: float) -> np.ndarray:
    return np.exp(-(d**2) / (2 * sd**2))


def _deprivation(geo: dg.Geography, urban: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """IMD latent, then per domain key score, rank and decile arrays, and the estate centres.

    Keys: latent (n,), score / rank / decile ({domain: (n,)}), estates ([(x, y)] * 3).
    """
    p = geo.points
    n = len(p)
    st = {s.name: s for s in geo.settlements}
    city = st["Norchester"]
    d_city = np.hypot(p[:, 0] - city.x, p[:, 1] - city.y)
    z = np.full(n, -0.55)
    z += 0.55 * (urban == "city") + 0.35 * (urban == "city_centre") + 0.3 * (urban == "town")
    z += 0.8 * _gauss(d_city, 0.2 * city.radius)
    estate_angles = rng.uniform(0, 2 * np.pi) + np.array([0.0, 2.2, 4.1])
    estates = []
    for a in estate_angles:
        ex = city.x + 0.55 * city.radius * np.cos(a)
        ey = city.y + 0.55 * city.radius * np.sin(a)
        estates.append((float(ex), float(ey)))
        z += 2.0 * _gauss(np.hypot(p[:, 0] - ex, p[:, 1] - ey), 0.2 * city.radius)
    for name, amp, sd in (
        ("Yarmere", 2.0, 0.55),
        ("Lynnford", 1.0, 0.6),
        ("Thetwell", 0.9, 0.6),
        ("Cromhithe", 0.4, 0.6),
        ("Dereby", 0.3, 0.6),
        ("Dissingham", 0.1, 0.6),
    ):
        s = st[name]
        z += amp * _gauss(np.hypot(p[:, 0] - s.x, p[:, 1] - s.y), sd * s.radius)
    rural = urban == "rural"
    z -= 0.5 * rural * _gauss(d_city - 1.7 * city.radius, 0.7 * city.radius)  # commuter belt
    for _ in range(6):  # smooth regional variation
        cx, cy = rng.uniform(dg.E_MIN, dg.E_MAX), rng.uniform(dg.N_MIN, dg.N_MAX)
        z += rng.normal(0, 0.3) * _gauss(np.hypot(p[:, 0] - cx, p[:, 1] - cy), 9_000)
    z += rng.normal(0, 0.3, n)

    coast_d = shapely.distance(geo.coast, shapely.points(p))
    coastal = _gauss(coast_d, 4_000)
    centre = np.isin(urban, ["city_centre", "town_centre"])
    urb = ~rural

    def mix(rho: float) -> np.ndarray:
        return rho * z + np.sqrt(1 - rho**2) * rng.normal(0, 1, n)

    lat = {
        "income": mix(0.93),
        "employment": mix(0.9),
        "education": mix(0.8) + 0.3 * coastal,
        "health": mix(0.8) + 0.4 * coastal,
        "crime": mix(0.7) + 0.6 * centre,
        "barriers": 0.45 * mix(0.0) - 0.3 * z + 1.1 * rural - 0.6,
        "living_environment": mix(0.4) + 0.5 * urb + 0.3 * coastal,
    }
    lat, score = domain_scores(lat)
    ranks, deciles = {}, {}
    for k, v in lat.items():
        ranks[k], deciles[k] = _national_rank(v, score[k])
    return {
        "latent": lat["imd"],
        "score": score,
        "rank": ranks,
        "decile": deciles,
        "estates": estates,
    }


IMD_WEIGHTS = {
    "income": 0.225,
    "employment": 0.225,
    "education": 0.135,
    "health": 0.135,
    "crime": 0.093,
    "barriers": 0.093,
    "living_environment": 0.093,
}


def domain_scores(
    lat: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The IMD latent (domains weighted as MHCLG weights them) and published-style scores.

    `lat` holds one latent per domain of IMD_WEIGHTS; returns the latents with "imd" first and
    the scores per domain, rounded to 3 decimals as the files carry them.
    """
    imd = sum(IMD_WEIGHTS[k] * lat[k] for k in IMD_WEIGHTS) / 0.8
    lat = {"imd": imd, **lat}
    score = {
        "imd": np.exp(2.8 + 0.62 * imd),
        "income": np.clip(0.11 * np.exp(0.55 * lat["income"]), 0.005, 0.65),
        "employment": np.clip(0.085 * np.exp(0.5 * lat["employment"]), 0.005, 0.55),
        "education": 18 * np.exp(0.6 * lat["education"]),
        "health": 0.85 * lat["health"] - 0.1,
        "crime": 0.8 * lat["crime"],
        "barriers": np.clip(20 + 8 * lat["barriers"], 0.5, None),
        "living_environment": 20 * np.exp(0.45 * lat["living_environment"]),
    }
    return lat, {k: np.round(score[k], 3) for k in lat}


def _national_rank(latent: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique national-equivalent ranks (1 = most deprived), consistent with the scores."""
    raw = 1 + np.floor(N_ENGLAND_LSOAS * (1 - ndtr(latent))).astype(int)
    order = np.lexsort((-latent, -score))  # most deprived first
    r = np.sort(np.clip(raw[order], 1, N_ENGLAND_LSOAS))
    i = np.arange(len(r))
    r = np.maximum.accumulate(r - i) + i  # strictly increasing
    r = np.minimum(r, N_ENGLAND_LSOAS - (len(r) - 1 - i))
    rank = np.empty_like(r)
    rank[order] = r
    decile = 1 + (rank - 1) * 10 // N_ENGLAND_LSOAS
    return rank, decile


def _age_weights() -> np.ndarray:
    """(2, 91) base weights by sex (F, M) and single year of age, 90 = 90 and over."""
    ages = np.arange(91)
    knots = [0, 5, 10, 15, 18, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 89]
    vals = [1.05, 1.1, 1.15, 1.1, 1.0, 1.05, 1.2, 1.25, 1.25, 1.2, 1.2, 1.35, 1.4, 1.3, 1.15]
    vals += [1.1, 0.9, 0.65, 0.4, 0.25]
    base = np.interp(ages, knots, vals)
    base[90] = 1.0
    female = base * (1 + 0.006 * np.clip(ages - 55, 0, None))
    male = base * np.clip(1.03 - 0.007 * np.clip(ages - 60, 0, None), 0.55, None)
    return np.vstack([female, male])


def _population(
    geo: dg.Geography, urban: np.ndarray, latent: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(n, 2, 91) persons by LSOA, sex (F, M) and single year of age."""
    p = geo.points
    n = len(p)
    total = np.clip(rng.normal(POP_PER_LSOA, 320, n), 1_050, 2_950)
    total = np.clip(np.round(total * POP_PER_LSOA * n / total.sum()), 1_000, 3_000).astype(int)
    ages = np.arange(91)
    city = geo.settlements[0]
    uni = (city.x - 0.35 * city.radius, city.y + 0.1 * city.radius)
    student = 3.5 * _gauss(np.hypot(p[:, 0] - uni[0], p[:, 1] - uni[1]), 0.25 * city.radius)
    student += 0.4 * np.isin(urban, ["city", "city_centre"])
    coast_d = shapely.distance(geo.coast, shapely.points(p))
    old = 1.3 * _gauss(coast_d, 4_000)
    cromhithe = [s for s in geo.settlements if s.name == "Cromhithe"][0]
    old += 0.8 * _gauss(np.hypot(p[:, 0] - cromhithe.x, p[:, 1] - cromhithe.y), cromhithe.radius)
    rural = (urban == "rural").astype(float)
    young_dep = np.clip(latent, 0, None)
    mod = np.ones((n, 91))
    mod[:, 18:23] *= 1 + 2.5 * student[:, None]
    mod[:, 23:30] *= 1 + 0.5 * student[:, None]
    mod[:, 65:] *= 1 + 0.9 * old[:, None]
    mod[:, :18] *= 1 - 0.25 * np.clip(old, 0, 1)[:, None]
    mod[:, 25:45] *= 1 - 0.2 * np.clip(old, 0, 1)[:, None]
    mod[:, 45:80] *= 1 + 0.15 * rural[:, None]
    mod[:, 18:30] *= 1 - 0.25 * rural[:, None]
    mod[:, :16] *= 1 + 0.15 * young_dep[:, None]
    w = _age_weights()[None, :, :] * mod[:, None, :]
    w = w.reshape(n, -1)
    w /= w.sum(axis=1, keepdims=True)
    counts = rng.multinomial(total, w)
    return counts.reshape(n, 2, len(ages))


# ----------------------------------------------------------------------------- crimes


def _place_crimes(
    crimes: pd.DataFrame, geo: dg.Geography, planted: dict[str, Any], rng: np.random.Generator
) -> pd.DataFrame:
    """Easting/Northing inside each crime's LSOA (night-time economy ones round the centre)."""
    shapely.prepare(geo.cells)
    lsoa = crimes["lsoa"].to_numpy()
    x = np.empty(len(crimes))
    y = np.empty(len(crimes))
    nte = (crimes["stream"] == "nte").to_numpy()
    xs, ys = dg.sample_in_cells(geo.cells, lsoa[~nte], rng)
    x[~nte], y[~nte] = xs, ys
    if nte.any():
        c = np.array([planted["nte_centres"][int(i)] for i in lsoa[nte]])
        xs, ys = dg.sample_in_cells(geo.cells, lsoa[nte], rng, centre=c, sd=120.0)
        x[nte], y[nte] = xs, ys
    return crimes.assign(x=x, y=y)


def _first_month(start: str) -> np.datetime64:
    return np.datetime64(pd.Timestamp(start).strftime("%Y-%m"), "M")


def _dmy(d: np.ndarray) -> pd.Series:
    return pd.Series(d.astype("datetime64[s]")).dt.strftime("%d/%m/%Y")


def _yn(v: np.ndarray) -> np.ndarray:
    return np.where(v, "Y", "N")


def _force_extract(
    crimes: pd.DataFrame,
    areas: pd.DataFrame,
    ref: pd.DataFrame,
    start: str,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, dict[str, Any], list[dict[str, Any]]]:
    """The force extract as text columns (plus helper columns), unknown codes and malformed rows.

    Rows are ordered and numbered (Crime Reference) within each financial year of the offence
    date, by recorded date then offence date and time.
    """
    date = crimes["date"].to_numpy()
    yr = date.astype("datetime64[Y]").astype(int) + 1970
    mo = date.astype("datetime64[M]").astype(int) % 12 + 1
    fy = np.where(mo >= 4, yr, yr - 1)
    order = np.lexsort(
        (
            np.arange(len(crimes)),
            crimes["minute"].to_numpy(),
            date,
            crimes["recorded"].to_numpy(),
            fy,
        )
    )
    c = crimes.iloc[order].reset_index(drop=True)
    fy = fy[order]
    seq = c.groupby(fy).cumcount().to_numpy() + 1
    ref_no = [f"DC/{f % 100:02d}/{s:06d}" for f, s in zip(fy, seq, strict=True)]
    minute = c["minute"].to_numpy()
    hh = pd.Series(minute // 60).astype(str).str.zfill(2)
    mm = pd.Series(minute % 60).astype(str).str.zfill(2)
    time = np.where(minute < 0, "", hh + ":" + mm)
    age = c["victim_age"].to_numpy()
    code = c["code"].to_numpy(dtype=object).copy()
    desc = c["description"].to_numpy(dtype=object).copy()

    known = set(ref["ho_code"])
    unknown_pool = [(k, v) for k, v in dc.UNKNOWN_CODES if k not in known]
    unknown_mask = rng.random(len(c)) < dc.UNKNOWN_SHARE
    if not unknown_mask.any() and len(c) >= 500:
        unknown_mask[rng.integers(len(c))] = True
    picks = rng.integers(len(unknown_pool), size=int(unknown_mask.sum()))
    code[unknown_mask] = [unknown_pool[k][0] for k in picks]
    desc[unknown_mask] = [unknown_pool[k][1] for k in picks]
    unknown = {
        "codes": {k: v for k, v in unknown_pool},
        "rows": int(unknown_mask.sum()),
        "share": dc.UNKNOWN_SHARE,
        "police_uk_crime_type": "kept from the original code (the crime is real, its code is not)",
    }

    out = pd.DataFrame(
        {
            "Crime Reference": ref_no,
            "Offence Date From": _dmy(date[order]),
            "Offence Time From": time,
            "Recorded Date": _dmy(c["recorded"].to_numpy()),
            "HO Offence Code": code,
            "HO Offence Description": desc,
            "Easting": pd.Series(np.round(c["x"].to_numpy()).astype(np.int64)).astype(str),
            "Northing": pd.Series(np.round(c["y"].to_numpy()).astype(np.int64)).astype(str),
            "LSOA Code": areas["lsoa_code"].to_numpy()[c["lsoa"].to_numpy()],
            "Location Type": c["location_type"].to_numpy(),
            "Domestic Abuse Flag": _yn(c["domestic_abuse"].to_numpy()),
            "Hate Crime Flag": _yn(c["hate"].to_numpy()),
            "Knife Flag": _yn(c["knife"].to_numpy()),
            "Firearm Flag": _yn(c["firearm"].to_numpy()),
            "County Lines Flag": _yn(c["county_lines"].to_numpy()),
            "Alcohol Related": _yn(c["alcohol"].to_numpy()),
            "Drugs Related": _yn(c["drugs"].to_numpy()),
            "Victim Age": np.where(age < 0, "", pd.Series(age).astype(str)),
            "Victim Sex": c["victim_sex"].to_numpy(),
        }
    )
    out["_fy"] = [f"{f}-{(f + 1) % 100:02d}" for f in fy]
    out["_line"] = out.groupby("_fy").cumcount().to_numpy() + 2
    months_since = date[order].astype("datetime64[M]") - date.min().astype("datetime64[M]")
    out["_month"] = np.datetime_as_string(date[order], unit="M")
    out["_m"] = months_since.astype(int) + int(
        (date.min().astype("datetime64[M]") - _first_month(start)).astype(int)
    )
    out["_lsoa"] = c["lsoa"].to_numpy()
    out["_crime_type"] = c["crime_type"].to_numpy()
    out["_x"] = c["x"].to_numpy()
    out["_y"] = c["y"].to_numpy()
    out["_row"] = order  # position in `crimes`
    malformed = _malform(out, unknown_mask, rng)
    return out, unknown, malformed


def _malform(
    out: pd.DataFrame, unknown_mask: np.ndarray, rng: np.random.Generator
) -> list[dict[str, Any]]:
    """Corrupt five rows in place (each a different crime); return what was done."""
    free = ~unknown_mask
    chosen: set[int] = set()

    def pick(mask: np.ndarray) -> int | None:
        idx = np.nonzero(mask & free & ~np.isin(np.arange(len(out)), list(chosen)))[0]
        if not len(idx):
            return None
        i = int(idx[rng.integers(len(idx))])
        chosen.add(i)
        return i

    month = out["_month"].to_numpy()
    moy = np.array([int(m[5:7]) for m in month])
    short = moy != 1  # any month but January is fine for "31/..." or "30/02"
    feb = moy == 2
    has_age = (out["Victim Age"] != "").to_numpy()
    edits = []
    first_feb = feb & (month == month[feb].min()) if feb.any() else feb
    i = pick(first_feb) if feb.any() else pick(short)
    if i is not None:
        y, m = str(month[i])[:4], int(moy[i])
        bad = f"31/{m:02d}/{y}" if m in (2, 4, 6, 9, 11) else f"32/{m:02d}/{y}"
        edits.append((i, "Offence Date From", bad, "impossible date"))
    i = pick(has_age)
    if i is not None:
        edits.append((i, "Victim Age", "-3", "negative victim age"))
    i = pick(np.ones(len(out), bool))
    if i is not None:
        e = out.at[i, "Easting"]
        edits.append((i, "Easting", e[:2] + "O" + e[3:], "non-numeric easting (letter O for zero)"))
    i = pick(has_age)
    if i is not None:
        edits.append((i, "Victim Age", "230", "victim age out of range"))
    i = pick(np.ones(len(out), bool))
    if i is not None:
        edits.append((i, "HO Offence Code", "", "blank offence code"))
    result = []
    for i, column, value, reason in edits:
        original = out.at[i, column]
        out.at[i, column] = value
        result.append(
            {
                "file": f"police/demo_force_crimes_{out.at[i, '_fy']}.csv",
                "line": int(out.at[i, "_line"]),
                "crime_reference": out.at[i, "Crime Reference"],
                "column": column,
                "value": value,
                "original_value": original,
                "reason": reason,
                "offence_month": str(month[i]),
            }
        )
    return result


def _unlocate(
    extract: pd.DataFrame, malformed: list[dict[str, Any]], rng: np.random.Generator
) -> None:
    """Blank Easting, Northing and LSOA Code on ~0.5% of extract rows, in place.

    Forces have such rows for crimes whose location is unknown or withheld; they are valid rows
    (the reader needs only the reference, date and code). Malformed rows are left alone. Adds the
    `_unlocated` helper column.
    """
    bad = {m["crime_reference"] for m in malformed}
    free = np.nonzero(~extract["Crime Reference"].isin(bad).to_numpy())[0]
    n = min(len(free), round(UNLOCATED_SHARE * len(extract)))
    rows = np.sort(rng.choice(free, size=n, replace=False))
    mask = np.zeros(len(extract), bool)
    mask[rows] = True
    extract.loc[mask, ["Easting", "Northing", "LSOA Code"]] = ""
    extract["_unlocated"] = mask


def _police_uk(
    crimes: pd.DataFrame,
    extract: pd.DataFrame,
    geo: dg.Geography,
    planted_centres: dict[int, tuple[float, float]],
    areas: pd.DataFrame,
    pop: np.ndarray,
    latent: np.ndarray,
    urban: np.ndarray,
    start: str,
    months: int,
    seed: int,
    rng: np.random.Generator,
    outside: dg.OutsideLsoas,
    rng_outside: np.random.Generator,
) -> tuple[pd.DataFrame, int]:
    """police.uk rows (crimes + ASB) with helper columns, and the ASB count.

    Helpers: `_month`, `_asb`, `_noloc` (No Location: ~2% drawn, plus the extract's unlocated
    rows) and `_outside` (geocoded to a neighbouring LSOA, drawn from `rng_outside` so the other
    draws stay as they were).
    """
    n_l = len(areas)
    k = MAP_POINTS_PER_LSOA
    mx, my = dg.sample_in_cells(geo.cells, np.repeat(np.arange(n_l), k), rng)
    mx, my = mx.reshape(n_l, k), my.reshape(n_l, k)
    names = np.array(
        [f"{w} {t}" for w in STREET_WORDS for t in STREET_TYPES] + MAP_POIS * 6, dtype=object
    )
    mp_name = names[rng.integers(len(names), size=(n_l, k))]
    for i, (cx, cy) in sorted(planted_centres.items()):
        mx[i, 0], my[i, 0] = cx, cy
        mp_name[i, 0] = "Nightclub"
    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(mx, my)
    lon_s = np.char.mod("%.6f", lon)
    lat_s = np.char.mod("%.6f", lat)

    def snap(li: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d2 = (mx[li] - x[:, None]) ** 2 + (my[li] - y[:, None]) ** 2
        return np.argmin(d2, axis=1)

    li = extract["_lsoa"].to_numpy()
    j = snap(li, extract["_x"].to_numpy(), extract["_y"].to_numpy())
    no_loc = (rng.random(len(extract)) < NO_LOCATION_SHARE) | extract["_unlocated"].to_numpy()
    month = extract["_month"].to_numpy()
    code = crimes["code"].to_numpy()[extract["_row"].to_numpy()]
    m_idx = extract["_m"].to_numpy()
    outcome = dc.police_uk_outcomes(rng, code, m_idx, months)
    crime_id = [
        hashlib.sha256(f"demo:{seed}:{r}".encode()).hexdigest() for r in extract["Crime Reference"]
    ]
    lsoa_code = areas["lsoa_code"].to_numpy()
    lsoa_name = areas["lsoa_name"].to_numpy()
    crimes_uk = pd.DataFrame(
        {
            "Crime ID": crime_id,
            "Month": month,
            "Longitude": np.where(no_loc, "", lon_s[li, j]),
            "Latitude": np.where(no_loc, "", lat_s[li, j]),
            "Location": np.where(no_loc, "No Location", "On or near " + mp_name[li, j]),
            "LSOA code": np.where(no_loc, "", lsoa_code[li]),
            "LSOA name": np.where(no_loc, "", lsoa_name[li]),
            "Crime type": extract["_crime_type"].to_numpy(),
            "Last outcome category": outcome,
            "_month": month,
            "_asb": False,
            "_noloc": no_loc,
            "_outside": False,
        }
    )
    _geocode_outside(crimes_uk, outside, names, to_wgs, rng_outside)

    # anti-social behaviour: ~12% of rows, more in centres and deprived areas, summer peak
    per_month = np.bincount(m_idx, minlength=months) * ASB_SHARE / (1 - ASB_SHARE)
    asb_urban = {"city_centre": 4.0, "city": 1.3, "town_centre": 3.0, "town": 1.2, "rural": 0.6}
    w = pop.sum(axis=(1, 2)) * np.exp(0.4 * latent) * np.array([asb_urban[u] for u in urban])
    starts = dc.month_starts(start, months)
    moy = starts[:-1].astype("datetime64[M]").astype(int) % 12 + 1
    season = 1 + 0.2 * np.cos(2 * np.pi * (moy - 7) / 12)
    season = season / season.mean()
    lam = (w / w.sum())[:, None] * (per_month.mean() * season)[None, :]
    counts = rng.poisson(lam)
    ai, am = np.nonzero(counts)
    reps = counts[ai, am]
    ai, am = np.repeat(ai, reps), np.repeat(am, reps)
    ax, ay = dg.sample_in_cells(geo.cells, ai, rng)
    aj = snap(ai, ax, ay)
    asb_month = np.datetime_as_string(starts[am], unit="M")
    asb = pd.DataFrame(
        {
            "Crime ID": "",
            "Month": asb_month,
            "Longitude": lon_s[ai, aj],
            "Latitude": lat_s[ai, aj],
            "Location": "On or near " + mp_name[ai, aj],
            "LSOA code": lsoa_code[ai],
            "LSOA name": lsoa_name[ai],
            "Crime type": "Anti-social behaviour",
            "Last outcome category": "",
            "_month": asb_month,
            "_asb": True,
            "_noloc": False,
            "_outside": False,
        }
    )
    uk = pd.concat([crimes_uk, asb], ignore_index=True)
    uk["Reported by"] = FORCE_NAME
    uk["Falls within"] = FORCE_NAME
    uk["Context"] = ""
    uk = uk.sort_values(
        ["_month", "_noloc", "LSOA name", "_asb", "Crime ID", "Location", "Longitude"],
        kind="stable",
    ).reset_index(drop=True)
    return uk, int(len(asb))


def _geocode_outside(
    rows: pd.DataFrame,
    outside: dg.OutsideLsoas,
    names: np.ndarray,
    to_wgs: Transformer,
    rng: np.random.Generator,
) -> None:
    """Move ~1% of the located crime rows to neighbouring LSOAs, in place (`_outside` = True).

    Real police.uk files place about 1% of a force's crimes outside its area. These are the same
    crimes as in the force extract (recorded in the county, geocoded elsewhere), so the rows per
    month still reconcile with the extract.
    """
    free = np.nonzero(~rows["_noloc"].to_numpy())[0]
    n = min(len(free), round(OUTSIDE_AREA_SHARE * len(rows)))
    idx = np.sort(rng.choice(free, size=n, replace=False))
    m, k = outside.x.shape
    mp_name = names[rng.integers(len(names), size=(m, k))]
    lon, lat = to_wgs.transform(outside.x, outside.y)
    li = rng.integers(m, size=n)
    j = rng.integers(k, size=n)
    rows.loc[idx, "Longitude"] = np.char.mod("%.6f", lon[li, j])
    rows.loc[idx, "Latitude"] = np.char.mod("%.6f", lat[li, j])
    rows.loc[idx, "Location"] = "On or near " + mp_name[li, j]
    rows.loc[idx, "LSOA code"] = outside.codes[li]
    rows.loc[idx, "LSOA name"] = outside.names[li]
    rows.loc[idx, "_outside"] = True


# ----------------------------------------------------------------------------- writing


def _write_boundaries(path: Path, geo: dg.Geography, areas: pd.DataFrame) -> None:
    order = np.argsort(areas["lsoa_code"].to_numpy())
    gdf = gpd.GeoDataFrame(
        {
            "LSOA21CD": areas["lsoa_code"].to_numpy()[order],
            "LSOA21NM": areas["lsoa_name"].to_numpy()[order],
        },
        geometry=list(geo.cells[order]),
        crs="EPSG:27700",
    )
    gdf.to_file(path, layer="lsoa21", driver="GPKG")


def _write_lookup(path: Path, areas: pd.DataFrame) -> None:
    lu = areas.sort_values("lsoa_code")[
        ["lsoa_code", "lsoa_name", "ward_code", "ward_name", "district_code", "district_name"]
    ]
    lu.columns = LOOKUP_COLUMNS
    lu.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")


def _write_population(path: Path, areas: pd.DataFrame, pop: np.ndarray) -> None:
    order = np.argsort(areas["lsoa_code"].to_numpy())
    a = areas.iloc[order]
    p = pop[order]
    frame = pd.DataFrame(
        {
            "LAD 2023 Code": a["district_code"].to_numpy(),
            "LAD 2023 Name": a["district_name"].to_numpy(),
            "LSOA 2021 Code": a["lsoa_code"].to_numpy(),
            "LSOA 2021 Name": a["lsoa_name"].to_numpy(),
            "Total": [f"{t:,}" for t in p.sum(axis=(1, 2))],
        }
    )
    ages = pd.DataFrame(
        np.hstack([p[:, 0, :], p[:, 1, :]]),
        columns=[f"F{a}" for a in range(91)] + [f"M{a}" for a in range(91)],
    )
    pd.concat([frame, ages], axis=1).to_csv(path, index=False)


def _write_deprivation(path: Path, areas: pd.DataFrame, dep: dict[str, Any]) -> None:
    order = np.argsort(areas["lsoa_code"].to_numpy())
    a = areas.iloc[order]
    cols = {
        DEPRIVATION_COLUMNS[0]: a["lsoa_code"].to_numpy(),
        DEPRIVATION_COLUMNS[1]: a["lsoa_name"].to_numpy(),
        DEPRIVATION_COLUMNS[2]: a["district_code"].to_numpy(),
        DEPRIVATION_COLUMNS[3]: a["district_name"].to_numpy(),
    }
    for key, score, stem in DEPRIVATION_DOMAINS:
        cols[score] = np.char.mod("%.3f", dep["score"][key][order])
        cols[stem + RANK_SUFFIX] = dep["rank"][key][order]
        cols[stem + DECILE_SUFFIX] = dep["decile"][key][order]
    pd.DataFrame(cols)[DEPRIVATION_COLUMNS].to_csv(path, index=False)


def _write_extract(out_dir: Path, extract: pd.DataFrame) -> list[Path]:
    paths = []
    (out_dir / "police").mkdir(parents=True, exist_ok=True)
    for fy, rows in extract.groupby("_fy", sort=True):
        p = out_dir / "police" / f"demo_force_crimes_{fy}.csv"
        rows[FORCE_COLUMNS].to_csv(p, index=False)
        paths.append(p)
    return paths


def _write_police_uk(out_dir: Path, uk: pd.DataFrame) -> list[Path]:
    paths = []
    for month, rows in uk.groupby("Month", sort=True):
        folder = out_dir / "police_uk" / month
        folder.mkdir(parents=True, exist_ok=True)
        p = folder / f"{month}-demo-street.csv"
        rows[POLICE_UK_COLUMNS].to_csv(p, index=False, lineterminator="\r\n")
        paths.append(p)
    return paths


def _structure_json(
    county: _County, *, seed: int, n_lsoas: int, start: str, months: int
) -> dict[str, Any]:
    """The machine-readable truth: what was planted where, and with which parameters."""
    geo, areas, crimes, uk = county.geo, county.areas, county.crimes, county.uk
    planted, used = county.planted, county.used
    out, n_outside = county.outside, int(uk["_outside"].sum())
    codes = areas["lsoa_code"].to_numpy()
    persons = county.pop.sum(axis=(1, 2))
    nte_rows = []
    for i, kind in sorted(planted["nte"].items()):
        cx, cy = planted["nte_centres"][i]
        nte_rows.append(
            {
                "lsoa_code": codes[i],
                "lsoa_name": areas.at[i, "lsoa_name"],
                "settlement_type": kind,
                "extra_crimes_per_year": dc.NTE_PER_YEAR[kind],
                "centre_easting": round(cx),
                "centre_northing": round(cy),
            }
        )
    districts = (
        areas.assign(persons=persons)
        .groupby(["district_code", "district_name"], as_index=False)
        .agg(n_lsoas=("lsoa_code", "size"), population=("persons", "sum"))
    )
    wards = (
        areas[["ward_code", "ward_name", "district_code"]]
        .drop_duplicates()
        .sort_values("ward_code")
    )
    settlements = []
    for k, s in enumerate(geo.settlements):
        settlements.append(
            {
                "name": s.name,
                "kind": s.kind,
                "district": s.district,
                "centre_easting": round(s.x),
                "centre_northing": round(s.y),
                "radius_m": round(s.radius),
                "lsoa_codes": sorted(codes[geo.settlement == k].tolist()),
            }
        )
    crime_months = pd.Series(crimes["date"].to_numpy().astype("datetime64[M]").astype(str))
    return {
        "generator": "sources.demo.write_demo_county",
        "seed": seed,
        "n_lsoas": n_lsoas,
        "start": start,
        "months": months,
        "crs": "EPSG:27700",
        "county": {
            "code": COUNTY_CODE,
            "name": COUNTY_NAME,
            "area_m2": round(geo.outline.area, 1),
            "bounds": [round(b, 1) for b in geo.outline.bounds],
        },
        "districts": [
            {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
            for r in districts.to_dict("records")
        ],
        "wards": wards.to_dict("records"),
        "settlements": settlements,
        "university_note": "the student population peaks west of the Norchester city centre",
        "lsoa_urban_class": dict(zip(codes.tolist(), county.urban.tolist(), strict=True)),
        "night_time_economy_hotspots": {
            "lsoa_codes": sorted(r["lsoa_code"] for r in nte_rows),
            "hotspots": nte_rows,
            "days": ["Friday", "Saturday"],
            "hours": "22:00-02:59 (after midnight the offence date is the next day)",
            "codes": dc.NTE_CODES,
            "location_types": ["Pub/Bar", "Nightclub", "Street"],
            "alcohol_share": 0.8,
            "victim_age_18_30_share": 0.88,
            "point_sd_m": 120,
        },
        "high_domestic_abuse": {
            "lsoa_codes": sorted(codes[planted["high_da"]].tolist()),
            "rule": "most deprived residential (non-centre) urban LSOAs, 4% of all LSOAs (at least 3)",
            "extra_crimes_per_year": dc.DA_PER_YEAR,
            "codes": dc.DA_CODES,
            "location_type": "Dwelling (90%)",
            "victim_sex_female_share": 0.82,
            "background_da_share_of_violence": dc.DA_SHARE_DEFAULT["violence"],
        },
        "county_lines": {
            "lsoa_codes": sorted(codes[planted["county_lines"]].tolist()),
            "settlement": "Yarmere",
            "code": "92A",
            "extra_crimes_per_year": dc.COUNTY_LINES_PER_YEAR,
            "flag_share_in_these_lsoas": 0.7,
            "flag_share_of_92A_elsewhere": 0.05,
        },
        "deprivation": {
            "latent": "imd_latent = (ln(IMD score) - 2.8) / 0.62",
            "deprived_places": [
                "Norchester core and three estates",
                "Yarmere (coastal)",
                "Lynnford",
                "Thetwell",
            ],
            "estate_centres": [[round(x), round(y)] for x, y in county.dep["estates"]],
            "ranks": f"national-equivalent, 1 = most deprived of {N_ENGLAND_LSOAS}",
        },
        "deprivation_gradient": {
            "intensity": (
                "k * population * exp(beta * imd_latent) * urban_factor[class]"
                " * lsoa_effect * season * trend"
            ),
            "streams": used["streams"],
            "seasonality": used["seasonality"],
            "trend_per_year": used["trend_per_year"],
            "lsoa_effect": "exp(N(0, sd)) per LSOA, shared by all background streams",
            "lsoa_effect_sd": used["lsoa_effect_sd"],
        },
        "unknown_offence_codes": county.unknown,
        "malformed_rows": county.malformed,
        "force_extract": {
            "files": "one per financial year of the offence date (April-March)",
            "crime_reference": "DC/<fy start yy>/<sequence>, ordered by recorded date",
            "flags": "Y/N",
            "victim": "age and sex blank when there is no personal victim; age blank ~5% unknown",
            "unlocated": {
                "share": UNLOCATED_SHARE,
                "rows": county.n_unlocated,
                "rule": (
                    "Easting, Northing and LSOA Code blank (location unknown or withheld);"
                    " valid rows, never malformed ones; 'No Location' in police.uk too"
                ),
            },
        },
        "police_uk": {
            "month_basis": "month of the offence date (same crimes as the force extract)",
            "reported_by": FORCE_NAME,
            "no_location_share": NO_LOCATION_SHARE,
            "asb_share_of_rows": ASB_SHARE,
            "map_points_per_lsoa": MAP_POINTS_PER_LSOA,
            "outside_area": {
                "share_of_crime_rows": OUTSIDE_AREA_SHARE,
                "rows": n_outside,
                "rule": (
                    "located crime rows geocoded to a neighbouring district: the same crimes as"
                    " in the force extract (which places them in the county), so rows per month"
                    " still reconcile"
                ),
                "lsoa_code_range": f"{dg.OUTSIDE_CODE_PREFIX}xxxx (none is a county LSOA)",
                "distance_beyond_county_bounds_m": list(dg.OUTSIDE_BAND_M),
                "map_points_per_lsoa": OUTSIDE_MAP_POINTS,
                "lsoas": [
                    {"lsoa_code": c, "lsoa_name": n, "district": d}
                    for c, n, d in zip(
                        out.codes.tolist(), out.names.tolist(), out.district.tolist(), strict=True
                    )
                ],
            },
        },
        "counts": {
            "lsoas": len(codes),
            "wards": int(areas["ward_code"].nunique()),
            "districts": int(areas["district_code"].nunique()),
            "population": int(persons.sum()),
            "crimes": len(crimes),
            "crimes_by_month": {
                k: int(v) for k, v in crime_months.value_counts().sort_index().items()
            },
            "violence_and_sexual_offences": int((crimes["crime_type"] == dc.VSO).sum()),
            "police_uk_rows": len(uk),
            "asb_rows": county.n_asb,
            "no_location_rows": int(uk["_noloc"].sum()),
            "outside_area_rows": n_outside,
            "unlocated_extract_rows": county.n_unlocated,
        },
    }
