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
LONG_COLUMNS = ["lsoa_code", "year", "sex", "age_from", "age_to", "persons", "_file", "_line"]


def year_from_name(path: str | Path) -> int | None:
    """The first 4-digit 19xx/20xx year in the file name ("sapelsoasyoa2022.csv" -> 2022)."""
    m = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)", Path(path).name)
    return int(m.group(1)) if m else None


def age_bands(groups: dict[str, dict]) -> pd.DataFrame:
    """One row per breakdown column: column, sex, age_from, age_to (open bands end at 120)."""
    rows = []
    for col, g in groups.items():
        age_from = int(g["age_from"])
        if g.get("age_to"):
            age_to, single = int(g["age_to"]), False
        elif g.get("plus"):
            age_to, single = OPEN_AGE, False
        else:
            age_to, single = age_from, True
        rows.append((col, g["sex"].upper(), age_from, age_to, single))
    bands = pd.DataFrame(rows, columns=["column", "sex", "age_from", "age_to", "single"])
    for _, idx in bands.groupby("sex").groups.items():
        single = bands.loc[idx][bands.loc[idx, "single"]]
        if len(single) and single["age_from"].max() >= TOP_CODED_FROM:
            top = single["age_from"].idxmax()
            if not (bands.loc[idx, "age_from"] > bands.loc[top, "age_from"]).any():
                bands.loc[top, "age_to"] = OPEN_AGE
    return bands.drop(columns="single")


def read_population(path: str | Path, year: int | None = None) -> ReadResult:
    """Read one population file (single year of age, broad bands or total only) into long format.

    year: the argument, else a year / mid-year column, else a 19xx/20xx year in the file name.
    When a total and a breakdown are both present, the breakdown is emitted and rows whose total
    differs from the sum of the breakdown are rejected.
    """
    f = read_csv(path, load_spec(SPEC))
    result, rows = f.result, f.result.rows
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

    bands = age_bands(f.groups) if f.groups else None
    has_total = "total" in f.headers
    if bands is None and not has_total:
        raise InputFormatError(
            Path(path).resolve(),
            ["a total (pop / Total / All Ages) or age-sex columns (F0.., M0.. / F0 to 15..)"],
            list(f.headers.values()),
        )
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
