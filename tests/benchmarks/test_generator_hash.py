"""The bench reuses generated data while the code that wrote it is unchanged, and only then,
from whichever worktree wrote it.

The national data takes minutes to write: a change to the county demo alone must not discard it,
while a change to anything the scaled generator runs (its modules, or a constant it imports from
the county demo) must.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.benchmarks.harness import (
    GENERATOR_FILES,
    REPO,
    Size,
    generator_hash,
    generator_sources,
    settings_for,
)


def copy_generators(root: Path) -> Path:
    (root / "sources").mkdir(parents=True)
    for path in (REPO / "sources").glob("demo*.py"):
        shutil.copy(path, root / "sources" / path.name)
    for name in GENERATOR_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, root / name)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_the_scaled_generator_runs_only_part_of_the_county_demo():
    scaled = generator_sources("sources.demo_scale")
    whole = {k for k in scaled if ":" not in k}
    assert whole == {
        "sources.demo_scale",
        "sources.demo_scale_geo",
        "sources.demo_crime",
        "sources.demo_geo",
    }
    parts = {k.split(":")[1] for k in scaled if k.startswith("sources.demo:")}
    # what demo_scale imports from sources.demo, and what those definitions use in turn
    assert {"FORCE_COLUMNS", "POLICE_UK_COLUMNS", "domain_scores", "WARD_STEMS"} <= parts
    assert "IMD_WEIGHTS" in parts  # used inside domain_scores
    assert "write_demo_county" not in parts and "_force_extract" not in parts
    county = generator_sources("sources.demo")
    assert set(county) == {
        "sources.demo",
        "sources.demo_crime",
        "sources.demo_geo",
        "sources.demo_health",
    }


def test_a_county_only_change_keeps_the_national_data(tmp_path):
    root = copy_generators(tmp_path)
    before = {g: generator_hash(g, root) for g in ("county", "synthetic", "england-wales")}
    assert before["synthetic"] == before["england-wales"] != before["county"]
    edit(root / "sources" / "demo.py", "ASB_SHARE = 0.12", "ASB_SHARE = 0.13")
    edit(root / "sources" / "demo_health.py", "import json", "import json  # edited")
    after = {g: generator_hash(g, root) for g in before}
    assert after["county"] != before["county"]
    assert after["synthetic"] == before["synthetic"]
    assert after["england-wales"] == before["england-wales"]


def test_a_change_to_what_the_scaled_generator_uses_regenerates(tmp_path):
    root = copy_generators(tmp_path)
    before = {g: generator_hash(g, root) for g in ("county", "synthetic")}
    edit(root / "sources" / "demo.py", '"Crime Score", "Crime"', '"Crime Score", "Crimes"')
    first = {g: generator_hash(g, root) for g in before}
    assert first["synthetic"] != before["synthetic"] and first["county"] != before["county"]
    edit(root / "sources" / "demo_scale_geo.py", "from __future__", "# edited\nfrom __future__")
    second = {g: generator_hash(g, root) for g in before}
    assert second["synthetic"] != first["synthetic"] and second["county"] == first["county"]
    (root / GENERATOR_FILES[0]).write_text("code,group\n", encoding="utf-8")
    assert generator_hash("synthetic", root) != second["synthetic"]


def test_data_written_from_another_worktree_runs_with_this_repositorys_definition(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "settings.yaml").write_text(
        yaml.safe_dump({"definition": "/elsewhere/config/definitions/norfolk-2024.yaml"}),
        encoding="utf-8",
    )
    size = Size("tiny", "synthetic", lsoas=40, crimes_per_year=2_000)
    written = settings_for(size, data, tmp_path / "run")
    settings = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert settings["definition"] == str(REPO / "config" / "definitions" / "norfolk-2024.yaml")
    assert Path(settings["definition"]).is_file()
    assert settings["database"] == str(tmp_path / "run" / "sna.duckdb")
