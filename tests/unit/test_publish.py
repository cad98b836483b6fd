"""Publishing: which periods, the basis column, file names, and the atomic folder swap."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pandas as pd
import pytest

from outputs import publish
from outputs.findings import PeriodInfo
from outputs.pack import Area
from outputs.publish import (
    PublishError,
    chosen_areas,
    report_periods,
    slug,
    swap_in,
    swap_in_staged,
    with_basis,
)


def infos(**months: int) -> dict[str, PeriodInfo]:
    return {p.replace("_", "/"): PeriodInfo(p.replace("_", "/"), n) for p, n in months.items()}


def test_default_is_the_latest_complete_period() -> None:
    got = infos(**{"2021_22": 12, "2022_23": 12, "2023_24": 4})
    assert report_periods(got) == ["2022/23"]


def test_a_stray_future_date_never_becomes_the_latest_period() -> None:
    """One mistyped 2099 date makes a one-month period: it must not take over the outputs."""
    got = infos(**{"2022_23": 12, "2023_24": 12, "2098_99": 1})
    assert report_periods(got) == ["2023/24"]


def test_with_no_complete_period_the_latest_part_year_is_published() -> None:
    assert report_periods({"2022": PeriodInfo("2022", 11)}) == ["2022"]


def test_requested_periods_must_exist() -> None:
    got = infos(**{"2021_22": 12, "2022_23": 12})
    assert report_periods(got, ["2022/23", "2021/22"]) == ["2021/22", "2022/23"]
    with pytest.raises(PublishError, match=r"\['2024/25'\] have no rates"):
        report_periods(got, ["2024/25"])


def test_slugs_are_file_name_safe() -> None:
    assert slug("2022/23") == "2022-23"
    assert slug("King's Lynn and West Norfolk") == "kings-lynn-and-west-norfolk"


def test_every_proxy_row_says_it_is_a_proxy() -> None:
    rates = pd.DataFrame({"source": ["police_uk", "police"], "definition_id": ["norfolk-2024"] * 2})
    basis = with_basis(rates)["basis"].tolist()
    assert basis[0].startswith("PROXY: data.police.uk") and "not the local definition" in basis[0]
    assert basis[1] == "local definition norfolk-2024"


def make(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "map_pack_x.pdf").write_text(text)
    return folder


def test_swap_replaces_the_folder_whole_and_removes_the_old(tmp_path: Path) -> None:
    target = make(tmp_path / "out" / "public" / "2022-23", "old")
    (target / "stale.csv").write_text("old")
    staged = make(tmp_path / "out" / ".staging" / "run" / "public" / "2022-23", "new")
    swap_in(staged, target)
    assert sorted(p.name for p in target.iterdir()) == ["map_pack_x.pdf"]
    assert (target / "map_pack_x.pdf").read_text() == "new"
    assert not staged.exists()


def test_the_period_folder_is_never_missing_during_a_swap(tmp_path: Path) -> None:
    """A reader polling the folder while it is swapped 50 times always finds it, whole."""
    target = make(tmp_path / "out" / "p", "0")
    seen, stop = [], threading.Event()

    def poll() -> None:
        while not stop.is_set():
            try:
                seen.append((target / "map_pack_x.pdf").read_text())
            except FileNotFoundError:
                seen.append(None)

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for i in range(1, 51):
            swap_in(make(tmp_path / f"s{i}", str(i)), target)
    finally:
        stop.set()
        reader.join()
    assert None not in seen and (target / "map_pack_x.pdf").read_text() == "50"


def test_without_an_exchange_call_the_old_folder_comes_back_if_the_swap_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = make(tmp_path / "p", "previous")
    staged = make(tmp_path / "s", "new")
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)
    real_rename = Path.rename

    def failing(self: Path, other):
        if self == staged:
            raise OSError("disk gone")
        return real_rename(self, other)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(OSError, match="disk gone"):
        swap_in(staged, target)
    assert (target / "map_pack_x.pdf").read_text() == "previous"


def test_swap_in_staged_moves_every_period_and_leaves_no_staging(tmp_path: Path) -> None:
    out = tmp_path / "out"
    make(out / "public" / "2021-22", "kept")
    staging = out / ".staging" / "run1"
    make(staging / "public" / "2022-23", "a")
    make(staging / "public" / "2023-24", "b")
    make(out / ".staging" / "killed-run" / "public" / "2023-24", "left by a killed run")
    files = swap_in_staged(out, "run1")
    assert sorted(str(p.relative_to(out)) for p in files) == [
        "public/2022-23/map_pack_x.pdf",
        "public/2023-24/map_pack_x.pdf",
    ]
    assert (out / "public" / "2021-22" / "map_pack_x.pdf").read_text() == "kept"
    assert sorted(os.listdir(out)) == ["public"]


def test_district_packs_are_all_none_or_those_named_by_code_or_name() -> None:
    areas = [
        Area("county", "E10000020", "Norfolk"),
        Area("district", "E07000148", "Norwich"),
        Area("district", "E07000145", "Great Yarmouth"),
    ]
    assert chosen_areas(areas, True) == areas
    assert chosen_areas(areas, False) == areas[:1]
    assert chosen_areas(areas, ["Norwich"]) == areas[:2]
    assert chosen_areas(areas, ("E07000145", "Norwich")) == areas
    with pytest.raises(PublishError, match=r"\['Norwhich'\], not districts.*Norwich \(E07000148\)"):
        chosen_areas(areas, ["Norwhich"])
