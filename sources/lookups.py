"""ONS LSOA -> ward -> local authority district lookups, any vintage (LSOA11CD, WD21CD, LAD24CD...)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sources._csv import load_spec, read_csv
from sources._result import ReadResult, concat_results, reject_rows

SPEC = "area_lookup"


def vintage(header: str | None) -> str | None:
    """ "2021" from "WD21CD" / "LSOA21CD", "2011" from "LSOA code (2011)"; None when not stated."""
    if not header:
        return None
    m = re.search(r"\((\d{4})\)", header) or re.search(r"(\d{4})", header)
    if m:
        return m.group(1)
    m = re.search(r"(\d{2})(?:CD|NM)\b", header, flags=re.IGNORECASE)
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
