"""`sna`: the analyst's command line. `sna demo` writes the demo county, `sna run` runs the SNA."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import dagster as dg
import typer
from rich.console import Console
from rich.table import Table

from pipelines.partitions import follow_up_tags, run_tags
from pipelines.refresh import refresh
from pipelines.settings import AUDIENCE_ENV, SETTINGS_ENV, SettingsError, load_settings
from transforms.periods import period_with_months

app = typer.Typer(
    add_completion=False, help="Serious Violence Duty strategic needs assessment pipeline."
)
console = Console(stderr=True, soft_wrap=True)  # paths and messages are never broken
DEFAULT_DEMO_DIR = Path("data/demo")
DEFAULT_SCALED_DIR = Path("data/scaled")
DEFAULT_SETTINGS_PATH = Path("config/settings.yaml")
FAULT_ENV = "SNA_FAULT_KILL_AT_STEP"  # fault tests only: SIGKILL the run when this step starts
SettingsOption = Annotated[Path, typer.Option("--settings", "-s", help="Settings YAML.")]


class _ProgressHandler(logging.Handler):
    """Turns Dagster step and check events into one readable line each."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)  # Dagster logs step events at DEBUG
        self.started: dict[str, float] = {}
        self.check_steps: set[str] = set()
        self.failed_checks: list[str] = []
        self.reasons: dict[str, list[str]] = {}  # failed or warning check -> its explanation
        self.skipped = 0

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)
        if event is None:  # Dagster says "Dependencies for step X failed ... Not executing."
            self.skipped += "Not executing" in record.getMessage()
            return
        kind, step = event.event_type_value, event.step_key or ""
        if kind == "STEP_START":
            self.started[step] = time.perf_counter()
            if os.environ.get(FAULT_ENV) == step:  # fault tests: die here, as a killed run would
                os.kill(os.getpid(), signal.SIGKILL)
        elif kind == "STEP_SUCCESS" and step not in self.check_steps:
            took = time.perf_counter() - self.started.get(step, time.perf_counter())
            console.print(f"  [green]done[/green] {step.replace('__', '.')} [dim]{took:.1f}s[/dim]")
        elif kind == "STEP_FAILURE" and step in self.check_steps:
            return  # a blocking check that failed: already reported with its reason
        elif kind == "STEP_FAILURE":
            error = event.step_failure_data.error
            while error.cause is not None:  # the reader's own message, not Dagster's wrapper
                error = error.cause
            console.print(f"  [red]FAILED[/red] {step.replace('__', '.')}: {error.message.strip()}")
        elif kind == "STEP_SKIPPED" or (
            kind == "ENGINE_EVENT" and "Not executing" in event.message
        ):
            self.skipped += 1
        elif kind == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            self.check_steps.add(step)
            name = f"{check.asset_key.to_user_string()}:{check.check_name}"
            if check.passed:
                console.print(f"  [green]check ok[/green] {name}")
                return
            self.reasons[name] = explain(check.description, check.metadata)
            if check.severity == dg.AssetCheckSeverity.WARN:  # reported, does not stop the run
                console.print(f"  [yellow]warning[/yellow] {name}")
            else:
                self.failed_checks.append(name)
                console.print(f"  [red]CHECK FAILED[/red] {name}")
            for line in self.reasons[name]:
                console.print(f"    {line}", highlight=False)


def explain(description: str | None, metadata: Mapping[str, Any]) -> list[str]:
    """A check's reason and its key numbers, as lines for the terminal."""
    lines = [line for line in (description or "").splitlines() if line.strip()]
    numbers = []
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, bool) or not isinstance(raw, int | float | str | dict):
            continue
        text = (
            json.dumps(raw)
            if isinstance(raw, dict)
            else f"{raw:,}"
            if not isinstance(raw, str)
            else raw
        )
        if text and len(text) <= 200:
            numbers.append(f"{key.replace('_', ' ')}: {text}")
    if numbers:
        lines.append("; ".join(numbers))
    return lines or ["(the check gave no reason: see it in the Dagster UI)"]


def _progress_logger(handler: _ProgressHandler) -> dg.LoggerDefinition:
    @dg.logger
    def progress(_init_context: dg.InitLoggerContext) -> logging.Logger:
        log = logging.getLogger("sna.progress")
        log.setLevel(logging.DEBUG)
        log.handlers = [handler]
        log.propagate = False
        return log

    return progress


class Geography(StrEnum):
    """Where the scaled demo's LSOAs come from."""

    synthetic = "synthetic"
    england_wales = "england-wales"


@app.command()
def demo(
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder to write into. Default: data/demo, or data/scaled with size options."
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same files.")
    ] = 20240401,
    lsoas: Annotated[
        int | None,
        typer.Option(
            help="Synthetic: number of LSOAs. england-wales: keep whole districts, in code order,"
            " until this many. Default: 500 synthetic, all 35,672 for england-wales."
        ),
    ] = None,
    crimes_per_year: Annotated[
        int | None,
        typer.Option(help="Police crimes a year on average. Default: 168 per LSOA."),
    ] = None,
    years: Annotated[
        int | None, typer.Option(help="Financial years from April 2021. Default: 3.")
    ] = None,
    geography: Annotated[
        Geography | None,
        typer.Option(
            help="synthetic (any size) or england-wales (the real LSOA 2021 polygons and Census"
            " 2021 population in ../shared/data/lsoa21)."
        ),
    ] = None,
) -> None:
    """Write synthetic inputs: the demo county, or with size options any size up to England and Wales.

    Without size options this is the embedded demo county (500 LSOAs, 36 months). With any of
    --lsoas, --crimes-per-year, --years or --geography it writes police files per force and month
    (police.uk) and per force and financial year (extract), and DIR/settings.yaml for
    `sna run --settings DIR/settings.yaml`.
    """
    if lsoas is None and crimes_per_year is None and years is None and geography is None:
        from sources.demo import write_demo_county

        out = out or DEFAULT_DEMO_DIR
        with console.status(f"Writing the demo county into {out} ..."):
            started = time.perf_counter()
            manifest = write_demo_county(out, seed=seed)
        console.print(
            f"Demo county written to [bold]{out}[/bold] in {time.perf_counter() - started:.1f}s:"
        )
        console.print(f"  {manifest.summary()}")
        return

    from sources.demo_scale import write_scaled_demo
    from sources.demo_scale_geo import GeographyMissingError

    out = out or DEFAULT_SCALED_DIR
    started = time.perf_counter()
    try:
        with console.status(f"Writing synthetic inputs into {out} ..."):
            manifest = write_scaled_demo(
                out,
                n_lsoas=lsoas,
                crimes_per_year=crimes_per_year,
                years=3 if years is None else years,
                geography=(geography or Geography.synthetic).value,
                seed=seed,
            )
    except GeographyMissingError as exc:
        console.print(f"[red]Cannot write the England and Wales demo:[/red] {exc}")
        raise typer.Exit(2) from exc
    except ValueError as exc:
        console.print(f"[red]Cannot write that demo:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"Written to [bold]{out}[/bold] in {time.perf_counter() - started:.1f}s:")
    console.print(f"  {manifest.summary()}")
    console.print(f"Run it with: sna run --settings {manifest.settings}")


def run_pipeline(
    settings_path: Path, handler: _ProgressHandler | None = None, run_id: str | None = None
) -> bool:
    """Materialise every asset for one settings file, in process; True when all steps and checks passed.

    Two runs (`pipelines.refresh`): the monthly inputs, then, once they passed, the analysis over
    every year they hold, whose run id is `run_id`. The runs are recorded in the database's persistent Dagster instance (`pipelines.instance`), so
    `sna ui` shows it with its materialisations, metadata and check results.
    """
    os.environ[SETTINGS_ENV] = str(settings_path.resolve())
    from pipelines.definitions import defs
    from pipelines.instance import open_instance
    from pipelines.runs import DATABASE_TAG, LAUNCHED_BY_TAG

    handler = handler or _ProgressHandler()
    definitions = dg.Definitions.merge(
        defs(), dg.Definitions(loggers={"progress": _progress_logger(handler)})
    )
    job = definitions.resolve_implicit_global_asset_job_def()
    loaded = load_settings(settings_path)
    database = loaded.database
    # every file synced; Dagster records the months the inputs hold and the years they fall in
    months = run_tags(loaded)
    tags = {LAUNCHED_BY_TAG: "sna run", DATABASE_TAG: str(database.resolve()), **months}
    with open_instance(database) as instance:

        def execute(selection, run_tags_, run_id_):
            return job.execute_in_process(
                run_config={"loggers": {"progress": {}}},
                instance=instance,
                raise_on_error=False,
                run_id=run_id_,
                asset_selection=selection,
                tags=run_tags_,
            )

        result = refresh(
            execute,
            job.asset_layer.asset_graph,
            tags | follow_up_tags(months, loaded.period),
            run_id=run_id,
        )
    if len(result.runs) < result.planned_runs:  # the ingest failed: the analysis never started
        handler.skipped += len(result.analysis)
    return result.success and not handler.failed_checks


AudienceOption = Annotated[
    str | None,
    typer.Option(
        "--audience",
        help="Who the outputs are for: public or partner (small-number rules in"
        " config/disclosure.yaml). Default: the settings' audience, else the config's default.",
    ),
]


@app.command()
def run(
    settings: SettingsOption = DEFAULT_SETTINGS_PATH,
    audience: AudienceOption = None,
) -> None:
    """Run the whole SNA for one settings file: ingest, classify, rates, outputs."""
    from pipelines.runs import RunLocked, run_lock
    from transforms.definition import DefinitionError, load_definition

    if audience is not None:
        os.environ[AUDIENCE_ENV] = audience
    try:  # everything is validated before anything is written
        loaded = load_settings(settings)
        load_definition(loaded.definition)
    except (SettingsError, DefinitionError, FileNotFoundError) as exc:
        console.print(f"[red]Settings error:[/red] {exc}")
        raise typer.Exit(2) from exc
    run_id = str(uuid.uuid4())
    try:
        with run_lock(loaded.database, run_id):
            console.print(f"Running the SNA for [bold]{loaded.area_name}[/bold] with {loaded.path}")
            started = time.perf_counter()
            handler = _ProgressHandler()
            ok = run_pipeline(loaded.path, handler, run_id=run_id)
            took = time.perf_counter() - started
    except RunLocked as exc:
        console.print(f"[red]Not started:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not ok:
        console.print(
            f"[red]The run did not complete ({took:.1f}s).[/red] {handler.skipped} later steps"
            " did not run, so no outputs were published."
        )
        for name in handler.failed_checks:
            console.print(f"  failed check: {name}")
            for line in handler.reasons.get(name, []):
                console.print(f"    {line}", highlight=False)
        console.print(f"Run {run_id} is recorded in audit.runs; `sna ui` shows its steps.")
        raise typer.Exit(1)
    _summary(loaded.database, loaded.output_dir, took, loaded.area_name, run_id)
    console.print(f"Run {run_id}: recorded in audit.runs and shown by `sna ui` / `make ui`")


def _published_by(output_dir: Path, run_id: str) -> list[tuple[str, list[Path]]]:
    """(audience and period, files) of every period folder this run published, from the manifests
    the publish step writes: files left by earlier runs are never listed."""
    out = []
    for manifest in sorted(output_dir.glob("*/*/manifest.json")):
        record = json.loads(manifest.read_text(encoding="utf-8"))
        if record.get("run_id") != run_id:
            continue
        folder = manifest.parent
        label = f"{record.get('audience', folder.parent.name)} {record.get('period', folder.name)}"
        out.append((label, [folder / f["file"] for f in record["files"]] + [manifest]))
    return out


def _summary(database: Path, output_dir: Path, took: float, area_name: str, run_id: str) -> None:
    """What was loaded and rejected, how incidents were placed, the headline, and the files this
    run published."""
    from transforms.db import connect

    con = connect(database, read_only=True)
    try:
        loads = con.execute(
            "SELECT source, count(*) files, sum(data_lines) lines, sum(rows_loaded) loaded,"
            " sum(rows_rejected) rejected FROM audit.loads GROUP BY 1 ORDER BY 1"
        ).fetchall()
        placement = con.execute(
            "SELECT source, placement, period, sum(incidents) FROM marts.geography_coverage"
            " GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        county = con.execute(
            "SELECT period, period_months, months, count, population, rate_per_1000, ci_lower,"
            " ci_upper, vs_england, vs_england_basis, source FROM marts.sv_rates"
            " WHERE area_level = 'county' AND measure = 'all_serious_violence' ORDER BY period"
        ).fetchall()
    finally:
        con.close()
    table = Table(title="Inputs", show_lines=False)
    for column in ("source", "files", "data lines", "loaded", "quarantined"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for row in loads:
        table.add_row(*[f"{v:,}" if isinstance(v, int) else str(v) for v in row])
    console.print(table)
    console.print(_placement_table(placement))
    for line in headline_lines(county, area_name):
        console.print(line, highlight=False)
    console.print(f"[green]Done in {took:.1f}s.[/green] Database: [bold]{database}[/bold]")
    published = _published_by(output_dir, run_id)
    if not published:
        console.print(f"No files were published by this run in [bold]{output_dir}[/bold].")
    for label, files in published:
        console.print(f"Outputs for [bold]{label}[/bold]: {files[0].parent}")
        for path in files:
            console.print(f"  {path}")


def _placement_table(rows: list[tuple]) -> Table:
    """Incidents by source and placement method (rows) and period (columns)."""
    periods = sorted({period for _, _, period, _ in rows})
    table = Table(title="Incidents by placement and period")
    table.add_column("source")
    table.add_column("placement")
    for period in periods:
        table.add_column(period, justify="right")
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for source, placement, period, n in rows:
        cells.setdefault((source, placement), {})[period] = int(n)
    for (source, placement), counts in cells.items():
        table.add_row(source, placement, *[f"{counts.get(p, 0):,}" for p in periods])
    return table


VS_WORDS = {"higher": "higher than", "similar": "similar to", "lower": "lower than"}


def headline_lines(county: list[tuple], area_name: str) -> list[str]:
    """The latest period's county headline (count, rate and 95% CI), its England comparison, and
    the change on the previous period only when both are whole years."""
    if not county:
        return ["No headline: no serious violence rates were computed."]
    *earlier, latest = county
    period, months_text, months, count, population, rate, lower, upper = latest[:8]
    vs_england, england_basis, source = latest[8:]
    basis = "police.uk proxy" if source == "police_uk" else "local definition"
    if rate is None or rate != rate:  # no denominator: say so rather than print nan
        return [f"Headline, {area_name}, {period}: {count:,} offences; no rate (no population)"]
    lines = [
        f"Headline, {area_name}, {period_with_months(period, months, months_text)}:"
        f" {count:,} serious violence offences"
        f" ({basis}), {rate:.2f} per 1,000 residents (95% CI {lower:.2f} to {upper:.2f};"
        f" population {population:,})"
    ]
    if england_basis:
        compared = VS_WORDS.get(vs_england, "")
        lines.append(f"  vs England: {compared + ' ' if compared else ''}{england_basis}")
    if earlier and earlier[-1][5] is not None:
        before = earlier[-1]
        if months >= 12 and before[2] >= 12:
            change = (rate - before[5]) / before[5] if before[5] else float("nan")
            overlap = lower <= before[7] and before[6] <= upper
            lines.append(
                f"  vs {before[0]}: {before[5]:.2f} per 1,000 then, {change:+.1%}; the 95%"
                f" intervals {'overlap' if overlap else 'do not overlap'}"
            )
        else:
            part = (period, months, months_text) if months < 12 else before[:3]
            lines.append(
                f"  Not compared with {before[0]}: {period_with_months(*part)}"
                " (part years are left out of year-on-year comparisons)"
            )
    return lines


@app.command()
def check(
    drop_dir: Annotated[Path, typer.Argument(help="Folder of files to validate.")],
    settings: SettingsOption = DEFAULT_SETTINGS_PATH,
) -> None:
    """Validate dropped files without writing anything: what each is, its rows, its problems
    with line numbers, what would be rejected. Exits 1 when a file would stop a run."""
    from pipelines.check import check_folder

    if not drop_dir.is_dir():
        console.print(f"[red]Not a folder:[/red] {drop_dir}")
        raise typer.Exit(2)
    try:
        loaded = load_settings(settings)
    except SettingsError as exc:
        console.print(f"[red]Settings error:[/red] {exc}")
        raise typer.Exit(2) from exc
    out = Console(highlight=False, soft_wrap=True)
    verdicts = check_folder(drop_dir, loaded)
    for verdict in verdicts:
        print_verdict(out, verdict, drop_dir)
    stopping = [v for v in verdicts if v.would_stop]
    if not verdicts:
        out.print(f"No files in {drop_dir}.")
    elif stopping:
        out.print(
            f"[red]{len(stopping)} of {len(verdicts)} file(s) would stop a run.[/red]"
            " Nothing was written."
        )
        raise typer.Exit(1)
    else:
        out.print(f"[green]All {len(verdicts)} file(s) can be run.[/green] Nothing was written.")


def print_verdict(out: Console, verdict, folder: Path) -> None:
    """One file's verdict: what it is, its rows, its rejects with line numbers, why it stops."""
    from pipelines.check import SHOW_REJECTS, months_text

    name = verdict.path.relative_to(folder)
    what = verdict.key or "[red]not recognised[/red]"
    mark = "[red]STOP[/red]" if verdict.would_stop else "[green]ok[/green]"
    out.print(f"{mark} {name}: {what}")
    if verdict.rows_loaded is not None:
        line = (
            f"    {verdict.data_lines:,} data lines: {verdict.rows_loaded:,} rows loaded,"
            f" {verdict.rows_rejected:,} rejected, {verdict.cell_issues:,} cell issues"
        )
        if verdict.duplicates:
            line += f", {verdict.duplicates:,} repeat a record seen later (counted once)"
        if verdict.months:
            line += f"; months {months_text(verdict.months)}"
        out.print(line)
    rejects = verdict.rejects
    if rejects is not None and len(rejects):
        for r in rejects.itertuples():
            column = "whole line" if r.column == "_row" else f"column {r.column}"
            out.print(f"    would reject line {r.line} ({column}, {r.value!r}): {r.reason}")
        if verdict.rows_rejected > len(rejects) or len(rejects) == SHOW_REJECTS:
            out.print(f"    ... {verdict.rows_rejected:,} rejected rows in all")
    for note in verdict.notes:
        out.print(f"    note: {note}")
    for stop in verdict.stops:
        out.print(f"    [red]would stop a run:[/red] {stop}")


@app.command()
def ui(
    settings: SettingsOption = DEFAULT_SETTINGS_PATH,
    port: Annotated[int, typer.Option(help="Port for the Dagster UI on 127.0.0.1.")] = 3000,
) -> None:
    """Open the Dagster UI (dg dev) on 127.0.0.1 for this settings file, with the run history of
    its database (`sna run`, schedules and sensors). Ctrl-C or SIGTERM stops it and everything
    it started."""
    from pipelines.instance import (
        DAGSTER_HOME_ENV,
        dagster_home,
        ensure_dagster_home,
        open_instance,
    )
    from pipelines.processes import run_process_group
    from pipelines.runs import fail_orphaned_runs

    try:
        loaded = load_settings(settings)
    except SettingsError as exc:
        console.print(f"[red]Settings error:[/red] {exc}")
        raise typer.Exit(2) from exc
    home = ensure_dagster_home(dagster_home(loaded.database))
    with open_instance(loaded.database) as instance:  # killed runs would block the run queue
        for run_id in fail_orphaned_runs(instance, loaded.database):
            console.print(f"Run {run_id} was killed: marked failed so queued runs can start")
    env = {**os.environ, SETTINGS_ENV: str(loaded.path), "VIRTUAL_ENV": sys.prefix,
           DAGSTER_HOME_ENV: str(home)}  # fmt: skip
    dg_bin = Path(sys.executable).with_name("dg")
    command = [str(dg_bin), "dev", "--host", "127.0.0.1", "--port", str(port)]
    console.print(f"Dagster UI on http://127.0.0.1:{port} (run history in {home}); Ctrl-C stops it")
    code = run_process_group(
        command, env, on_stop=lambda: console.print("Stopping the Dagster UI ...")
    )
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
