"""Publish the first outputs: the rates CSV and the county rate map, swapped into place whole."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from outputs.maps import DISTRICT_TABLE_COLUMNS, dissolve_districts, rates_map_pdf
from outputs.tables import write_csv

HEADLINE = "all_serious_violence"
PROXY_NOTE = (
    "Source: data.police.uk street-level crime (open data, month and snapped location only). "
    "Serious violence here is a proxy: Violence and sexual offences + Robbery + Possession of weapons."
)
LOCAL_NOTE = (
    "Source: force crime extract, classified under the local definition of serious violence."
)


def with_basis(rates: pd.DataFrame) -> pd.DataFrame:
    """Rates with a plain-words `basis` column, so a proxy row says so wherever it is pasted."""
    basis = rates["source"].map(
        {
            "police_uk": "PROXY: data.police.uk Violence and sexual offences + Robbery + Possession"
            " of weapons; not the local definition",
        }
    )
    local = "local definition " + rates["definition_id"].astype("str")
    return rates.assign(basis=basis.fillna(local))


def coverage_note(coverage: pd.DataFrame, source: str) -> str:
    """What the rates leave out and why, e.g. '1,606 incidents with no LSOA and 816 outside the area'."""
    counts = coverage[coverage["source"] == source].set_index("status")["incidents"]
    no_lsoa, outside = int(counts.get("no_lsoa", 0)), int(counts.get("outside_area", 0))
    if not (no_lsoa or outside):
        return "Every incident was located in the area."
    return (
        f"Not in the rates: {no_lsoa:,} incidents with no LSOA and {outside:,} located outside"
        " the area (counted in geography_coverage.csv)."
    )


@dataclass(frozen=True)
class Published:
    folder: Path
    period: str
    files: tuple[Path, ...]


def slug(text: str) -> str:
    """A file-name-safe form of a period or area name: '2022/23' -> '2022-23'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def latest_period(rates: pd.DataFrame) -> str:
    """The most recent period of the headline measure (periods sort as text: '2021/22' < '2022/23')."""
    periods = rates.loc[rates["measure"] == HEADLINE, "period"].dropna().unique()
    if not len(periods):
        raise ValueError("no headline rates to publish: is any serious violence in the area?")
    return sorted(periods)[-1]


def publish_atomically(target: Path, write: Callable[[Path], list[Path]]) -> list[Path]:
    """Write into a temporary sibling folder, then swap it in: readers never see half a folder."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        written = write(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = target.with_name(f".{target.name}.old")
    shutil.rmtree(retired, ignore_errors=True)
    if target.exists():
        target.rename(retired)
    staging.rename(target)
    shutil.rmtree(retired, ignore_errors=True)
    return [target / path.relative_to(staging) for path in written]


STAGING = ".staging"


def staging_dir(output_dir: Path, run_id: str) -> Path:
    """Where a run writes its outputs until every blocking check has passed."""
    return output_dir / STAGING / run_id


def swap_in_staged(output_dir: Path, run_id: str) -> list[Path]:
    """Move a run's staged period folders into `output_dir`, each replacing its old folder whole,
    and clear every run's staging (a killed run leaves its own behind). Returns the files."""
    staged = staging_dir(output_dir, run_id)
    files: list[Path] = []
    for folder in sorted(p for p in staged.iterdir() if p.is_dir()) if staged.is_dir() else []:
        moved = sorted(f.relative_to(folder) for f in folder.rglob("*") if f.is_file())
        target = output_dir / folder.name
        publish_atomically(target, lambda into, src=folder: _move_contents(src, into))
        files += [target / f for f in moved]
    shutil.rmtree(output_dir / STAGING, ignore_errors=True)
    return files


def _move_contents(source: Path, into: Path) -> list[Path]:
    for item in source.iterdir():
        item.rename(into / item.name)
    return [p for p in into.rglob("*") if p.is_file()]


def publish_first_outputs(
    rates: pd.DataFrame,
    lsoas: gpd.GeoDataFrame,
    coverage: pd.DataFrame,
    *,
    area_name: str,
    definition_id: str,
    definition_hash: str,
    run_id: str,
    output_dir: Path,
) -> Published:
    """sv_rates.csv (every area, period and measure), coverage CSV and the map PDF for the latest
    period. Each names `run_id`, the pipeline run that made it (audit.runs has its inputs): a
    `run_id` column in the CSVs, the footer and Subject of the PDF."""
    period = latest_period(rates)
    headline = rates[(rates["measure"] == HEADLINE) & (rates["period"] == period)]
    source = str(headline["source"].iloc[0])
    is_proxy = source == "police_uk"
    months = int(headline["months"].max())

    lsoa_rates = lsoas.merge(
        headline.loc[headline["area_level"] == "lsoa", ["area_code", "rate_per_1000", "count"]],
        left_on="lsoa_code",
        right_on="area_code",
        how="left",
    )
    by_level = {level: rows for level, rows in headline.groupby("area_level")}
    district_table = pd.concat(
        [by_level.get("district", headline.iloc[:0]).sort_values("area_name"), by_level["county"]]
    ).rename(columns={"area_name": "district_name"})[DISTRICT_TABLE_COLUMNS]
    title = f"Serious violence per 1,000 residents by LSOA, {area_name}"
    period_text = period if months >= 12 else f"{period} ({months} months of data)"

    def write(folder: Path) -> list[Path]:
        csv = write_csv(with_basis(rates).assign(run_id=run_id), folder / "sv_rates.csv")
        cov = write_csv(coverage.assign(run_id=run_id), folder / "geography_coverage.csv")
        pdf = rates_map_pdf(
            lsoa_rates,
            dissolve_districts(lsoa_rates),
            district_table,
            title=title,
            period=period_text,
            definition_id=definition_id,
            definition_hash=definition_hash,
            source_note=f"{PROXY_NOTE if is_proxy else LOCAL_NOTE} {coverage_note(coverage, source)}",
            is_proxy=is_proxy,
            run_id=run_id,
            path=folder / f"sv_rate_map_{slug(area_name)}.pdf",
        )
        return [Path(csv), Path(cov), Path(pdf)]

    folder = output_dir / slug(period)
    files = publish_atomically(folder, write)
    return Published(folder=folder, period=period, files=tuple(files))
