"""ONS small-area population estimates by LSOA, reshaped long: one row per LSOA x sex x age band."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sources._csv import load_spec, read_csv
from sources._result import InputFormatError, ReadResult, reject_rows

SPEC = "population"
OPEN_AGE = 120  # age_to for open-ended bands ("65 and over", "90+")
TOP_CODED_FROM = (
    85  # a single-year column this old or older, and the oldest in the file, is "and over"
)
NO_RESIDENTS = (
    "no residents: an LSOA has 1,000 to 3,000 by design, so 0 is a gap in the file, and a rate"
    " cannot be taken over it"
)
LONG_COLUMNS = ["lsoa_code", "year", "sex", "age_from", "age_to", "persons", "_file", "_line"]


def year_from_name(path: str | Path) -> int | None:
    """The first 4-digit 19xx/20xx year in the file name ("sapelsoasyoa2022.csv" -> 2022)."""
    m = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", Path(path).name)
    return int(m.group(1)) if m else None


def age_bands(groups: dict[str, dict]) -> pd.DataFrame:
    """One row per breakdown column: column, sex, age_from, age_to (open bands end at 120), and
    `parts`: for a subtotal band (one that other bands of the same sex tile exactly, such as
    Census 2021 "age_0_24" beside "age_0_15" and "age_16_24") the columns it adds up, else empty.

    Columns without a sex ("age_0_15") are persons: sex "all". Bands that overlap without one
    being the sum of others cannot be stored without counting people twice: a ValueError.
    """
    rows = []
    for col, g in groups.items():
        age_from = int(g["age_from"])
        if g.get("age_to"):
            age_to, single = int(g["age_to"]), False
        elif g.get("plus"):
            age_to, single = OPEN_AGE, False
        else:
            age_to, single = age_from, True
        sex = g["sex"].upper() if g.get("sex") else "all"
        rows.append((col, sex, age_from, age_to, single))
    bands = pd.DataFrame(rows, columns=["column", "sex", "age_from", "age_to", "single"])
    for _, idx in bands.groupby("sex").groups.items():
        single = bands.loc[idx][bands.loc[idx, "single"]]
        if len(single) and single["age_from"].max() >= TOP_CODED_FROM:
            top = single["age_from"].idxmax()
            if not (bands.loc[idx, "age_from"] > bands.loc[top, "age_from"]).any():
                bands.loc[top, "age_to"] = OPEN_AGE
    bands["parts"] = [_tiling(bands, i) for i in bands.index]
    _refuse_overlaps(bands[bands["parts"].map(len) == 0])
    return bands.drop(columns="single")


def _tiling(bands: pd.DataFrame, i: int) -> tuple[str, ...]:
    """The columns that tile band i exactly (same sex, inside it, contiguous), else ()."""
    band = bands.loc[i]
    inside = bands[
        (bands.index != i)
        & (bands["sex"] == band["sex"])
        & (bands["age_from"] >= band["age_from"])
        & (bands["age_to"] <= band["age_to"])
        & ~((bands["age_from"] == band["age_from"]) & (bands["age_to"] == band["age_to"]))
    ].sort_values(["age_from", "age_to"])
    if inside.empty:
        return ()
    edge = band["age_from"]
    for part in inside.itertuples():
        if part.age_from != edge:
            return ()
        edge = part.age_to + 1
    return tuple(inside["column"]) if edge == band["age_to"] + 1 else ()


def _refuse_overlaps(bands: pd.DataFrame) -> None:
    for _, group in bands.groupby("sex"):
        ordered = group.sort_values("age_from")
        ends = ordered["age_to"].to_numpy()[:-1]
        starts = ordered["age_from"].to_numpy()[1:]
        if (starts <= ends).any():
            raise ValueError(
                "age bands overlap without one being the sum of others: "
                + ", ".join(ordered["column"])
            )


def read_population(path: str | Path, year: int | None = None) -> ReadResult:
    """Read one population file (single year of age, broad bands or total only) into long format.

    year: the argument, else a year / mid-year column, else a 19xx/20xx year in the file name.
    When a total and a breakdown are both present, the breakdown is emitted and rows whose total
    differs from the sum of the breakdown are rejected.
    """
    f = read_csv(path, load_spec(SPEC))
    result = _reject_bad_counts(f.result)
    rows = result.rows
    if year is None and "year" not in f.headers:
        year = year_from_name(path)
        if year is None:
            raise InputFormatError(
                Path(path).resolve(),
                ["year (pass year=, add a year column, or put the year in the file name)"],
                list(f.headers.values()),
                problem="cannot tell which year the estimates are for",
            )
    if year is not None:
        rows["year"] = pd.array([year] * len(rows), dtype="Int64")
    else:
        result = reject_rows(result, rows["year"].isna(), "year", "required value is blank")
        rows = result.rows

    try:
        bands = age_bands(f.groups) if f.groups else None
    except ValueError as exc:
        raise InputFormatError(
            Path(path).resolve(), found=list(f.headers.values()), problem=str(exc)
        ) from exc
    if bands is not None:
        result = _reject_subtotal_mismatches(result, bands)
        rows = result.rows
        bands = bands[bands["parts"].map(len) == 0]
    has_total = "total" in f.headers
    if bands is None and not has_total:
        raise InputFormatError(
            Path(path).resolve(),
            ["a total (pop / Total / All Ages) or age-sex columns (F0.., M0.. / F0 to 15..)"],
            list(f.headers.values()),
        )
    counted = [*bands["column"]] if bands is not None else ["total"]
    persons = rows[counted].astype("Float64").sum(axis=1, skipna=False)
    lsoa = rows["lsoa_code"].str.match(r"[EW]01")  # a Scottish data zone may truly be empty
    column = counted[0] if bands is None else "_row"
    result = reject_rows(result, persons.eq(0) & lsoa, column, NO_RESIDENTS)
    rows = result.rows
    if bands is None:
        result = reject_rows(result, rows["total"].isna(), "total", "required value is blank")
        rows = result.rows
        long = rows[["lsoa_code", "year", "_file", "_line"]].copy()
        long["sex"], long["age_from"], long["age_to"] = "all", 0, OPEN_AGE
        long["persons"] = rows["total"].astype("Int64")
    else:
        if has_total:
            parts = rows[list(bands["column"])].astype("Float64")
            summed = parts.sum(axis=1, skipna=False)
            mismatch = rows["total"].notna() & summed.notna() & (rows["total"] != summed)
            reason = (
                "Total does not equal the sum of the age/sex columns ("
                + summed.astype("Int64").astype("str")
                + ")"
            )
            result = reject_rows(result, mismatch, "total", reason)
            rows = result.rows
        long = _melt(rows, bands)
    long["year"] = long["year"].astype("int64")
    long["sex"] = long["sex"].astype("str")
    long["age_from"] = long["age_from"].astype("int64")
    long["age_to"] = long["age_to"].astype("int64")
    return ReadResult(
        long[LONG_COLUMNS].reset_index(drop=True), result.rejects, result.loads, result.cell_issues
    )


def _reject_subtotal_mismatches(result: ReadResult, bands: pd.DataFrame) -> ReadResult:
    """Reject rows where a subtotal band (e.g. age_0_24) differs from the sum of its parts."""
    for band in bands[bands["parts"].map(len) > 0].itertuples():
        rows = result.rows
        summed = rows[list(band.parts)].astype("Float64").sum(axis=1, skipna=False)
        value = rows[band.column].astype("Float64")
        mismatch = value.notna() & summed.notna() & (value != summed)
        reason = (
            f"{band.column} does not equal the sum of {' + '.join(band.parts)} ("
            + summed.astype("Int64").astype("str")
            + ")"
        )
        result = reject_rows(result, mismatch, band.column, reason)
    return result


def _melt(rows: pd.DataFrame, bands: pd.DataFrame) -> pd.DataFrame:
    """Wide age/sex columns -> long rows, ordered by file line then band (vectorised)."""
    n, k = len(rows), len(bands)
    values = np.column_stack(
        [rows[c].to_numpy(dtype="float64", na_value=np.nan) for c in bands["column"]]
    )
    persons = (
        pd.array(values.reshape(-1), dtype="Float64").astype("Int64")
        if n
        else pd.array([], dtype="Int64")
    )
    return pd.DataFrame(
        {
            "lsoa_code": np.repeat(rows["lsoa_code"].to_numpy(), k),
            "year": np.repeat(rows["year"].to_numpy(dtype="int64"), k),
            "sex": np.tile(bands["sex"].to_numpy(), n),
            "age_from": np.tile(bands["age_from"].to_numpy(), n),
            "age_to": np.tile(bands["age_to"].to_numpy(), n),
            "persons": persons,
            "_file": np.repeat(rows["_file"].to_numpy(), k),
            "_line": np.repeat(rows["_line"].to_numpy(), k),
        }
    )


def _reject_bad_counts(result: ReadResult) -> ReadResult:
    """A row with a malformed count (negative, not a number) or year is rejected whole, with
    that cell's value and reason: a denominator with a band missing would understate the rate's
    population without a word. Its cell issues become the reject."""
    cells = result.cell_issues
    if cells.empty:
        return result
    first = cells.drop_duplicates("line").set_index("line")
    for column, lines in first.groupby("column").groups.items():
        line = result.rows["_line"]
        mask = line.isin(lines)
        reason = line.map(first["reason"])
        value = line.map(first["value"])
        result = reject_rows(result, mask, str(column), reason, value)
    kept = ~result.cell_issues["line"].isin(first.index)
    return ReadResult(result.rows, result.rejects, result.loads, result.cell_issues[kept])
