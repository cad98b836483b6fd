"""Checks on classification and placement: unknown offence codes stay rare, every incident is
accounted for, and, period by period, the LSOA codes match the boundaries' vintage."""

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.defs.geography.assets import (
    PLACEMENT,
    analysis_vintage_of,
    geography_coverage,
    vintage_lookup,
)
from pipelines.metadata import md_table
from pipelines.resources import SNASettings
from transforms.coverage import (
    COVERAGE_TABLE,
    outside_share_messages,
    period_coverage,
    vintage_loss_messages,
)
from transforms.definition import load_definition


# On core/incident_placement, the last asset of the step that writes core.incidents: a blocking
# check only holds back the assets downstream of its own, and nothing reads core/incidents but
# its placement, made in the same step.
@dg.asset_check(asset=PLACEMENT, blocking=True)
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
    passed = share <= limit
    top = ", ".join(f"{r.ho_offence_code} ({r.count:,})" for r in listed.head(5).itertuples())
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "unknown_rows": int(unknown),
            "share": round(share, 5),
            "max_share": limit,
            "codes": md_table(listed),
        },
        description=None
        if passed
        else f"{unknown:,} of {total:,} force extract rows ({share:.2%}) have offence codes the"
        f" reference does not know, above the definition's {limit:.2%}: {top}. Add them to"
        " config/reference/ho_offence_codes.csv or correct the extract.",
    )


@dg.asset_check(asset=geography_coverage, blocking=True)
def every_incident_accounted_for(duckdb: DuckDBResource) -> dg.AssetCheckResult:
    """Every incident is in the coverage table once, per source and period: nothing dropped."""
    with duckdb.get_connection() as con:
        off = con.execute(
            "SELECT i.source, i.period, i.n AS incidents, c.n AS in_coverage FROM"
            " (SELECT source, period, count(*) n FROM core.incidents GROUP BY ALL) i"
            " FULL JOIN (SELECT source, period, sum(incidents) n FROM"
            f" {COVERAGE_TABLE} GROUP BY ALL) c USING (source, period)"
            " WHERE i.n IS DISTINCT FROM c.n"
        ).df()
    return dg.AssetCheckResult(
        passed=off.empty,
        metadata={"periods_not_adding_up": md_table(off)},
        description=None
        if off.empty
        else "incidents and geography coverage differ: "
        + "; ".join(
            f"{r.period} ({r.source}): {r.incidents} incidents, {r.in_coverage} in coverage"
            for r in off.itertuples()
        ),
    )


@dg.asset_check(asset=geography_coverage, blocking=True)
def most_incidents_fall_in_the_area(
    sna: SNASettings, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Per source and period (never pooled over years): located incidents outside the boundaries
    stay below `max_outside_area_share`.

    Real police.uk files put ~1% of rows outside the force area; far more usually means the LSOA
    codes and the boundaries are of different vintages (2011 vs 2021), and that period's rates
    would silently be too low.
    """
    settings = sna.load()
    limit = settings.max_outside_area_share
    with duckdb.get_connection() as con:
        vintage = analysis_vintage_of(con)
        coverage = period_coverage(con, vintage)
    lines = outside_share_messages(coverage, limit, vintage, vintage_lookup(settings) is not None)
    shares = {
        f"{r.period} ({r.source})": round(r.outside / r.located, 4) if r.located else 0.0
        for r in coverage.itertuples()
    }
    return dg.AssetCheckResult(
        passed=not lines,
        metadata={
            "outside_area_share_by_period": dg.MetadataValue.json(shares),
            "max_share": limit,
            "by_period": md_table(coverage),
        },
        description="\n".join(lines) or None,
    )


@dg.asset_check(asset=geography_coverage, blocking=True)
def codes_of_the_other_vintage_are_placed(
    sna: SNASettings, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """No incident is lost to the boundary change: codes recognisably of the other LSOA vintage
    (e.g. LSOA 2021 codes against LSOA 2011 boundaries) must be placed through the lookup, whatever
    `max_outside_area_share` allows."""
    with duckdb.get_connection() as con:
        vintage = analysis_vintage_of(con)
        coverage = period_coverage(con, vintage)
    lines = vintage_loss_messages(coverage, vintage)
    return dg.AssetCheckResult(
        passed=not lines,
        metadata={
            "unplaceable_by_period": dg.MetadataValue.json(
                {
                    f"{r.period} ({r.source})": int(r.unplaceable_other_vintage)
                    for r in coverage.itertuples()
                }
            ),
        },
        description="\n".join(lines) or None,
    )
