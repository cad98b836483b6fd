"""Publishing: the latest period, what the rates leave out, and the whole-folder swap."""

from pathlib import Path

import pandas as pd
import pytest

from outputs.publish import coverage_note, latest_period, publish_atomically, with_basis


def test_latest_period_sorts_financial_years() -> None:
    rates = pd.DataFrame(
        {
            "measure": ["all_serious_violence"] * 3 + ["robbery"],
            "period": ["2021/22", "2023/24", "2022/23", "2024/25"],
        }
    )
    assert latest_period(rates) == "2023/24"


def test_coverage_note_counts_what_the_rates_leave_out() -> None:
    coverage = pd.DataFrame(
        {
            "source": ["police_uk", "police_uk", "police_uk", "police"],
            "status": ["in_area", "no_lsoa", "outside_area", "outside_area"],
            "incidents": [71396, 1606, 816, 5],
        }
    )
    assert coverage_note(coverage, "police_uk") == (
        "Not in the rates: 1,606 incidents with no LSOA and 816 located outside the area"
        " (counted in geography_coverage.csv)."
    )
    assert "0 incidents with no LSOA and 5 located outside" in coverage_note(coverage, "police")


def test_publish_replaces_the_folder_whole(tmp_path: Path) -> None:
    target = tmp_path / "2022-23"
    target.mkdir()
    (target / "stale.csv").write_text("old")

    def write(folder: Path) -> list[Path]:
        (folder / "sv_rates.csv").write_text("new")
        return [folder / "sv_rates.csv"]

    assert publish_atomically(target, write) == [target / "sv_rates.csv"]
    assert sorted(p.name for p in target.iterdir()) == ["sv_rates.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2022-23"]


def test_a_failed_publish_leaves_the_previous_folder_untouched(tmp_path: Path) -> None:
    target = tmp_path / "2022-23"
    target.mkdir()
    (target / "sv_rates.csv").write_text("previous")

    def write(folder: Path) -> list[Path]:
        (folder / "sv_rates.csv").write_text("half")
        raise RuntimeError("map failed")

    with pytest.raises(RuntimeError):
        publish_atomically(target, write)
    assert (target / "sv_rates.csv").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2022-23"]


def test_every_proxy_row_says_it_is_a_proxy() -> None:
    rates = pd.DataFrame({"source": ["police_uk", "police"], "definition_id": ["norfolk-2024"] * 2})
    basis = with_basis(rates)["basis"].tolist()
    assert basis[0].startswith("PROXY: data.police.uk") and "not the local definition" in basis[0]
    assert basis[1] == "local definition norfolk-2024"
