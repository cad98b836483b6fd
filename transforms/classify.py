"""Classification in SQL: every police record becomes one row of core.incidents (NHS and council
ASB records join them through `transforms.health`).

Force extracts are classified by Home Office offence code, through a join on a code table built
from the definition's categories, and their thematic flags are the definition's flag rules
compiled to SQL expressions. SQL's NULL logic is the definition's three-valued logic: unknown
stays unknown unless the answer is already decided (`TRUE OR NULL` is TRUE, `FALSE AND NULL` is
FALSE). data.police.uk rows only carry a broad crime type, so they get the definition's proxy
category and unknown (NULL) flags: that source cannot tell.

A record superseded by a later version of the same crime reference or Crime ID (listed in
quarantine.duplicates) is left out: it is counted once, as its latest version.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from sources._csv import normalise_ho_code_text
from transforms.db import create_sql, load_spatial, registered, transaction
from transforms.definition import FLAG_NAMES, Definition, flag_order, flag_references
from transforms.periods import period_sql

INCIDENT_COLUMNS: list[str] = [
    "source",
    "event_id",
    "occurred_month",
    "occurred_at",
    "period",
    "lsoa_code",
    "x",
    "y",
    "offence_code",
    "offence_description",
    "offence_group",
    "crime_type",
    "sv_category",
    *FLAG_NAMES,
    "victim_age_band",
    "victim_under_25",
    "victim_sex",
    "suspect_under_25",
    "postcode_sector",
    "definition_id",
    "_file",
    "_line",
]
AGE_BANDS: list[tuple[int, int | None, str]] = [
    (0, 9, "0-9"),
    (10, 17, "10-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 54, "45-54"),
    (55, 64, "55-64"),
    (65, None, "65+"),
]
UNKNOWN_CODE_COLUMNS = ["ho_offence_code", "ho_offence_description", "count"]


def _lit(value: Any) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in(values) -> str:
    return "(" + ", ".join(_lit(v) for v in values) + ")" if values else "(NULL)"


def location_key_sql(expr: str) -> str:
    """Location types compared loosely: lower case, single spaces, no spaces around "/"."""
    return f"regexp_replace(regexp_replace(lower(trim({expr})), '\\s*/\\s*', '/', 'g'), '\\s+', ' ', 'g')"


def location_key(text: str) -> str:
    """`location_key_sql` for a value written in the definition."""
    return re.sub(r"\s+", " ", re.sub(r"\s*/\s*", "/", str(text).strip().lower()))


def _bool_choice(option: object) -> str:
    return "FALSE" if option in (False, "false") else "NULL"


def age_band_sql(age: str) -> str:
    """Victim age -> band label (0-9, 10-17, 18-24, 25-34, ..., 65+); NULL when unknown."""
    whens = " ".join(
        f"WHEN {age} >= {low}"
        + (f" AND {age} <= {high}" if high is not None else "")
        + f" THEN '{label}'"
        for low, high, label in AGE_BANDS
    )
    return f"CASE {whens} END"


class FlagCompiler:
    """Compiles the definition's flag specs to SQL over one incident row.

    The row has the extract's columns plus `_loc` (the location key), `_minutes` (offence time
    in minutes) and `_columns` (the columns the row's file had: a flag read from a column the
    file lacks is unknown, not false). A flag that refers to other flags is computed one level
    above them (`levels`), so each flag's expression is evaluated once.
    """

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        depth: dict[str, int] = {"victim_under_25": 0, "suspect_under_25": 0}
        self.levels: list[dict[str, str]] = [
            {"victim_under_25": "(victim_age < 25)", "suspect_under_25": "(suspect_age < 25)"}
        ]
        for name in flag_order(definition.flags):
            refs = flag_references(definition.flags[name])
            depth[name] = 1 + max((depth[r] for r in refs), default=-1)
            while len(self.levels) <= depth[name]:
                self.levels.append({})
            self.levels[depth[name]][name] = self.compile(definition.flags[name])

    def compile(self, spec: dict[str, Any]) -> str:
        if "column" in spec:
            col = spec["column"]
            value = f"upper(trim({col}))"
            blank = _bool_choice(spec.get("blank", "unknown"))
            other = _bool_choice(spec.get("other", "unknown"))
            trues = _in(str(v).strip().upper() for v in spec["true_values"])
            falses = _in(str(v).strip().upper() for v in spec.get("false_values", []))
            return (
                f"(CASE WHEN NOT list_contains(_columns, {_lit(col)}) THEN NULL"
                f" WHEN nullif({value}, '') IS NULL THEN {blank} WHEN {value} IN {trues} THEN TRUE"
                f" WHEN {value} IN {falses} THEN FALSE ELSE {other} END)"
            )
        if "location_types" in spec:
            types = spec["location_types"]
            if types == "public_place":
                public = _in(location_key(t) for t in self.definition.public_place_location_types)
                private = _in(location_key(t) for t in self.definition.private_location_types)
                return (
                    f"(CASE WHEN _loc IN {public} THEN TRUE WHEN _loc IN {private} THEN FALSE END)"
                )
            wanted = _in(location_key(t) for t in types)
            return f"(CASE WHEN nullif(_loc, '') IS NULL THEN NULL ELSE _loc IN {wanted} END)"
        if "offence_codes" in spec:
            codes = _in(normalise_ho_code_text(c) for c in spec["offence_codes"])
            return f"(ho_offence_code IN {codes})"
        if "flag" in spec:
            return spec["flag"]
        if "hour_between" in spec:
            start, end = (_minutes(t) for t in spec["hour_between"])
            if start < end:
                return f"(_minutes >= {start} AND _minutes < {end})"
            return f"(_minutes >= {start} OR _minutes < {end})"
        joiner = " OR " if "any_of" in spec else " AND "
        parts = [self.compile(sub) for sub in spec.get("any_of", spec.get("all_of", []))]
        return "(" + joiner.join(parts) + ")"

    def select(self, base: str) -> str:
        """`base` wrapped in one SELECT per level, each adding that level's flags."""
        query = base
        for level in self.levels:
            cols = ", ".join(f"{expr} AS {name}" for name, expr in level.items())
            query = f"SELECT *, {cols} FROM ({query})"
        return query


def _minutes(hhmm: str) -> int:
    h, m = str(hhmm).split(":")
    return int(h) * 60 + int(m)


def in_periods_sql(date_expr: str, period_type: str, periods: Sequence[str] | None) -> str:
    """A condition keeping rows whose date falls in `periods` (or has no date): applied to the raw
    rows, before classification, so a refresh of one year classifies that year only."""
    if periods is None:
        return "true"
    return f"({date_expr} IS NULL OR {period_sql(date_expr, period_type)} IN {_in(periods)})"


def _extract_sql(
    definition: Definition, period_type: str, periods: Sequence[str] | None = None
) -> str:
    """SELECT of incidents from raw.police_extract (the columns of INCIDENT_COLUMNS)."""
    flags = FlagCompiler(definition)
    minutes = (
        "TRY_CAST(split_part(e.offence_time, ':', 1) AS INT) * 60"
        " + TRY_CAST(split_part(e.offence_time, ':', 2) AS INT)"
    )
    base = f"""
        SELECT e.*, e.rowid AS _rid, f.columns AS _columns,
               {location_key_sql("e.location_type")} AS _loc, {minutes} AS _minutes
        FROM raw.police_extract e
        LEFT JOIN (SELECT file, columns FROM audit.loads WHERE source = 'police_extract') f
            ON f.file = e._file
        ANTI JOIN (SELECT file, line FROM quarantine.duplicates WHERE source = 'police_extract') d
            ON d.file = e._file AND d.line = e._line
        WHERE {in_periods_sql("e.offence_date", period_type, periods)}
    """
    flag_cols = ", ".join(f"i.{name}" for name in FLAG_NAMES)
    return f"""
    SELECT 'police' AS source,
        i.crime_ref AS event_id,
        CAST(date_trunc('month', i.offence_date) AS DATE) AS occurred_month,
        CAST(i.offence_date AS TIMESTAMP) + to_minutes(i._minutes) AS occurred_at,
        {period_sql("i.offence_date", period_type)} AS period,
        i.lsoa_code,
        i.easting AS x,
        i.northing AS y,
        i.ho_offence_code AS offence_code,
        coalesce(r.offence_description, i.ho_offence_description) AS offence_description,
        r.offence_group,
        r.police_uk_crime_type AS crime_type,
        c.sv_category,
        {flag_cols},
        {age_band_sql("i.victim_age")} AS victim_age_band,
        i.victim_under_25,
        i.victim_sex,
        i.suspect_under_25,
        NULL::VARCHAR AS postcode_sector,
        {_lit(definition.id)} AS definition_id,
        i._file,
        i._line,
        i._rid
    FROM ({flags.select(base)}) i
    LEFT JOIN _offence_codes r ON r.ho_code = i.ho_offence_code
    LEFT JOIN _sv_codes c ON c.offence_code = i.ho_offence_code
    """


def _police_uk_sql(
    definition: Definition, period_type: str, periods: Sequence[str] | None = None
) -> str:
    """SELECT of incidents from raw.police_uk under the definition's proxy."""
    nulls_bool = ",\n        ".join(f"NULL::BOOLEAN AS {name}" for name in FLAG_NAMES)
    point = (
        "ST_Transform(ST_Point(u.longitude, u.latitude), 'EPSG:4326', 'EPSG:27700',"
        " always_xy := true)"
    )
    return f"""
    SELECT 'police_uk' AS source,
        coalesce(nullif(u.crime_id, ''), regexp_extract(u._file, '[^/]+$') || ':' || u._line) AS event_id,
        u.month AS occurred_month,
        NULL::TIMESTAMP AS occurred_at,
        {period_sql("u.month", period_type)} AS period,
        u.lsoa_code,
        CASE WHEN u.longitude IS NOT NULL AND u.latitude IS NOT NULL THEN ST_X({point}) END AS x,
        CASE WHEN u.longitude IS NOT NULL AND u.latitude IS NOT NULL THEN ST_Y({point}) END AS y,
        NULL::VARCHAR AS offence_code,
        NULL::VARCHAR AS offence_description,
        NULL::VARCHAR AS offence_group,
        u.crime_type,
        p.sv_category,
        {nulls_bool},
        NULL::VARCHAR AS victim_age_band,
        NULL::BOOLEAN AS victim_under_25,
        NULL::VARCHAR AS victim_sex,
        NULL::BOOLEAN AS suspect_under_25,
        NULL::VARCHAR AS postcode_sector,
        {_lit(definition.id)} AS definition_id,
        u._file,
        u._line,
        u.rowid AS _rid
    FROM raw.police_uk u
    LEFT JOIN _proxy_types p ON p.crime_type = u.crime_type
    ANTI JOIN (SELECT file, line FROM quarantine.duplicates WHERE source = 'police_uk') d
        ON d.file = u._file AND d.line = u._line
    WHERE {in_periods_sql("u.month", period_type, periods)}
    """


CLASSIFIED = "_classified"  # the temporary view of the classified incidents
ROW_BITS = 40  # `_row`: the SELECT's number above bit 40, the raw rowid (below 2**40) under it


def classify_incidents(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    period_type: str,
    *,
    police_extract: bool,
    police_uk: bool,
    others: Sequence[str] = (),
    periods: Sequence[str] | None = None,
    view: str = CLASSIFIED,
) -> None:
    """The temporary view `view` of every incident of the loaded police inputs and of the SELECTs
    in `others` (NHS and council ASB records: `transforms.health.health_selects`), classified
    under the definition, and core.unknown_offence_codes.

    The view is not written anywhere: `transforms.geography.place_incidents` reads it twice, a few
    columns to place the incidents, then every column to write the placed table once. Besides
    INCIDENT_COLUMNS it has `_row`, which names its raw row (a number per SELECT, high bits, and
    the row's rowid in its raw table): the same in both reads, unique across sources.
    `periods`: only the incidents of those period labels (and those of no period)."""
    if police_uk:
        load_spatial(con)  # ~0.5 s per connection: only police.uk points need reprojecting
    sv_codes = pd.DataFrame(
        list(definition.code_to_category().items()), columns=["offence_code", "sv_category"]
    )
    proxy = pd.DataFrame(
        list(definition.police_uk_proxy.category_of_crime_type().items()),
        columns=["crime_type", "sv_category"],
    )
    codes = con.execute("SELECT * FROM ref.offence_codes").df()
    codes["ho_code"] = codes["ho_code"].map(normalise_ho_code_text)
    codes = codes.drop_duplicates("ho_code").replace("", None)
    selects = []
    if police_extract:
        selects.append(_extract_sql(definition, period_type, periods))
    if police_uk:
        selects.append(_police_uk_sql(definition, period_type, periods))
    selects += others
    numbered = [
        f"SELECT * EXCLUDE (_rid), ({n}::BIGINT << {ROW_BITS}) + _rid AS _row FROM ({select})"
        for n, select in enumerate(selects)
    ]
    wanted = "" if periods is None else f"WHERE period IS NULL OR period IN {_in(periods)}"
    frames = {"_sv_codes": sv_codes, "_proxy_types": proxy, "_offence_codes": codes}
    with registered(con, **{f"{name}_frame": frame for name, frame in frames.items()}):
        for name in frames:  # tables, not registered frames: the view outlives this call
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame")
    union = " UNION ALL BY NAME ".join(numbered)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM ({union}) {wanted}")
    con.execute(_unknown_codes_sql(police_extract))


def build_incidents(
    con: duckdb.DuckDBPyConnection,
    definition: Definition,
    period_type: str,
    *,
    table: str = "core.incidents",
    **options: Any,
) -> None:
    """`classify_incidents` (with its keyword `options`) written to `table` as it is, not placed
    (the pipeline places the view: `transforms.geography.place_incidents`)."""
    classify_incidents(con, definition, period_type, **options)
    with transaction(con):
        con.execute(f"{create_sql(table)} AS SELECT * EXCLUDE (_row) FROM {CLASSIFIED}")


def _unknown_codes_sql(police_extract: bool) -> str:
    """Offence codes in the extract that the reference does not know, with their row counts:
    one row per code (its most frequent description), most frequent first."""
    if not police_extract:
        return (
            "CREATE OR REPLACE TABLE core.unknown_offence_codes (ho_offence_code VARCHAR,"
            " ho_offence_description VARCHAR, count BIGINT)"
        )
    return """
    CREATE OR REPLACE TABLE core.unknown_offence_codes AS
    SELECT code AS ho_offence_code, arg_max(description, n) AS ho_offence_description,
           sum(n)::BIGINT AS count
    FROM (
        SELECT coalesce(e.ho_offence_code, '<blank>') AS code, e.ho_offence_description AS description,
               count(*) AS n
        FROM raw.police_extract e
        WHERE e.ho_offence_code IS NULL OR e.ho_offence_code NOT IN (SELECT ho_code FROM _offence_codes)
        GROUP BY ALL
    )
    GROUP BY code ORDER BY count DESC, ho_offence_code
    """
