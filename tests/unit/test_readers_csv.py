"""The generic CSV reader: encodings, line endings, header variants, rejects and reconciliation."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd
import pytest

from sources._csv import Spec, normalise_header, read_csv, spec_from_dict
from sources._result import (
    LOAD_COLUMNS,
    REJECT_COLUMNS,
    InputFormatError,
    ReadResult,
    concat_results,
    reject_rows,
)
from sources._text import count_physical_lines
from sources.paths import expand

SPEC: Spec = spec_from_dict(
    {
        "source": "test",
        "columns": {
            "ref": {"headers": ["Crime Reference", "Crime Ref"], "required": True},
            "when": {"headers": ["Date"], "type": "date", "formats": ["%d/%m/%Y", "%Y-%m-%d"]},
            "count": {"headers": ["Count"], "type": "int", "min": 0},
            "age": {
                "headers": ["Age"],
                "type": "int",
                "min": 0,
                "max": 120,
                "describe": "not an age",
            },
            "note": {"headers": ["Note"], "optional": True},
        },
    }
)


def write(path: Path, lines: list[str], newline: str = "\r\n", bom: bool = True) -> Path:
    """Write text lines exactly as given (a real-shaped fixture), optionally gzipped by suffix."""
    data = ("\ufeff" if bom else "") + newline.join(lines) + newline
    raw = data.encode("utf-8")
    if path.suffix == ".gz":
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def reconciles(r: ReadResult) -> bool:
    """Per file: loaded + rejected == data lines, and, for text, + header + blank == the physical
    lines counted from the bytes."""
    loads = r.loads
    lines = loads["rows_loaded"] + loads["rows_rejected"]
    text = loads["physical_lines"].notna()
    physical = loads.loc[text, "physical_lines"].astype("int64")
    whole = (lines + loads["header_lines"] + loads["blank_lines"])[text]
    return bool((lines == loads["data_lines"]).all() and (whole == physical).all())


GOOD = [
    "  crime REF ,DATE,count,Age",  # header variant: case and surrounding whitespace
    'A1,01/04/2021,"1,954",23',
    "A2,2021-04-02, 12 ,",
]


def test_bom_crlf_thousands_and_header_variants(tmp_path):
    r = read_csv(write(tmp_path / "x.csv", GOOD), SPEC).result
    assert list(r.rows["ref"]) == ["A1", "A2"]
    assert list(r.rows["count"]) == [1954, 12]
    assert r.rows["count"].dtype == "Int64"
    assert r.rows["age"].isna().tolist() == [False, True]
    assert list(r.rows["when"]) == [pd.Timestamp("2021-04-01"), pd.Timestamp("2021-04-02")]
    assert r.rows["when"].dtype == "datetime64[ns]"
    assert r.rows["note"].isna().all()  # optional column absent -> NA, not an error
    assert list(r.rows["_line"]) == [2, 3]
    assert r.rows["_file"].iloc[0] == str((tmp_path / "x.csv").resolve())
    assert r.rejects.empty and list(r.rejects.columns) == REJECT_COLUMNS
    assert list(r.loads.columns) == LOAD_COLUMNS
    assert r.loads.loc[0, "data_lines"] == 2 and reconciles(r)


def test_header_normalisation():
    assert normalise_header("\ufeffLSOA_Code  (2011) ") == "lsoa code (2011)"


def test_malformed_lines_rows_and_cells_and_blank_lines(tmp_path):
    lines = [
        "Crime Reference,Date,Count,Age",
        "A1,01/04/2021,1,23",
        "",  # blank line: skipped, not a data line, but still a physical line
        "A2,01/04/2021,1,23,extra",  # too many fields: the line is not one record
        "A3,31/02/2021,1,23",  # no such date: an optional cell, so it becomes NULL
        "A4,01/04/2021,1,130",  # impossible age
        "A5,01/04/2021,x,-1",  # two bad cells in one row
        ",01/04/2021,1,5",  # required value blank: the row cannot be used
        "A7,02/04/2021,2,40",
        "   ",  # spaces only: blank too
        "",
    ]
    r = read_csv(write(tmp_path / "bad.csv", lines), SPEC).result
    assert list(r.rows["ref"]) == ["A1", "A3", "A4", "A5", "A7"]
    assert list(r.rows["_line"]) == [2, 5, 6, 7, 9]
    assert r.rows.set_index("ref").loc["A3", "when"] is pd.NaT
    assert pd.isna(r.rows.set_index("ref").loc["A5", "count"])
    rej = r.rejects.set_index(["line", "column"])
    assert rej.loc[(4, "_row"), "reason"] == "expected 4 fields, found 5"
    assert rej.loc[(4, "_row"), "value"] == "A2,01/04/2021,1,23,extra"  # the raw line, whole
    assert rej.loc[(8, "ref"), "reason"] == "required value is blank"
    assert len(r.rejects) == 2
    cells = r.cell_issues.set_index(["line", "column"])
    assert cells.loc[(5, "when"), "value"] == "31/02/2021"
    assert cells.loc[(5, "when"), "reason"] == "not a date in dd/mm/yyyy or yyyy-mm-dd"
    assert cells.loc[(6, "age"), "reason"] == "not an age"
    assert cells.loc[(7, "count"), "reason"] == "not a whole number"
    assert cells.loc[(7, "age"), "value"] == "-1"
    assert len(r.cell_issues) == 4  # one per bad cell
    load = r.loads.iloc[0]
    assert (load.physical_lines, load.header_lines, load.blank_lines) == (11, 1, 3)
    assert (load.data_lines, load.rows_loaded, load.rows_rejected) == (7, 5, 2)
    assert reconciles(r)


def test_gzip_reads_like_plain(tmp_path):
    plain = read_csv(write(tmp_path / "p.csv", GOOD), SPEC).result
    gz = read_csv(write(tmp_path / "p.csv.gz", GOOD), SPEC).result
    cols = ["ref", "when", "count", "age", "_line"]
    pd.testing.assert_frame_equal(plain.rows[cols], gz.rows[cols])
    assert gz.loads.loc[0, "data_lines"] == 2
    assert gz.loads.loc[0, "sha256"] != plain.loads.loc[0, "sha256"]  # hash of the bytes on disk


def test_missing_required_column_names_file_missing_and_found(tmp_path):
    path = write(tmp_path / "nocount.csv", ["Crime Ref,Date,Age", "A1,01/04/2021,3"])
    with pytest.raises(InputFormatError) as err:
        read_csv(path, SPEC)
    msg = str(err.value)
    assert "nocount.csv" in msg and "count (Count)" in msg and "Crime Ref, Date, Age" in msg
    assert isinstance(err.value, ValueError)
    assert err.value.missing == ["count (Count)"]


def test_a_field_spanning_lines_is_a_reject_for_every_line_it_swallowed(tmp_path):
    spec = spec_from_dict(
        {"source": "t", "columns": {"a": {"headers": ["a"]}, "b": {"headers": ["b"]}}}
    )
    path = write(tmp_path / "m.csv", ["a,b", '1,"two', 'lines"', "3,4"], bom=False, newline="\n")
    r = read_csv(path, spec).result
    assert list(r.rows["_line"]) == [4]
    assert r.rejects["line"].tolist() == [2, 3]
    assert r.rejects["value"].tolist() == ['1,"two', 'lines"']
    assert r.rejects["reason"].str.startswith("unbalanced quote").all()
    assert r.loads.loc[0, "data_lines"] == 3 and reconciles(r)


def test_cp1252_file_falls_back(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("Crime Ref,Date,Count,Age\r\nCaf\xe9,01/04/2021,1,2\r\n".encode("cp1252"))
    r = read_csv(path, SPEC).result
    assert r.rows["ref"].iloc[0] == "Café"


def test_reject_rows_moves_rows_and_fixes_counts(tmp_path):
    r = read_csv(write(tmp_path / "x.csv", GOOD), SPEC).result
    r2 = reject_rows(r, r.rows["count"] > 100, "count", "too many")
    assert list(r2.rows["ref"]) == ["A2"]
    assert r2.rejects.iloc[0][["line", "column", "value", "reason"]].tolist() == [
        2,
        "count",
        "1954",
        "too many",
    ]
    assert (r2.loads.loc[0, "rows_loaded"], r2.loads.loc[0, "rows_rejected"]) == (1, 1)
    both = concat_results([r, r2])
    assert len(both.rows) == 3 and len(both.loads) == 2 and reconciles(both)


def test_expand_sorts_and_fails_clearly(tmp_path):
    for name in ("b.csv", "a.csv", "c.txt"):
        (tmp_path / name).write_text("x\n")
    got = expand(str(tmp_path / "*.csv"))
    assert got == [(tmp_path / "a.csv").resolve(), (tmp_path / "b.csv").resolve()]
    assert all(p.is_absolute() for p in got)
    assert expand(tmp_path / "c.txt") == [(tmp_path / "c.txt").resolve()]
    with pytest.raises(FileNotFoundError, match=r"nothing_\*\.csv"):
        expand(str(tmp_path / "nothing_*.csv"))


@pytest.mark.parametrize(
    "data",
    [b"", b"a", b"a\n", b"a\nb", b"a\r\nb\r\n", b"a\rb", b"\r", b"\r\r\n\n", b"a\r\nb\rc\n\r"],
)
def test_physical_lines_are_counted_as_an_editor_counts_them(data):
    """LF, CRLF and a lone CR each end a line, whichever pass counts them (LF-only files take
    the short one); the oracle is a regular expression over the same bytes."""
    ends = len(re.findall(rb"\r\n|\r|\n", data))
    assert count_physical_lines(data) == ends + (data[-1:] not in (b"", b"\n", b"\r"))
