"""Geography coverage: where incidents fell on the analysis geography, per source and period.

`period_coverage` sums marts.geography_coverage per source and period, and the two message
functions say, period by period and never pooled over years, what is wrong and how to fix it:
most often LSOA codes of one vintage against boundaries of the other.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from transforms.geography import other_vintage

SQL = Path(__file__).with_name("sql") / "geography_coverage.sql"
COVERAGE_TABLE = "build.geography_coverage"  # published to marts.* with the other marts


def build_geography_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Rebuild the coverage table from the placed core.incidents, and return it."""
    con.execute(SQL.read_text(encoding="utf-8"))
    return con.execute(f"SELECT * FROM {COVERAGE_TABLE}").df()


def period_coverage(con: duckdb.DuckDBPyConnection, vintage: str | None) -> pd.DataFrame:
    """Per source and period: located incidents (a code or a point), those outside the
    boundaries, how many of those carry codes of the other vintage, and how many of those could
    not be placed at all (no lookup)."""
    other = other_vintage(vintage) if vintage else ""
    return con.execute(
        f"""
        SELECT source, period, any_value(months)::BIGINT AS months,
               sum(incidents)::BIGINT AS incidents,
               coalesce(sum(incidents) FILTER (status <> 'no_lsoa'), 0)::BIGINT AS located,
               coalesce(sum(incidents) FILTER (status = 'outside_area'), 0)::BIGINT AS outside,
               coalesce(sum(incidents) FILTER (status = 'outside_area' AND code_vintage = ?),
                        0)::BIGINT AS outside_other_vintage,
               coalesce(sum(incidents) FILTER (placement = 'unmatched_code'
                                               AND code_vintage = ?),
                        0)::BIGINT AS unplaceable_other_vintage
        FROM {COVERAGE_TABLE}
        GROUP BY source, period
        ORDER BY source, period
        """,
        [other, other],
    ).df()


def outside_share_messages(
    coverage: pd.DataFrame, limit: float, vintage: str | None, lookup_given: bool
) -> list[str]:
    """One line per source and period whose share of located incidents outside the boundaries
    is above `limit`: the numbers, the likely cause and the fix."""
    other = other_vintage(vintage) if vintage else None
    lines = []
    for row in coverage.itertuples():
        share = row.outside / row.located if row.located else 0.0
        if share <= limit:
            continue
        line = (
            f"{row.period} ({row.source}): {share:.1%} of located incidents ({row.outside:,} of"
            f" {row.located:,}) have LSOA codes or points outside the boundaries"
        )
        if other and row.outside_other_vintage:
            line += (
                f"; {row.outside_other_vintage / row.outside:.0%} of those codes are LSOA"
                f" {other} codes"
            )
        if not other:
            line += "; the boundaries' LSOA vintage is not known: state geography in the settings"
        elif not lookup_given:
            line += f"; give LSOA {other} boundaries or `inputs.lsoa_vintage_lookup`"
            if other == "2011" and not row.outside_other_vintage:
                line += (
                    " (without the lookup, LSOA 2011 codes of LSOAs changed in 2021 cannot be"
                    " told from codes outside the area)"
                )
        else:
            line += (
                "; codes of both vintages are placed through the lookup, so do the boundaries"
                " cover the whole force area?"
            )
        lines.append(line)
    return lines


def vintage_loss_messages(coverage: pd.DataFrame, vintage: str | None) -> list[str]:
    """One line per source and period with incidents whose codes are recognisably of the other
    vintage and could not be placed (no lookup): counted in no rate, whatever the threshold."""
    if not vintage:
        return []
    other = other_vintage(vintage)
    lines = []
    for row in coverage.itertuples():
        lost = row.unplaceable_other_vintage
        if lost:
            lines.append(
                f"{row.period} ({row.source}): {lost:,} incidents ({lost / row.located:.1%} of"
                f" located) carry LSOA {other} codes that the LSOA {vintage} boundaries do not"
                f" have; give LSOA {other} boundaries or `inputs.lsoa_vintage_lookup`"
            )
    return lines
