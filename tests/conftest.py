"""Shared fixtures: where the real public data lives, and skipping cleanly when it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real public open data (police.uk, ONS, IoD) beside the repo; skip when absent."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.skip(f"real public data not found at {SHARED_DATA}")
    return SHARED_DATA


# Tests never write into a Dagster instance of the person running them: `sna run` and `sna ui`
# then keep their run history beside each test's own database (pipelines/instance.py).
os.environ.pop("DAGSTER_HOME", None)


# Session fixtures that run a whole pipeline: under pytest-xdist every worker builds its own copy,
# so the tests that share one stay on one worker (`--dist loadgroup` in pyproject.toml).
SHARED_RUNS = {
    "run_a": "real-norfolk",
    "run_b": "real-norfolk",
    "run_c": "real-norfolk",
    "geography": "real-norfolk",
    "demo_run": "demo-run",
    "cli_run": "cli-run",
    "rendered": "rendered-pack",  # tests/unit/conftest.py: the synthetic county's published folder
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups into the node ids
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group each test by the whole run it shares, else by its file (module fixtures stay put).
    A test that reads ../shared/data is marked `integration`, wherever it lives, so
    `make test-fast` leaves it to `make test`."""
    for item in items:
        if "shared_data" in item.fixturenames:
            item.add_marker(pytest.mark.integration)
        shared = [SHARED_RUNS[name] for name in item.fixturenames if name in SHARED_RUNS]
        group = shared[0] if shared else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
