"""ONS lookups: LSOA -> ward -> district (any vintage: LSOA11CD, WD21CD, LAD24CD...), and the
LSOA 2011 <-> LSOA 2021 lookup with its change indicator (CHGIND)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sources._csv import load_spec, read_csv
from sources._result import ReadResult, concat_results, reject_rows

SPEC = "area_lookup"
VINTAGE_SPEC = "lsoa_vintage_lookup"
VINTAGE_LOOKUP_COLUMNS = [
    "lsoa11_code",
    "lsoa11_name",
    "lsoa21_code",
    "lsoa21_name",
    "chgind",
    "district_code",
    "district_name",
    "_file",
    "_line",
]


def vintage(header: str | None) -> str | None:
    """ "2021" from "WD21CD", "LSOA21CD" or "lsoa21_code", "2011" from "LSOA code (2011)"; None when
    not stated."""
    if not header:
        return None
    m = re.search(r"\((\d{4})\)", header) or re.search(r"(\d{4})", header)
    if m:
        return m.group(1)
    m = re.search(r"(\d{2})(?:CD|NM)\b", header, flags=re.IGNORECASE) or re.search(
        r"(?:lsoa|msoa|wd|lad)[ _]?(\d{2})(?!\d)", header, flags=re.IGNORECASE
    )
    return f"20{m.group(1)}" if m else None


def read_area_lookup(path: str | Path | Iterable[str | Path]) -> ReadResult:
    """Read a lookup; rows carry the vintage of each geography, taken from its column header.

    One row per LSOA: a repeat is rejected, naming the line it first appeared on (an output-area
    lookup therefore loads each LSOA once and rejects the repeats as "finer than LSOA").
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    spec = load_spec(SPEC)
    parts = []
    for p in paths:
        f = read_csv(p, spec)
        rows = f.result.rows
        rows.insert(
            2,
            "lsoa_vintage",
            pd.array([vintage(f.headers.get("lsoa_code"))] * len(rows), dtype="str"),
        )
        rows.insert(
            5,
            "ward_vintage",
            pd.array([vintage(f.headers.get("ward_code"))] * len(rows), dtype="str"),
        )
        parts.append(f.result)
    result = concat_results(parts)
    rows = result.rows
    first_line = rows.groupby("lsoa_code")["_line"].transform("first").astype("str")
    dup = rows["lsoa_code"].duplicated(keep="first")
    same = rows.duplicated(["lsoa_code", "ward_code", "district_code"], keep="first")
    reason = ("repeats line " + first_line + " (the file is finer than LSOA)").where(
        same, "maps the LSOA on line " + first_line + " to a different ward or district"
    )
    return reject_rows(result, dup, "lsoa_code", reason)


def read_vintage_lookup(path: str | Path) -> ReadResult:
    """Read the ONS LSOA 2011 -> LSOA 2021 lookup: one row per (LSOA11, LSOA21) pair.

    A repeated pair is rejected, naming the line it first appeared on. The pairs, not CHGIND, say
    which way a code maps (one 2011 code to several 2021 codes is a split); CHGIND is kept as
    published so the lookup can be audited against ONS.
    """
    result = read_csv(path, load_spec(VINTAGE_SPEC)).result
    rows = result.rows
    pair = ["lsoa11_code", "lsoa21_code"]
    first_line = rows.groupby(pair)["_line"].transform("first").astype("str")
    reason = "repeats the LSOA 2011 -> 2021 pair on line " + first_line
    result = reject_rows(result, rows.duplicated(pair, keep="first"), "lsoa21_code", reason)
    rejects = result.rejects.sort_values("line", kind="stable", ignore_index=True)
    rows = result.rows[VINTAGE_LOOKUP_COLUMNS].reset_index(drop=True)
    return ReadResult(rows, rejects, result.loads, result.cell_issues)
