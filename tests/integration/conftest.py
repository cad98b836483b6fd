"""Real Norfolk runs, each materialised once per session, and the truth they must reconcile with.

The truth is read from the published files with the csv and json modules (and shapely for a
point in a polygon, in the files' own WGS84), never through the pipeline's readers: district
from the name of the LSOA 2011 file each LSOA is in, or from LAD24CD in the LSOA 2021 file; LSOA
2011 -> 2021 pairs from the ONS lookup as published.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml
from shapely.geometry import Point, shape

from pipelines.settings import Settings
from tests.pipelines.conftest import REPO, materialize

PROXY_TYPES = {"Violence and sexual offences", "Robbery", "Possession of weapons"}
LSOA11_FILES = "uk-geojson-norfolk/json/statistical/eng/lsoa_by_lad"
LSOA21_FILE = "lsoa21/boundaries/LSOA21_norfolk_BSC_V4.geojson"
VINTAGE_LOOKUP = "lsoa21/lookups/LSOA11_LSOA21_LAD22_EW_LU.csv"


@dataclass(frozen=True)
class RealRun:
    settings: Settings
    result: dg.ExecuteInProcessResult

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.settings.database), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def failed(self) -> dict[str, str]:
        return {
            c.check_name: c.description or ""
            for c in self.result.get_asset_check_evaluations()
            if not c.passed
        }


def real_run(
    shared_data: Path,
    folder: Path,
    settings_name: str,
    inputs: dict[str, str] | None = None,
    **overrides: object,
) -> RealRun:
    """Materialise a committed real-data settings file, with paths made absolute; `inputs` and
    `overrides` replace single inputs and top-level settings."""
    data = yaml.safe_load((REPO / "config" / settings_name).read_text(encoding="utf-8"))
    data["inputs"] = {
        k: v.replace("../shared/data", str(shared_data))
        for k, v in {**data["inputs"], **(inputs or {})}.items()
    }
    data["definition"] = str(REPO / data["definition"])
    data["database"] = str(folder / "run.duckdb")
    data["output_dir"] = str(folder / "out")
    data.update(overrides)
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return RealRun(*materialize(path))


@pytest.fixture(scope="session")
def run_a(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    """(a) 2024-01..04 on LSOA 2021, Census 2021 population, IoD2025."""
    folder = tmp_path_factory.mktemp("real-a")
    return real_run(
        shared_data, folder, "settings-norfolk-policeuk-2024-lsoa21.yaml", district_packs=False
    )


@pytest.fixture(scope="session")
def run_b(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    """(b) 2022 and 2024 together on LSOA 2021, through the ONS lookup."""
    folder = tmp_path_factory.mktemp("real-b")
    return real_run(
        shared_data, folder, "settings-norfolk-policeuk-2022-2024-lsoa21.yaml", district_packs=False
    )


@pytest.fixture(scope="session")
def run_c(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> RealRun:
    """(c) 2022 on LSOA 2011, mid-2019 population, IoD2019; the only real run that renders a
    district's pack besides the county's (a and b render the county's: the seven district packs
    cost a minute a run, and the unit tests draw a pack per district)."""
    folder = tmp_path_factory.mktemp("real-c")
    return real_run(
        shared_data,
        folder,
        "settings-norfolk-policeuk-2022.yaml",
        district_packs=["King's Lynn and West Norfolk"],
    )


# ------------------------------------------------------------------------------------ truth


@dataclass
class Truth:
    """What the police files hold for one geography, counted independently of the pipeline."""

    per_file: dict[str, int] = field(default_factory=dict)
    status: Counter = field(default_factory=Counter)  # (period, status) -> incidents
    placement: Counter = field(default_factory=Counter)  # (period, placement group) -> incidents
    county: Counter = field(default_factory=Counter)  # period -> proxy serious violence
    district: Counter = field(default_factory=Counter)  # (period, district) -> proxy SV
    block: Counter = field(default_factory=Counter)  # (period, block of LSOA21s) -> proxy SV


class Geography:
    """Norfolk's LSOAs of both vintages, their districts and polygons, and the ONS pairs."""

    def __init__(self, shared: Path) -> None:
        self.lsoa11: dict[str, str] = {}  # LSOA11 -> district (file name)
        self.polygons11 = {}
        for path in sorted((shared / LSOA11_FILES).glob("*.json")):
            for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
                code = feature["properties"]["LSOA11CD"]
                self.lsoa11[code] = path.stem
                self.polygons11[code] = shape(feature["geometry"])
        features = json.loads((shared / LSOA21_FILE).read_text(encoding="utf-8"))["features"]
        self.lsoa21 = {f["properties"]["LSOA21CD"]: f["properties"]["LAD24CD"] for f in features}
        self.polygons21 = {f["properties"]["LSOA21CD"]: shape(f["geometry"]) for f in features}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.parents: dict[str, list[str]] = defaultdict(list)
        with (shared / VINTAGE_LOOKUP).open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                self.children[row["LSOA11CD"]].append(row["LSOA21CD"])
                self.parents[row["LSOA21CD"]].append(row["LSOA11CD"])

    def block(self, lsoa21: str) -> str:
        """The LSOA 2021 codes that share LSOA 2011 parents with this one (a split or merge
        family), as one key: what an LSOA 2011 count must equal when summed on LSOA 2021."""
        family = {c for p in self.parents[lsoa21] for c in self.children[p]}
        return "+".join(sorted(family))


def police_rows(shared: Path, pattern: str):
    for path in sorted((shared / "policeuk-street").glob(pattern)):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        yield str(path.resolve()), rows


def truth_on(
    geo: Geography,
    shared: Path,
    pattern: str,
    vintage: str,
    types: frozenset[str] | set[str] = PROXY_TYPES,
) -> Truth:
    """Where each row of the files falls on LSOA `vintage` boundaries, per period (year);
    `county`, `district` and `block` count the rows of crime `types` (the serious-violence
    proxy by default)."""
    truth = Truth()
    area = geo.lsoa21 if vintage == "2021" else geo.lsoa11
    polygons = geo.polygons21 if vintage == "2021" else geo.polygons11
    for path, rows in police_rows(shared, pattern):
        truth.per_file[path] = len(rows)
        # A month is recorded in LSOA 2011 codes when more of its codes exist only in 2011 than
        # only in 2021; its unchanged codes are then read through the lookup.
        codes = [row["LSOA code"].strip() for row in rows]
        only11 = sum(c in geo.children and c not in geo.parents for c in codes)
        only21 = sum(c in geo.parents and c not in geo.children for c in codes)
        coded_2011 = only11 > only21
        for row in rows:
            period, code = row["Month"][:4], row["LSOA code"].strip()
            sv = row["Crime type"] in types
            lsoa21 = None
            if code in area:
                district, group = area[code], "code"
                lsoa21 = code if vintage == "2021" else None
                if vintage == "2021" and coded_2011 and geo.children.get(code) == [code]:
                    group = "unchanged"
            elif vintage == "2021" and code in geo.lsoa11:  # an LSOA 2011 code of Norfolk
                district = geo.lsoa11[code]
                kids = geo.children[code]
                lsoa21 = kids[0]
                group = "split" if len(kids) > 1 else "unchanged" if kids == [code] else "merged"
            elif code:
                district, group = None, "outside_area"
            elif row["Longitude"]:
                point = Point(float(row["Longitude"]), float(row["Latitude"]))
                inside = [c for c, p in polygons.items() if p.contains(point)]
                district = area[inside[0]] if inside else None
                group = "coordinates" if inside else "outside_area"
            else:
                district, group = None, "no_location"
            status = (
                "no_lsoa" if group == "no_location" else "in_area" if district else "outside_area"
            )
            truth.status[(period, status)] += 1
            truth.placement[(period, group)] += 1
            if district and sv:
                truth.county[period] += 1
                truth.district[(period, district)] += 1
                if lsoa21:
                    truth.block[(period, geo.block(lsoa21))] += 1
    return truth


@pytest.fixture(scope="session")
def geography(shared_data: Path) -> Geography:
    return Geography(shared_data)
