"""sync_csv_files: only new or changed files are read; every line still ends in one place."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from sources._csv import load_spec
from sources.ingest import Dedup, _find_duplicates, sync_csv_files
from sources.registry import BY_KEY
from tests.helpers import reconciles
from transforms.db import ensure_schema

HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context\n"
)


def _street(path: Path, month: str, ids: list[str], bad: int = 0) -> Path:
    rows = [
        f"{i},{month},F,F,1.29,52.63,On or near X,E01026548,Norwich 001A,Robbery,,\n" for i in ids
    ]
    rows += [f"z{n},{month},F,F,1.29,52.63,X,E01026548,N,,,\n" for n in range(bad)]  # no type
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    return con


def _sync(con, paths, load_id, months=None):
    spec = BY_KEY["police_uk"]
    return sync_csv_files(
        con, paths, load_spec("police_uk"), spec.table, load_id, dedup=spec.dedup,
        event_date=spec.event_date, months=months,
    )  # fmt: skip


def _loads(con) -> dict:
    rows = con.execute(
        "SELECT file, load_id, rows_loaded, rows_rejected, rows_duplicate, months, duplicate_of"
        " FROM audit.loads ORDER BY file"
    ).fetchall()
    return {Path(r[0]).name: r[1:] for r in rows}


def test_unchanged_files_are_not_read_again_and_changed_ones_replace_their_rows(con, tmp_path):
    jan = _street(tmp_path / "2024-01.csv", "2024-01", ["a1", "a2"], bad=1)
    feb = _street(tmp_path / "2024-02.csv", "2024-02", ["b1"])
    first = _sync(con, [jan, feb], "one")
    assert first.whole and len(first.files_read) == 2

    again = _sync(con, [jan, feb], "two")
    assert again.files_read == () and again.files_kept == 2
    assert {v[0] for v in _loads(con).values()} == {"one"}

    _street(feb, "2024-02", ["b1", "b2", "b3"])  # February delivered again, grown
    third = _sync(con, [jan, feb], "three")
    assert [Path(f).name for f in third.files_read] == ["2024-02.csv"]
    loads = _loads(con)
    assert loads["2024-01.csv"][:3] == ("one", 2, 1)  # January untouched, its reject kept
    assert loads["2024-02.csv"][:2] == ("three", 3)
    assert loads["2024-02.csv"][4] == [date(2024, 2, 1)]
    assert con.execute("SELECT count(*) FROM quarantine.rejects").fetchone()[0] == 1
    assert reconciles(con.execute("SELECT * FROM audit.loads").df())


def test_a_record_in_a_new_file_supersedes_one_loaded_before(con, tmp_path):
    jan = _street(tmp_path / "2024-01.csv", "2024-01", ["a1", "a2"])
    _sync(con, [jan], "one")
    feb = _street(tmp_path / "2024-02.csv", "2024-02", ["a2", "b1"])  # a2 updated in February
    _sync(con, [jan, feb], "two")
    duplicates = con.execute("SELECT file, key, kept_file FROM quarantine.duplicates").fetchall()
    assert [(Path(f).name, k, Path(kf).name) for f, k, kf in duplicates] == [
        ("2024-01.csv", "a2", "2024-02.csv")
    ]
    assert _loads(con)["2024-01.csv"][3] == 1  # rows_duplicate, recounted for the kept file


def test_a_file_no_longer_given_is_removed_and_a_copy_of_a_changed_file_is_read(con, tmp_path):
    jan = _street(tmp_path / "a" / "2024-01.csv", "2024-01", ["a1", "a2"])
    copy = _street(tmp_path / "b" / "2024-01.csv", "2024-01", ["a1", "a2"])  # same bytes
    feb = _street(tmp_path / "2024-02.csv", "2024-02", ["b1"])
    _sync(con, [jan, copy, feb], "one")
    assert con.execute("SELECT count(duplicate_of) FROM audit.loads").fetchone()[0] == 1

    _street(jan, "2024-01", ["a1", "a2", "a3"])  # the original changes; the copy still holds
    _sync(con, [jan, copy], "two")  # and February is no longer given
    files = dict(
        con.execute(
            "SELECT file, rows_loaded FROM audit.loads WHERE duplicate_of IS NULL"
        ).fetchall()
    )
    assert sorted(files.values()) == [2, 3] and len(files) == 2
    assert (
        con.execute("SELECT count(*) FROM raw.police_uk WHERE month = '2024-02-01'").fetchone()[0]
        == 0
    )
    assert reconciles(con.execute("SELECT * FROM audit.loads").df())


def test_a_month_range_reads_only_files_of_its_months(con, tmp_path):
    jan = _street(tmp_path / "2024-01.csv", "2024-01", ["a1"])
    _sync(con, [jan], "one")
    feb = _street(tmp_path / "2024-02.csv", "2024-02", ["b1"])
    mar = _street(tmp_path / "2024-03.csv", "2024-03", ["c1"])
    synced = _sync(con, [jan, feb, mar], "two", months=(date(2024, 3, 1), date(2024, 4, 1)))
    assert [Path(f).name for f in synced.files_read] == ["2024-03.csv"]
    assert [Path(f).name for f in synced.files_deferred] == ["2024-02.csv"]
    assert set(_loads(con)) == {"2024-01.csv", "2024-03.csv"}


def test_a_changed_column_map_reads_every_file_again(con, tmp_path):
    jan = _street(tmp_path / "2024-01.csv", "2024-01", ["a1"])
    _sync(con, [jan], "one")
    con.execute("UPDATE audit.loads SET column_map_hash = 'older'")
    assert _sync(con, [jan], "two").whole
    assert _loads(con)["2024-01.csv"][0] == "two"


def test_duplicates_found_from_repeated_keys_only_equal_those_of_a_window_over_every_row(con):
    """Only keys and records seen more than once are sorted; the result is what a window over the
    whole table gives: keys repeated in one file and across three, and keyless records with
    copies inside one file (distinct events) and across files (the same record again)."""
    con.execute(
        """
        CREATE TABLE raw.t AS SELECT * FROM (VALUES
            ('a', 'x', 'f1', 2), ('a', 'y', 'f2', 2), ('a', 'z', 'f3', 5), ('b', 'x', 'f1', 3),
            ('c', 'x', 'f1', 4), ('c', 'x', 'f1', 7), (NULL, 'asb', 'f1', 5),
            (NULL, 'asb', 'f1', 6), (NULL, 'asb', 'f1', 8), (NULL, 'asb', 'f2', 3),
            (NULL, 'asb', 'f3', 2), (NULL, 'asb', 'f3', 9), (NULL, 'other', 'f2', 4),
            (NULL, 'other', 'f2', 5), (NULL, 'only', 'f3', 3))
            AS v(crime_id, crime_type, _file, _line)
        """
    )
    dedup = Dedup("crime_id", "_file DESC, _line DESC")
    _find_duplicates(con, "raw.t", "police_uk", dedup)
    found = con.execute("SELECT * FROM _duplicates ORDER BY ALL").fetchall()
    window = con.execute(
        """
        SELECT 'police_uk', _file, _line, crime_id, first_value(_file) OVER w,
               first_value(_line) OVER w
        FROM raw.t WHERE crime_id IS NOT NULL
        WINDOW w AS (PARTITION BY crime_id ORDER BY _file DESC, _line DESC)
        QUALIFY row_number() OVER w > 1
        UNION ALL
        SELECT 'police_uk', _file, _line, '(no crime_id: the same record in a later file)',
               first_value(_file) OVER v, first_value(_line) OVER v
        FROM (SELECT *, row_number() OVER (PARTITION BY crime_type, _file ORDER BY _line) AS c
              FROM raw.t WHERE crime_id IS NULL)
        WINDOW v AS (PARTITION BY crime_type, c ORDER BY _file DESC, _line DESC)
        QUALIFY row_number() OVER v > 1
        ORDER BY ALL
        """
    ).fetchall()
    assert found == window
    assert [(f, line) for _, f, line, key, *_ in found if key == "a"] == [("f1", 2), ("f2", 2)]
    assert [(f, line, kf, kl) for _, f, line, key, kf, kl in found if key.startswith("(no")] == [
        ("f1", 5, "f3", 2),
        ("f1", 6, "f3", 9),
        ("f2", 3, "f3", 2),
    ]
