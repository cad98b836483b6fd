"""The drop-folder sensor, evaluated with Dagster's build_sensor_context on a temporary drop folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml

from pipelines.defs.automation.sensors import analysis_after_ingest
from pipelines.defs.drop.sensors import drop_folder
from pipelines.partitions import FOLLOW_TAG, PERIODS_TAG, RANGE_END_TAG, RANGE_START_TAG
from pipelines.resources import SNASettings
from tests.pipelines.conftest import REPO, write_settings


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from pipelines.definitions import defs

    return defs()


@pytest.fixture
def drop(tmp_path: Path, small_demo: Path) -> tuple[Path, SNASettings]:
    """A drop folder the settings read police.uk and the force extract from."""
    folder = tmp_path / "drop"
    folder.mkdir()
    data = yaml.safe_load(write_settings(tmp_path, small_demo).read_text(encoding="utf-8"))
    data["drop_dir"] = str(folder)
    data["inputs"]["police_uk"] = str(folder / "police_uk" / "**" / "*-street.csv")
    data["inputs"]["police_extract"] = str(folder / "police_extract" / "*.csv")
    (tmp_path / "settings.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return folder, SNASettings(settings_path=str(tmp_path / "settings.yaml"), base_dir=str(REPO))


def _evaluate(definitions: dg.Definitions, sna: SNASettings):
    context = dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), definitions=definitions, resources={"sna": sna}
    )
    return drop_folder(context)


def test_a_dropped_month_is_filed_and_runs_its_partition_and_what_it_feeds(
    drop, small_demo: Path, definitions: dg.Definitions
):
    folder, sna = drop
    month_dir = sorted((small_demo / "police_uk").iterdir())[-1]
    shutil.copytree(month_dir, folder / month_dir.name)  # dropped as downloaded: a month folder
    (folder / "notes.csv").write_text("Meeting,Attendees\nMonday,4\n", encoding="utf-8")

    request = _evaluate(definitions, sna)

    assert isinstance(request, dg.RunRequest)
    filed = folder / "police_uk" / month_dir.name / next(month_dir.glob("*.csv")).name
    assert filed.is_file() and not (folder / month_dir.name / filed.name).exists()
    month = f"{month_dir.name}-01"
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (month, month)
    selected = {key.to_user_string() for key in request.asset_selection}
    assert selected == {"raw/police_uk"}  # the month now; the analysis of its year after it
    year = int(month[:4]) - (int(month[5:7]) < 4)
    assert request.tags[PERIODS_TAG] == f"{year}-04-01..{year}-04-01"
    assert request.tags[FOLLOW_TAG] == "analysis"
    assert (folder / "notes.csv").is_file()  # not recognised: left where it was

    # Once that ingest run succeeded, the analysis of the month's financial year follows, once.
    analysis = _follow(definitions, request)
    assert (analysis.tags[RANGE_START_TAG], analysis.tags[RANGE_END_TAG]) == (
        f"{year}-04-01",
        f"{year}-04-01",
    )
    selected = {key.to_user_string() for key in analysis.asset_selection}
    assert {"core/incidents", "marts/sv_rates", "marts/hotspots", "marts/published"} <= selected
    assert not {"raw/police_uk", "raw/police_extract", "ref/population"} & selected
    assert "sna/sync" not in analysis.tags  # only that year's rows are replaced

    # Nothing new: nothing runs. The same bytes dropped again give the same run key, which
    # Dagster runs once.
    assert isinstance(_evaluate(definitions, sna), dg.SkipReason)
    shutil.copy(filed, folder / filed.name)
    assert _evaluate(definitions, sna).run_key == request.run_key


def test_a_year_extract_runs_its_months_and_a_file_the_settings_would_not_read_stays(
    drop, small_demo: Path, definitions: dg.Definitions
):
    folder, sna = drop
    extract = sorted((small_demo / "police").glob("*.csv"))[0]  # financial year 2021-22
    shutil.copy(extract, folder / extract.name)
    population = next((small_demo / "population").glob("*.csv"))
    shutil.copy(population, folder / population.name)  # the settings read population elsewhere

    request = _evaluate(definitions, sna)

    assert (folder / "police_extract" / extract.name).is_file()
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == (
        "2021-04-01",
        "2022-03-01",
    )
    assert request.tags["sna/inputs"] == "police_extract"
    assert (folder / population.name).is_file()


def test_a_reference_file_runs_what_it_feeds_without_months(
    drop, small_demo: Path, definitions: dg.Definitions, tmp_path: Path
):
    folder, sna = drop
    settings = Path(sna.settings_path)
    data = yaml.safe_load(settings.read_text(encoding="utf-8"))
    data["inputs"]["population"] = str(folder / "population" / "*.csv")
    settings.write_text(yaml.safe_dump(data), encoding="utf-8")
    population = next((small_demo / "population").glob("*.csv"))
    shutil.copy(population, folder / "mid-2022 estimates.csv")  # any name: the header decides

    request = _evaluate(definitions, sna)

    assert (folder / "population" / "mid-2022 estimates.csv").is_file()
    # one run, no months: every year the inputs hold, each rebuilt whole
    assert request.tags[RANGE_START_TAG].endswith("-04-01") and request.tags["sna/sync"] == "all"
    selected = {key.to_user_string() for key in request.asset_selection}
    assert {"ref/population", "ref/lsoa_population", "core/incidents", "marts/sv_rates"} <= selected
    assert not {"raw/police_uk", "raw/police_extract"} & selected


def _follow(definitions: dg.Definitions, ingest: dg.RunRequest) -> dg.RunRequest:
    """What analysis_after_ingest asks for once the ingest run `ingest` succeeded (and nothing
    for a run that failed, or the second time round: the run key)."""
    instance = dg.DagsterInstance.ephemeral()
    for status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS):
        instance.add_run(
            dg.DagsterRun(
                job_name="__ASSET_JOB", tags=ingest.tags, status=status,
                asset_selection=frozenset(ingest.asset_selection),
            )
        )  # fmt: skip
    context = dg.build_sensor_context(instance=instance, definitions=definitions)
    [request] = analysis_after_ingest(context)
    return request
