"""Checks on classification: unknown offence codes stay rare, and every incident is accounted for."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.classify.assets import geography_coverage, incidents
from pipelines.metadata import md_table
from pipelines.resources import SNASettings
from transforms.definition import load_definition


@dg.asset_check(asset=incidents, blocking=True)
def unknown_offence_codes_below_threshold(
    sna: SNASettings, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Codes missing from the reference are listed; above the definition's share the run stops."""
    limit = load_definition(sna.load().definition).unknown_code_max_share
    with duckdb.get_connection() as con:
        unknown = con.execute(
            "SELECT coalesce(sum(count), 0) FROM core.unknown_offence_codes"
        ).fetchone()[0]
        total = con.execute(
            "SELECT count(*) FROM core.incidents WHERE source = 'police'"
        ).fetchone()[0]
        listed = con.execute(
            "SELECT * FROM core.unknown_offence_codes ORDER BY count DESC LIMIT 20"
        ).df()
    share = unknown / total if total else 0.0
    return dg.AssetCheckResult(
        passed=share <= limit,
        metadata={
            "unknown_rows": int(unknown),
            "share": round(share, 5),
            "max_share": limit,
            "codes": md_table(listed),
        },
    )


@dg.asset_check(asset=geography_coverage, blocking=True)
def every_incident_accounted_for(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """in area + outside area + no LSOA == all incidents, per source."""
    with duckdb.get_connection() as con:
        off = con.execute(
            "SELECT i.source, i.n, c.n FROM (SELECT source, count(*) n FROM core.incidents GROUP BY 1) i"
            " FULL JOIN (SELECT source, sum(incidents) n FROM build.geography_coverage GROUP BY 1) c"
            " USING (source) WHERE i.n IS DISTINCT FROM c.n"
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not off, metadata={"sources_not_adding_up": str(off) if off else "none"}
    )


@dg.asset_check(asset=geography_coverage, blocking=True)
def most_incidents_fall_in_the_area(
    sna: SNASettings, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """A large share of located incidents outside the boundaries means the files do not match.

    Real police.uk files put ~1% of rows outside the force area; far more than that usually means
    the LSOA codes and the boundaries are of different vintages (2011 vs 2021), and the rates would
    silently be near zero.
    """
    limit = sna.load().max_outside_area_share
    with duckdb.get_connection() as con:
        shares = con.execute(
            "SELECT source, sum(incidents) FILTER (status = 'outside_area') / sum(incidents)"
            " FILTER (status <> 'no_lsoa') AS share FROM build.geography_coverage GROUP BY source"
        ).fetchall()
    over = {source: round(share or 0.0, 4) for source, share in shares if (share or 0.0) > limit}
    return dg.AssetCheckResult(
        passed=not over,
        metadata={
            "outside_area_share": dg.MetadataValue.json({s: round(v or 0.0, 4) for s, v in shares}),
            "max_share": limit,
        },
        description=None
        if not over
        else f"incidents outside the area above {limit:.0%} for {over}: do the LSOA codes and the"
        " boundaries have the same vintage (LSOA 2011 vs 2021)?",
    )
