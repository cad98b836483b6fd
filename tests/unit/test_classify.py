"""Classification of force-extract and data.police.uk rows into core.incidents."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transforms.classify import (
    INCIDENT_COLUMNS,
    age_band,
    classify_police_extract,
    classify_police_uk,
    to_british_national_grid,
    unknown_offence_codes,
)
from transforms.definition import load_definition

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = load_definition(ROOT / "config" / "definitions" / "norfolk-2024.yaml")
CODES = pd.read_csv(
    ROOT / "config" / "reference" / "ho_offence_codes.csv", dtype=str, keep_default_na=False
)
FLAG_COLUMNS = [
    "domestic_abuse_flag",
    "hate_crime_flag",
    "knife_flag",
    "firearm_flag",
    "county_lines_flag",
    "alcohol_flag",
    "drugs_flag",
]


def extract(rows: list[dict]) -> pd.DataFrame:
    """A force extract as the reader returns it (canonical columns), defaults filled in."""
    base = {
        "crime_ref": None,
        "offence_date": "2022-06-15",
        "offence_time": "14:00",
        "ho_offence_code": "8N",
        "ho_offence_description": "Assault with injury",
        "easting": 623000.0,
        "northing": 308000.0,
        "lsoa_code": "E01026800",
        "location_type": "Street / Road",
        **dict.fromkeys(FLAG_COLUMNS),
        "victim_age": 30,
        "victim_sex": "F",
        "_file": "/drop/police/extract.csv",
    }
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["crime_ref"] = [r or f"CR{i:05d}" for i, r in enumerate(frame["crime_ref"])]
    frame["offence_date"] = pd.to_datetime(frame["offence_date"])
    frame["victim_age"] = frame["victim_age"].astype("Int64")
    frame["_line"] = range(2, len(frame) + 2)
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype("str")
    return frame


def classify(rows: list[dict]) -> pd.DataFrame:
    return classify_police_extract(extract(rows), CODES, DEFINITION)


@pytest.mark.parametrize(
    ("category", "code"),
    [(name, code) for name, cat in DEFINITION.categories.items() for code in cat.codes],
)
def test_every_definition_code_gets_its_category(category, code):
    out = classify([{"ho_offence_code": code}])
    assert out.loc[0, "sv_category"] == category
    assert pd.notna(out.loc[0, "offence_group"])


def test_extract_codes_are_matched_after_normalising():
    out = classify(
        [{"ho_offence_code": "034B"}, {"ho_offence_code": "004/01"}, {"ho_offence_code": " 8n "}]
    )
    assert out["sv_category"].tolist() == ["robbery", "homicide", "violence_with_injury"]
    assert out["offence_code"].tolist() == ["34B", "4/1", "8N"]


def test_other_crime_is_kept_but_not_serious_violence():
    out = classify([{"ho_offence_code": c} for c in ("46", "58A", "56B", "92A", "9A")])
    assert out["sv_category"].isna().all()
    assert out["crime_type"].tolist() == [
        "Shoplifting",
        "Criminal damage and arson",
        "Criminal damage and arson",
        "Drugs",
        "Public order",
    ]


def test_unknown_codes_are_kept_and_listed():
    rows = [
        {"ho_offence_code": "999Z", "ho_offence_description": "Local test code"},
        {"ho_offence_code": "999Z", "ho_offence_description": "Local test code"},
        {"ho_offence_code": "999Z", "ho_offence_description": "local variant"},
        {"ho_offence_code": "777", "ho_offence_description": None},
        {"ho_offence_code": "8N"},
    ]
    out = classify(rows)
    assert len(out) == 5
    assert out.loc[0, "offence_description"] == "Local test code"
    assert pd.isna(out.loc[0, "offence_group"]) and pd.isna(out.loc[0, "sv_category"])
    listed = unknown_offence_codes(extract(rows), CODES)
    assert listed["ho_offence_code"].tolist() == ["999Z", "777"]
    assert listed["count"].tolist() == [3, 1]
    assert listed.loc[0, "ho_offence_description"] == "Local test code"  # the most frequent wording
    assert pd.isna(listed.loc[1, "ho_offence_description"])


def test_no_unknown_codes_gives_an_empty_list():
    listed = unknown_offence_codes(extract([{"ho_offence_code": "8N"}]), CODES)
    assert list(listed.columns) == ["ho_offence_code", "ho_offence_description", "count"]
    assert listed.empty


def test_flags_read_yes_no_blank_and_other_values():
    values = ["Y", "yes", "TRUE", "1", "N", "no", "0", None, "", "  ", "maybe"]
    out = classify([{"domestic_abuse_flag": v} for v in values])
    expected = [True, True, True, True, False, False, False, False, False, False, pd.NA]
    assert out["domestic_abuse"].tolist() == expected
    assert out["domestic_abuse"].dtype == "boolean"


def test_a_flag_column_the_extract_lacks_is_unknown():
    raw = extract([{}, {}]).drop(columns=["hate_crime_flag"])
    out = classify_police_extract(raw, CODES, DEFINITION)
    assert out["hate"].isna().all()
    assert out["knife"].notna().all()


def test_public_place_and_public_space_youth_violence():
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
    out = classify(rows)
    assert out["public_place"].tolist() == [True, False, True, False, pd.NA, True, False, True]
    assert out["victim_under_25"].tolist() == [True, True, False, True, True, pd.NA, pd.NA, True]
    assert out["public_space_youth_violence"].tolist() == [
        True,
        False,
        False,
        False,
        pd.NA,
        pd.NA,
        False,
        True,
    ]


def test_location_types_match_whatever_the_force_spacing():
    rows = [
        {"location_type": "Shop/Retail"},
        {"location_type": "shop /  retail"},
        {"location_type": "Pub/Bar", "offence_time": "13:00"},
        {"location_type": "Nightclub", "offence_time": "13:00"},
        {"location_type": "Hospital/Health", "offence_time": "13:00"},
        {"location_type": "Spaceport"},
    ]
    out = classify(rows)
    assert out["public_place"].tolist() == [True, True, True, True, True, pd.NA]
    assert out["night_time_economy"].tolist()[2:5] == [True, True, False]


def test_night_time_economy_from_location_and_hours():
    rows = [
        {"location_type": "Pub / Bar / Nightclub", "offence_time": "13:00"},
        {"location_type": "Street / Road", "offence_time": "23:15"},
        {"location_type": "Street / Road", "offence_time": "05:59"},
        {"location_type": "Street / Road", "offence_time": "06:00"},
        {"location_type": "Street / Road", "offence_time": "12:00"},
        {"location_type": "Dwelling", "offence_time": "23:15"},
        {"location_type": "Street / Road", "offence_time": None},
    ]
    out = classify(rows)
    assert out["night_time_economy"].tolist() == [True, True, True, False, False, False, pd.NA]


def test_county_lines_from_the_marker_or_drugs_trafficking():
    rows = [
        {"county_lines_flag": "Y", "ho_offence_code": "8N"},
        {"ho_offence_code": "92A", "drugs_flag": "Y"},
        {"ho_offence_code": "92A", "drugs_flag": "N"},
        {"ho_offence_code": "92E", "drugs_flag": "Y"},
    ]
    out = classify(rows)
    assert out["county_lines"].tolist() == [True, True, False, False]


def test_dates_ages_and_identity():
    rows = [
        {
            "crime_ref": "NC/1",
            "offence_date": "2022-03-31",
            "offence_time": "23:59",
            "victim_age": 0,
        },
        {"crime_ref": "NC/2", "offence_date": "2022-04-01", "offence_time": None, "victim_age": 65},
    ]
    out = classify(rows)
    assert list(out.columns) == INCIDENT_COLUMNS
    assert out["occurred_month"].tolist() == [
        pd.Timestamp("2022-03-01"),
        pd.Timestamp("2022-04-01"),
    ]
    assert out.loc[0, "occurred_at"] == pd.Timestamp("2022-03-31 23:59")
    assert pd.isna(out.loc[1, "occurred_at"])
    assert out["event_id"].tolist() == ["NC/1", "NC/2"]
    assert out["victim_age_band"].tolist() == ["0-9", "65+"]
    assert (out["source"] == "police").all() and (out["definition_id"] == "norfolk-2024").all()
    assert out["_line"].tolist() == [2, 3]


def test_age_bands_at_their_edges():
    ages = pd.Series(
        [0, 9, 10, 17, 18, 24, 25, 34, 35, 44, 45, 54, 55, 64, 65, 120, None], dtype="Int64"
    )
    assert age_band(ages).tolist()[:-1] == [
        "0-9", "0-9", "10-17", "10-17", "18-24", "18-24", "25-34", "25-34",
        "35-44", "35-44", "45-54", "45-54", "55-64", "55-64", "65+", "65+",
    ]  # fmt: skip
    assert pd.isna(age_band(ages).iloc[-1])


def police_uk(rows: list[dict]) -> pd.DataFrame:
    base = {
        "crime_id": "ab" * 32,
        "month": pd.Timestamp("2022-05-01"),
        "reported_by": "Norfolk Constabulary",
        "falls_within": "Norfolk Constabulary",
        "longitude": 1.2978,
        "latitude": 52.6286,
        "location": "On or near Market Place",
        "lsoa_code": "E01033452",
        "lsoa_name": "Norwich 013E",
        "crime_type": "Violence and sexual offences",
        "last_outcome_category": None,
        "context": None,
        "_file": "/drop/police_uk/2022-05/2022-05-norfolk-street.csv",
    }
    frame = pd.DataFrame([{**base, **row} for row in rows])
    frame["longitude"] = frame["longitude"].astype("Float64")
    frame["latitude"] = frame["latitude"].astype("Float64")
    frame["_line"] = range(2, len(frame) + 2)
    return frame


def test_police_uk_crime_types_map_to_the_proxy():
    types = ["Violence and sexual offences", "Robbery", "Possession of weapons", "Public order",
             "Criminal damage and arson", "Anti-social behaviour"]  # fmt: skip
    out = classify_police_uk(police_uk([{"crime_type": t} for t in types]), DEFINITION)
    assert list(out.columns) == INCIDENT_COLUMNS
    assert out["sv_category"].tolist()[:3] == [
        "violence_and_sexual_offences",
        "robbery",
        "possession_of_weapons",
    ]
    assert out["sv_category"].iloc[3:].isna().all()
    for flag in (
        "domestic_abuse",
        "knife",
        "public_place",
        "public_space_youth_violence",
        "victim_under_25",
    ):
        assert out[flag].isna().all() and out[flag].dtype == "boolean"
    assert out["offence_code"].isna().all()
    assert (out["source"] == "police_uk").all()


def test_police_uk_ids_locations_and_months():
    rows = [
        {"crime_id": "f" * 64},
        {"crime_id": None, "crime_type": "Anti-social behaviour"},
        {
            "crime_id": "",
            "crime_type": "Anti-social behaviour",
            "longitude": None,
            "latitude": None,
            "lsoa_code": None,
        },
    ]
    out = classify_police_uk(police_uk(rows), DEFINITION)
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


def test_wgs84_to_bng_matches_the_ordnance_survey_worked_example():
    # OS "A guide to coordinate systems in Great Britain": ETRS89 52°39'28.8282"N 1°42'57.8663"E
    # is E 651409.903, N 313177.270 via OSTN; PROJ's Helmert fallback is within a few metres.
    lat = 52 + 39 / 60 + 28.8282 / 3600
    lon = 1 + 42 / 60 + 57.8663 / 3600
    x, y = to_british_national_grid(pd.Series([lon, None]), pd.Series([lat, 52.0]))
    assert abs(x.iloc[0] - 651409.903) < 5
    assert abs(y.iloc[0] - 313177.270) < 5
    assert pd.isna(x.iloc[1]) and pd.isna(y.iloc[1])


def test_real_police_uk_month_classifies_every_row(shared_data):
    from sources.police_uk import read_police_uk

    files = sorted((shared_data / "policeuk-street").glob("2022-01/*.csv"))
    raw = read_police_uk(files).rows
    out = classify_police_uk(raw, DEFINITION)
    assert len(out) == len(raw)
    headline = raw["crime_type"].isin(
        ["Violence and sexual offences", "Robbery", "Possession of weapons"]
    )
    assert out["sv_category"].notna().sum() == headline.sum() > 1000
    located = out["x"].notna()
    assert located.sum() == (raw["longitude"].notna() & raw["latitude"].notna()).sum()
    in_norfolk = out.loc[located, "x"].between(540_000, 660_000) & out.loc[located, "y"].between(
        270_000, 350_000
    )
    assert in_norfolk.mean() > 0.95  # about 1% are geocoded outside the force area, as published
    assert out["event_id"].is_unique
    assert np.isfinite(out.loc[located, "x"].to_numpy(dtype=float)).all()
