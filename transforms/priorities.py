"""Anti-social behaviour and NHS assault rates, and the four Norfolk priorities' tables.

- `build.asb_rates` (`build_asb_rates`): the measure `asb_incidents` with the columns of
  build.sv_rates, from the police.uk "Anti-social behaviour" rows (source police_uk) and from the
  council ASB extract (source asb) when given, each a source of its own.
- `build.nhs_rates` (`build_nhs_rates`): the NHS assault measures (`transforms.measures.NHS_SPECS`)
  of the ISTV A&E, HES and ambulance records, columns of build.sv_rates, per 1,000 (HES admissions
  per 100,000 are in build.success_measures).
- `asb_reconciliation`: per ASB source and period, the records loaded (read from the raw tables)
  against those the county rate counts plus those outside the area or unlocated.
- `build.priority_*` (`build_priority`): Norfolk's Serious Violence Duty strategy (January 2024)
  sets four priorities: under-25s, domestic abuse, drugs and alcohol, and places. Each priority's
  table gathers, in the columns of build.sv_rates, its serious-violence measures (also in
  build.sv_rates: `PRIORITIES[...].sv_measures`, defined in the definition YAML), its NHS measures
  (from build.nhs_rates) and, for drugs and alcohol, police-recorded drug offences (not serious
  violence, so counted here: crime type "Drugs", which the force extract's codes map to and which
  data.police.uk publishes). A measure the run's sources cannot tell is simply absent.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from transforms.db import table_exists
from transforms.measures import NHS_SPECS, MeasureSpec, asb_specs
from transforms.periods import period_sql
from transforms.rates import build_rates, empty_rates_sql

ASB_TABLE = "build.asb_rates"
NHS_TABLE = "build.nhs_rates"
DRUG_OFFENCES = MeasureSpec(
    "drug_offences", "Drug offences (police-recorded; not serious violence)", "crime_types",
    crime_types=("Drugs",),
)  # fmt: skip


@dataclass(frozen=True)
class Priority:
    """One of the four priorities: its table and the measures it gathers."""

    table: str
    label: str
    sv_measures: tuple[str, ...]  # the first is the priority's headline (the map pack shows it)
    nhs_measures: tuple[str, ...] = ()
    police_measures: tuple[MeasureSpec, ...] = ()  # counted here, from the police source


PRIORITIES: dict[str, Priority] = {
    "under_25s": Priority(
        "build.priority_under_25s",
        "Under-25s: victims and suspects aged under 25 (per 1,000 residents aged under 25)",
        ("victims_under_25", "suspects_under_25", "public_space_youth_violence"),
        ("ae_assaults_victims_under_25", "hes_assault_admissions_under_25",
         "ambulance_assault_callouts_under_25"),
    ),
    "domestic_abuse": Priority(
        "build.priority_domestic_abuse",
        "Domestic abuse: domestic-abuse-related serious violence",
        ("domestic_abuse_related",),
        ("hes_domestic_abuse_admissions",),
    ),
    "drugs_alcohol": Priority(
        "build.priority_drugs_alcohol",
        "Drugs and alcohol: drug- and alcohol-related serious violence, drug offences and"
        " alcohol- or drug-involved A&E assaults",
        ("drugs_or_alcohol_related", "alcohol_related", "drugs_related"),
        ("ae_alcohol_related_assaults", "ae_drug_related_assaults"),
        (DRUG_OFFENCES,),
    ),
    "places": Priority(
        "build.priority_places",
        "Places: serious violence in public places against dwellings, and the night-time economy",
        ("public_place_violence", "dwelling_violence", "night_time_economy_violence"),
        ("ae_public_place_assaults", "ae_night_time_economy_assaults"),
    ),
}  # fmt: skip


def _sources(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {s for (s,) in con.execute("SELECT DISTINCT source FROM core.incidents").fetchall()}


def _union(con: duckdb.DuckDBPyConnection, table: str, parts: list[str]) -> None:
    """`table` as the union of temporary tables (empty with the rates columns when none)."""
    if not parts:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS {empty_rates_sql()}")
        return
    con.execute(
        f"CREATE OR REPLACE TABLE {table} AS "
        + " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts)
    )
    for p in parts:
        con.execute(f"DROP TABLE {p}")


def build_asb_rates(
    con: duckdb.DuckDBPyConnection, year: int, definition_id: str, **options
) -> list[str]:
    """Write build.asb_rates for the ASB sources present; returns them."""
    present = _sources(con)
    parts, used = [], []
    for source in ("police_uk", "asb"):
        if source not in present:
            continue
        temp = f"temp._asb_{source}"
        build_rates(
            con, asb_specs(source), source, year, definition_id=definition_id, table=temp,
            **options,
        )  # fmt: skip
        parts.append(temp)
        used.append(source)
    _union(con, ASB_TABLE, parts)
    return used


def build_nhs_rates(
    con: duckdb.DuckDBPyConnection, year: int, definition_id: str, **options
) -> list[str]:
    """Write build.nhs_rates for the NHS sources present (the measures each can tell)."""
    present = _sources(con)
    parts, used = [], []
    for source, specs in NHS_SPECS.items():
        if source not in present:
            continue
        temp = f"temp._nhs_{source}"
        build_rates(
            con, specs, source, year, definition_id=definition_id, table=temp,
            only_available=True, **options,
        )  # fmt: skip
        parts.append(temp)
        used.append(source)
    _union(con, NHS_TABLE, parts)
    return used


def build_priority(
    con: duckdb.DuckDBPyConnection,
    name: str,
    police_source: str,
    year: int,
    definition_id: str,
    **options,
) -> list[str]:
    """Write one priority's table from build.sv_rates, build.nhs_rates and its own police
    measures; returns the measures it holds."""
    priority = PRIORITIES[name]
    parts = []

    def take(table: str, measures: tuple[str, ...], temp: str) -> None:
        if measures and table_exists(con, table):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {temp.removeprefix('temp.')} AS SELECT * FROM {table}"
                " WHERE list_contains(?, measure)",
                [list(measures)],
            )
            parts.append(temp)

    take("build.sv_rates", priority.sv_measures, f"temp._{name}_sv")
    take(NHS_TABLE, priority.nhs_measures, f"temp._{name}_nhs")
    if priority.police_measures and police_source in _sources(con):
        temp = f"temp._{name}_police"
        build_rates(
            con, list(priority.police_measures), police_source, year,
            definition_id=definition_id, table=temp, **options,
        )  # fmt: skip
        parts.append(temp)
    _union(con, priority.table, parts)
    return [
        m
        for (m,) in con.execute(
            f"SELECT DISTINCT measure FROM {priority.table} ORDER BY 1"
        ).fetchall()
    ]


def asb_reconciliation(
    con: duckdb.DuckDBPyConnection, period_type: str
) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Per ASB source and period: records loaded (raw, superseded duplicates aside), counted in
    the county's asb_incidents, and placed outside the area or nowhere; and the periods where
    loaded != counted + not placed. Loaded is read from the raw tables, not from core.incidents."""
    raw = {
        "police_uk": (
            "SELECT month AS day, _file, _line FROM raw.police_uk"
            " WHERE crime_type = 'Anti-social behaviour'"
        ),
        "asb": "SELECT incident_date AS day, _file, _line FROM raw.asb_council",
    }
    sources = [s for (s,) in con.execute(f"SELECT DISTINCT source FROM {ASB_TABLE}").fetchall()]
    counts, problems = {}, []
    for source in sources:
        input_key = "police_uk" if source == "police_uk" else "asb_council"
        period = period_sql("day", period_type)
        rows = con.execute(
            f"""
            WITH loaded AS (
                SELECT {period} AS period, count(*) AS loaded FROM ({raw[source]}) r
                ANTI JOIN (SELECT file, line FROM quarantine.duplicates WHERE source = ?) d
                    ON d.file = r._file AND d.line = r._line
                GROUP BY 1
            ),
            counted AS (
                SELECT period, count AS counted FROM {ASB_TABLE}
                WHERE source = ? AND area_level = 'county'
            ),
            unplaced AS (
                SELECT period, count(*) AS not_placed FROM core.incidents
                WHERE source = ? AND crime_type = 'Anti-social behaviour'
                  AND (lsoa_code IS NULL OR lsoa_code NOT IN (SELECT lsoa_code FROM ref.lsoa))
                GROUP BY 1
            )
            SELECT period, coalesce(loaded, 0), coalesce(counted, 0), coalesce(not_placed, 0)
            FROM loaded FULL JOIN counted USING (period) FULL JOIN unplaced USING (period)
            ORDER BY period
            """,
            [input_key, source, source],
        ).fetchall()
        for period, loaded, counted, not_placed in rows:
            counts[f"{source} {period}"] = {
                "loaded": int(loaded),
                "in_county_rate": int(counted),
                "outside_or_unlocated": int(not_placed),
            }
            if loaded != counted + not_placed:
                problems.append(
                    f"{period} ({source}): {loaded:,} ASB records loaded but {counted:,} counted"
                    f" in the county + {not_placed:,} outside the area or unlocated"
                )
    return counts, problems
