"""The drop folder: files the analyst drops are recognised, filed where the settings read them,
and turned into one run over the inputs and months they touch.

The analyst drops files (or police.uk month folders) anywhere in the settings' `drop_dir`
(default `data/drop/`). Each file is recognised by its header (`sources.recognise`), then moved
to `drop_dir/<input key>/` keeping its path below the drop folder, where the settings' input
glob must read it (e.g. `police_uk: data/drop/police_uk/**/*.csv`); a file of the same name
already there is a re-delivery and is replaced. Files that are not recognised, or that the
settings would not read there, stay where they were, and the reason is reported. Dagster-free
except for the run request the sensor builds from a plan (`pipelines/defs/drop/sensors.py`).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pipelines.partitions import is_monthly
from pipelines.settings import Settings
from sources._csv import Spec, load_spec, read_csv, sha256_file
from sources._result import InputFormatError
from sources.recognise import Recognised, is_companion, recognise
from sources.registry import BY_KEY, INPUTS

SET_ASIDE = frozenset({*(spec.key for spec in INPUTS)})  # folders the sensor files into


@dataclass(frozen=True)
class Dropped:
    """One file found in the drop folder and what to do with it."""

    path: Path
    recognised: Recognised
    sha256: str
    destination: Path | None = None  # where the settings will read it; None: leave it
    months: tuple[date, ...] = ()  # months of its event dates (monthly inputs)
    problem: str | None = None

    @property
    def key(self) -> str | None:
        return self.recognised.key if self.problem is None else None


def waiting(drop_dir: Path) -> list[Path]:
    """Files dropped and not yet filed: everything under drop_dir except the input folders the
    sensor files into, hidden files, and a shapefile's side files (they follow their .shp)."""
    if not drop_dir.is_dir():
        return []
    found = []
    for path in sorted(drop_dir.rglob("*")):
        relative = path.relative_to(drop_dir)
        if not path.is_file() or relative.parts[0] in SET_ASIDE or is_companion(path):
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        found.append(path)
    return found


def glob_regex(pattern: str) -> re.Pattern:
    """A glob as `glob.glob(recursive=True)` reads it: `**/` any folders, `*` and `?` within
    one path part, `[...]` a class."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 1)) > 0:
            body = pattern[i + 1 : end]
            out, i = out + "[" + ("^" + body[1:] if body.startswith("!") else body) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def event_months(path: Path, key: str) -> tuple[date, ...]:
    """The months of a monthly input's event dates, read as a run reads that column (only it:
    a year's force extract is read in a fraction of the time all its columns would take)."""
    spec = BY_KEY[key]
    full = load_spec(spec.column_map)
    column = next(c for c in full.columns if c.name == spec.event_date)
    only = Spec(full.source, (replace(column, required=False),), dmy_date=tuple(
        c for c in full.dmy_date if c == spec.event_date))  # fmt: skip
    rows = read_csv(path, only).result.rows
    values = rows[spec.event_date].dropna()
    return tuple(sorted({date(v.year, v.month, 1) for v in values}))


def examine(path: Path, drop_dir: Path, settings: Settings) -> Dropped:
    """Recognise one dropped file and decide where it goes (nothing is moved here)."""
    found = recognise(path)
    digest = sha256_file(path)
    if found.key is None:
        return Dropped(path, found, digest, problem=found.problem)
    if found.personal_identifiers:
        return Dropped(
            path,
            found,
            digest,
            problem="has personal identifier columns, which are never stored: "
            + "; ".join(found.personal_identifiers),
        )
    destination = drop_dir / found.key / path.relative_to(drop_dir)
    pattern = settings.inputs.get(found.key)
    if not pattern or not glob_regex(pattern).match(str(destination)):
        suggestion = f"{drop_dir / found.key}/**/*{''.join(path.suffixes) or ''}"
        return Dropped(
            path,
            found,
            digest,
            problem=f"recognised as {found.key}, but the settings' inputs.{found.key}"
            f" ({pattern or 'not set'}) would not read it from {destination.parent}: set"
            f" inputs.{found.key} to {suggestion!r}",
        )
    months: tuple[date, ...] = ()
    if is_monthly(BY_KEY[found.key]):
        try:
            months = event_months(path, found.key)
        except InputFormatError as exc:
            return Dropped(path, found, digest, problem=str(exc))
    return Dropped(path, found, digest, destination, months)


def file_away(dropped: Dropped) -> Path:
    """Move a recognised file to where the settings read it (a same-named file is replaced: a
    re-delivery), with a shapefile's side files."""
    assert dropped.destination is not None
    dropped.destination.parent.mkdir(parents=True, exist_ok=True)
    os.replace(dropped.path, dropped.destination)
    if dropped.path.suffix.lower() == ".shp":
        for side in dropped.path.parent.glob(dropped.path.stem + ".*"):
            os.replace(side, dropped.destination.with_suffix(side.suffix))
    return dropped.destination


@dataclass(frozen=True)
class RunPlan:
    """One run for a batch of dropped files: which inputs, which months, and its run key."""

    run_key: str
    inputs: tuple[str, ...]
    months: tuple[date, date] | None  # first and last month of the monthly inputs dropped


def plan(files: list[Dropped]) -> RunPlan | None:
    """The run a batch of filed files needs; the run key is the files' sha256s, so the same
    files never start a second run."""
    ready = [f for f in files if f.problem is None]
    if not ready:
        return None
    shas = sorted(f.sha256 for f in ready)
    run_key = "drop-" + hashlib.sha256("\n".join(shas).encode()).hexdigest()[:32]
    months = sorted({m for f in ready for m in f.months})
    return RunPlan(
        run_key,
        tuple(sorted({f.key for f in ready})),
        (months[0], months[-1]) if months else None,
    )
