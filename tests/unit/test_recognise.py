"""Files are recognised by their header, through the registry's column maps."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import sources._csv as csv_module
import sources.recognise as recognise_module
from sources.recognise import recognise, recognise_header
from sources.registry import INPUTS, InputSpec
from tests.conftest import SHARED_DATA

SHARED = SHARED_DATA
POLICE_UK = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
EXTRACT = (
    "Crime Reference,Offence Date From,HO Offence Code,LSOA Code,Victim Age,Domestic Abuse Flag"
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("header", "key"),
    [
        (POLICE_UK, "police_uk"),
        (EXTRACT, "police_extract"),
        ("LSOA21CD,LSOA21NM,WD24CD,WD24NM,LAD24CD,LAD24NM", "area_lookup"),
        ("LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD,LAD22NM", "lsoa_vintage_lookup"),
        ("LSOA Code,LSOA Name,Total,F0,F1,M0,M1", "population"),
        ("lsoa21_code,IMD_score,IMD_rank,IMD_decile,Income_score", "deprivation"),
        ("nation,lsoa,overall_local_score,income_score,employment_score", "deprivation"),
    ],
)
def test_each_registered_input_is_recognised_by_its_header(tmp_path, header, key):
    found = recognise(_write(tmp_path / "drop.csv", header + "\n"))
    assert found.key == key, found.problem
    assert found.problem is None


def test_the_header_wins_over_the_file_name_and_gzip_is_read(tmp_path):
    path = tmp_path / "population_2022.csv.gz"  # a misleading name
    path.write_bytes(gzip.compress((POLICE_UK + "\nabc,2024-01,,,,,,,,Robbery,,\n").encode()))
    assert recognise(path).key == "police_uk"


def test_a_lookup_with_a_change_indicator_is_not_taken_for_an_area_lookup():
    header = ["LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "CHGIND", "LAD22CD", "LAD22NM"]
    found = recognise_header(header)
    assert found.key == "lsoa_vintage_lookup"
    assert dict(found.candidates)["area_lookup"] < found.columns_matched


def test_an_unknown_file_names_the_closest_input_and_what_it_lacks(tmp_path):
    found = recognise(_write(tmp_path / "x.csv", "Crime Reference,Offence Date From,LSOA Code\n"))
    assert found.key is None
    assert found.closest == "police_extract"
    assert "looks like police_extract" in found.problem
    assert "ho_offence_code" in found.problem


def test_personal_identifiers_are_reported_with_the_recognised_input(tmp_path):
    found = recognise(_write(tmp_path / "x.csv", EXTRACT + ",Victim Surname,Date of Birth\n"))
    assert found.key == "police_extract"
    assert [p.split(" (")[0] for p in found.personal_identifiers] == [
        "Victim Surname",
        "Date of Birth",
    ]


def test_files_that_cannot_be_opened_say_why(tmp_path):
    (tmp_path / "book.csv").write_bytes(b"PK\x03\x04rest of a workbook")
    assert "Excel" in recognise(tmp_path / "book.csv").problem
    assert "empty" in recognise(_write(tmp_path / "empty.csv", "")).problem


def test_boundaries_are_recognised_by_their_layer_fields(tmp_path):
    frame = gpd.GeoDataFrame(
        {"LSOA21CD": ["E01000001"], "LSOA21NM": ["A"]},
        geometry=[shapely.box(0, 0, 1, 1)],
        crs="EPSG:27700",
    )
    path = tmp_path / "areas.gpkg"
    frame[["geometry"]].assign(name="x").to_file(path, layer="other")
    frame.to_file(path, layer="lsoa")
    found = recognise(path)
    assert (found.key, found.layer) == ("lsoa_boundaries", "lsoa")
    wards = tmp_path / "wards.gpkg"
    frame.rename(columns={"LSOA21CD": "WD24CD", "LSOA21NM": "WD24NM"}).to_file(wards)
    assert recognise(wards).key is None


def test_a_source_added_to_the_registry_is_recognised_without_code(tmp_path, monkeypatch):
    """A new source needs its spec and column map only (as the NHS and ASB ones had)."""
    spec_dir = tmp_path / "sources"
    spec_dir.mkdir()
    for existing in csv_module.SPEC_DIR.glob("*.yaml"):
        (spec_dir / existing.name).write_text(existing.read_text())
    (spec_dir / "weapon_sweeps.yaml").write_text(
        "source: weapon_sweeps\ncolumns:\n"
        "  sweep_date: {headers: ['Sweep Date'], type: date, required: true}\n"
        "  weapons_found: {headers: ['Weapons Found'], type: int, optional: true}\n"
        "  lsoa_code: {headers: ['LSOA Code'], type: code, optional: true}\n"
    )
    monkeypatch.setattr(csv_module, "SPEC_DIR", spec_dir)
    csv_module.load_spec.cache_clear()
    extra = InputSpec(
        "weapon_sweeps", "raw.weapon_sweeps", "", "ingest", column_map="weapon_sweeps"
    )
    monkeypatch.setattr(recognise_module, "INPUTS", (*INPUTS, extra))
    try:
        found = recognise_header(["Sweep Date", "Weapons Found", "LSOA Code"])
        assert found.key == "weapon_sweeps"
    finally:
        csv_module.load_spec.cache_clear()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize(
    ("relative", "key"),
    [
        ("policeuk-street/2022-05/2022-05-norfolk-street.csv", "police_uk"),
        ("lsoa21/lookups/LSOA11_LSOA21_LAD22_EW_LU.csv", "lsoa_vintage_lookup"),
        ("lsoa21/lookups/LSOA21_WD24_LAD24_EW_LU.csv", "area_lookup"),
        ("lsoa21/iod2025/imd2025_england_lsoa21.csv", "deprivation"),
        ("iod2019/File_2_-_IoD2019_Domains_of_Deprivation.csv.gz", "deprivation"),
        ("lsoa21/population/census2021_lsoa21_usual_residents_age6_EW.csv", "population"),
        ("lsoa21/boundaries/LSOA21_norfolk_BSC_V4.geojson", "lsoa_boundaries"),
    ],
)
def test_real_published_files_are_recognised(relative, key):
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{relative} is absent")
    assert recognise(path).key == key
