"""Real-data runs: a settings file whose paths point at ../shared/data and a temporary folder."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.pipelines.conftest import REPO


def write_real_settings(settings: dict, shared_data: Path, folder: Path) -> Path:
    """Write `settings` (as committed, paths relative to the repo) for a run in `folder`: shared
    data where the real files are, the database and outputs in the folder."""
    settings = dict(settings)
    settings["inputs"] = {
        k: v.replace("../shared/data", str(shared_data)) for k, v in settings["inputs"].items()
    }
    settings["definition"] = str(REPO / settings["definition"])
    settings["database"] = str(folder / "sna.duckdb")
    settings["output_dir"] = str(folder / "out")
    path = folder / "settings.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path
