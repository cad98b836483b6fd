"""A small demo county run through the real Dagster definitions, shared by the pipeline tests."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.partitions import follow_up_tags, run_tags
from pipelines.refresh import RefreshResult, refresh
from pipelines.resources import build_resources
from pipelines.settings import Settings, load_settings
from sources.demo import write_demo_county

REPO = Path(__file__).resolve().parents[2]
PACKED = "Yarmere"  # demo_run's one district pack besides the county's (the unit tests draw two)


@dataclass(frozen=True)
class Run:
    settings: Settings
    result: RefreshResult
    demo_dir: Path


@dataclass(frozen=True)
class CliRun:
    """`sna run` as the analyst runs it: its terminal output and where it wrote."""

    settings: Settings
    output: str
    exit_code: int
    args: tuple[str, ...]  # the command line, to run it again


def all_definitions() -> list:
    """Every asset and check of the code location (resources come from the test)."""
    from pipelines.definitions import defs

    definitions = defs()
    return [*definitions.assets, *definitions.asset_checks]


# The optional inputs a test of something else can leave out: 36 monthly police.uk files and the
# NHS and ASB sources are most of a small run's ingest, and all that is built from them.
BESIDE_THE_POINT = (
    "police_uk",
    "ae_attendances",
    "hes_admissions",
    "ambulance_callouts",
    "asb_council",
)


def write_settings(
    folder: Path, demo_dir: Path, without: tuple[str, ...] = (), **overrides: object
) -> Path:
    """A settings file for a demo county in `folder`, without the inputs named in `without`,
    with optional top-level overrides. Only the county's map pack is rendered unless
    `district_packs` says otherwise (demo_run draws one district's): a pack per district is most
    of a small run's time, and test_pack tests them."""
    base = yaml.safe_load((REPO / "config" / "settings.yaml").read_text(encoding="utf-8"))
    base["inputs"] = {
        key: str(demo_dir / value.removeprefix("data/demo/"))
        for key, value in base["inputs"].items()
        if key not in without
    }
    base["definition"] = str(REPO / base["definition"])
    base["database"] = str(folder / "sna.duckdb")
    base["output_dir"] = str(folder / "out")
    base["district_packs"] = False
    base.update(overrides)
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    return path


def settings_without_latest_month(folder: Path, demo_dir: Path, **overrides: object) -> str:
    """Settings in `folder` (written to settings.yaml) for the demo's police.uk files copied
    there, the latest month held back, police.uk alone among the dated inputs (its months are
    the run's); returns the held-back month."""
    from pipelines.partitions import is_monthly
    from sources.registry import BY_KEY

    months = sorted(p.name for p in (demo_dir / "police_uk").iterdir())
    for month in months[:-1]:
        shutil.copytree(demo_dir / "police_uk" / month, folder / "police_uk" / month)
    data = yaml.safe_load(write_settings(folder, demo_dir).read_text(encoding="utf-8"))
    data["inputs"]["police_uk"] = str(folder / "police_uk" / "*" / "*-street.csv")
    for key in data["inputs"]:
        if key != "police_uk" and is_monthly(BY_KEY[key]):
            data["inputs"][key] = None
    (folder / "settings.yaml").write_text(yaml.safe_dump({**data, **overrides}), encoding="utf-8")
    return months[-1]


def materialize(
    settings_path: Path, only: dg.AssetSelection | None = None
) -> tuple[Settings, RefreshResult]:
    """A whole refresh as `sna run` does it: the ingest run, then the analysis run (`only`:
    those assets and their checks)."""
    from pipelines.definitions import defs

    settings = load_settings(settings_path, base_dir=REPO)
    assets, instance = all_definitions(), dg.DagsterInstance.ephemeral()
    resources, graph = build_resources(settings), defs().resolve_asset_graph()
    chosen = set(only.resolve(graph)) if only is not None else None

    def execute(selection, tags, _run_id):
        return dg.materialize(
            assets, resources=resources, instance=instance, raise_on_error=False,
            selection=[k for k in selection if chosen is None or k in chosen], tags=tags,
        )  # fmt: skip

    months = run_tags(settings)
    return settings, refresh(execute, graph, months | follow_up_tags(months, settings.period))


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-LSOA, 36-month demo county: three financial years, the fewest emerging hotspots need."""
    folder = tmp_path_factory.mktemp("demo")
    write_demo_county(folder, n_lsoas=60, months=36)
    return folder


def sna_run(*args: str) -> tuple[int, str]:
    """`sna ARGS` in process, as the analyst types it: (exit code, terminal output). The audience
    `--audience` sets for the process is undone afterwards, and the Dagster instance is the
    one beside the settings' database."""
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.settings import AUDIENCE_ENV

    before = os.environ.get(AUDIENCE_ENV)
    try:
        result = CliRunner().invoke(app, list(args), env={"DAGSTER_HOME": None})
    finally:
        os.environ.pop(AUDIENCE_ENV, None)
        if before is not None:
            os.environ[AUDIENCE_ENV] = before
    return result.exit_code, result.output


@pytest.fixture(scope="session")
def cli_run(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> CliRun:
    """`sna run --audience partner` on the small demo county, publishing 2021/22 into an output
    folder that already holds a file of an earlier run; recorded in the database's persistent
    Dagster instance (`.dagster` beside the database) as `make run` records it."""
    folder = tmp_path_factory.mktemp("cli_run")
    stale = folder / "out" / "public" / "2020-21" / "old.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("left by an earlier run")
    settings = write_settings(folder, small_demo, report_periods=["2021/22"])
    args = ("run", "--settings", str(settings), "--audience", "partner")
    code, output = sna_run(*args)
    return CliRun(load_settings(settings, base_dir=REPO), output, code, args)


@pytest.fixture(scope="session")
def demo_run(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("run")
    settings, result = materialize(write_settings(folder, small_demo, district_packs=[PACKED]))
    return Run(settings=settings, result=result, demo_dir=small_demo)
