"""A whole refresh in process: the monthly inputs over their months, then the analysis over the
years those months fall in.

Dagster gives a run one partition range and applies it to every partitioned asset in the run, so
the monthly ingest and the yearly analysis cannot share one (a month key read as a year key
names the wrong year). `sna run`, the pipeline tests and the benchmark run the two one after the
other, each a single-run backfill; the analysis run starts only when the ingest run and its
blocking checks passed. Under the daemon, the drop-folder sensor and the schedules launch the
ingest run, and the `analysis_after_ingest` sensor launches its analysis run once it succeeded
(`analysis_request`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import dagster as dg

from pipelines.partitions import MONTHLY, SYNC_ALL_TAG, analysis_tags
from sources.registry import BY_KEY

AFTER_TAG = "sna/after"  # on an analysis run: the ingest run it follows
INPUTS_TAG = "sna/inputs"  # on a drop-folder run: the input keys of the files dropped
ANALYSIS_JOB = "sna_analysis"  # pipelines/defs/automation/jobs.py

Execute = Callable[[list[dg.AssetKey], dict[str, str], str | None], dg.ExecuteInProcessResult]


def split_selection(
    graph: dg.AssetGraph | object, keys: Iterable[dg.AssetKey] | None = None
) -> tuple[list[dg.AssetKey], list[dg.AssetKey]]:
    """(monthly ingest assets, every other asset) of `keys` (default: all), each sorted."""
    keys = graph.get_all_asset_keys() if keys is None else keys
    monthly = sorted(k for k in keys if graph.get(k).partitions_def == MONTHLY)
    rest = sorted(k for k in keys if graph.get(k).partitions_def != MONTHLY)
    return monthly, rest


@dataclass
class RefreshResult:
    """The runs of one refresh, read as one: it succeeded when every planned run did."""

    runs: list[dg.ExecuteInProcessResult] = field(default_factory=list)
    planned: set[dg.AssetKey] = field(default_factory=set)
    analysis: list[dg.AssetKey] = field(default_factory=list)  # the second run's assets
    planned_runs: int = 2

    @property
    def success(self) -> bool:
        return len(self.runs) == self.planned_runs and all(r.success for r in self.runs)

    @property
    def run_id(self) -> str:
        """The last run's id: the one that published, when the refresh got that far."""
        return self.runs[-1].run_id

    @property
    def all_events(self) -> list[dg.DagsterEvent]:
        return [e for r in self.runs for e in r.all_events]

    def get_asset_check_evaluations(self) -> list[dg.AssetCheckEvaluation]:
        return [e for r in self.runs for e in r.get_asset_check_evaluations()]

    def get_asset_materialization_events(self) -> list[dg.DagsterEvent]:
        return [e for r in self.runs for e in r.get_asset_materialization_events()]


def refresh(
    execute: Execute, graph, tags: dict[str, str], run_id: str | None = None
) -> RefreshResult:
    """Run the ingest over the months of `tags` (which carry `follow_up_tags`), then, when it
    passed, the analysis over their years, whose run gets `run_id`."""
    ingest, analysis = split_selection(graph)
    result = RefreshResult(planned=set(ingest) | set(analysis), analysis=analysis)
    first = execute(ingest, tags, None)
    result.runs.append(first)
    if first.success:
        keep = {k: v for k, v in tags.items() if not k.startswith("dagster/")}
        result.runs.append(execute(analysis, keep | analysis_tags(tags), run_id))
    return result


def analysis_selection(
    graph, inputs: Iterable[dg.AssetKey] | None, whole: bool
) -> list[dg.AssetKey]:
    """What the analysis run materialises: every non-monthly asset when the refresh is whole,
    else the given inputs that are not monthly and everything they feed (no monthly asset)."""
    _, rest = split_selection(graph)
    if whole or inputs is None:
        return rest
    fed = dg.AssetSelection.assets(*inputs).downstream().required_multi_asset_neighbors()
    return sorted(set(fed.resolve(graph)) & set(rest))


def analysis_request(run: dg.DagsterRun, graph, tags: dict[str, str]) -> dg.RunRequest:
    """The analysis run that follows a successful ingest run: its years, and what the inputs of
    the refresh feed (the `sna/inputs` tag, else the ingest run's assets); once per ingest run
    (the run key)."""
    whole = run.tags.get(SYNC_ALL_TAG) == "all"
    inputs = run.asset_selection
    if run.tags.get(INPUTS_TAG):
        inputs = [dg.AssetKey(BY_KEY[k].table.split(".")) for k in run.tags[INPUTS_TAG].split(",")]
    return dg.RunRequest(
        run_key=f"analysis-{run.run_id}",
        job_name=ANALYSIS_JOB,
        asset_selection=analysis_selection(graph, inputs, whole),
        tags=tags | analysis_tags(run.tags) | {AFTER_TAG: run.run_id},
    )
