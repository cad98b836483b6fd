"""Classification of force-extract and data.police.uk rows into core.incidents, in SQL.

Each test writes a real-shaped file, loads it through the real reader and classifies it, so a
rule is proven from the bytes an analyst drops to the row an analyst reads.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.defs.reference.assets import OFFENCE_CODES_CSV
from tests.helpers import ingest
from transforms.classify import INCIDENT_COLUMNS, build_incidents
from transforms.db import write_table
from transforms.definition import load_definition, parse_definition

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = load_definition(ROOT / "config" / "definitions" / "norfolk-2024.yaml")
CODES = pd.read_csv(OFFENCE_CODES_CSV, dtype=str, keep_default_na=False)
HEADERS = {
    "crime_ref": "Crime Reference",
    "offence_date": "Offence Date",
    "offence_time": "Offence Time",
    "ho_offence_code": "HO Offence Code",
    "ho_offence_description": "HO Offence Description",
    "easting": "Easting",
    "northing": "Northing",
    "lsoa_code": "LSOA Code",
    "location_type": "Location Type",
    "domestic_abuse_flag": "Domestic Abuse Flag",
    "hate_crime_flag": "Hate Crime Flag",
    "knife_flag": "Knife Flag",
    "firearm_flag": "Firearm Flag",
    "county_lines_flag": "County Lines Flag",
    "alcohol_flag": "Alcohol Related",
    "drugs_flag": "Drugs Related",
    "victim_age": "Victim Age",
    "victim_sex": "Victim Sex",
}
BASE = {
    "crime_ref": None,
    "offence_date": "15/06/2022",
    "offence_time": "14:00",
    "ho_offence_code": "8N",
    "ho_offence_description": "Assault with injury",
    "easting": "623000",
    "northing": "308000",
    "lsoa_code": "E01026800",
    "location_type": "Street / Road",
    "victim_age": "30",
    "victim_sex": "F",
}


def classify(
    rows: list[dict], tmp_path: Path, definition=DEFINITION, drop: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Write a force extract with these rows, load it with the real reader and classify it."""
    path = tmp_path / "extract.csv"
    columns = [c for c in HEADERS if c not in drop]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([HEADERS[c] for c in columns])
        for i, row in enumerate(rows):
            full = {**BASE, **row}
            full["crime_ref"] = full["crime_ref"] or f"CR{i:05d}"
            out.writerow(["" if full.get(c) is None else full.get(c) for c in columns])
    loaded = ingest(path, "police_extract")
    write_table(loaded.con, "ref.offence_codes", CODES)
    build_incidents(loaded.con, definition, "financial_year", police_extract=True, police_uk=False)
    return loaded.con.execute("SELECT * FROM core.incidents ORDER BY _line").df()


def read(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def test_every_definition_code_gets_its_category(tmp_path):
    expected = [(name, code) for name, cat in DEFINITION.categories.items() for code in cat.codes]
    out = classify([{"ho_offence_code": code} for _, code in expected], tmp_path)
    assert list(zip(out["sv_category"], out["offence_code"], strict=True)) == expected
    assert out["offence_group"].notna().all()


def test_extract_codes_are_matched_after_normalising(tmp_path):
    out = classify(
        [{"ho_offence_code": "034B"}, {"ho_offence_code": "004/01"}, {"ho_offence_code": " 8n "}],
        tmp_path,
    )
    assert out["sv_category"].tolist() == ["robbery", "homicide", "violence_with_injury"]
    assert out["offence_code"].tolist() == ["34B", "4/1", "8N"]


def test_other_crime_is_kept_but_not_serious_violence(tmp_path):
    out = classify([{"ho_offence_code": c} for c in ("46", "58A", "56B", "92A", "9A")], tmp_path)
    assert out["sv_category"].isna().all()
    assert out["crime_type"].tolist() == [
        "Shoplifting",
        "Criminal damage and arson",
        "Criminal damage and arson",
        "Drugs",
        "Public order",
    ]


def test_unknown_codes_are_kept_and_listed(tmp_path):
    rows = [
        {"ho_offence_code": "999Z", "ho_offence_description": "Local test code"},
        {"ho_offence_code": "999Z", "ho_offence_description": "Local test code"},
        {"ho_offence_code": "999Z", "ho_offence_description": "local variant"},
        {"ho_offence_code": "777", "ho_offence_description": None},
        {"ho_offence_code": "8N"},
    ]
    out = classify(rows, tmp_path)
    assert len(out) == 5
    assert out.loc[0, "offence_description"] == "Local test code"
    assert pd.isna(out.loc[0, "offence_group"]) and pd.isna(out.loc[0, "sv_category"])
    listed = ingest_and_list(rows, tmp_path)
    assert listed["ho_offence_code"].tolist() == ["999Z", "777"]
    assert listed["count"].tolist() == [3, 1]
    assert listed.loc[0, "ho_offence_description"] == "Local test code"  # the most frequent wording
    assert pd.isna(listed.loc[1, "ho_offence_description"])


def ingest_and_list(rows: list[dict], tmp_path: Path) -> pd.DataFrame:
    classify(rows, tmp_path)
    con = ingest(tmp_path / "extract.csv", "police_extract").con
    write_table(con, "ref.offence_codes", CODES)
    build_incidents(con, DEFINITION, "financial_year", police_extract=True, police_uk=False)
    return read(con, "SELECT * FROM core.unknown_offence_codes")


def test_no_unknown_codes_gives_an_empty_list(tmp_path):
    listed = ingest_and_list([{"ho_offence_code": "8N"}], tmp_path)
    assert list(listed.columns) == ["ho_offence_code", "ho_offence_description", "count"]
    assert listed.empty


def test_flags_read_yes_no_blank_and_other_values(tmp_path):
    values = ["Y", "yes", "TRUE", "1", "N", "no", "0", None, "", "  ", "maybe"]
    out = classify([{"domestic_abuse_flag": v} for v in values], tmp_path)
    expected = [True, True, True, True, False, False, False, False, False, False, None]
    assert [None if pd.isna(v) else bool(v) for v in out["domestic_abuse"]] == expected


def test_a_flag_column_the_extract_lacks_is_unknown(tmp_path):
    out = classify([{}, {}], tmp_path, drop=("hate_crime_flag",))
    assert out["hate"].isna().all()
    assert out["knife"].notna().all()


def flags(series: pd.Series) -> list:
    return [None if pd.isna(v) else bool(v) for v in series]


def test_public_place_and_public_space_youth_violence(tmp_path):
    rows = [
        {"location_type": "Street / Road", "victim_age": 17},
        {"location_type": "Dwelling", "victim_age": 17},
        {"location_type": "Park / Open Space", "victim_age": 25},
        {"location_type": "Other", "victim_age": 19},
        {"location_type": None, "victim_age": 19},
        {"location_type": "Car Park", "victim_age": None},
        {"location_type": "Dwelling", "victim_age": None},
        {"location_type": "public transport", "victim_age": 24},
    ]
    out = classify(rows, tmp_path)
    assert flags(out["public_place"]) == [True, False, True, False, None, True, False, True]
    assert flags(out["victim_under_25"]) == [True, True, False, True, True, None, None, True]
    assert flags(out["public_space_youth_violence"]) == [
        True, False, False, False, None, None, False, True,
    ]  # fmt: skip


def test_location_types_match_whatever_the_force_spacing(tmp_path):
    rows = [
        {"location_type": "Shop/Retail"},
        {"location_type": "shop /  retail"},
        {"location_type": "Pub/Bar", "offence_time": "13:00"},
        {"location_type": "Nightclub", "offence_time": "13:00"},
        {"location_type": "Hospital/Health", "offence_time": "13:00"},
        {"location_type": "Spaceport"},
    ]
    out = classify(rows, tmp_path)
    assert flags(out["public_place"]) == [True, True, True, True, True, None]
    assert flags(out["night_time_economy"])[2:5] == [True, True, False]


def test_night_time_economy_from_location_and_hours(tmp_path):
    rows = [
        {"location_type": "Pub / Bar / Nightclub", "offence_time": "13:00"},
        {"location_type": "Street / Road", "offence_time": "23:15"},
        {"location_type": "Street / Road", "offence_time": "05:59"},
        {"location_type": "Street / Road", "offence_time": "06:00"},
        {"location_type": "Street / Road", "offence_time": "12:00"},
        {"location_type": "Dwelling", "offence_time": "23:15"},
        {"location_type": "Street / Road", "offence_time": None},
    ]
    out = classify(rows, tmp_path)
    assert flags(out["night_time_economy"]) == [True, True, True, False, False, False, None]


def test_county_lines_from_the_marker_or_drugs_trafficking(tmp_path):
    rows = [
        {"county_lines_flag": "Y", "ho_offence_code": "8N"},
        {"ho_offence_code": "92A", "drugs_flag": "Y"},
        {"ho_offence_code": "92A", "drugs_flag": "N"},
        {"ho_offence_code": "92E", "drugs_flag": "Y"},
    ]
    out = classify(rows, tmp_path)
    assert flags(out["county_lines"]) == [True, True, False, False]


def test_a_flag_may_refer_to_a_flag_defined_after_it(tmp_path):
    """Flags are evaluated in dependency order, not file order: `knife` read from the drugs
    marker, with `drugs` defined below it, gives the drugs values, not unknown."""
    raw = dict(DEFINITION.raw)
    others = {k: v for k, v in raw["flags"].items() if k != "knife"}
    raw["flags"] = {"knife": {"flag": "drugs"}, **others}
    definition = parse_definition(raw)
    assert list(definition.flags)[0] == "knife"
    out = classify(
        [{"drugs_flag": "Y"}, {"drugs_flag": "N"}, {"drugs_flag": "maybe"}], tmp_path, definition
    )
    assert flags(out["knife"]) == [True, False, None]


def test_dates_ages_and_identity(tmp_path):
    rows = [
        {
            "crime_ref": "NC/1",
            "offence_date": "31/03/2022",
            "offence_time": "23:59",
            "victim_age": 0,
        },
        {"crime_ref": "NC/2", "offence_date": "2022-04-01", "offence_time": None, "victim_age": 65},
    ]
    out = classify(rows, tmp_path)
    assert list(out.columns) == INCIDENT_COLUMNS
    assert out["occurred_month"].tolist() == [
        pd.Timestamp("2022-03-01"),
        pd.Timestamp("2022-04-01"),
    ]
    assert out.loc[0, "occurred_at"] == pd.Timestamp("2022-03-31 23:59")
    assert pd.isna(out.loc[1, "occurred_at"])
    assert out["period"].tolist() == ["2021/22", "2022/23"]
    assert out["event_id"].tolist() == ["NC/1", "NC/2"]
    assert out["victim_age_band"].tolist() == ["0-9", "65+"]
    assert (out["source"] == "police").all() and (out["definition_id"] == "norfolk-2024").all()
    assert out["_line"].tolist() == [2, 3]


def test_age_bands_at_their_edges(tmp_path):
    ages = [0, 9, 10, 17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 120, None]
    out = classify([{"victim_age": a} for a in ages], tmp_path)
    assert out["victim_age_band"].tolist()[:-1] == [
        "0-9", "0-9", "10-17", "10-17", "18-24", "18-24", "25-34", "25-34",
        "35-44", "35-44", "45-54", "45-54", "55-64", "55-64", "65+", "65+",
    ]  # fmt: skip
    assert pd.isna(out["victim_age_band"].iloc[-1])


def test_a_repeated_crime_reference_counts_once_as_its_latest_version(tmp_path):
    rows = [{"crime_ref": "NC/1", "ho_offence_code": "8N"}, {"crime_ref": "NC/2"},
            {"crime_ref": "NC/1", "ho_offence_code": "34A"}]  # fmt: skip
    out = classify(rows, tmp_path)
    assert out["event_id"].tolist() == ["NC/2", "NC/1"]
    assert out.set_index("event_id").loc["NC/1", "sv_category"] == "robbery"


UK_HEADER = ["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
             "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category",
             "Context"]  # fmt: skip
UK_BASE = {
    "Crime ID": "ab" * 32,
    "Month": "2022-05",
    "Reported by": "Norfolk Constabulary",
    "Falls within": "Norfolk Constabulary",
    "Longitude": "1.2978",
    "Latitude": "52.6286",
    "Location": "On or near Market Place",
    "LSOA code": "E01033452",
    "LSOA name": "Norwich 013E",
    "Crime type": "Violence and sexual offences",
}


def police_uk(rows: list[dict], tmp_path: Path) -> pd.DataFrame:
    folder = tmp_path / "2022-05"
    folder.mkdir(exist_ok=True)
    path = folder / "2022-05-norfolk-street.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle, lineterminator="\r\n")
        out.writerow(UK_HEADER)
        for i, row in enumerate(rows):
            full = {**UK_BASE, "Crime ID": f"{i:064x}", **row}
            out.writerow(["" if full.get(c) is None else full.get(c) for c in UK_HEADER])
    loaded = ingest(path, "police_uk")
    write_table(loaded.con, "ref.offence_codes", CODES)
    build_incidents(loaded.con, DEFINITION, "financial_year", police_extract=False, police_uk=True)
    return read(loaded.con, "SELECT * FROM core.incidents ORDER BY _line")


def test_police_uk_crime_types_map_to_the_proxy(tmp_path):
    types = ["Violence and sexual offences", "Robbery", "Possession of weapons", "Public order",
             "Criminal damage and arson", "Anti-social behaviour"]  # fmt: skip
    out = police_uk([{"Crime type": t} for t in types], tmp_path)
    assert list(out.columns) == INCIDENT_COLUMNS
    assert out["sv_category"].tolist()[:3] == [
        "violence_and_sexual_offences",
        "robbery",
        "possession_of_weapons",
    ]
    assert out["sv_category"].iloc[3:].isna().all()
    for flag in ("domestic_abuse", "knife", "public_place", "public_space_youth_violence",
                 "victim_under_25"):  # fmt: skip
        assert out[flag].isna().all()
    assert out["offence_code"].isna().all()
    assert (out["source"] == "police_uk").all()


def test_police_uk_ids_locations_and_months(tmp_path):
    rows = [
        {"Crime ID": "f" * 64},
        {"Crime ID": None, "Crime type": "Anti-social behaviour"},
        {"Crime ID": "", "Crime type": "Anti-social behaviour", "Longitude": None,
         "Latitude": None, "LSOA code": None, "Location": "No Location"},
    ]  # fmt: skip
    out = police_uk(rows, tmp_path)
    assert out["event_id"].tolist() == [
        "f" * 64,
        "2022-05-norfolk-street.csv:3",
        "2022-05-norfolk-street.csv:4",
    ]
    assert out["occurred_month"].tolist() == [pd.Timestamp("2022-05-01")] * 3
    assert out["occurred_at"].isna().all()
    assert out.loc[2, ["x", "y"]].isna().all() and pd.isna(out.loc[2, "lsoa_code"])
    # central Norwich is about 623,000 E 308,600 N on the British National Grid
    assert 622_000 < out.loc[0, "x"] < 624_000
    assert 307_500 < out.loc[0, "y"] < 309_500


def test_wgs84_to_bng_matches_the_ordnance_survey_worked_example(tmp_path):
    # OS "A guide to coordinate systems in Great Britain": ETRS89 52°39'28.8282"N 1°42'57.8663"E
    # is E 651409.903, N 313177.270 via OSTN; PROJ's Helmert fallback is within a few metres.
    lat = 52 + 39 / 60 + 28.8282 / 3600
    lon = 1 + 42 / 60 + 57.8663 / 3600
    out = police_uk([{"Longitude": f"{lon:.9f}", "Latitude": f"{lat:.9f}"}], tmp_path)
    assert abs(out.loc[0, "x"] - 651409.903) < 5
    assert abs(out.loc[0, "y"] - 313177.270) < 5


def test_real_police_uk_month_classifies_every_row(shared_data):
    files = sorted((shared_data / "policeuk-street").glob("2022-01/*.csv"))
    loaded = ingest(files, "police_uk")
    write_table(loaded.con, "ref.offence_codes", CODES)
    build_incidents(loaded.con, DEFINITION, "calendar_year", police_extract=False, police_uk=True)
    out = read(loaded.con, "SELECT * FROM core.incidents")
    with files[0].open(encoding="utf-8-sig", newline="") as handle:
        raw = list(csv.DictReader(handle))  # an independent count of the file
    assert len(out) == len(raw)
    headline = sum(r["Crime type"] in {"Violence and sexual offences", "Robbery",
                                       "Possession of weapons"} for r in raw)  # fmt: skip
    assert out["sv_category"].notna().sum() == headline > 1000
    located = out["x"].notna()
    assert located.sum() == sum(bool(r["Longitude"] and r["Latitude"]) for r in raw)
    in_norfolk = out.loc[located, "x"].between(540_000, 660_000) & out.loc[located, "y"].between(
        270_000, 350_000
    )
    assert in_norfolk.mean() > 0.95  # about 1% are geocoded outside the force area, as published
    assert out["event_id"].is_unique
    assert np.isfinite(out.loc[located, "x"].to_numpy(dtype=float)).all()
