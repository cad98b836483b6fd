"""Publishing: which periods, what each audience may see, every file of a period folder, and the
atomic swap that puts a folder in place.

A run writes every period folder into a staging area beside the outputs; only after every
blocking check (the disclosure checker included) has passed is each folder swapped into place
with one rename-exchange, so a reader never meets a missing or half-written folder and a failed
run leaves the previous packs untouched.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from outputs import maps
from outputs.charts import rate_by_decile
from outputs.findings import HEADLINE, PeriodInfo, period_infos
from outputs.geopackage import write_geopackage
from outputs.html import write_index
from outputs.pack import Area, Definition, PackData, pack_areas, render_pack
from outputs.store import PublishedTables
from outputs.tables import write_csv_parts
from outputs.workbook import write_workbook
from transforms.disclosure import AudienceRules, describe_rules, protect_cells, published_table

MANIFEST = "manifest.json"
# Published tables, in workbook order; any not built in a run is left out.
TABLE_ORDER = (
    "sv_rates",
    "geography_coverage",
    "hotspots",
    "emerging_hotspots",
    "hotspot_grid",
    "concentration",
    "lorenz_curve",
    "trends",
    "year_on_year",
    "time_profile",
    "success_measures",
    "priority_under_25s",
    "priority_domestic_abuse",
    "priority_drugs_alcohol",
    "priority_places",
    "asb_rates",
    "proportions",
    "risk_factors",
    "risk_correlations",
    "risk_model",
)


class PublishError(RuntimeError):
    """Periods that cannot be published, or a folder that cannot be swapped in."""


def chosen_areas(areas: list[Area], district_packs: bool | Sequence[str]) -> list[Area]:
    """The county and the districts `district_packs` asks for (True: all, False: none, or codes or
    names); a name that is not one of the area's districts is an error that lists them."""
    if district_packs is True:
        return areas
    wanted = set() if district_packs is False else set(district_packs)
    districts = [a for a in areas if a.level == "district"]
    unknown = wanted - {a.code for a in districts} - {a.name for a in districts}
    if unknown:
        known = ", ".join(f"{a.name} ({a.code})" for a in districts) or "none"
        raise PublishError(
            f"district_packs names {sorted(unknown)}, not districts of this area: {known}"
        )
    return [a for a in areas if a.level == "county" or {a.code, a.name} & wanted]


def slug(text: str) -> str:
    """A file-name-safe form of a period or area name: '2022/23' -> '2022-23',
    "King's Lynn and West Norfolk" -> 'kings-lynn-and-west-norfolk'."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text.replace("'", "").replace("’", "")).strip("-").lower()


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


# --- which periods -------------------------------------------------------------------------------


def report_periods(
    infos: Mapping[str, PeriodInfo], requested: Sequence[str] | None = None
) -> list[str]:
    """The periods to publish: those requested (each must exist), else the latest complete one.

    With no complete period (e.g. eleven months of open data) the latest period is published,
    marked as a part year wherever it is shown. A stray far-future date makes a one-month period
    that is never 'latest complete', so it cannot take over the outputs.
    """
    if not infos:
        raise PublishError("no rates to publish: is any serious violence in the area?")
    if requested:
        unknown = [p for p in requested if p not in infos]
        if unknown:
            raise PublishError(
                f"report_periods {unknown} have no rates; periods in this run: {sorted(infos)}"
            )
        return sorted(dict.fromkeys(requested))
    complete = [p for p, i in sorted(infos.items()) if i.complete]
    return [complete[-1]] if complete else [sorted(infos)[-1]]


# --- what an audience may see --------------------------------------------------------------------


@dataclass(frozen=True)
class Publication:
    """One run's published tables and pack data for one audience."""

    audience: AudienceRules
    tables: PublishedTables  # read back from disk when a file needs one
    pack: PackData
    areas: list[Area]
    cells: pd.DataFrame  # the protected count cells (status per cell)
    extras: dict[str, str] = field(default_factory=dict)


def with_parents(rates: pd.DataFrame, lsoas: pd.DataFrame) -> pd.DataFrame:
    """Rates with the ward and district code of each LSOA and ward row (for filtering a pack)."""
    look = lsoas[["lsoa_code", "ward_code", "district_code"]].astype("object")
    look = look.drop_duplicates("lsoa_code").set_index("lsoa_code")
    wards = look.dropna(subset=["ward_code"]).drop_duplicates("ward_code").set_index("ward_code")
    out = rates.copy(deep=False)  # copy-on-write: only new columns are added
    code, level = out["area_code"].astype("object"), out["area_level"]
    out["ward_code"] = code.map(look["ward_code"]).where(level == "lsoa")
    district = code.map(look["district_code"]).where(level == "lsoa")
    district = district.where(level != "ward", code.map(wards["district_code"]))
    out["district_code"] = district.where(level != "district", code)
    return out


def fixed_breaks(
    rates: pd.DataFrame, infos: Mapping[str, PeriodInfo]
) -> tuple[maps.Breaks, tuple[str, ...]]:
    """Class breaks from the published LSOA headline rates of every complete period of the run
    (all periods when none is complete), so maps of different years and areas compare."""
    lsoa = rates[(rates["area_level"] == "lsoa") & (rates["measure"] == HEADLINE)]
    complete = tuple(
        p for p in sorted(set(lsoa["period"])) if infos.get(p, PeriodInfo(p, 12)).complete
    )
    periods = complete or tuple(sorted(set(lsoa["period"])))
    values = lsoa[lsoa["period"].isin(periods)]["rate_per_1000"]
    return maps.class_breaks(values), periods


def prepare_publication(
    exact: Mapping[str, pd.DataFrame | None],
    lsoas: gpd.GeoDataFrame,
    *,
    audience: AudienceRules,
    definition: Definition,
    partitions: Mapping[str, Sequence[str]],
    source: str,
    county_code: str,
    county_name: str,
    population_year: int | None,
    period_months: pd.DataFrame | None = None,
    deprivation: pd.DataFrame | None = None,
    inputs: pd.DataFrame | None = None,
    missing: Mapping[str, str] | None = None,
    run_id: str = "",
    district_packs: bool | Sequence[str] = True,
    store_in: Path | None = None,
) -> Publication:
    """Protect every exact table for the audience and gather what the packs draw.

    exact: build tables by name (sv_rates required; None for a table not built); each is taken
    once or twice and not kept, so a mapping that reads on demand holds one at a time.
    run_id: the run that publishes, named by every file (audit.runs has its inputs).
    district_packs: a pack per district besides the county's (False: the county's only; a list:
    the districts named, by code or name).
    store_in: the folder under which the published tables are kept, each written there as it is
    protected and not held (`PublishedTables`; the system's temporary folder when None); the
    caller closes `Publication.tables` when the files are written.
    """
    areas = chosen_areas(pack_areas(lsoas, county_code, county_name), district_packs)
    rates_exact = exact["sv_rates"]
    if rates_exact is None or rates_exact.empty:
        raise PublishError("no rates to publish: build.sv_rates is empty")
    infos = period_infos(rates_exact, period_months)
    lsoa_exact = rates_exact[
        (rates_exact["area_level"] == "lsoa") & (rates_exact["measure"] == HEADLINE)
    ].rename(columns={"area_code": "lsoa_code"})
    del rates_exact  # a country's is 3M rows: the tables are protected one at a time
    geography = lsoas[["lsoa_code", "ward_code", "district_code", "county_code"]]
    cells = protect_cells(exact, audience, geography=geography, partitions=partitions)
    tables = PublishedTables(store_in)
    for name in exact:
        table = exact[name]  # one exact table at a time: `exact` may read each on demand
        if table is not None:
            tables.put(name, published_table(name, table, cells, audience, rates_source=source))
        del table
    rates = with_parents(tables["sv_rates"], lsoas)
    breaks, breaks_periods = fixed_breaks(rates, infos)
    profiles = {}
    if deprivation is not None and len(deprivation):
        district_of = lsoas.set_index("lsoa_code")["district_code"]
        for period in sorted(set(lsoa_exact["period"])):
            rows = lsoa_exact[lsoa_exact["period"] == period]
            for area in areas:
                part = rows if area.level == "county" else rows[
                    rows["lsoa_code"].map(district_of) == area.code
                ]  # fmt: skip
                profiles[(area.code, period)] = rate_by_decile(part, deprivation)
    why = dict(missing or {})
    if deprivation is None or deprivation.empty:
        why.setdefault("deprivation", "no deprivation (IoD) input was given")
    pack = PackData(
        county_code=county_code,
        county_name=county_name,
        rates=rates,
        lsoas=maps.in_bng(lsoas),
        breaks=breaks,
        breaks_periods=breaks_periods,
        infos=infos,
        definition=definition,
        source=source,
        audience=audience,
        rules_text=tuple(describe_rules(audience, sorted(set(cells["source"])))),
        population_year=population_year,
        coverage=tables.get("geography_coverage"),
        tables=tables,
        missing=why,
        decile_profiles=profiles,
        inputs=inputs,
        run_id=run_id,
    )
    return Publication(audience=audience, tables=tables, pack=pack, areas=areas, cells=cells)


# --- one period folder ---------------------------------------------------------------------------


def period_coverage_by_status(coverage: pd.DataFrame, period: str) -> pd.DataFrame:
    """The folder's period of the coverage table, one row per source and status (in_area,
    outside_area, no_lsoa): what the footer and the CSV say the rates leave out is that period's.
    The database keeps every period by placement method."""
    rows = coverage[coverage["period"].astype(str) == period]
    keys = [c for c in ("source", "period", "months", "status") if c in rows.columns]
    values = [c for c in ("incidents", "serious_violence") if c in rows.columns]
    return rows.groupby(keys, as_index=False, dropna=False)[values].sum()


def _upto(table: pd.DataFrame, period: str, info: PeriodInfo | None) -> pd.DataFrame:
    """Rows of the period and before it (a folder never shows a later period)."""
    if "period" in table.columns:
        keep = table["period"].astype(str) <= period
    elif "month" in table.columns and info is not None and info.last_month is not None:
        keep = pd.to_datetime(table["month"]) <= pd.Timestamp(info.last_month)
    else:
        return table
    return table if keep.all() else table[keep]  # the latest period's folder holds every row


def file_table(table: pd.DataFrame, audience: AudienceRules, run_id: str = "") -> pd.DataFrame:
    """A published table as it goes into a CSV or a sheet: hidden cells as the marker, geometry
    dropped, and the audience (and the run that made it, when given) on every row."""
    out = table.drop(columns=[c for c in ("geometry",) if c in table.columns]).copy()
    if "suppressed" in out.columns:
        hidden = out["suppressed"].fillna(False).astype(bool)
        for column in out.columns:
            if column in ("suppressed", "population") or out[column].dtype == bool:
                continue
            if column in _COUNTED or column in _DERIVED:
                values = out[column].astype("object")
                values[hidden & values.isna()] = audience.marker
                out[column] = values
    out["audience"] = audience.name
    if run_id:
        out["run_id"] = run_id
    return out


_COUNTED = ("count", "numerator", "denominator", "previous_count", "rolling_12m", "value")
_DERIVED = (
    "rate_per_1000", "rate", "ci_lower", "ci_upper", "vs_county", "vs_england", "change",
    "change_p", "rate_ratio", "p_value", "proportion", "kde",
)  # fmt: skip


class FolderTables(Mapping[str, pd.DataFrame]):
    """The published tables as one period folder's CSVs and sheets hold them: rows up to the
    period, the basis of each rate, the period's coverage, then `file_table`. Read from the store a
    part at a time (`parts`) or whole when asked for (a sheet), and not kept: a country's tables as
    files would not fit in memory together."""

    def __init__(self, pub: Publication, period: str):
        self._pub, self._period = pub, period
        self._names = [n for n in TABLE_ORDER if n in pub.tables]

    def _folder_part(self, name: str, part: pd.DataFrame) -> pd.DataFrame:
        pub = self._pub
        part = _upto(part, self._period, pub.pack.infos.get(self._period))
        if name == "sv_rates":
            part = with_basis(part)
        return file_table(part, pub.audience, pub.pack.run_id)

    def parts(self, name: str) -> Iterator[pd.DataFrame]:
        """The table a part (at most a store row group) at a time; at least one part."""
        if name == "geography_coverage":  # small: read once, whole
            coverage = self._pub.tables[name]
            if "period" in coverage:
                coverage = period_coverage_by_status(coverage, self._period)
                yield file_table(coverage, self._pub.audience, self._pub.pack.run_id)
                return
        yield from self._pub.tables.parts(name, lambda part: self._folder_part(name, part))

    def __getitem__(self, name: str) -> pd.DataFrame:
        parts = [p for p in self.parts(name) if len(p)]
        return pd.concat(parts, ignore_index=True) if parts else next(self.parts(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def write_period(pub: Publication, period: str, folder: Path) -> list[Path]:
    """Every file of one period folder: packs, CSVs, workbook, GeoPackage and index.html."""
    folder.mkdir(parents=True, exist_ok=True)
    info = pub.pack.infos.get(period)
    run_id = pub.pack.run_id
    written: list[Path] = []
    for area in pub.areas:
        written.append(
            render_pack(pub.pack, area, period, folder / f"map_pack_{slug(area.name)}.pdf")
        )
    tables = FolderTables(pub, period)
    rows = dict.fromkeys(tables, 0)  # counted as the CSVs are written: the workbook needs them
    for name in tables:
        written.append(
            write_csv_parts(_counted(tables.parts(name), rows, name), folder / f"{name}.csv")
        )
    written.append(
        write_workbook(
            tables,
            folder / "sna_tables.xlsx",
            audience=pub.audience,
            period_text=info.text if info else period,
            definition_id=pub.pack.definition.id,
            notes=list(pub.pack.rules_text),
            is_proxy=pub.pack.is_proxy,
            run_id=run_id,
            rows=rows,
        )
    )
    written.append(write_geopackage(pub, period, folder / "sna.gpkg"))
    written.append(write_index(pub, period, folder / "index.html", written))
    return written


def _counted(
    parts: Iterable[pd.DataFrame], rows: dict[str, int], name: str
) -> Iterator[pd.DataFrame]:
    """`parts` as they are, adding their rows to `rows[name]`."""
    for part in parts:
        rows[name] += len(part)
        yield part


def write_manifest(folder: Path, files: Sequence[Path], **fields: object) -> Path:
    """manifest.json: what this run wrote, with sizes and sha256, so a reader can check it."""
    entries = []
    for path in sorted(files):
        data = path.read_bytes()
        entries.append(
            {"file": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    record = {**fields, "written_at": datetime.now(UTC).isoformat(), "files": entries}
    path = folder / MANIFEST
    path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return path


# --- the atomic swap -----------------------------------------------------------------------------

_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False if not supported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd = -100
    rc = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def swap_in(staged: Path, target: Path) -> None:
    """Put `staged` at `target` in one atomic step; the old folder is removed afterwards.

    With no `target` yet this is one rename. Otherwise the two folders are exchanged with
    renameat2(RENAME_EXCHANGE), so `target` is never missing; where the system cannot exchange
    (not Linux), the old folder is renamed aside and the new one renamed in straight after, and the
    old one is put back if the second rename fails.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        staged.rename(target)
        return
    retired = target.with_name(f".{target.name}.retired")
    shutil.rmtree(retired, ignore_errors=True)
    if _exchange(staged, target):
        shutil.rmtree(staged, ignore_errors=True)  # `staged` now holds the old folder
        return
    target.rename(retired)
    try:
        staged.rename(target)
    except BaseException:
        retired.rename(target)
        raise
    shutil.rmtree(retired, ignore_errors=True)


STAGING = ".staging"


def staging_dir(output_dir: Path, run_id: str) -> Path:
    """Where a run writes its outputs until every blocking check has passed (same file system)."""
    return output_dir / STAGING / run_id


def staged_folders(staging: Path) -> list[Path]:
    """The period folders under a run's staging folder (<staging>/<audience>/<period>)."""
    return sorted(p for p in staging.glob("*/*") if p.is_dir())


def swap_in_staged(output_dir: Path, run_id: str) -> list[Path]:
    """Swap each of a run's staged period folders into `output_dir` in one atomic step, then clear
    every run's staging (a killed run leaves its own behind). Returns the published files."""
    staging = staging_dir(output_dir, run_id)
    published = []
    for folder in staged_folders(staging):
        target = output_dir / folder.relative_to(staging)
        names = sorted(p.name for p in folder.iterdir())
        swap_in(folder, target)
        published += [target / n for n in names]
    shutil.rmtree(output_dir / STAGING, ignore_errors=True)
    return published
