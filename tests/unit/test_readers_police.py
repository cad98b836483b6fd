"""Police readers: data.police.uk street files (synthetic and real) and a force crime extract."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from sources._csv import ho_code_sql, normalise_ho_code_text
from sources._result import InputFormatError
from tests.helpers import ingest, reconciles
from tests.unit.test_readers_csv import write

UK_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)
HEX = "a5aa1842bd9d5484baa18486fd1226a2f85cfc4752db8538b8b2b6419559a236"


def test_police_uk_shapes_as_published(tmp_path):
    lines = [
        UK_HEADER,
        f"{HEX},2022-01,Norfolk Constabulary,Norfolk Constabulary,1.297355,52.628768,On or near Castle Meadow,E01026787,Norwich 013C,Violence and sexual offences,Under investigation,",
        ",2022-01,Norfolk Constabulary,Norfolk Constabulary,1.29,52.63,On or near Prince Of Wales Road,E01033449,Norwich 013F,Anti-social behaviour,,",
        f"{HEX[::-1]},2022-01,Norfolk Constabulary,Norfolk Constabulary,,,No Location,,,Other crime,Unable to prosecute suspect,",
        f"{HEX},2022-13,Norfolk Constabulary,Norfolk Constabulary,1.29,52.63,x,E01026787,Norwich 013C,Robbery,,",
        f"{HEX},2022-01,Norfolk Constabulary,Norfolk Constabulary,52.63,1.29,x,E01026787,Norwich 013C,Robbery,,",
        "",
    ]
    r = ingest([write(tmp_path / "2022-01-norfolk-street.csv", lines)], "police_uk")
    rows = r.rows
    assert len(rows) == 4 and reconciles(r.loads)
    assert rows["month"].eq(pd.Timestamp("2022-01-01")).all()
    assert pd.isna(rows["crime_id"].iloc[1])  # ASB has no Crime ID, still loaded
    assert pd.isna(rows["lsoa_code"].iloc[2]) and pd.isna(rows["longitude"].iloc[2])
    assert rows["latitude"].iloc[0] == pytest.approx(52.628768)
    # a month that is not a month rejects the row: it cannot be placed in a period
    rej = r.rejects.set_index("line")
    assert rej.loc[5, "column"] == "month" and rej.loc[5, "value"] == "2022-13"
    assert len(r.rejects) == 1
    # swapped coordinates are two cell issues: the crime is kept, placed by its LSOA code
    issues = r.cell_issues[r.cell_issues["line"] == 6]
    assert set(issues["column"]) == {"longitude", "latitude"}
    assert rows.loc[rows["_line"] == 6, ["longitude", "latitude"]].isna().all().all()
    # the same Crime ID twice (lines 2 and 6): kept once, the later line
    assert r.duplicates[["line", "kept_line"]].values.tolist() == [[2, 6]]


def test_police_uk_real_months_reconcile(shared_data):
    files = sorted((shared_data / "policeuk-street").glob("2022-*/*-street.csv"))
    assert len(files) == 11  # 2022 is LSOA 2011; the 2024 months are LSOA 2021
    r = ingest(files, "police_uk")
    loads = r.loads.set_index(r.loads["file"].str.extract(r"(\d{4}-\d{2})-norfolk")[0])
    # Independent count: physical lines minus the header (these files have no blank or multi-line records).
    for f in files:
        month = f.name[:7]
        assert loads.loc[month, "data_lines"] == f.read_bytes().count(b"\n") - 1
    assert loads.loc["2022-01", "data_lines"] == 6366
    assert reconciles(r.loads) and r.rejects.empty
    assert r.loads["rows_loaded"].sum() == len(r.rows)
    # month comes from each row and matches the folder it was published in
    folder = r.rows["_file"].str.extract(r"/(\d{4}-\d{2})/")[0]
    assert (r.rows["month"].dt.strftime("%Y-%m") == folder).all()
    asb = r.rows["crime_type"] == "Anti-social behaviour"
    assert asb.any() and r.rows.loc[asb, "crime_id"].isna().all()
    no_lsoa = r.rows["lsoa_code"].isna().mean()
    assert 0.005 < no_lsoa < 0.05  # "2-3% of police rows have no LSOA"
    assert r.rows["lsoa_code"].dropna().str.fullmatch(r"[EW]01\d{6}").all()


EXTRACT_HEADER = (
    '"Crime Reference","Offence Date From","Offence Time From","Recorded Date","HO Offence Code",'
    '"HO Offence Description","Easting","Northing","LSOA Code","Location Type","Domestic Abuse Flag",'
    '"Hate Crime Flag","Knife Flag","Firearm Flag","County Lines Flag","Alcohol Related",'
    '"Drugs Related","Victim Age","Victim Sex"'
)


def test_police_extract_parses_and_rejects(tmp_path):
    lines = [
        EXTRACT_HEADER,
        "DC/21/1,01/04/2021,23:15,02/04/2021,008/01,Assault with injury,623000,308000,E01026791,Street,Y,N,N,N,N,Y,N,23,M",
        'DC/21/2,2021-04-02,7:05,02/04/2021, 034a ,Robbery,"623,100",308000,e01026791,Street,N,N,Y,N,N, ,N,,female',
        "DC/21/3,31/02/2021,,02/04/2021,8/1,Assault,,,E01026791,,,,,,,,,30,M",
        "DC/21/4,01/04/2021,,02/04/2021,105A,Assault,,,E01026791,,,,,,,,,130,M",
        "DC/21/5,01/04/2021,,02/04/2021,105A,Assault,,,E01026791,,,,,,,,,,Q",
        ",01/04/2021,,02/04/2021,,Assault,,,E01026791,,,,,,,,,,",
    ]
    r = ingest(write(tmp_path / "demo_force_crimes_2021-22.csv", lines), "police_extract")
    rows = r.rows
    assert list(rows["crime_ref"]) == ["DC/21/1", "DC/21/2", "DC/21/4", "DC/21/5"]
    assert reconciles(r.loads)
    assert list(rows["ho_offence_code"]) == ["8/1", "34A", "105A", "105A"]
    assert list(rows["offence_date"][:2]) == [
        pd.Timestamp("2021-04-01"),
        pd.Timestamp("2021-04-02"),
    ]
    assert list(rows["offence_time"][:2]) == ["23:15", "07:05"]
    assert list(rows["easting"][:2]) == [623000.0, 623100.0]
    assert list(rows["lsoa_code"][:2]) == ["E01026791", "E01026791"]
    assert list(rows["victim_sex"][:2]) == ["M", "F"]
    assert pd.isna(rows["victim_age"].iloc[1])
    assert pd.isna(rows["alcohol_flag"].iloc[1]) and rows["alcohol_flag"].iloc[0] == "Y"
    # a required value (date, offence code, reference) that is bad or blank rejects the row
    rej = r.rejects.set_index(["line", "column"])["reason"]
    assert rej[(4, "offence_date")] == "not a date in dd/mm/yyyy or yyyy-mm-dd"
    assert rej[(7, "crime_ref")] == rej[(7, "ho_offence_code")] == "required value is blank"
    assert r.loads.loc[0, "rows_rejected"] == 2
    # a bad optional value becomes NULL and the crime is kept
    cells = r.cell_issues.set_index(["line", "column"])["reason"]
    assert cells[(5, "victim_age")] == "not an age 0 to 120"
    assert cells[(6, "victim_sex")] == "not one of M, F, U"
    assert pd.isna(rows.set_index("crime_ref").loc["DC/21/4", "victim_age"])
    assert r.loads.loc[0, "cell_issues"] == 2


def test_police_extract_optional_flags_and_missing_required(tmp_path):
    ok = write(
        tmp_path / "minimal.csv",
        ["Crime Number,Offence Date,HO Code,LSOA", "X1,05/06/2022,10A,E01026791"],
    )
    r = ingest(ok, "police_extract")
    assert r.rows["ho_offence_code"].iloc[0] == "10A"
    assert r.rows[["knife_flag", "victim_age", "easting"]].isna().all().all()
    bad = write(tmp_path / "nodate.csv", ["Crime Number,HO Code,LSOA", "X1,10A,E01026791"])
    with pytest.raises(InputFormatError, match="offence_date"):
        ingest(bad, "police_extract")
    nowhere = write(
        tmp_path / "nowhere.csv", ["Crime Number,Offence Date,HO Code", "X1,05/06/2022,10A"]
    )
    with pytest.raises(InputFormatError, match="lsoa_code or easting"):
        ingest(nowhere, "police_extract")


def test_offence_codes_are_spelled_one_way_in_sql_and_in_python():
    raw = ["008/01", "034A", " 8 / 1 ", "100", "37/2", "0", "4/10", "092a", "10a", "105A"]
    want = ["8/1", "34A", "8/1", "100", "37/2", "0", "4/10", "92A", "10A", "105A"]
    assert [normalise_ho_code_text(c) for c in raw] == want
    con = duckdb.connect()
    got = con.execute(f"SELECT {ho_code_sql('c')} FROM unnest(?) t(c)", [raw]).fetchall()
    assert [g for (g,) in got] == want
