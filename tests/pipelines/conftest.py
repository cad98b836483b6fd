"""A small demo county run through the real Dagster definitions, shared by the pipeline tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.partitions import run_tags
from pipelines.resources import build_resources
from pipelines.settings import Settings, load_settings
from sources.demo import write_demo_county

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Run:
    settings: Settings
    result: dg.ExecuteInProcessResult
    demo_dir: Path


def all_definitions() -> list:
    """Every asset and check of the code location (resources come from the test)."""
    from pipelines.definitions import defs

    definitions = defs()
    return [*definitions.assets, *definitions.asset_checks]


def write_settings(folder: Path, demo_dir: Path, **overrides: object) -> Path:
    """A settings file for a demo county in `folder`, with optional top-level overrides."""
    base = yaml.safe_load((REPO / "config" / "settings.yaml").read_text(encoding="utf-8"))
    base["inputs"] = {
        key: str(demo_dir / value.removeprefix("data/demo/"))
        for key, value in base["inputs"].items()
    }
    base["definition"] = str(REPO / base["definition"])
    base["database"] = str(folder / "sna.duckdb")
    base["output_dir"] = str(folder / "out")
    base.update(overrides)
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(base), encoding="utf-8")
    return path


def materialize(settings_path: Path) -> tuple[Settings, dg.ExecuteInProcessResult]:
    settings = load_settings(settings_path, base_dir=REPO)
    result = dg.materialize(
        all_definitions(),
        resources=build_resources(settings),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags=run_tags(settings),
    )
    return settings, result


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-LSOA, 36-month demo county: three financial years, the fewest emerging hotspots need."""
    folder = tmp_path_factory.mktemp("demo")
    write_demo_county(folder, n_lsoas=60, months=36)
    return folder


@pytest.fixture(scope="session")
def demo_run(small_demo: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("run")
    settings, result = materialize(write_settings(folder, small_demo))
    return Run(settings=settings, result=result, demo_dir=small_demo)
