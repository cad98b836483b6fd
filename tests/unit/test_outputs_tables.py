"""Published CSVs: Excel-friendly encoding, faithful round trip, and never half a file."""

from __future__ import annotations

import pandas as pd
import pytest

from outputs.tables import atomic_path, write_csv


def workbook_of(tables: dict, path, audience: str = "partner"):
    """`write_workbook` of `tables` with the pack's other details filled in."""
    from outputs.workbook import write_workbook
    from transforms.disclosure import load_disclosure

    return write_workbook(
        tables, path, audience=load_disclosure().audience(audience), period_text="2023/24",
        definition_id="d", notes=[], is_proxy=False, run_id="r",
    )  # fmt: skip


def rates_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": ["E07900001", "E07900002", "E10900001"],
            "area_name": [
                "Kings Lynn & West Norfolk",
                'Ørsted Vale – £ "quoted", comma',
                "Demo County",
            ],
            "period": ["2022/23", "2022/23", "2022/23"],
            "month": pd.to_datetime(["2022-04-01", "2022-05-01", None]),
            "count": pd.array([12, pd.NA, 40], dtype="Int64"),
            "rate_per_1000": pd.array([1.2345678901234, 0.1, pd.NA], dtype="Float64"),
            "vs_county": ["higher", "similar", pd.NA],
        }
    )


def test_csv_has_bom_no_index_iso_dates_and_unix_newlines(tmp_path):
    path = write_csv(rates_frame(), tmp_path / "sv_rates.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("utf-8")
    lines = text.split("\n")
    assert lines[0] == "area_code,area_name,period,month,count,rate_per_1000,vs_county"
    assert lines[1].startswith("E07900001,") and ",2022-04-01," in lines[1]
    assert "\r" not in text
    assert lines[3] == "E10900001,Demo County,2022/23,,40,,"  # missing values are empty cells


def test_round_trip_keeps_values_text_and_order(tmp_path):
    df = rates_frame()
    path = write_csv(df, tmp_path / "sv_rates.csv")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"count": "Int64"}, parse_dates=["month"])
    assert list(back.columns) == list(df.columns)
    assert back["area_name"].tolist() == df["area_name"].tolist()
    assert back["count"].equals(df["count"])
    assert back["rate_per_1000"].iloc[0] == 1.2345678901234  # full precision, not rounded
    assert back["month"].iloc[0] == pd.Timestamp("2022-04-01") and pd.isna(back["month"].iloc[2])


def test_datetimes_with_a_time_keep_it_in_iso_form(tmp_path):
    df = pd.DataFrame({"occurred_at": pd.to_datetime(["2022-04-01 21:30", "2022-04-02 00:00"])})
    text = write_csv(df, tmp_path / "t.csv").read_text(encoding="utf-8-sig")
    assert text.split("\n")[1:3] == ["2022-04-01T21:30:00", "2022-04-02T00:00:00"]


def test_explicit_column_order_and_unknown_column(tmp_path):
    df = rates_frame()
    path = write_csv(df, tmp_path / "t.csv", columns=["period", "area_code"])
    assert path.read_text(encoding="utf-8-sig").split("\n")[0] == "period,area_code"
    with pytest.raises(KeyError, match="nope"):
        write_csv(df, tmp_path / "u.csv", columns=["area_code", "nope"])
    assert not (tmp_path / "u.csv").exists()


def test_same_frame_gives_identical_bytes(tmp_path):
    a = write_csv(rates_frame(), tmp_path / "a.csv").read_bytes()
    b = write_csv(rates_frame(), tmp_path / "b.csv").read_bytes()
    assert a == b


def test_no_temp_file_left_and_overwrite_replaces(tmp_path):
    path = tmp_path / "out" / "sv_rates.csv"  # parent created
    write_csv(rates_frame(), path)
    write_csv(rates_frame().head(1), path)
    assert [p.name for p in path.parent.iterdir()] == ["sv_rates.csv"]
    assert len(pd.read_csv(path, encoding="utf-8-sig")) == 1
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)


def test_failure_mid_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "sv_rates.csv"
    write_csv(rates_frame(), path)
    before = path.read_bytes()

    def half_write(self, target, **kwargs):
        with open(target, "w", encoding="utf-8") as fh:
            fh.write("area_code,area_na")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(OSError, match="disk full"):
        write_csv(rates_frame(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["sv_rates.csv"]


def test_atomic_path_writes_beside_the_target(tmp_path):
    target = tmp_path / "map.pdf"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target
        assert not target.exists()
        tmp.write_bytes(b"%PDF")
    assert target.read_bytes() == b"%PDF" and not tmp.exists()


def test_text_that_would_run_as_a_formula_is_escaped(tmp_path):
    df = pd.DataFrame(
        {
            "area_name": ['=HYPERLINK("http://x")', "+44 1603", "-cmd", "@SUM(A1)", "Norwich"],
            "change": [-1.5, 2.0, -3.0, 0.0, 1.0],
        }
    )
    path = write_csv(df, tmp_path / "t.csv")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["area_name"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+44 1603",
        "'-cmd",
        "'@SUM(A1)",
        "Norwich",
    ]
    assert back["change"].tolist() == [-1.5, 2.0, -3.0, 0.0, 1.0]  # numbers stay numbers


def test_workbook_text_is_stored_as_escaped_text_never_as_a_formula(tmp_path):
    from openpyxl import load_workbook

    table = pd.DataFrame({"area_name": ["=1+1", "Norwich"], "count": [5, 7]})
    path = workbook_of({"sv_rates": table}, tmp_path / "t.xlsx")
    ws = load_workbook(path)["sv_rates"]
    assert ws["A2"].value == "'=1+1" and ws["A2"].data_type == "s"
    assert ws["B2"].value == 5 and ws["B2"].data_type == "n"


def test_a_table_longer_than_a_sheet_is_named_on_contents_and_left_to_its_csv(
    tmp_path, monkeypatch
):
    from openpyxl import load_workbook

    import outputs.workbook as workbook

    monkeypatch.setattr(workbook, "SHEET_ROWS", 3)  # a national grid has millions of cells
    tables = {
        "sv_rates": pd.DataFrame({"count": [1, 2]}),
        "hotspot_grid": pd.DataFrame({"n": range(4)}),
    }
    path = workbook_of(tables, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    assert "sv_rates" in wb.sheetnames and "hotspot_grid" not in wb.sheetnames
    said = " ".join(str(c.value) for row in wb["Contents"].iter_rows() for c in row)
    assert "NOT IN THIS WORKBOOK: 4 rows" in said and "see hotspot_grid.csv" in said


def test_a_csv_written_in_parts_has_the_bytes_of_one_written_whole(tmp_path) -> None:
    """A published table as file text: suppression markers among numbers, missing values, text a
    spreadsheet would run, dates, booleans; written three rows at a time, byte for byte the same."""
    from outputs.tables import write_csv, write_csv_parts

    table = pd.DataFrame(
        {
            "area_code": ["E01000001", "E01000002", "=HYPERLINK(1)", "E01000004", "E05000001",
                          "E07000001", "K04000001"],
            "count": pd.array([12, None, 3, 0, 140, 2_345, 61_003], dtype="Int64").astype(object),
            "rate_per_1000": [7.123456789, None, 0.1, 0.0, 12.5, 1e-7, 33.30788880407379],
            "month": pd.to_datetime(["2023-04-01"] * 6 + [None]),
            "suppressed": [False, True, False, False, False, True, False],
        }
    )  # fmt: skip
    table.loc[1, "count"] = "*"
    whole = write_csv(table, tmp_path / "whole.csv")
    parts = write_csv_parts((table.iloc[i : i + 3] for i in range(0, len(table), 3)),
                            tmp_path / "parts.csv")  # fmt: skip
    assert parts.read_bytes() == whole.read_bytes()
    assert whole.read_bytes().startswith("\ufeffarea_code,".encode())
    assert b"'=HYPERLINK(1)" in whole.read_bytes()


def test_a_workbook_written_row_by_row_reads_back_as_the_shared_strings_one(
    tmp_path, monkeypatch
) -> None:
    """Above CONSTANT_MEMORY_ROWS the workbook is written in XlsxWriter's constant-memory mode
    (a country's 3.5M sheet rows); a reader sees the same cells, escaped text and markers."""
    from python_calamine import CalamineWorkbook

    from outputs import workbook

    table = pd.DataFrame(
        {
            "area_code": ["E01000001", "=HYPERLINK(1)", None],
            "count": [12, "*", 3],
            "rate_per_1000": [1.5, None, 0.25],
        }  # fmt: skip
    )
    read = []
    for limit in (10**9, 0):
        monkeypatch.setattr(workbook, "CONSTANT_MEMORY_ROWS", limit)
        path = workbook_of({"sv_rates": table}, tmp_path / f"w{limit}.xlsx", audience="public")
        book = CalamineWorkbook.from_path(str(path))
        read.append({n: book.get_sheet_by_name(n).to_python() for n in book.sheet_names})
    assert read[0] == read[1]
    assert read[1]["sv_rates"][2][:2] == ["'=HYPERLINK(1)", "*"]
