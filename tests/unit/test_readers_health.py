"""NHS and council ASB readers: ISTV A&E, HES, ambulance and council ASB through the real ingest.

Every file here is written by the test in the published layout; what must be true is counted by
hand from the lines written, not by the reader.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sources._result import InputFormatError
from sources.registry import BY_KEY
from tests.helpers import _memory, ingest, reconciles

ISTV_HEADER = (
    "Site Code (of Treatment),Arrival Date,Arrival Time,Assault Date,Assault Time,Assault Method,"
    "Assault Method Other Description,Assault Location Type,Assault Location Description,"
    "Assault Location Postcode Sector,Assault Location LSOA,Age Band,Sex,"
    "Alcohol or Drug Involvement"
)
ISTV_ROWS = [
    "R9X01,02/04/2021,11:52,02/04/2021,11:33,Sharp object,,Street,Near Street,NR1 3,,18-24,Male,None",
    "R9Z01,02/04/2021,23:17,02/04/2021,22:31,Body part,,Street,,,E01900041,25-34,Female,Alcohol",
    "R9Z01,,23:17,02/04/2021,22:31,Body part,,Home,,,E01900041,25-34,Female,None",  # no arrival
    "R9Y01,03/04/2021,01:10,03/04/2021,00:40,Spoon,,Pub,,,E01900030,35-44,Male,Both",  # method?
    "R9Y01,04/04/2021,02:10,04/04/2021,01:40,Knife,,Nightclub,,,E01900031,18-24,M,Drugs",
]
HES_HEADER = "EPIKEY,ADMIDATE,EPIORDER,ADMIMETH,STARTAGE,SEX,LSOA21,CAUSE,DIAG_4_01,DIAG_4_02"
HES_ROWS = [
    "900000000000,2021-04-02,1,21,22,1,E01900006,X99.4,S51.8,X99.4",
    "900000000001,2021-04-17,1,21,27,1,E01900041,,S01.4,Y04.5",
    "900000000002,2021-04-17,2,21,27,1,E01900041,,S01.4,Y04.5",
]


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def nothing_loaded(loaded_con, table: str, source: str) -> None:
    """No row of the refused input anywhere: raw table, quarantine or load audit."""
    con = loaded_con
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_schema || '.' || table_name = ?",
        [table],
    ).fetchone()[0]
    if exists:
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    for audit in ("quarantine.rejects", "quarantine.cell_issues", "audit.loads"):
        n = con.execute(f"SELECT count(*) FROM {audit} WHERE source = ?", [source]).fetchone()[0]
        assert n == 0, f"{audit} holds {n} rows of a refused file"


def test_istv_rows_load_and_bad_cells_are_quarantined_not_dropped(tmp_path):
    path = write(tmp_path / "istv_assaults_2021-04.csv", ISTV_HEADER, ISTV_ROWS)
    loaded = ingest(path, "ae_attendances")
    assert reconciles(loaded.loads)
    assert len(loaded.rows) == 4  # 5 records, one without its required arrival date
    assert loaded.rejects[["line", "column"]].values.tolist() == [[4, "arrival_date"]]
    # an unknown method is a NULL cell with a reason; the attendance is kept
    issue = loaded.cell_issues.set_index("line").loc[5]
    assert issue["column"] == "assault_method" and issue["value"] == "Spoon"
    rows = loaded.rows.set_index("_line")
    assert pd.isna(rows.loc[5, "assault_method"])
    assert rows.loc[6, "assault_method"] == "sharp_object"  # "Knife" is a sharp object
    assert rows.loc[6, "location_type"] == "licensed_premises"
    assert rows.loc[2, "postcode_sector"] == "NR1 3" and rows.loc[3, "lsoa_code"] == "E01900041"
    assert rows.loc[5, "alcohol_drug"] == "alcohol_and_drugs"


def test_hes_episodes_load_with_their_cause_codes_in_any_position(tmp_path):
    path = write(tmp_path / "hes_apc_assaults_2021-22.csv", HES_HEADER, HES_ROWS)
    loaded = ingest(path, "hes_admissions")
    assert reconciles(loaded.loads) and loaded.rejects.empty
    rows = loaded.rows.set_index("epikey")
    assert rows.loc["900000000000", "cause"] == "X99.4"
    assert rows.loc["900000000001", "diag_02"] == "Y04.5"
    assert rows["epiorder"].tolist() == [1, 1, 2]


AMBULANCE_HEADER = "Incident Number,Call Date,Call Time,Incident LSOA"
AMBULANCE_ROW = "AMB21000001,02/04/2021,22:37,E01900041"
ASB_HEADER = "Case Reference,Incident Date,ASB Category"
ASB_ROW = "ASB/21/00001,01/04/2021,Nuisance"


@pytest.mark.parametrize(
    ("key", "header", "row", "extra_header", "extra_values", "named"),
    [
        ("hes_admissions", HES_HEADER, HES_ROWS[0], "NEWNHSNO", "9434765919",
         "NEWNHSNO (an NHS or hospital number)"),
        ("hes_admissions", HES_HEADER, HES_ROWS[0], "MYDOB", "032001",
         "MYDOB (a date of birth)"),
        ("ae_attendances", ISTV_HEADER, ISTV_ROWS[0], "Patient Name,Patient Postcode",
         "Jo Bloggs,NR1 3QY",
         "Patient Name (a person's name); Patient Postcode (a full postcode)"),
        ("ambulance_callouts", AMBULANCE_HEADER, AMBULANCE_ROW, "Date of Birth", "01/02/2001",
         "Date of Birth (a date of birth)"),
        ("asb_council", ASB_HEADER, ASB_ROW, "Address", "1 High Street", "Address (an address)"),
    ],
)  # fmt: skip
def test_a_file_with_personal_identifier_columns_is_refused_and_nothing_is_loaded(
    tmp_path, key, header, row, extra_header, extra_values, named
):
    good = write(tmp_path / "a" / "good.csv", header, [row])
    bad = write(
        tmp_path / "b" / "extract.csv", f"{header},{extra_header}", [f"{row},{extra_values}"]
    )
    con = _memory()
    with pytest.raises(InputFormatError) as refused:
        ingest([good, bad], key, con=con)  # in a drop with a good file: nothing half-loaded
    message = str(refused.value)
    assert "extract.csv" in message and "personal identifier" in message and named in message
    for value in extra_values.split(","):
        assert value not in message  # the identifying value itself is never echoed
    nothing_loaded(con, BY_KEY[key].table, BY_KEY[key].source)
    assert len(ingest(good, key).rows) == 1  # the same file without those columns loads


def test_a_full_postcode_in_the_postcode_sector_column_refuses_the_file(tmp_path):
    rows = [*ISTV_ROWS[:2], ISTV_ROWS[1].replace(",,E01900041,", ",NR2 4TZ,,")]
    path = write(tmp_path / "istv_assaults_2021-04.csv", ISTV_HEADER, rows)
    con = _memory()
    with pytest.raises(InputFormatError) as refused:
        ingest(path, "ae_attendances", con=con)
    message = str(refused.value)
    assert "Assault Location Postcode Sector" in message and "a full postcode" in message
    assert "line 4" in message and "NR2 4TZ" not in message  # masked, never echoed
    nothing_loaded(con, "raw.ae_attendances", "ae_attendances")


def test_council_asb_and_ambulance_rows_reconcile(tmp_path):
    asb = write(
        tmp_path / "council_asb_2021-22.csv",
        "Case Reference,Incident Date,ASB Category,ASB Type,LSOA Code,Easting,Northing",
        [
            "ASB/21/00001,01/04/2021,Nuisance,Rowdy behaviour,E01900004,622111,313022",
            "ASB/21/00002,31/04/2021,Nuisance,Noise,E01900004,622432,312677",  # no such date
            "ASB/21/00003,02/04/2021,Chaos,Noise,,,",  # unknown category, no location
        ],
    )
    loaded = ingest(asb, "asb_council")
    assert reconciles(loaded.loads)
    assert len(loaded.rows) == 2 and loaded.rejects["line"].tolist() == [3]
    assert loaded.cell_issues["column"].tolist() == ["category"]
    amb = write(
        tmp_path / "ambulance_assaults_2021-22.csv",
        "Incident Number,Call Date,Call Time,Incident LSOA,Easting,Northing,Age Band,Sex",
        [
            "AMB21000001,02/04/2021,22:37,E01900041,576300,327600,25-34,Female",
            "AMB21000002,03/04/2021,01:22,E01900003,623100,313200,eighteen,Male",
        ],
    )
    loaded = ingest(amb, "ambulance_callouts")
    assert reconciles(loaded.loads) and len(loaded.rows) == 2
    assert loaded.cell_issues[["line", "column"]].values.tolist() == [[3, "age_band"]]


def test_a_full_postcode_in_a_line_that_is_not_one_record_refuses_the_file(tmp_path):
    """A malformed line would be kept whole in quarantine.rejects: it must not carry a postcode."""
    broken = ISTV_ROWS[1].replace(",,E01900041,", ",NR2 4TZ,extra field,E01900041,")
    path = write(tmp_path / "istv.csv", ISTV_HEADER, [ISTV_ROWS[0], broken])
    con = _memory()
    with pytest.raises(InputFormatError) as refused:
        ingest(path, "ae_attendances", con=con)
    message = str(refused.value)
    assert "line 3 is not one record" in message and "a full postcode" in message
    assert "NR2 4TZ" not in message
    nothing_loaded(con, "raw.ae_attendances", "ae_attendances")
    # a malformed line without a postcode is quarantined as before
    ok = write(tmp_path / "ok.csv", ISTV_HEADER, [ISTV_ROWS[0], ISTV_ROWS[1] + ",extra"])
    assert ingest(ok, "ae_attendances").rejects["line"].tolist() == [3]
