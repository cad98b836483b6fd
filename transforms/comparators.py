"""England (and other) comparators for `vs_england`, from config/reference/comparators.csv.

Each comparator row gives its area, measure, period and rate per 1,000, what its definition counts,
`same_definition_as` (semicolon-separated run bases that count the same offences: a definition
id such as norfolk-2024, or police_uk_proxy; empty when none is confirmed), and its source. A
run period is compared with the comparator of the same period, else the one whose period starts
nearest to it, and only when the run period is a full year: a part-year rate is not comparable
with an annual one. Every row of the rates says which comparator it used and whether its
definition differs from the run's (`vs_england_basis`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from transforms.periods import period_start, period_with_months

COLUMNS = [
    "comparator_id",
    "area_code",
    "area_name",
    "measure",
    "period",
    "period_type",
    "rate_per_1000",
    "definition",
    "same_definition_as",
    "source",
    "source_date",
    "note",
]
PROXY_BASIS = "police_uk_proxy"


def load_comparators(path: str | Path) -> pd.DataFrame:
    """The comparator table, checked: every column present, rates positive numbers."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: columns missing: {', '.join(missing)}")
    rate = pd.to_numeric(table["rate_per_1000"], errors="coerce")
    bad = table.index[rate.isna() | (rate <= 0)]
    if len(bad):
        raise ValueError(
            f"{path}: line {bad[0] + 2}: rate_per_1000 {table.loc[bad[0], 'rate_per_1000']!r}"
            " is not a positive number"
        )
    return table.assign(rate_per_1000=rate)


def run_basis(source: str, definition_id: str) -> str:
    """What a run's counts follow: the police.uk proxy, or the local definition's id."""
    return PROXY_BASIS if source == "police_uk" else definition_id


def england_benchmarks(
    comparators: pd.DataFrame,
    months: Mapping[str, int],
    period_months: Mapping[str, str],
    period_type: str,
    basis: str,
    area_code: str = "E92000001",
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], str]]:
    """(rates, notes) keyed by (run period, measure): the rate to compare with, for full-year
    periods only, and for every period a note saying what was compared, or why nothing was."""
    rows = comparators[comparators["area_code"] == area_code]
    rates: dict[tuple[str, str], float] = {}
    notes: dict[tuple[str, str], str] = {}
    for measure, options in rows.groupby("measure"):
        for period, n in months.items():
            if n < 12:
                notes[(period, measure)] = (
                    "not compared with an annual England rate: "
                    + period_with_months(period, n, period_months.get(period, f"{n} months"))
                )
                continue
            chosen = _nearest(options, period, period_type)
            rates[(period, measure)] = float(chosen["rate_per_1000"])
            same = {b.strip() for b in chosen["same_definition_as"].split(";") if b.strip()}
            definition = (
                "same definition as this run"
                if basis in same
                else f"definition differs from this run's ({basis}): {chosen['definition']}"
            )
            notes[(period, measure)] = (
                f"{chosen['area_name']} {chosen['rate_per_1000']:g} per 1,000 in"
                f" {chosen['period']} ({chosen['comparator_id']}, {chosen['source_date']});"
                f" {definition}"
            )
    return rates, notes


def _nearest(options: pd.DataFrame, period: str, period_type: str) -> pd.Series:
    """The comparator for the same period label, else the one starting nearest (later on ties)."""
    same = options[(options["period"] == period) & (options["period_type"] == period_type)]
    if len(same):
        return same.iloc[0]
    start = period_start(period, period_type)
    gaps = [
        (abs((period_start(r.period, r.period_type) - start).days), -i)
        for i, r in enumerate(options.itertuples())
    ]
    return options.iloc[-min(gaps)[1]]
