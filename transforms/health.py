"""NHS and council ASB records as incidents: one SELECT per source, in the columns of core.incidents.

Sources (core.incidents.source, DESIGN §3):

- ``ae``: ISTV A&E assault attendances (raw.ae_attendances). Every attendance is an assault
  (`sv_category` 'assault'). When it happened: the assault date when it lies within the 31 days up
  to the arrival (a later or much earlier date is a slip, and the arrival date is used), and the
  assault time, else the arrival date and time. Where: the assault LSOA, else the grid reference;
  a record with only a postcode sector keeps it in `postcode_sector` and is placed nowhere (no
  postcode lookup is shipped: see `transforms.geography`, placement ``postcode_sector_only``).
  Flags from the ISTV fields: knife = sharp object, firearm = firearm (unknown when the method is
  not known); public place = street, licensed premises, other public place, public transport or
  school (home and other are not; workplace and not known are unknown); dwelling = home; alcohol
  and drugs from "Alcohol or Drug Involvement"; night-time economy = licensed premises, or a public
  place between 20:00 and 06:00 by the assault time (the definition's rule for police data).
- ``hes``: HES admitted patient care (raw.hes_admissions). One incident per admission: the first
  episode of a spell (EPIORDER 1, or no EPIORDER column); later episodes of the same stay are not
  admissions and are counted in `health_summary` instead. Assault = an ICD-10 external cause X85-Y09
  in CAUSE or any DIAG_ column (`sv_category` 'assault'; other injuries stay in core.incidents with
  no category); knife = X99 (assault by sharp object), firearm = X93-X95, domestic abuse = Y07.0
  (perpetrator: spouse or partner; otherwise unknown); the place of occurrence is the fourth
  character of the assault code (.0 home; .2-.5 public). `lsoa_code` is the LSOA of *residence*.
- ``ambulance``: ambulance assault call-outs; every row an assault, at the incident's LSOA or grid
  reference, at the call time.
- ``asb``: council ASB incidents (raw.asb_council) (`crime_type` 'Anti-social behaviour', no category).

Victim age bands are read from exact ages (HES STARTAGE, 7001-7007 = under one) or from bands
("18-24", "65+", "under 18"); `victim_under_25` is true for a band that ends by 24, false for one
that starts at 25 or later, unknown for a band across 25 or none.
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb

from sources._csv import band_bounds_sql
from transforms.classify import age_band_sql
from transforms.db import table_exists
from transforms.definition import DERIVED_FLAGS, FLAG_NAMES
from transforms.geography import columns_of
from transforms.periods import period_sql

HEALTH_SOURCES: dict[str, str] = {  # core.incidents source -> raw table (registry input)
    "ae": "raw.ae_attendances",
    "hes": "raw.hes_admissions",
    "ambulance": "raw.ambulance_callouts",
    "asb": "raw.asb_council",
}
INPUT_KEYS: dict[str, str] = {
    "ae": "ae_attendances",
    "hes": "hes_admissions",
    "ambulance": "ambulance_callouts",
    "asb": "asb_council",
}
ASSAULT = "assault"  # sv_category of an NHS record of an assault
ASSAULT_CODES = "^(X8[5-9]|X9[0-9]|Y0[0-9])"  # ICD-10 X85-Y09
KNIFE_CODES = "^X99"
FIREARM_CODES = "^X9[3-5]"
PUBLIC_TYPES = (
    "street",
    "licensed_premises",
    "other_public_place",
    "public_transport",
    "education",
)
PRIVATE_TYPES = ("home", "other")
NIGHT_FROM, NIGHT_TO = 20 * 60, 6 * 60  # minutes: the night-time economy window


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(values: Collection[str]) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")"


def _band_columns(band: str) -> tuple[str, str]:
    """victim_age_band (normalised "18-24" / "65+") and victim_under_25 from a band text."""
    low, high = band_bounds_sql(band)
    text = (
        f"CASE WHEN ({low}) IS NULL THEN NULL WHEN ({high}) IS NULL THEN ({low}) || '+'"
        f" ELSE ({low}) || '-' || ({high}) END"
    )
    under = f"CASE WHEN ({high}) <= 24 THEN TRUE WHEN ({low}) >= 25 THEN FALSE END"
    return text, under


def _minutes(time: str) -> str:
    return (
        f"(TRY_CAST(split_part({time}, ':', 1) AS INT) * 60"
        f" + TRY_CAST(split_part({time}, ':', 2) AS INT))"
    )


def _common(definition_id: str) -> str:
    return f"{_lit(definition_id)} AS definition_id, r._file, r._line, r.rowid AS _rid"


def _event_id(ref: str) -> str:
    return f"coalesce(nullif({ref}, ''), regexp_extract(r._file, '[^/]+$') || ':' || r._line)"


def _not_superseded(source_key: str) -> str:
    return f"""ANTI JOIN (SELECT file, line FROM quarantine.duplicates WHERE source = '{source_key}') d
        ON d.file = r._file AND d.line = r._line"""


def ae_sql(period_type: str, definition_id: str) -> str:
    """SELECT of incidents from raw.ae_attendances (see the module docstring)."""
    used = (
        "(r.assault_date IS NOT NULL AND r.assault_date <= r.arrival_date"
        " AND r.assault_date >= r.arrival_date - INTERVAL 31 DAY)"
    )
    day = f"CASE WHEN {used} THEN r.assault_date ELSE r.arrival_date END"
    at = (
        f"CASE WHEN {used} AND r.assault_time IS NOT NULL"
        f" THEN CAST(r.assault_date AS TIMESTAMP) + to_minutes({_minutes('r.assault_time')})"
        " WHEN r.arrival_time IS NOT NULL"
        f" THEN CAST(r.arrival_date AS TIMESTAMP) + to_minutes({_minutes('r.arrival_time')}) END"
    )
    loc = "r.location_type"
    public = (
        f"CASE WHEN {loc} IN {_in(PUBLIC_TYPES)} THEN TRUE"
        f" WHEN {loc} IN {_in(PRIVATE_TYPES)} THEN FALSE END"
    )
    method = "r.assault_method"
    known_method = f"({method} IS NOT NULL AND {method} <> 'not_known')"
    drug = "r.alcohol_drug"
    known_drug = f"({drug} IS NOT NULL AND {drug} <> 'not_known')"
    alcohol = f"CASE WHEN {known_drug} THEN {drug} IN ('alcohol', 'alcohol_and_drugs') END"
    drugs = f"CASE WHEN {known_drug} THEN {drug} IN ('drugs', 'alcohol_and_drugs') END"
    minutes = _minutes("r.assault_time")
    night = (
        f"(CASE WHEN {used} AND r.assault_time IS NOT NULL THEN ({minutes} >= {NIGHT_FROM}"
        f" OR {minutes} < {NIGHT_TO}) END)"
    )
    band, under = _band_columns("r.age_band")
    return f"""
    SELECT 'ae' AS source,
        {_event_id("r.attendance_ref")} AS event_id,
        CAST(date_trunc('month', {day}) AS DATE) AS occurred_month,
        {at} AS occurred_at,
        {period_sql(day, period_type)} AS period,
        r.lsoa_code,
        CASE WHEN r.easting IS NOT NULL AND r.northing IS NOT NULL THEN r.easting END AS x,
        CASE WHEN r.easting IS NOT NULL AND r.northing IS NOT NULL THEN r.northing END AS y,
        NULL::VARCHAR AS offence_code,
        coalesce(r.assault_method, 'not recorded') || CASE WHEN r.assault_method_other IS NOT NULL
            THEN ': ' || r.assault_method_other ELSE '' END AS offence_description,
        'NHS: assault (A&E attendance)' AS offence_group,
        'Assault (A&E attendance)' AS crime_type,
        '{ASSAULT}' AS sv_category,
        NULL::BOOLEAN AS domestic_abuse,
        NULL::BOOLEAN AS hate,
        CASE WHEN {known_method} THEN {method} = 'sharp_object' END AS knife,
        CASE WHEN {known_method} THEN {method} = 'firearm' END AS firearm,
        {public} AS public_place,
        {alcohol} AS alcohol,
        {drugs} AS drugs,
        NULL::BOOLEAN AS county_lines,
        CASE WHEN {loc} = 'licensed_premises' THEN TRUE ELSE ({public}) AND {night} END
            AS night_time_economy,
        ({public}) AND ({under}) AS public_space_youth_violence,
        CASE WHEN {loc} IS NOT NULL AND {loc} <> 'not_known' THEN {loc} = 'home' END AS dwelling,
        ({alcohol}) OR ({drugs}) AS drugs_or_alcohol,
        {band} AS victim_age_band,
        {under} AS victim_under_25,
        r.sex AS victim_sex,
        NULL::BOOLEAN AS suspect_under_25,
        CASE WHEN r.lsoa_code IS NULL AND r.easting IS NULL THEN r.postcode_sector END
            AS postcode_sector,
        {_common(definition_id)}
    FROM raw.ae_attendances r
    {_not_superseded("ae_attendances")}
    """


def hes_sql(con: duckdb.DuckDBPyConnection, period_type: str, definition_id: str) -> str:
    """SELECT of incidents from raw.hes_admissions: first episodes only (see the module docstring)."""
    diag = [c for c in columns_of(con, "raw.hes_admissions") if c.startswith("diag_")]
    codes = (
        f"list_filter([{', '.join(['r.cause', *(f'r.{c}' for c in diag)])}], c -> c IS NOT NULL)"
    )
    assault = f"list_filter({codes}, c -> regexp_matches(c, '{ASSAULT_CODES}'))"
    first = f"{assault}[1]"
    is_assault = f"(len({assault}) > 0)"
    place = f"regexp_extract({first}, '^[A-Z][0-9]{{2}}\\.?([0-9])', 1)"
    public = (
        f"CASE WHEN {place} IN ('0', '1') THEN FALSE"
        f" WHEN {place} IN ('2', '3', '4', '5') THEN TRUE END"
    )
    age = "CASE WHEN r.startage >= 7000 THEN 0 ELSE r.startage END"
    band, under = _band_columns("r.age_band")
    band_sql = f"coalesce({age_band_sql(age)}, {band})"
    under_sql = f"coalesce(({age}) < 25, {under})"
    knife = f"len(list_filter({assault}, c -> regexp_matches(c, '{KNIFE_CODES}'))) > 0"
    firearm = f"len(list_filter({assault}, c -> regexp_matches(c, '{FIREARM_CODES}'))) > 0"
    da = f"CASE WHEN len(list_filter({codes}, c -> regexp_matches(c, '^Y07\\.?0'))) > 0 THEN TRUE END"
    return f"""
    SELECT 'hes' AS source,
        {_event_id("r.epikey")} AS event_id,
        CAST(date_trunc('month', r.admidate) AS DATE) AS occurred_month,
        NULL::TIMESTAMP AS occurred_at,
        {period_sql("r.admidate", period_type)} AS period,
        r.lsoa_code,
        NULL::DOUBLE AS x,
        NULL::DOUBLE AS y,
        coalesce({first}, {codes}[1]) AS offence_code,
        CASE WHEN {is_assault} THEN 'ICD-10 ' || {first} ELSE 'not an assault code' END
            AS offence_description,
        'NHS: hospital admission' AS offence_group,
        CASE WHEN {is_assault} THEN 'Assault (hospital admission)'
             ELSE 'Other injury (hospital admission)' END AS crime_type,
        CASE WHEN {is_assault} THEN '{ASSAULT}' END AS sv_category,
        CASE WHEN {is_assault} THEN {da} END AS domestic_abuse,
        NULL::BOOLEAN AS hate,
        CASE WHEN {is_assault} THEN {knife} END AS knife,
        CASE WHEN {is_assault} THEN {firearm} END AS firearm,
        {public} AS public_place,
        NULL::BOOLEAN AS alcohol,
        NULL::BOOLEAN AS drugs,
        NULL::BOOLEAN AS county_lines,
        NULL::BOOLEAN AS night_time_economy,
        ({public}) AND ({under_sql}) AS public_space_youth_violence,
        CASE WHEN {place} IN ('0') THEN TRUE WHEN {place} IN ('1', '2', '3', '4', '5') THEN FALSE END
            AS dwelling,
        NULL::BOOLEAN AS drugs_or_alcohol,
        {band_sql} AS victim_age_band,
        {under_sql} AS victim_under_25,
        r.sex AS victim_sex,
        NULL::BOOLEAN AS suspect_under_25,
        NULL::VARCHAR AS postcode_sector,
        {_common(definition_id)}
    FROM raw.hes_admissions r
    {_not_superseded("hes_admissions")}
    WHERE r.epiorder IS NULL OR r.epiorder = 1
    """


def _null_booleans(names: Collection[str]) -> str:
    """Typed NULLs for the incident flags a source never records."""
    return ", ".join(f"NULL::BOOLEAN AS {name}" for name in names)


def ambulance_sql(period_type: str, definition_id: str) -> str:
    """SELECT of incidents from raw.ambulance_callouts (every row an assault call-out)."""
    band, under = _band_columns("r.age_band")
    at = (
        "CASE WHEN r.call_time IS NOT NULL THEN CAST(r.call_date AS TIMESTAMP)"
        f" + to_minutes({_minutes('r.call_time')}) END"
    )
    nulls = _null_booleans(FLAG_NAMES)
    return f"""
    SELECT 'ambulance' AS source,
        {_event_id("r.incident_ref")} AS event_id,
        CAST(date_trunc('month', r.call_date) AS DATE) AS occurred_month,
        {at} AS occurred_at,
        {period_sql("r.call_date", period_type)} AS period,
        r.lsoa_code,
        CASE WHEN r.easting IS NOT NULL AND r.northing IS NOT NULL THEN r.easting END AS x,
        CASE WHEN r.easting IS NOT NULL AND r.northing IS NOT NULL THEN r.northing END AS y,
        NULL::VARCHAR AS offence_code,
        r.chief_complaint AS offence_description,
        'Ambulance: assault call-out' AS offence_group,
        'Assault (ambulance call-out)' AS crime_type,
        '{ASSAULT}' AS sv_category,
        {nulls},
        {band} AS victim_age_band,
        {under} AS victim_under_25,
        r.sex AS victim_sex,
        NULL::BOOLEAN AS suspect_under_25,
        NULL::VARCHAR AS postcode_sector,
        {_common(definition_id)}
    FROM raw.ambulance_callouts r
    {_not_superseded("ambulance_callouts")}
    """


def asb_council_sql(period_type: str, definition_id: str) -> str:
    """SELECT of incidents from raw.asb_council (anti-social behaviour: never serious violence)."""
    at = (
        "CASE WHEN r.incident_time IS NOT NULL THEN CAST(r.incident_date AS TIMESTAMP)"
        f" + to_minutes({_minutes('r.incident_time')}) END"
    )
    nulls = _null_booleans(FLAG_NAMES + DERIVED_FLAGS)
    return f"""
    SELECT 'asb' AS source,
        {_event_id("r.incident_ref")} AS event_id,
        CAST(date_trunc('month', r.incident_date) AS DATE) AS occurred_month,
        {at} AS occurred_at,
        {period_sql("r.incident_date", period_type)} AS period,
        r.lsoa_code,
        CASE WHEN r.easting IS NOT NULL AND r.northing IS NOT NULL THEN r.easting END AS x,
        CASE WHEN r.easting IS NOT NULL AND r.northing IS NOT NULL THEN r.northing END AS y,
        NULL::VARCHAR AS offence_code,
        r.asb_type AS offence_description,
        r.category AS offence_group,
        'Anti-social behaviour' AS crime_type,
        NULL::VARCHAR AS sv_category,
        {nulls},
        NULL::VARCHAR AS victim_age_band,
        NULL::VARCHAR AS victim_sex,
        NULL::VARCHAR AS postcode_sector,
        {_common(definition_id)}
    FROM raw.asb_council r
    {_not_superseded("asb_council")}
    """


def health_selects(
    con: duckdb.DuckDBPyConnection,
    sources: Collection[str],
    period_type: str,
    definition_id: str,
) -> list[str]:
    """The incident SELECTs of the given sources whose raw tables exist (see HEALTH_SOURCES)."""
    builders = {
        "ae": lambda: ae_sql(period_type, definition_id),
        "hes": lambda: hes_sql(con, period_type, definition_id),
        "ambulance": lambda: ambulance_sql(period_type, definition_id),
        "asb": lambda: asb_council_sql(period_type, definition_id),
    }
    unknown = set(sources) - set(builders)
    if unknown:
        raise ValueError(f"unknown health or ASB sources {sorted(unknown)}: use {list(builders)}")
    return [
        builders[s]()
        for s in HEALTH_SOURCES
        if s in sources and table_exists(con, HEALTH_SOURCES[s])
    ]


def health_summary(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """Per NHS / ASB source: rows loaded, incidents, assaults, and HES episodes that are not
    admissions (EPIORDER > 1, left out of core.incidents): for the asset's metadata."""
    rows = []
    for source, table in HEALTH_SOURCES.items():
        if not table_exists(con, table):
            continue
        loaded = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        incidents, assaults = con.execute(
            "SELECT count(*), count(sv_category) FROM core.incidents WHERE source = ?", [source]
        ).fetchone()
        later = 0
        if source == "hes":
            later = con.execute(
                "SELECT count(*) FROM raw.hes_admissions WHERE epiorder > 1"
            ).fetchone()[0]
        rows.append((source, int(loaded), int(incidents), int(assaults), int(later)))
    return rows
