"""sna_tables.xlsx: a contents sheet, a notes sheet with units, and one sheet per published table.

Each table sheet starts with its header on row 1 (so filters and pivot tables work), numbers are
stored as numbers, suppressed cells as the marker text, and every text cell that a spreadsheet
would run as a formula is escaped and stored as text. Written with XlsxWriter, about three times
faster than openpyxl's write-only mode, which matters for a workbook of tens of thousands of rows
(the grid, trends and time profiles). Text goes to the shared-strings table (not XlsxWriter's
constant-memory inline strings): the file is smaller. Above CONSTANT_MEMORY_ROWS sheet rows (a
country's workbook) it is written in constant-memory mode instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

from outputs.tables import atomic_path, escape_formula
from transforms.db import release_unused_memory
from transforms.disclosure import AudienceRules

DESCRIPTIONS = {
    "sv_rates": "Serious violence counts, rates per 1,000 and 95% CIs by area, period and measure",
    "geography_coverage": "Incidents placed in the area, outside it, or with no LSOA",
    "hotspots": "Getis-Ord Gi* and Local Moran results per LSOA",
    "emerging_hotspots": "Emerging hot spot categories across years (Mann-Kendall on Gi* z)",
    "hotspot_grid": "Grid cells: counts, kernel density and Gi* bins",
    "concentration": "Share of offences in the top 1/5/10/20% of LSOAs; Gini coefficients",
    "lorenz_curve": "Lorenz curve of offences over LSOAs",
    "trends": "Monthly counts and 12-month rolling totals",
    "year_on_year": "Change on the previous year with an exact test for two Poisson counts",
    "time_profile": "Offences by weekday and hour",
    "success_measures": "The statutory success measures",
    "priority_under_25s": "Priority: under-25s",
    "priority_domestic_abuse": "Priority: domestic abuse",
    "priority_drugs_alcohol": "Priority: drugs and alcohol",
    "priority_places": "Priority: places",
    "asb_rates": "Anti-social behaviour rates",
    "proportions": "Proportions with Wilson 95% intervals",
    "risk_factors": "Risk factors per area",
    "risk_correlations": "Spearman correlations of risk factors with the rate (BH-FDR)",
    "risk_model": "Negative binomial model of counts with a population exposure",
}
UNITS = {
    "count": "offences (or events of the row's source) in the period",
    "population": "residents (denominator of the measure)",
    "rate_per_1000": "per 1,000 residents",
    "rate": "per `rate_per` residents",
    "ci_lower": "lower 95% confidence limit of the rate",
    "ci_upper": "upper 95% confidence limit of the rate",
    "vs_county": "higher / similar / lower than the county by 95% CI",
    "months": "months of data in the period (under 12 = part year)",
    "suppressed": "TRUE when the count was suppressed (the marker replaces it and its rates)",
    "audience": "who the file is for",
    "basis": "local definition, or the police.uk proxy in plain words",
    "gi_z": "Getis-Ord Gi* z-score",
    "gi_bin": "-3..3: cold/hot spot at 99/95/90% after FDR; 0 not significant",
    "share_of_incidents": "share (0-1) of the period's offences",
}
# The most rows a table gets as a sheet; a longer one is in its CSV only, and the Contents sheet
# says so. Excel holds 1,048,575 under a header, but a sheet of more than a few hundred thousand
# rows is slow to open and filter, and a country's tables (3.5M rows) took 7 minutes to write.
# No county table comes near it: a county's largest, the 400 m grid, is about 100,000 rows.
SHEET_ROWS = 250_000
HEADER = {"bold": True, "bg_color": "#DDE3EE"}
# Text is only ever text: never a formula, a number or a hyperlink, whatever it starts with.
CONSTANT_MEMORY_ROWS = 500_000  # sheet rows above which the workbook is written row by row
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_numbers": False,
    "strings_to_urls": False,
    "default_date_format": "yyyy-mm-dd",
}


def sheet_rows(table: pd.DataFrame) -> list[list[object]]:
    """The table's rows as plain Python values: text escaped, missing values (and an infinite
    ratio, which a spreadsheet cannot store) None."""
    columns = []
    for name in table.columns:
        column = table[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            numbers = column.to_numpy(dtype=float, na_value=np.nan)
            values = column.astype(object).where(np.isfinite(numbers), None).tolist()
        else:
            values = [_plain(v) for v in column.tolist()]
        columns.append(values)
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _plain(value: object) -> object:
    """One cell of a text, mixed or date column as XlsxWriter writes it."""
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    return value.item() if isinstance(value, np.generic) else value


def _sheet_name(name: str, used: set[str]) -> str:
    base = name[:31]
    out, i = base, 2
    while out in used:
        out = f"{base[:28]}_{i}"
        i += 1
    used.add(out)
    return out


def write_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    audience: AudienceRules,
    period_text: str,
    definition_id: str,
    notes: Sequence[str],
    is_proxy: bool,
    run_id: str = "",
    rows: Mapping[str, int] | None = None,
) -> Path:
    """Write the workbook atomically and return its path. Each table is taken once, for its sheet,
    and not kept, so a mapping that makes them on demand holds one at a time.

    rows: each table's row count when the caller knows it (else each table is taken for its
    length first): a table too long for a sheet is then never made whole.
    """
    path = Path(path)
    basis = (
        "PROXY: data.police.uk open data, not the local definition"
        if is_proxy
        else "Local definition (force crime extract)"
    )
    rows = {name: rows[name] if rows is not None else len(tables[name]) for name in tables}
    too_long = {name: n for name, n in rows.items() if n > SHEET_ROWS}
    what = {
        name: DESCRIPTIONS.get(name, name)
        + (
            f". NOT IN THIS WORKBOOK: {too_long[name]:,} rows, more than a sheet here holds"
            f" ({SHEET_ROWS:,}); see {name}.csv"
            if name in too_long
            else ""
        )
        for name in tables
    }
    with atomic_path(path) as tmp:
        # XlsxWriter keeps every cell in memory until it closes (13.6 GB for a country's 3.5M
        # sheet rows): above CONSTANT_MEMORY_ROWS each row goes to disk as it is written, with
        # its text inline instead of in the shared-strings table (a larger file)
        large = sum(n for name, n in rows.items() if name not in too_long) > CONSTANT_MEMORY_ROWS
        wb = xlsxwriter.Workbook(str(tmp), {**WORKBOOK_OPTIONS, "constant_memory": large})
        bold, header = wb.add_format({"bold": True}), wb.add_format(HEADER)
        used: set[str] = set()
        names = {name: _sheet_name(name, used | {"Contents", "Notes"}) for name in tables}
        _text_sheet(
            wb.add_worksheet("Contents"),
            (28, 90),
            [
                [("Serious violence strategic needs assessment: published tables", bold)],
                [("Audience", bold), audience.marking],
                [("Period", bold), period_text],
                [("Definition", bold), definition_id],
                [("Run", bold), run_id or "not recorded"],
                [("Basis", bold), basis],
                [],
                [("Sheet", header), ("What it holds", header)],
                ["Notes", "Units, notes and disclosure rules"],
                *([names[name], what[name]] for name in tables),
            ],
        )
        lines = [
            f"This workbook is for: {audience.marking}.",
            *notes,
            f"{audience.marker} = suppressed to protect small numbers (the rate, interval and "
            "comparison from a suppressed count are suppressed too; some further cells are "
            "suppressed so that totals cannot reveal them).",
            "Text that a spreadsheet could run as a formula starts with an apostrophe.",
        ]
        _text_sheet(
            wb.add_worksheet("Notes"),
            (24, 100),
            [
                [("Disclosure control", bold)],
                *([None, line] for line in lines),
                [],
                [("Column", header), ("Unit or meaning", header)],
                *([column, unit] for column, unit in UNITS.items()),
            ],
        )
        for name in tables:
            if name in too_long:  # XlsxWriter would silently drop the rows past the last
                continue
            table = tables[name]  # one at a time: `tables` may make each on demand
            ws = wb.add_worksheet(names[name])
            ws.freeze_panes(1, 0)
            for i, column in enumerate(table.columns):
                ws.set_column(i, i, max(10, min(40, len(str(column)) + 4)))
            ws.write_row(0, 0, [escape_formula(str(c)) for c in table.columns], header)
            for r, row in enumerate(sheet_rows(table), start=1):
                ws.write_row(r, 0, row)
            del table
            release_unused_memory()
        wb.close()
    return path


def _text_sheet(ws, widths: Sequence[float], rows: Sequence[Sequence]) -> None:
    """A sheet of text rows; a cell is text or (text, format)."""
    for i, width in enumerate(widths):
        ws.set_column(i, i, width)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            text, style = cell if isinstance(cell, tuple) else (cell, None)
            if text is not None:
                ws.write_string(r, c, escape_formula(str(text)), style)
