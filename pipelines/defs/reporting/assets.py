"""Published outputs and the audit record of the run that made them.

`staged_outputs` renders every file of every report period for the run's audience into a staging
folder; a blocking check re-reads them all against the disclosure rules; `publish` then copies
build.* to marts.* in one transaction and swaps each period folder into place in one step.
"""

import contextlib
import shutil
import time
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from outputs.publish import (
    STAGING,
    prepare_publication,
    report_periods,
    slug,
    staged_folders,
    staging_dir,
    swap_in_staged,
    write_manifest,
    write_period,
)
from pipelines import reporting
from pipelines.defs.geography.assets import geography_coverage
from pipelines.defs.health.assets import nhs_rates, success_measures
from pipelines.defs.hotspots.assets import (
    concentration,
    emerging_hotspots,
    hotspot_grid,
    hotspots,
)
from pipelines.defs.measures.assets import asb_rates, priorities, proportions, trends
from pipelines.defs.rates.assets import sv_rates
from pipelines.defs.risk.assets import risk_correlations_asset, risk_factors, risk_model_asset
from pipelines.freshness import MARTS_FRESHNESS
from pipelines.metadata import md_table
from pipelines.resources import SNASettings
from pipelines.runs import input_hashes, record_end
from transforms.db import publish_build
from transforms.definition import load_definition
from transforms.disclosure import CELL_TABLES, count_cells, load_disclosure, table_cells
from transforms.disclosure_check import check_published

# Every asset that writes a `build.*` table: the outputs are rendered after all of them, and
# `publish` runs only when all of them and their blocking checks have passed. Append yours here.
BUILT_BY = [
    sv_rates,
    geography_coverage,
    hotspots,
    hotspot_grid,
    emerging_hotspots,
    concentration,
    risk_factors,
    risk_correlations_asset,
    risk_model_asset,
    asb_rates,
    nhs_rates,
    success_measures,
    priorities,
    trends,
    proportions,
]


@dg.asset(
    key=["outputs", "staged"],
    group_name="reporting",
    kinds={"pdf", "xlsx", "gpkg", "csv", "html"},
    deps=BUILT_BY,
)
def staged_outputs(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """Map packs (county and each district), CSVs, workbook, GeoPackage and index.html for each
    report period, disclosure-controlled for the run's audience, written to a staging folder."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    audience = load_disclosure().audience(settings.audience)
    source = settings.rates_source
    started = time.perf_counter()
    shutil.rmtree(settings.output_dir / STAGING, ignore_errors=True)  # one run at a time
    with duckdb.get_connection() as con:
        exact = reporting.BuildTables(con)  # read one table at a time
        lsoas = reporting.read_lsoas(con)
        publication = prepare_publication(
            exact,
            lsoas,
            audience=audience,
            definition=reporting.definition_words(definition),
            partitions=reporting.partitions(definition, source),
            source=source,
            county_code=settings.area_code,
            county_name=settings.area_name,
            population_year=settings.population_year,
            period_months=reporting.read_period_months(con, source),
            deprivation=reporting.read_deprivation(con),
            inputs=reporting.read_input_log(con),
            missing=reporting.MISSING,
            run_id=context.run.run_id,
            district_packs=settings.district_packs,
            store_in=settings.output_dir / STAGING,  # beside the run's folders, not in them
        )
    protected = time.perf_counter()
    root = staging_dir(settings.output_dir, context.run.run_id)
    sizes = []
    try:
        periods = report_periods(publication.pack.infos, settings.report_periods)
        for period in periods:
            folder = root / audience.name / slug(period)
            files = write_period(publication, period, folder)
            write_manifest(
                folder,
                files,
                run_id=context.run.run_id,
                audience=audience.name,
                period=period,
                definition_id=definition.id,
                definition_hash=definition.hash,
            )
            sizes += [
                {"period": period, "file": f.name, "kB": round(f.stat().st_size / 1024)}
                for f in files
            ]
    finally:
        publication.tables.close()  # the published tables are in the files now
    hidden = publication.cells["status"].value_counts().to_dict()
    return dg.MaterializeResult(
        metadata={
            "audience": audience.name,
            "periods": ", ".join(periods),
            "staging": dg.MetadataValue.path(str(root)),
            "cells_by_status": dg.MetadataValue.json({k: int(v) for k, v in hidden.items()}),
            "disclosure_seconds": round(protected - started, 1),
            "render_seconds": round(time.perf_counter() - protected, 1),
            "files": md_table(pd.DataFrame(sizes), rows=200),
        }
    )


@dg.asset_check(asset=staged_outputs, blocking=True)
def published_files_pass_disclosure_control(
    context: dg.AssetCheckExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.AssetCheckResult:
    """Re-read every staged file (CSV, workbook, GeoPackage, the tables printed in the PDFs, the
    HTML) and fail when any cell breaks the audience's rules or can be worked out from others.
    A failing folder is deleted: nothing that broke the rules is left on disk."""
    settings = sna.load()
    definition = load_definition(settings.definition)
    audience = load_disclosure().audience(settings.audience)
    source = settings.rates_source
    root = staging_dir(settings.output_dir, context.run.run_id)
    with duckdb.get_connection() as con:
        exact = reporting.BuildTables(con, CELL_TABLES)  # read one at a time, cells kept
        cells = count_cells(table_cells(name, t) for name, t in exact.items() if t is not None)
        lsoas = reporting.read_lsoas(con)
    violations = []
    folders = staged_folders(root)
    for folder in folders:
        violations += check_published(
            folder,
            audience,
            exact=cells,
            rates_source=source,
            geography=lsoas[["lsoa_code", "ward_code", "district_code", "county_code"]],
            partitions=reporting.partitions(definition, source),
        )
    passed = bool(folders) and not violations
    if not passed:
        shutil.rmtree(root, ignore_errors=True)
        with contextlib.suppress(OSError):
            root.parent.rmdir()
    table = pd.DataFrame([v.__dict__ for v in violations])
    if len(table):
        table["file"] = table["file"].map(lambda f: Path(f).name)
    return dg.AssetCheckResult(
        passed=passed,
        metadata={
            "folders_checked": len(folders),
            "violations": len(violations),
            "first_violations": md_table(table, rows=30, empty="_none_"),
        },
    )


@dg.asset(
    key=["marts", "published"],
    freshness_policy=MARTS_FRESHNESS,
    group_name="reporting",
    kinds={"duckdb"},
    deps=[*BUILT_BY, staged_outputs],
)
def publish(
    context: dg.AssetExecutionContext, sna: SNASettings, duckdb: DuckDBResource
) -> dg.MaterializeResult:
    """After every blocking check passed: this run's `build.*` tables become `marts.*` in one
    transaction, then each staged period folder is swapped into place in one atomic step."""
    settings = sna.load()
    with duckdb.get_connection() as con:
        names = publish_build(con)
    files = swap_in_staged(settings.output_dir, context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "tables": dg.MetadataValue.md("\n".join(f"- `marts.{n}`" for n in names)),
            "files": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in files)),
        }
    )


@dg.asset(key=["audit", "runs"], group_name="reporting", kinds={"duckdb"}, deps=[publish])
def audit_run(context: dg.AssetExecutionContext, duckdb: DuckDBResource) -> dg.MaterializeResult:
    """What makes this refresh repeatable: definition hash, settings, input file hashes and package
    versions, recorded with the run's outcome (failed runs are recorded by `pipelines.runs`)."""
    with duckdb.get_connection() as con:
        loads = input_hashes(con)
        record_end(con, context.run.run_id, "success", input_hashes=loads)
        runs = con.execute("SELECT status, count(*) FROM audit.runs GROUP BY 1").fetchall()
    return dg.MaterializeResult(
        metadata={"runs_recorded": dg.MetadataValue.json(dict(runs)), "input_files": len(loads)}
    )
