"""Shares of serious violence with Wilson 95% intervals: domestic-abuse-related, knife-enabled, and
with a victim under 25 (and the same shares of NHS assaults), by area and period.

The numerator counts serious-violence incidents of the source (in the study area) where the flag
is true; the denominator those where the flag is known. A force extract's domestic abuse and knife
flags are known for every crime (a blank flag reads "no"), so their denominator is all serious
violence; victims' ages are often not recorded, so the under-25 share is of the incidents with a
known victim age, and `denominator_measure` says so. Areas roll up LSOA -> ward -> district ->
county in one GROUPING SETS, as the rates do.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from transforms.db import write_table
from transforms.definition import HEADLINE_MEASURE
from transforms.measures import NHS_SPECS
from transforms.rates import AREA_OF_ROW, area_grouping_sets, wilson_sql

PROPORTIONS_TABLE = "build.proportions"
PROPORTION_COLUMNS = [
    "area_level",
    "area_code",
    "area_name",
    "period",
    "source",
    "numerator_measure",
    "denominator_measure",
    "numerator",
    "denominator",
    "proportion",
    "ci_lower",
    "ci_upper",
]
# (numerator measure, flag) per kind of source; the denominator is the source's headline measure
POLICE_SHARES = [
    ("domestic_abuse_related", "domestic_abuse"),
    ("knife_enabled", "knife"),
    ("victims_under_25", "victim_under_25"),
]
NHS_SHARES = {
    "ae": [
        ("ae_knife_assaults", "knife"),
        ("ae_alcohol_related_assaults", "alcohol"),
        ("ae_assaults_victims_under_25", "victim_under_25"),
    ],
    "hes": [
        ("hes_knife_admissions", "knife"),
        ("hes_assault_admissions_under_25", "victim_under_25"),
    ],
}


def share_definitions(police_source: str) -> list[tuple[str, str, str, str]]:
    """(source, numerator measure, flag, headline measure) for every share the run may have."""
    shares = [(police_source, n, f, HEADLINE_MEASURE) for n, f in POLICE_SHARES]
    for source, pairs in NHS_SHARES.items():
        headline = NHS_SPECS[source][0].name
        shares += [(source, n, f, headline) for n, f in pairs]
    return shares


def build_proportions(
    con: duckdb.DuckDBPyConnection, police_source: str, confidence: float = 0.95
) -> pd.DataFrame:
    """Write build.proportions (PROPORTION_COLUMNS) and return it. Shares whose flag the source
    never records are left out."""
    lower, upper = wilson_sql("numerator", "denominator", confidence)
    parts = []
    for source, numerator, flag, headline in share_definitions(police_source):
        known, unknown = con.execute(
            f"SELECT count({flag}), count(*) - count({flag}) FROM core.incidents"
            " WHERE source = ? AND sv_category IS NOT NULL",
            [source],
        ).fetchone()
        if not known:
            continue
        denominator = headline if not unknown else f"{headline} ({flag} recorded)"
        parts.append(
            con.execute(
                f"""
                WITH rows AS (
                    SELECT l.*, i.period, i.{flag} AS flag
                    FROM core.incidents i JOIN ref.lsoa l USING (lsoa_code)
                    WHERE i.source = $source AND i.sv_category IS NOT NULL
                      AND i.period IS NOT NULL
                ),
                rolled AS (
                    SELECT {AREA_OF_ROW},
                        period,
                        count(*) FILTER (WHERE flag)::BIGINT AS numerator,
                        count(flag)::BIGINT AS denominator
                    FROM rows
                    {area_grouping_sets("period")}
                )
                SELECT area_level, area_code, area_name, period, $source AS source,
                       $numerator AS numerator_measure, $denominator AS denominator_measure,
                       numerator, denominator,
                       CASE WHEN denominator > 0 THEN numerator / denominator END AS proportion,
                       {lower} AS ci_lower, {upper} AS ci_upper
                FROM rolled WHERE area_code IS NOT NULL
                """,
                {"source": source, "numerator": numerator, "denominator": denominator},
            ).df()
        )
    columns = {c: pd.Series(dtype="object") for c in PROPORTION_COLUMNS}
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns)
    order = {"county": 0, "district": 1, "ward": 2, "lsoa": 3}
    table = table.sort_values(
        ["source", "numerator_measure", "area_level", "area_code", "period"],
        key=lambda c: c.map(order) if c.name == "area_level" else c,
        kind="stable",
    ).reset_index(drop=True)
    write_table(con, PROPORTIONS_TABLE, table[PROPORTION_COLUMNS])
    return table[PROPORTION_COLUMNS]
