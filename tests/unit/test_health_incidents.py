"""NHS records as incidents: age bands, HES cause codes in any position, ISTV dates and flags."""

from __future__ import annotations

import duckdb
import pytest

from tests.helpers import ingest
from tests.unit.test_readers_health import HES_HEADER, ISTV_HEADER, write
from transforms.health import _band_columns, ae_sql, hes_sql


@pytest.mark.parametrize(
    ("band", "normalised", "under_25"),
    [
        ("18-24", "18-24", True),
        ("0 - 9", "0-9", True),
        ("25-34", "25-34", False),
        ("20-29", "20-29", None),  # straddles 25: unknown, never guessed
        ("65+", "65+", False),
        ("Under 18", "0-17", True),
        ("16 to 24", "16-24", True),
        ("Not known", None, None),
        (None, None, None),
    ],
)
def test_age_bands_tell_under_25_only_when_the_band_does(band, normalised, under_25):
    text, under = _band_columns("b")
    got = duckdb.execute(f"SELECT {text}, {under} FROM (SELECT ?::VARCHAR AS b)", [band]).fetchone()
    assert got == (normalised, under_25)


def incidents(con, sql: str) -> dict:
    con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return {
        row["_line"]: row for row in (dict(zip(names, r, strict=True)) for r in cursor.fetchall())
    }


def test_hes_assaults_are_read_from_any_position_and_only_first_episodes_count(tmp_path):
    rows = [
        "1,2022-05-02,1,21,19,1,E01900006,X99.4,S51.8,",  # knife, in CAUSE, aged 19
        "2,2022-05-03,1,21,7003,2,E01900007,,S01.4,Y04.0",  # bodily force at home, only DIAG
        "3,2022-05-03,2,21,7003,2,E01900007,,S01.4,Y04.0",  # the same stay's second episode
        "4,2022-05-04,1,21,40,1,E01900008,W26.0,S61.9,W26.0",  # an accident, not an assault
        "5,2022-05-05,1,21,33,2,E01900009,Y07.0,Y04.0,",  # by a partner: domestic abuse
    ]
    loaded = ingest(write(tmp_path / "hes.csv", HES_HEADER, rows), "hes_admissions")
    got = incidents(loaded.con, hes_sql(loaded.con, "financial", "test"))
    assert sorted(got) == [2, 3, 5, 6]  # line 4 (EPIORDER 2) is not an admission
    assert got[2]["sv_category"] == "assault" and got[2]["knife"] and got[2]["victim_under_25"]
    assert got[2]["period"] == "2022/23" and got[2]["public_place"]  # .4: street
    assert got[3]["sv_category"] == "assault" and not got[3]["knife"]
    assert got[3]["dwelling"] and got[3]["victim_age_band"] == "0-9"  # 7003: under one
    assert got[5]["sv_category"] is None and got[5]["crime_type"].startswith("Other injury")
    assert got[6]["domestic_abuse"] is True and got[2]["domestic_abuse"] is None


def test_istv_uses_the_assault_date_when_plausible_and_reads_the_flags(tmp_path):
    rows = [
        # assault at 23:40 on Friday, arrival after midnight: the assault's date and hour
        "R1,01/04/2023,00:35,31/03/2023,23:40,Knife,,Pub,,,E01900001,18-24,Male,Alcohol",
        # an assault date after the arrival is a slip: the arrival's date is used
        "R1,05/04/2023,14:00,15/04/2023,13:00,Fist,,Home,,,E01900002,35-44,Female,None",
        # only a postcode sector: kept for the coverage count, placed nowhere
        "R1,06/04/2023,10:00,06/04/2023,09:00,Not known,,Not known,,NR1 3,,25-34,Male,Not known",
    ]
    loaded = ingest(write(tmp_path / "istv.csv", ISTV_HEADER, rows), "ae_attendances")
    got = incidents(loaded.con, ae_sql("financial", "test"))
    first, second, third = got[2], got[3], got[4]
    assert first["period"] == "2022/23" and str(first["occurred_at"]) == "2023-03-31 23:40:00"
    assert first["knife"] and first["night_time_economy"] and first["alcohol"]
    assert first["public_place"] and first["victim_under_25"]
    assert second["period"] == "2023/24" and str(second["occurred_month"])[:7] == "2023-04"
    assert second["dwelling"] and not second["public_place"] and second["alcohol"] is False
    assert third["knife"] is None and third["alcohol"] is None and third["public_place"] is None
    assert third["postcode_sector"] == "NR1 3" and third["lsoa_code"] is None
