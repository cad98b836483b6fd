"""Input patterns: one-file inputs refuse a glob that matches several files."""

from pathlib import Path

import pytest

from sources.paths import expand_single


def test_expand_single_returns_the_one_match(tmp_path: Path) -> None:
    (tmp_path / "pop_2022.csv").write_text("x\n")
    assert expand_single(tmp_path / "pop_*.csv") == (tmp_path / "pop_2022.csv").resolve()


def test_expand_single_refuses_several_matches_naming_them(tmp_path: Path) -> None:
    for year in (2021, 2022):
        (tmp_path / f"pop_{year}.csv").write_text("x\n")
    with pytest.raises(ValueError, match="matches 2 files") as error:
        expand_single(tmp_path / "pop_*.csv")
    assert "pop_2021.csv" in str(error.value) and "pop_2022.csv" in str(error.value)


def test_expand_single_names_the_pattern_when_nothing_matches(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        expand_single(tmp_path / "nothing_here*.csv")
