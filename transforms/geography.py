"""One analysis geography per run: incidents, population and deprivation on the boundaries' LSOAs.

LSOA codes come in two vintages. data.police.uk files carry LSOA 2011 codes until 2023 and LSOA
2021 codes from 2024; IoD2019 and mid-2019 estimates are on LSOA 2011, Census 2021 and IoD2025 on
LSOA 2021. The boundaries given for a run fix its analysis vintage (`analysis_vintage`), and
everything else is placed on them, inside DuckDB:

`place_incidents` writes incidents (the pipeline's classified view, or a table rewritten in place)
so that `lsoa_code` is the study-area LSOA of the analysis vintage (NULL when the incident is
outside the area or cannot be placed), keeps the code as recorded in `lsoa_code_recorded`, the
vintages that code belongs to in `lsoa_vintage_recorded` ("2011", "2021", "2011+2021" for a code
both vintages use, NULL when nothing tells), and says how in `placement`:

- ``code``: the recorded code is an LSOA of the boundaries;
- ``lookup_unchanged``: a code ONS left unchanged in 2021, recorded in a month whose codes are of
  the other vintage (read through the lookup, same LSOA);
- ``lookup_merged``: an LSOA of the other vintage that lies wholly inside one analysis LSOA
  (merged into it in 2021, or split from it when the analysis vintage is 2011);
- ``lookup_split_point``: an LSOA of the other vintage that covers several analysis LSOAs
  (split in 2021, or merged when the analysis vintage is 2011), resolved by the incident's point
  in one candidate's polygon;
- ``lookup_split_nearest``: the same, where the point lies in no candidate's (generalised)
  polygon: the nearest candidate;
- ``lookup_split_population_share``: the same without coordinates: a reproducible draw in
  proportion to the candidates' populations (``lookup_split_equal_share`` when a candidate has no
  population), so each incident stays whole and expected counts follow the shares;
- ``coordinates``: no code, placed by its point in the boundaries;
- ``outside_area``: a code or point of an LSOA outside the boundaries;
- ``unmatched_code``: a code neither the boundaries nor the lookup know, or, without a lookup, a
  code recognisably of the other vintage (numbered after the last LSOA 2011 code);
- ``no_location``: neither a code nor coordinates;
- ``postcode_sector_only``: no code and no coordinates, only a postcode sector (ISTV A&E records
  often share no more): no postcode lookup is shipped, so it is counted here, in no rate.

The population-share draw: u = the first 52 bits of md5(event key) / 2^52, and the incident goes to
the candidate whose slice of the cumulative populations (candidates ordered by code) holds u. The
same key always gives the same LSOA, on any machine and DuckDB version.

`convert_population` and `convert_deprivation` put reference data of the other vintage on the
analysis LSOAs with the same lookup, stating the method in a `conversion` column.

Point in polygon runs in DuckDB's spatial extension (its SPATIAL_JOIN operator), loaded from the
`duckdb-extension-spatial` wheel, never installed from the network. Measured against shapely's
STRtree on one million points (`python -m tests.bench_placement`, a shared 2-core machine at load
7-8, so +-20%): points inside Norfolk's LSOAs, a tie (5.4-8.0 s against 5.6-8.2 s for 552
polygons, 5.4-8.5 s against 6.0-7.3 s for the 35,672 of England and Wales); points spread over
the bounding box, DuckDB 1.1 s against 2.5 s. DuckDB is used: no slower, and the points never
leave the database (no million shapely objects), so placement moves with a SQL core. Only split
codes and code-less points need geometry; everything else is a join on codes.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

import duckdb
import pandas as pd

from sources.deprivation import COLUMNS as DEPRIVATION_COLUMNS
from transforms.db import create_sql, load_spatial, transaction

VINTAGES = ("2011", "2021")
GEOGRAPHIES = {"lsoa11": "2011", "lsoa21": "2021"}
# ONS numbered the LSOAs created in 2021 after the last LSOA 2011 code of each country
# (E01033768 in England, W01001958 in Wales), so a higher number is an LSOA 2021 code for sure.
LAST_LSOA11_NUMBER = {"E01": 33768, "W01": 1958}
PLACED = (
    "code",
    "lookup_unchanged",
    "lookup_merged",
    "lookup_split_point",
    "lookup_split_nearest",
    "lookup_split_population_share",
    "lookup_split_equal_share",
    "coordinates",
)
NOT_PLACED = ("outside_area", "unmatched_code", "no_location", "postcode_sector_only")
PLACEMENTS = PLACED + NOT_PLACED
DEPRIVATION_MEASURES = tuple(DEPRIVATION_COLUMNS[2:])  # score, rank, decile per domain


class GeographyError(ValueError):
    """Boundaries, settings and lookup that cannot give one analysis geography."""


# ---------------------------------------------------------------------------- vintages


def other_vintage(vintage: str) -> str:
    """ "2011" for "2021" and the reverse."""
    return VINTAGES[1 - VINTAGES.index(vintage)]


def is_new_2021_code(code: str | None) -> bool:
    """True for an LSOA code ONS created in 2021 (numbered after the last LSOA 2011 code)."""
    m = re.fullmatch(r"([EW]01)(\d{6})", code or "")
    return bool(m) and int(m.group(2)) > LAST_LSOA11_NUMBER[m.group(1)]


def _new_2021_sql(code: str) -> str:
    checks = [
        f"(starts_with({code}, '{prefix}') AND TRY_CAST(substr({code}, 4) AS INTEGER) > {last})"
        for prefix, last in LAST_LSOA11_NUMBER.items()
    ]
    return "coalesce(" + " OR ".join(checks) + ", false)"


def analysis_vintage(
    header_vintages: Collection[str | None],
    codes: Iterable[str],
    stated: str | None = None,
    lookup: pd.DataFrame | None = None,
) -> str | None:
    """The LSOA vintage of the boundaries: "2011", "2021", or None when nothing can tell.

    Read from the code column's header (LSOA21CD), else from the codes themselves (codes only one
    vintage uses, from the lookup's pairs or the ONS numbering of new 2021 codes). `stated` is
    the settings' `geography` ("lsoa11" / "lsoa21"); when the boundaries say otherwise, or mix
    vintages, a GeographyError names both.
    """
    headers = {v for v in header_vintages if v}
    if len(headers) > 1:
        raise GeographyError(
            f"the boundary files are of different LSOA vintages ({', '.join(sorted(headers))}):"
            " give boundaries of one vintage"
        )
    codes = set(codes)
    only: dict[str, set[str]] = {"2011": set(), "2021": {c for c in codes if is_new_2021_code(c)}}
    if lookup is not None and len(lookup):
        in11, in21 = set(lookup["lsoa11_code"]), set(lookup["lsoa21_code"])
        only["2011"] |= codes & (in11 - in21)
        only["2021"] |= codes & (in21 - in11)
    if only["2011"] and only["2021"]:
        raise GeographyError(
            "the boundaries mix LSOA 2011 codes (e.g. "
            + ", ".join(sorted(only["2011"])[:3])
            + ") and LSOA 2021 codes (e.g. "
            + ", ".join(sorted(only["2021"])[:3])
            + "): give boundaries of one vintage"
        )
    from_codes = next((v for v in VINTAGES if only[v]), None)
    header = next(iter(headers), None)
    if header and from_codes and header != from_codes:
        raise GeographyError(
            f"the boundaries' code column says LSOA {header} but codes such as "
            + ", ".join(sorted(only[from_codes])[:3])
            + f" are LSOA {from_codes} codes"
        )
    found = header or from_codes
    if stated is not None:
        wanted = GEOGRAPHIES[stated]
        if found and found != wanted:
            raise GeographyError(
                f"the settings say geography: {stated} but the boundaries are LSOA {found}:"
                f" give LSOA {wanted} boundaries or set geography: lsoa{found[2:]}"
            )
        return wanted
    return found


# ---------------------------------------------------------------------------- DuckDB helpers


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of `schema.table` (or `temp.name`), in order."""
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def _vintage_map(con: duckdb.DuckDBPyConnection, lookup: str | None, vintage: str) -> bool:
    """TEMP table _vmap(from_code, to_code): other vintage -> analysis vintage pairs, with
    n_to (candidates of from_code) and n_from (parts of to_code). False when no lookup."""
    if lookup is None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _vmap (from_code VARCHAR, to_code VARCHAR,"
            " n_to BIGINT, n_from BIGINT)"
        )
        return False
    src, dst = (
        ("lsoa11_code", "lsoa21_code") if vintage == "2021" else ("lsoa21_code", "lsoa11_code")
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _vmap AS
        SELECT from_code, to_code,
               count(*) OVER (PARTITION BY from_code) AS n_to,
               count(*) OVER (PARTITION BY to_code) AS n_from
        FROM (SELECT DISTINCT {src} AS from_code, {dst} AS to_code FROM {lookup})
        """
    )
    return True


def _areas(con: duckdb.DuckDBPyConnection, areas: str) -> None:
    """TEMP table _area(lsoa_code, geom, area): the study area's polygons."""
    load_spatial(con)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _area AS
        SELECT lsoa_code, ST_GeomFromWKB(geometry) AS geom,
               ST_Area(ST_GeomFromWKB(geometry)) AS area
        FROM {areas}
        """
    )


# ---------------------------------------------------------------------------- incidents


def place_incidents(
    con: duckdb.DuckDBPyConnection,
    incidents: str = "core.incidents",
    *,
    into: str | None = None,
    vintage: str | None,
    areas: str = "ref.lsoa",
    lookup: str | None = None,
    population: str | None = None,
    key: str = "source || ':' || event_id",
) -> pd.DataFrame:
    """Place every incident on the analysis geography (see the module docstring); returns the
    counts by source, period and placement.

    `incidents` needs `lsoa_code`, `x`, `y` (EPSG:27700, may be NULL), `period`, `source` and the
    columns of `key` (a SQL expression giving a stable event key); `occurred_month`, when present,
    is the unit whose codes decide which vintage a month was recorded in (else `period`).
    `areas` has `lsoa_code` and WKB `geometry` in EPSG:27700; `lookup` the ONS pairs
    (`lsoa11_code`, `lsoa21_code`); `population` a table or view of (lsoa_code, persons) for the
    population-share draw. Rerunning on a placed table starts again from `lsoa_code_recorded`.

    `incidents` may be a view (`transforms.classify.classify_incidents`): it is read twice, a few
    columns to place the incidents, then whole to write the placed rows to `into` (default:
    `incidents` itself) once. A view names its rows in a `_row` column (a table by its rowid),
    which the placed table leaves out. Rows are written in the order they are read: no sort.
    """
    if vintage is None and lookup is not None:
        raise GeographyError(
            "the boundaries do not say whether they are LSOA 2011 or 2021 and their codes do"
            " not tell: state geography: lsoa11 or lsoa21 in the settings"
        )
    vintage = vintage or "2021"
    into = into or incidents
    existing = columns_of(con, incidents)
    recorded = "lsoa_code_recorded" if "lsoa_code_recorded" in existing else "lsoa_code"
    unit = "occurred_month" if "occurred_month" in existing else "period"
    sector = "postcode_sector" if "postcode_sector" in existing else "NULL::VARCHAR"
    row = "_row" if "_row" in existing else "rowid"
    # The incidents with the names the placement reads (`_inc` narrow, and the final write whole).
    named = (
        f"SELECT *, {row} AS _row_, {unit} AS _unit, {recorded} AS _recorded,"
        f" {sector} AS _sector FROM {incidents}"
    )
    with transaction(con):
        has_lookup = _vintage_map(con, lookup, vintage)
        _areas(con, areas)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE _inc AS
            SELECT _row_ AS _row, source, period, _unit, _recorded AS recorded,
                   x, y, {key} AS _key, _sector
            FROM ({named})
            """
        )
        _classify_codes(con, vintage)
        _decide(con, has_lookup)
        _resolve_splits(con, population)
        _resolve_coordinates(con)
        _write_placed(con, named, into, existing, has_lookup)
        summary = con.execute(
            f"SELECT source, period, placement, count(*) AS incidents FROM {into}"
            " GROUP BY ALL ORDER BY source, period, placement"
        ).df()
        for temp in ("_inc", "_codes", "_decided", "_placed", "_vmap", "_area", "_units"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return summary


def _classify_codes(con: duckdb.DuckDBPyConnection, vintage: str) -> None:
    """TEMP table _codes: one row per distinct recorded code, with what the boundaries, the
    lookup and the ONS numbering say about it; and _units: the vintage each month was coded in."""
    other = other_vintage(vintage)
    new21 = _new_2021_sql("c.code")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _codes AS
        SELECT c.code,
               a.lsoa_code IS NOT NULL AS in_area,
               f.n_to, f.to_code AS single_to, f.unchanged, f.n_to_in_area,
               t.code IS NOT NULL AS is_analysis_code,
               {new21} AS new_2021
        FROM (SELECT DISTINCT recorded AS code FROM _inc WHERE recorded IS NOT NULL) c
        LEFT JOIN _area a ON a.lsoa_code = c.code
        LEFT JOIN (
            SELECT from_code, count(*) AS n_to, min(to_code) AS to_code,
                   bool_and(from_code = to_code) AS unchanged,
                   count(*) FILTER (to_code IN (SELECT lsoa_code FROM _area)) AS n_to_in_area
            FROM _vmap GROUP BY from_code
        ) f ON f.from_code = c.code
        LEFT JOIN (SELECT DISTINCT to_code AS code FROM _vmap) t ON t.code = c.code
        """
    )
    # What each code is known to be: an analysis-vintage code (boundaries, lookup, numbering) and /
    # or an other-vintage code (lookup, numbering).
    is_new_other = "new_2021" if other == "2021" else "false"
    is_new_analysis = "new_2021" if vintage == "2021" else "false"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _codes AS
        SELECT *,
               (in_area OR is_analysis_code OR {is_new_analysis}) AS of_analysis,
               (n_to IS NOT NULL OR {is_new_other}) AS of_other
        FROM _codes
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _codes AS
        SELECT *,
               CASE WHEN of_analysis AND of_other THEN '2011+2021'
                    WHEN of_analysis THEN '{vintage}'
                    WHEN of_other THEN '{other}' END AS code_vintage
        FROM _codes
        """
    )
    # A month is recorded in the other vintage when more of its codes are other-vintage only
    # than analysis-vintage only; only then is an unchanged code read through the lookup.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _units AS
        SELECT i.source, i._unit,
               count(*) FILTER (c.of_other AND NOT c.of_analysis)
                 > count(*) FILTER (c.of_analysis AND NOT c.of_other) AS other_vintage
        FROM _inc i JOIN _codes c ON c.code = i.recorded
        GROUP BY ALL
        """
    )


def _decision_sql(i: str, has_lookup: bool) -> tuple[str, str]:
    """SQL of the placement that needs no geometry ('split' and 'by_point' are still to resolve)
    and of the LSOA it gives, for the incident `i` (columns recorded, x, y, _sector) joined to
    its code's row `c` of _codes and its unit's row `u` of _units."""
    unknown = "'unmatched_code'" if has_lookup else "'outside_area'"
    through_lookup = "c.n_to IS NOT NULL AND (NOT c.in_area OR coalesce(u.other_vintage, false))"
    placement = f"""
        CASE
          WHEN {i}.recorded IS NULL AND ({i}.x IS NULL OR {i}.y IS NULL) THEN
            CASE WHEN {i}._sector IS NOT NULL THEN 'postcode_sector_only' ELSE 'no_location' END
          WHEN {i}.recorded IS NULL THEN 'by_point'
          WHEN {through_lookup} THEN
            CASE WHEN c.n_to_in_area = 0 THEN 'outside_area'
                 WHEN c.n_to > 1 THEN 'split'
                 WHEN c.unchanged THEN 'lookup_unchanged'
                 ELSE 'lookup_merged' END
          WHEN c.in_area THEN 'code'
          WHEN c.of_analysis THEN 'outside_area'
          WHEN c.of_other THEN 'unmatched_code'
          ELSE {unknown}
        END"""
    lsoa = f"""
        CASE WHEN ({placement}) NOT IN ('code', 'lookup_unchanged', 'lookup_merged') THEN NULL
             WHEN {through_lookup} THEN c.single_to ELSE {i}.recorded END"""
    return placement, lsoa


def _joined_to_codes(i: str) -> str:
    """The incident `i` with its code's row `c` of _codes and its unit's row `u` of _units."""
    return f"""LEFT JOIN _codes c ON c.code = {i}.recorded
        LEFT JOIN _units u ON u.source = {i}.source AND u._unit IS NOT DISTINCT FROM {i}._unit"""


def _decide(con: duckdb.DuckDBPyConnection, has_lookup: bool) -> None:
    """TEMP table _decided: the incidents that are splits or points still to resolve."""
    placement, _ = _decision_sql("i", has_lookup)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _decided AS
        SELECT * FROM (
            SELECT i._row, i.recorded, i.x, i.y, i._key, {placement} AS placement
            FROM _inc i
            {_joined_to_codes("i")}
        )
        WHERE placement IN ('split', 'by_point')
        """
    )


def _resolve_splits(con: duckdb.DuckDBPyConnection, population: str | None) -> None:
    """Splits: point in a candidate's polygon, else the nearest candidate when every candidate is
    in the area (else outside it), and a population-share draw where there is no point."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _placed AS
        SELECT d._row, min(v.to_code) AS lsoa_code, 'lookup_split_point' AS placement
        FROM _decided d
        JOIN _vmap v ON v.from_code = d.recorded
        JOIN _area g ON g.lsoa_code = v.to_code
        WHERE d.placement = 'split' AND d.x IS NOT NULL AND d.y IS NOT NULL
          AND ST_Contains(g.geom, ST_Point(d.x, d.y))
        GROUP BY d._row
        """
    )
    con.execute(
        """
        INSERT INTO _placed
        SELECT d._row,
               CASE WHEN c.n_to_in_area = c.n_to
                    THEN arg_min(v.to_code, ST_Distance(g.geom, ST_Point(d.x, d.y))) END,
               CASE WHEN c.n_to_in_area = c.n_to THEN 'lookup_split_nearest'
                    ELSE 'outside_area' END
        FROM _decided d
        JOIN _codes c ON c.code = d.recorded
        JOIN _vmap v ON v.from_code = d.recorded
        JOIN _area g ON g.lsoa_code = v.to_code
        WHERE d.placement = 'split' AND d.x IS NOT NULL AND d.y IS NOT NULL
          AND d._row NOT IN (SELECT _row FROM _placed)
        GROUP BY d._row, c.n_to_in_area, c.n_to
        """
    )
    people = (
        f"SELECT lsoa_code, sum(persons) AS persons FROM {population} GROUP BY 1"
        if population
        else "SELECT NULL::VARCHAR AS lsoa_code, NULL::BIGINT AS persons"
    )
    # Integer weights keep the draw exact: slice k is [S(k-1), S(k)) of the running sum S over
    # candidates ordered by code, and the draw r = floor(u * total) with u from md5 of the key.
    con.execute(
        f"""
        INSERT INTO _placed
        WITH weights AS (
            SELECT v.from_code, v.to_code, p.persons,
                   bool_and(coalesce(p.persons, 0) > 0) OVER (PARTITION BY v.from_code) AS known
            FROM _vmap v LEFT JOIN ({people}) p ON p.lsoa_code = v.to_code
            WHERE v.from_code IN (SELECT recorded FROM _decided WHERE placement = 'split')
        ),
        slices AS (
            SELECT from_code, to_code, known,
                   sum(CASE WHEN known THEN persons ELSE 1 END) OVER w_run AS upto,
                   sum(CASE WHEN known THEN persons ELSE 1 END) OVER w_all AS total,
                   CASE WHEN known THEN persons ELSE 1 END AS weight
            FROM weights
            WINDOW w_run AS (PARTITION BY from_code ORDER BY to_code
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
                   w_all AS (PARTITION BY from_code)
        ),
        draws AS (
            SELECT _row, recorded,
                   ('0x' || substr(md5(_key), 1, 13))::BIGINT::HUGEINT AS h
            FROM _decided
            WHERE placement = 'split' AND (x IS NULL OR y IS NULL)
        )
        SELECT d._row,
               CASE WHEN s.to_code IN (SELECT lsoa_code FROM _area) THEN s.to_code END,
               CASE WHEN s.to_code NOT IN (SELECT lsoa_code FROM _area) THEN 'outside_area'
                    WHEN s.known THEN 'lookup_split_population_share'
                    ELSE 'lookup_split_equal_share' END
        FROM draws d
        JOIN slices s ON s.from_code = d.recorded
        WHERE (d.h * s.total) // 4503599627370496 >= s.upto - s.weight
          AND (d.h * s.total) // 4503599627370496 < s.upto
        """
    )


def _resolve_coordinates(con: duckdb.DuckDBPyConnection) -> None:
    """Incidents with a point and no code: the LSOA whose polygon holds the point, else outside."""
    con.execute(
        """
        INSERT INTO _placed
        SELECT d._row, min(g.lsoa_code), 'coordinates'
        FROM _decided d JOIN _area g ON ST_Contains(g.geom, ST_Point(d.x, d.y))
        WHERE d.placement = 'by_point'
        GROUP BY d._row
        """
    )
    con.execute(
        """
        INSERT INTO _placed
        SELECT _row, NULL, 'outside_area' FROM _decided
        WHERE placement = 'by_point' AND _row NOT IN (SELECT _row FROM _placed)
        """
    )


def _write_placed(
    con: duckdb.DuckDBPyConnection, named: str, into: str, existing: list[str], has_lookup: bool
) -> None:
    """Write the incidents of `named` to `into` with their placement, in one pass over them: the
    placement that needs no geometry is decided again in the same SQL as `_decide`, from the
    small _codes and _units, and the splits and points come from _placed."""
    added = [
        c
        for c in ("lsoa_code_recorded", "lsoa_vintage_recorded", "placement", "_row")
        if c in existing
    ]
    helpers = [
        "_row_",
        "_unit",
        "_recorded",
        "recorded",
        "_sector",
        "_vintage",
        "_placement",
        "_lsoa",
    ]
    excluded = ", ".join(helpers + added)
    placement, lsoa = _decision_sql("i", has_lookup)
    con.execute(
        f"""
        {create_sql(into)} AS
        SELECT * EXCLUDE ({excluded}) REPLACE (_lsoa AS lsoa_code),
               _recorded AS lsoa_code_recorded,
               _vintage AS lsoa_vintage_recorded,
               _placement AS placement
        FROM (
            SELECT i.*, c.code_vintage AS _vintage,
                   coalesce(p.placement, {placement}) AS _placement,
                   CASE WHEN p._row IS NOT NULL THEN p.lsoa_code ELSE {lsoa} END AS _lsoa
            FROM (SELECT *, _recorded AS recorded FROM ({named})) i
            {_joined_to_codes("i")}
            LEFT JOIN _placed p ON p._row = i._row_
        )
        """
    )
    unresolved = con.execute(
        f"SELECT count(*) FROM {into}"
        f" WHERE placement NOT IN ({', '.join(repr(p) for p in PLACEMENTS)})"
    ).fetchone()[0]
    if unresolved:  # a split or point the steps above missed: a bug, never a silent loss
        raise AssertionError(f"{unresolved} incidents were left without a placement")


# ---------------------------------------------------------------------------- reference data


def convert_population(
    con: duckdb.DuckDBPyConnection,
    source: str = "ref.population",
    target: str = "ref.lsoa_population",
    *,
    vintage: str | None,
    areas: str = "ref.lsoa",
    lookup: str | None = None,
) -> pd.DataFrame:
    """Population (long: lsoa_code, year, sex, age_from, age_to, persons) on the study area's LSOAs.

    `conversion` says how: ``as_published`` (a code of the boundaries), ``lookup_merged`` (the
    sum of the other-vintage LSOAs that lie in it), ``lookup_split_area_share`` (an other-vintage
    LSOA spread over the analysis LSOAs it covers in proportion to their polygons' areas, rounded
    by largest remainder so every published person is counted once), joined with "+" when an LSOA
    gets people both ways. Returns the number of study-area LSOAs per conversion.
    """
    return _convert(
        con,
        f"""
            CREATE OR REPLACE TABLE {target} AS
            WITH src AS (
                SELECT lsoa_code AS code, year, sex, age_from, age_to, persons FROM {source}
            ),
            direct AS (
                SELECT code AS lsoa_code, year, sex, age_from, age_to, persons,
                       'as_published' AS conversion
                FROM src WHERE code IN (SELECT lsoa_code FROM _area)
            ),
            mapped AS (
                SELECT s.*, v.to_code, v.n_to,
                       s.persons * g.area / sum(g.area) OVER part AS exact
                FROM src s
                JOIN _vmap v ON v.from_code = s.code
                JOIN _area g ON g.lsoa_code = v.to_code
                WHERE s.code NOT IN (SELECT lsoa_code FROM _area)
                WINDOW part AS (PARTITION BY s.code, s.year, s.sex, s.age_from, s.age_to)
            ),
            rounded AS (
                SELECT *, floor(exact)::BIGINT AS base,
                       persons - sum(floor(exact)::BIGINT) OVER part AS remainder,
                       row_number() OVER (part ORDER BY exact - floor(exact) DESC, to_code) AS rank
                FROM mapped
                WINDOW part AS (PARTITION BY code, year, sex, age_from, age_to)
            ),
            converted AS (
                SELECT to_code AS lsoa_code, year, sex, age_from, age_to,
                       base + (rank <= remainder)::BIGINT AS persons,
                       CASE WHEN n_to > 1 THEN 'lookup_split_area_share'
                            ELSE 'lookup_merged' END AS conversion
                FROM rounded
            )
            SELECT lsoa_code, '{vintage or ""}' AS lsoa_vintage, year, sex, age_from, age_to,
                   sum(persons)::BIGINT AS persons,
                   string_agg(DISTINCT conversion, '+' ORDER BY conversion) AS conversion
            FROM (SELECT * FROM direct UNION ALL SELECT * FROM converted)
            GROUP BY lsoa_code, year, sex, age_from, age_to
            ORDER BY lsoa_code, year, sex, age_from
            """,
        target,
        vintage=vintage,
        areas=areas,
        lookup=lookup,
    )


def convert_deprivation(
    con: duckdb.DuckDBPyConnection,
    source: str = "ref.deprivation",
    target: str = "ref.lsoa_deprivation",
    *,
    vintage: str | None,
    areas: str = "ref.lsoa",
    lookup: str | None = None,
) -> pd.DataFrame:
    """Indices of Deprivation on the study area's LSOAs, with `conversion`:

    ``as_published``; ``lookup_unchanged``; ``lookup_split_inherited`` (an analysis LSOA inside
    one other-vintage LSOA takes its values); ``lookup_merged_mean`` (an analysis LSOA made of
    several: the mean of their scores; a decile only where they share one; no rank, since a
    national rank cannot be recomputed from one area). Returns LSOAs per conversion.
    """
    present = set(columns_of(con, source))
    measures = [m for m in DEPRIVATION_MEASURES if m in present]

    def merged(m: str) -> str:
        if m.endswith("_score"):
            return f"avg({m}) AS {m}"
        if m.endswith("_decile"):
            return f"CASE WHEN min({m}) = max({m}) THEN min({m}) END AS {m}"
        return f"NULL::BIGINT AS {m}"

    one = ", ".join(f"any_value({m}) AS {m}" for m in measures)
    many = ", ".join(merged(m) for m in measures)
    plain = ", ".join(measures)
    return _convert(
        con,
        f"""
            CREATE OR REPLACE TABLE {target} AS
            WITH direct AS (
                SELECT lsoa_code, {plain}, 'as_published' AS conversion
                FROM {source} WHERE lsoa_code IN (SELECT lsoa_code FROM _area)
            ),
            mapped AS (
                SELECT v.to_code, v.n_to, v.from_code, s.*
                FROM {source} s JOIN _vmap v ON v.from_code = s.lsoa_code
                WHERE s.lsoa_code NOT IN (SELECT lsoa_code FROM _area)
                  AND v.to_code IN (SELECT lsoa_code FROM _area)
            ),
            single AS (
                SELECT to_code AS lsoa_code, {one},
                       CASE WHEN any_value(n_to) > 1 THEN 'lookup_split_inherited'
                            ELSE 'lookup_unchanged' END AS conversion
                FROM mapped GROUP BY to_code HAVING count(*) = 1
            ),
            several AS (
                SELECT to_code AS lsoa_code, {many}, 'lookup_merged_mean' AS conversion
                FROM mapped GROUP BY to_code HAVING count(*) > 1
            )
            SELECT lsoa_code, '{vintage or ""}' AS lsoa_vintage, * EXCLUDE (lsoa_code)
            FROM (SELECT * FROM direct UNION ALL BY NAME SELECT * FROM single
                  UNION ALL BY NAME SELECT * FROM several)
            ORDER BY lsoa_code
            """,
        target,
        vintage=vintage,
        areas=areas,
        lookup=lookup,
    )


def _convert(
    con: duckdb.DuckDBPyConnection,
    create: str,
    target: str,
    *,
    vintage: str | None,
    areas: str,
    lookup: str | None,
) -> pd.DataFrame:
    """Run one conversion's CREATE TABLE with the lookup (_vmap) and polygons (_area) in place;
    returns the study-area LSOAs per conversion method."""
    with transaction(con):
        _vintage_map(con, lookup, vintage or "2021")
        _areas(con, areas)
        con.execute(create)
        summary = con.execute(
            f"SELECT conversion, count(DISTINCT lsoa_code) AS lsoas FROM {target}"
            " GROUP BY conversion ORDER BY conversion"
        ).df()
        con.execute("DROP TABLE IF EXISTS _vmap; DROP TABLE IF EXISTS _area")
    return summary
