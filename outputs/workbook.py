"""sna_tables.xlsx: a contents sheet, a notes sheet with units, and one sheet per published table.

Each table sheet starts with its header on row 1 (so filters and pivot tables work), numbers are
stored as numbers, suppressed cells as the marker text, and every text cell that a spreadsheet
would run as a formula is escaped and stored as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from outputs.tables import atomic_path, escape_formula
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
SHEET_ROWS = 1_048_575  # an Excel sheet's 1,048,576 rows, less the header
HEADER_FILL = PatternFill("solid", fgColor="DDE3EE")


def _cell(ws, value, *, bold: bool = False, fill=None):
    """A write-only cell; text is escaped and stored as text, never as a formula."""
    if isinstance(value, str):
        cell = WriteOnlyCell(ws, value=escape_formula(value))
        cell.data_type = "s"
    elif value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        cell = WriteOnlyCell(ws, value=None)
    elif isinstance(value, np.generic):
        cell = WriteOnlyCell(ws, value=value.item())
    elif isinstance(value, pd.Timestamp):
        cell = WriteOnlyCell(ws, value=value.to_pydatetime())
    else:
        cell = WriteOnlyCell(ws, value=value)
    if bold:
        cell.font = Font(bold=True)
    if fill is not None:
        cell.fill = fill
    return cell


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
) -> Path:
    """Write the workbook atomically and return its path."""
    path = Path(path)
    wb = Workbook(write_only=True)
    used: set[str] = set()
    names = {name: _sheet_name(name, used | {"Contents", "Notes"}) for name in tables}
    contents = wb.create_sheet("Contents")
    contents.column_dimensions["A"].width = 28
    contents.column_dimensions["B"].width = 90
    title = "Serious violence strategic needs assessment: published tables"
    for row in (
        [_cell(contents, title, bold=True)],
        [_cell(contents, "Audience", bold=True), _cell(contents, audience.marking)],
        [_cell(contents, "Period", bold=True), _cell(contents, period_text)],
        [_cell(contents, "Definition", bold=True), _cell(contents, definition_id)],
        [_cell(contents, "Run", bold=True), _cell(contents, run_id or "not recorded")],
        [_cell(contents, "Basis", bold=True),
         _cell(contents, "PROXY: data.police.uk open data, not the local definition" if is_proxy
               else "Local definition (force crime extract)")],
        [],
        [_cell(contents, "Sheet", bold=True, fill=HEADER_FILL),
         _cell(contents, "What it holds", bold=True, fill=HEADER_FILL)],
    ):  # fmt: skip
        contents.append(row)
    contents.append(
        [_cell(contents, "Notes"), _cell(contents, "Units, notes and disclosure rules")]
    )
    too_long = {name for name, table in tables.items() if len(table) > SHEET_ROWS}
    for name in tables:
        what = DESCRIPTIONS.get(name, name)
        if name in too_long:
            what += (
                f". NOT IN THIS WORKBOOK: {len(tables[name]):,} rows, more than a sheet holds"
                f" ({SHEET_ROWS:,}); see {name}.csv"
            )
        contents.append([_cell(contents, names[name]), _cell(contents, what)])
    notes_ws = wb.create_sheet("Notes")
    notes_ws.column_dimensions["A"].width = 24
    notes_ws.column_dimensions["B"].width = 100
    notes_ws.append([_cell(notes_ws, "Disclosure control", bold=True)])
    for line in [
        f"This workbook is for: {audience.marking}.",
        *notes,
        f"{audience.marker} = suppressed to protect small numbers (the rate, interval and "
        "comparison from a suppressed count are suppressed too; some further cells are suppressed "
        "so that totals cannot reveal them).",
        "Text that a spreadsheet could run as a formula starts with an apostrophe.",
    ]:
        notes_ws.append([None, _cell(notes_ws, line)])
    notes_ws.append([])
    notes_ws.append(
        [_cell(notes_ws, "Column", bold=True, fill=HEADER_FILL),
         _cell(notes_ws, "Unit or meaning", bold=True, fill=HEADER_FILL)]
    )  # fmt: skip
    for column, unit in UNITS.items():
        notes_ws.append([_cell(notes_ws, column), _cell(notes_ws, unit)])
    for name, table in tables.items():
        if name in too_long:
            continue
        ws = wb.create_sheet(names[name])
        ws.freeze_panes = "A2"
        for i, column in enumerate(table.columns):
            letter = _letter(i)
            ws.column_dimensions[letter].width = max(10, min(40, len(str(column)) + 4))
        ws.append([_cell(ws, str(c), bold=True, fill=HEADER_FILL) for c in table.columns])
        for values in table.itertuples(index=False, name=None):
            ws.append([_cell(ws, v) for v in values])
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out
