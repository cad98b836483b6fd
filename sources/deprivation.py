"""English Indices of Deprivation by LSOA: ONS/MHCLG IoD files or the mySociety composite (nation E)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sources._csv import load_spec, normalise_header, read_csv, read_header
from sources._result import ReadResult, reject_rows
from sources.lookups import vintage

DOMAINS = (
    "imd",
    "income",
    "employment",
    "education",
    "health",
    "crime",
    "barriers",
    "living_environment",
)
COLUMNS = ["lsoa_code", "lsoa_vintage"] + [
    f"{d}_{m}" for d in DOMAINS for m in ("score", "rank", "decile")
]
MYSOCIETY_VINTAGE = "2011"  # the composite is built on IoD2019, which uses LSOA 2011


def read_deprivation(path: str | Path) -> ReadResult:
    """Read one deprivation file into the canonical columns (measures a file lacks are NA)."""
    header = {normalise_header(h) for h in read_header(path)}
    mysociety = {"nation", "overall local score"} <= header
    f = read_csv(path, load_spec("deprivation_mysociety" if mysociety else "deprivation_iod"))
    result, rows = f.result, f.result.rows
    if mysociety:
        result = reject_rows(result, rows["nation"] != "E", "nation", "not an English IoD area")
        rows = result.rows
        lsoa_vintage = MYSOCIETY_VINTAGE
    else:
        lsoa_vintage = vintage(f.headers.get("lsoa_code"))
    out = pd.DataFrame(index=rows.index)
    out["lsoa_code"] = rows["lsoa_code"]
    out["lsoa_vintage"] = pd.array([lsoa_vintage] * len(rows), dtype="str")
    for c in COLUMNS[2:]:
        dtype = "Float64" if c.endswith("_score") else "Int64"
        out[c] = rows[c].astype(dtype) if c in rows else pd.array([pd.NA] * len(rows), dtype=dtype)
    out["_file"] = rows["_file"]
    out["_line"] = rows["_line"]
    return ReadResult(out.reset_index(drop=True), result.rejects, result.loads, result.cell_issues)
