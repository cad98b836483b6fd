"""`make bench`: wall time and peak memory of each SNA stage at county, intermediate and national size.

For each size the harness (1) writes the synthetic inputs with `sna demo` (reused when the same
generator already wrote that size under `data/bench/`), (2) times the bare read of the same CSV
files, reference (a), (3) runs the pipeline exactly as `sna run` does, in a child process whose
memory is sampled every 50 ms and which is stopped above a cap (default 12 GB) or after a time
limit (default 40 minutes), (4) runs the pandas + geopandas reference (b) on the same files and
compares its counts with the pipeline's, and (5) for the county, times adding one month to an
existing database. Stages come from the Dagster step start and end events, mapped by `STAGE_OF`.
Results go to `tests/benchmarks/results/<YYYY-MM-DD>.json` and a table is printed. Targets are
reported as pass or miss; nothing here is a test (timings are never asserted).

    make bench                                   # county, intermediate and national
    BENCH_SIZES=county,intermediate make bench   # or: python -m tests.benchmarks --sizes county
    BENCH_RSS_CAP_GB=12 BENCH_TIMEOUT_MIN=40 BENCH_DATA=data/bench make bench
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime as dt
import fnmatch
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "tests" / "benchmarks" / "results"
DATA_DIR = REPO / "data" / "bench"
GB = 1024**3
SAMPLE_EVERY_S = 0.05

CORE_STAGES = ("ingest", "placement", "classify", "rates")  # the national 3-minute target
ANALYSIS_STAGES = ("hotspots", "trends", "risk", "priorities")  # the marts after the rates
STAGES = (*CORE_STAGES, *ANALYSIS_STAGES, "outputs")
# The ONE place that says which stage a Dagster step belongs to: fnmatch patterns on the asset
# key a step materialises or checks ("raw/police_uk"; else its step key with "__" read as "/").
# First match wins; a step that matches nothing is reported under "other", never dropped.
# Ingest is reading the CSV inputs (the files the bare read reads) and their reconcile checks;
# the boundaries belong to placement, which is everything that puts incidents in LSOAs.
STAGE_OF: tuple[tuple[str, str], ...] = (
    ("raw/lsoa_boundaries", "placement"),
    ("raw/*", "ingest"),
    ("ref/area_lookup", "ingest"),
    ("ref/lsoa_vintage_lookup", "ingest"),
    ("ref/lsoa_population", "placement"),
    ("ref/lsoa_deprivation", "placement"),
    ("ref/population", "ingest"),
    ("ref/deprivation", "ingest"),
    ("ref/offence_codes", "ingest"),
    ("ref/sv_definition", "ingest"),
    ("audit/loads", "ingest"),
    ("quarantine/*", "ingest"),
    ("ref/lsoa", "placement"),
    ("*geography_coverage*", "placement"),
    ("*placement*", "placement"),
    ("*placed*", "placement"),
    ("*geocode*", "placement"),
    ("core/incidents*", "classify"),
    ("*unknown_offence_codes*", "classify"),
    ("*classif*", "classify"),
    ("*sv_rates*", "rates"),
    ("*rates*", "rates"),
    ("*denominator*", "rates"),
    ("*success_measures*", "rates"),
    ("*measures*", "rates"),
    ("marts/hotspot*", "hotspots"),
    ("marts/emerging_hotspots*", "hotspots"),
    ("marts/concentration*", "hotspots"),
    ("marts/lorenz_curve*", "hotspots"),
    ("concentration", "hotspots"),
    ("marts/trends*", "trends"),
    ("marts/year_on_year*", "trends"),
    ("marts/time_profile*", "trends"),
    ("trends", "trends"),
    ("marts/risk_*", "risk"),
    ("marts/priority_*", "priorities"),
    ("priorities", "priorities"),
    ("marts/proportions*", "priorities"),
    ("first_outputs", "outputs"),
    ("*publish*", "outputs"),
    ("*outputs*", "outputs"),
    ("*map_pack*", "outputs"),
    ("*workbook*", "outputs"),
    ("*report*", "outputs"),
    ("audit/runs", "outputs"),
)
TARGETS = {
    "county_full_refresh_s": 15.0,
    "national_core_s": 180.0,
    "national_ingest_vs_bare_read": 1.5,
    "peak_rss_gb": 8.0,
    "speedup_vs_pandas": 10.0,
    "add_one_month_s": 10.0,
}


@dataclass(frozen=True)
class Size:
    """One benchmark size. geography "county" is the demo county exactly as `sna demo` writes it."""

    name: str
    geography: str  # "county" | "synthetic" | "england-wales"
    lsoas: int | None = None
    crimes_per_year: int | None = None
    years: int = 3
    add_month: bool = False
    district_packs: bool = True  # False: the whole-area map pack only

    def demo_args(self) -> list[str]:
        """Options of `sna demo` that write this size."""
        if self.geography == "county":
            return []
        args = ["--geography", self.geography, "--years", str(self.years)]
        if self.lsoas is not None:
            args += ["--lsoas", str(self.lsoas)]
        if self.crimes_per_year is not None:
            args += ["--crimes-per-year", str(self.crimes_per_year)]
        return args


SIZES = {
    "county": Size("county", "county", lsoas=500, years=3, add_month=True),
    "intermediate": Size("intermediate", "synthetic", lsoas=5_000, crimes_per_year=1_000_000),
    # the whole area's map pack only, as a national or regional user runs it: 331 district
    # packs are each district's own deliverable (the size is recorded in the results)
    "national": Size("national", "england-wales", crimes_per_year=6_000_000, district_packs=False),
}


def stage_of(step: str, assets: list[str]) -> str:
    """The stage of a step: by the first asset it touched, else by its step key."""
    for name in [*assets, step.replace("__", "/")]:
        for pattern, stage in STAGE_OF:
            if fnmatch.fnmatchcase(name, pattern):
                return stage
    return "other"


# ----------------------------------------------------------------------------- child processes


@dataclass
class Watched:
    """A child process as the harness saw it: wall time, memory samples, how it ended."""

    returncode: int | None
    started: float
    ended: float
    samples: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, RSS bytes)
    stopped: str | None = None

    @property
    def wall_s(self) -> float:
        return self.ended - self.started

    @property
    def peak_rss(self) -> int:
        return max((rss for _, rss in self.samples), default=0)


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (0 once it has gone)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            total += next(
                int(x.split()[1]) * 1024 for x in status.splitlines() if x.startswith("VmRSS:")
            )
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def watch(cmd: list[str], log: Path, cap_bytes: int, timeout_s: float) -> Watched:
    """Run cmd from the repository root, sampling its memory; stop it above the cap or time limit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "160"}
    with log.open("w", encoding="utf-8") as out:
        started = time.monotonic()
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        watched = Watched(returncode=None, started=started, ended=started)
        while proc.poll() is None:
            now, rss = time.monotonic(), tree_rss(proc.pid)
            watched.samples.append((now, rss))
            if rss > cap_bytes:
                watched.stopped = f"stopped at {rss / GB:.1f} GB (cap {cap_bytes / GB:.0f} GB)"
            elif now - started > timeout_s:
                watched.stopped = f"stopped after {timeout_s / 60:.0f} min (time limit)"
            if watched.stopped:
                os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group
                break
            time.sleep(SAMPLE_EVERY_S)
        watched.returncode = proc.wait()
        watched.ended = time.monotonic()
    return watched


def child(module: str, *args: object) -> list[str]:
    return [sys.executable, "-m", module, *map(str, args)]


# ----------------------------------------------------------------------------- data


def _top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    """A module's top-level definitions by the names they bind."""
    defs: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            defs[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        defs[name.id] = node
    return defs


def generator_sources(
    module: str, names: frozenset[str] | None = None, root: Path = REPO
) -> dict[str, str]:
    """The code a generator runs: `module` whole (names None) or only the top-level definitions of
    `names` and those they refer to, following `from sources import x` (whole module) and
    `from sources.x import a, b` (those definitions only). Keys are "module" or "module:name"."""
    found: dict[str, str] = {}

    def visit(mod: str, wanted: frozenset[str] | None) -> None:
        path = root / Path(*mod.split(".")).with_suffix(".py")
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        defs = _top_level(tree)
        if wanted is None:
            if mod in found:
                return
            found[mod] = text
            nodes: list[ast.AST] = [tree]
        else:
            todo, nodes, seen = list(wanted), [], set()
            while todo:
                name = todo.pop()
                if name in seen or name not in defs:
                    continue
                seen.add(name)
                found[f"{mod}:{name}"] = ast.get_source_segment(text, defs[name]) or ""
                nodes.append(defs[name])
                todo += [n.id for n in ast.walk(defs[name]) if isinstance(n, ast.Name)]
        used = {n.id for node in nodes for n in ast.walk(node) if isinstance(n, ast.Name)}
        for node in tree.body:
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "sources"
            ):
                continue
            if node.module == "sources":  # from sources import demo_crime as dc
                for alias in node.names:
                    if wanted is None or (alias.asname or alias.name) in used:
                        visit(f"sources.{alias.name}", None)
            else:  # from sources.demo import A, b
                mine = {
                    a.name for a in node.names if wanted is None or (a.asname or a.name) in used
                }
                if mine:
                    visit(node.module, frozenset(mine))

    visit(module, names)
    return found


# The module whose function `sna demo` calls for each geography, and the data files it reads
# from the repository (the England and Wales polygons come from ../shared, which is not ours).
GENERATOR_OF = {
    "county": "sources.demo",
    "synthetic": "sources.demo_scale",
    "england-wales": "sources.demo_scale",
}
GENERATOR_FILES = ("config/reference/ho_offence_codes.csv",)


def generator_hash(geography: str, root: Path = REPO) -> str:
    """What the generated files of a geography depend on: the code its generator runs (not every
    demo module: a change to the county demo alone keeps the national data) and the offence
    code reference."""
    digest = hashlib.sha256()
    code = generator_sources(GENERATOR_OF[geography], root=root)
    for key in sorted(code):
        digest.update(f"{key}\n{code[key]}\n".encode())
    for name in GENERATOR_FILES:
        digest.update((root / name).read_bytes())
    return digest.hexdigest()[:16]


GENERATED_BY = ("name", "geography", "lsoas", "crimes_per_year", "years")  # the rest is the run's


def generate(size: Size, data_dir: Path, logs: Path, cap: int, timeout: float) -> dict[str, Any]:
    """Write the size's inputs with `sna demo`, unless the same generator already wrote them."""
    stamp_path = data_dir / "bench_stamp.json"
    written = {k: v for k, v in asdict(size).items() if k in GENERATED_BY}
    wanted = {"size": written, "generator": generator_hash(size.geography)}
    if stamp_path.is_file():
        stamp = json.loads(stamp_path.read_text(encoding="utf-8"))
        made = {k: v for k, v in stamp.get("size", {}).items() if k in GENERATED_BY}
        if {"size": made, "generator": stamp.get("generator")} == wanted:
            return {**stamp["generation"], "reused": True}
    if data_dir.exists():
        shutil.rmtree(data_dir)
    cmd = child("pipelines.cli", "demo", "--out", data_dir, *size.demo_args())
    w = watch(cmd, logs / f"{size.name}-generate.log", cap, timeout)
    info = {
        "seconds": round(w.wall_s, 2),
        "peak_rss_gb": round(w.peak_rss / GB, 3),
        "returncode": w.returncode,
        "stopped": w.stopped,
        "log": str(logs / f"{size.name}-generate.log"),
    }
    if w.returncode != 0:
        return {**info, "reused": False, "failed": True}
    stamp_path.write_text(json.dumps({**wanted, "generation": info}, indent=2), encoding="utf-8")
    return {**info, "reused": False}


def settings_for(size: Size, data_dir: Path, run_dir: Path) -> Path:
    """A settings file for the size's inputs whose database and outputs go to run_dir."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if size.geography == "county":
        from tests.pipelines.conftest import write_settings

        return write_settings(run_dir, data_dir, district_packs=size.district_packs)
    settings = yaml.safe_load((data_dir / "settings.yaml").read_text(encoding="utf-8"))
    # the definition of this repository: data written from another worktree names its copy
    settings["definition"] = str(
        REPO / "config" / "definitions" / Path(settings["definition"]).name
    )
    settings["database"] = str(run_dir / "sna.duckdb")
    settings["output_dir"] = str(run_dir / "out")
    settings["district_packs"] = size.district_packs
    path = run_dir / "settings.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


CSV_INPUTS = ("police_extract", "police_uk", "area_lookup", "population", "deprivation")


def csv_inputs(settings_path: Path) -> dict[str, list[Path]]:
    """The CSV files each input of a settings file names (what ingest reads)."""
    from pipelines.settings import load_settings
    from sources.paths import expand

    settings = load_settings(settings_path)
    return {k: expand(settings.inputs[k]) for k in CSV_INPUTS if settings.inputs.get(k)}


def data_lines(path: Path) -> int:
    """Data lines of a CSV file counted from its bytes (newlines minus the header)."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 24):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n") - 1


def describe_files(files: dict[str, list[Path]]) -> dict[str, Any]:
    rows = {k: sum(data_lines(p) for p in v) for k, v in files.items()}
    return {
        "rows": rows,
        "files": {k: len(v) for k, v in files.items()},
        "bytes": {k: sum(p.stat().st_size for p in v) for k, v in files.items()},
        "police_rows": rows.get("police_extract", 0) + rows.get("police_uk", 0),
    }


# ----------------------------------------------------------------------------- pipeline runs


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed run may be cut short
            break
    return events


def attribute(events: list[dict[str, Any]], w: Watched) -> dict[str, Any]:
    """Per step and per stage: wall time and peak RSS (from the samples taken while it ran)."""
    steps: dict[str, dict[str, Any]] = {}
    # assets materialised by partition (month or year): their steps and checks are per partition
    partitioned = {e["asset"] for e in events if e.get("event") == "asset" and e.get("partition")}
    for e in events:
        step = e.get("step")
        if not step:
            continue
        s = steps.setdefault(step, {"start": None, "end": None, "status": "running", "assets": []})
        if e["event"] == "start":
            s["start"] = e["t"]
        elif e["event"] in ("end", "failure"):
            s["end"], s["status"] = e["t"], "ok" if e["event"] == "end" else "failed"
        elif e["event"] == "asset" and e["asset"] not in s["assets"]:
            s["assets"].append(e["asset"])
    rows = []
    for name, s in steps.items():
        if s["start"] is None:
            continue
        end = s["end"] if s["end"] is not None else w.ended
        if s["end"] is None:
            s["status"] = "stopped" if w.stopped else "unfinished"
        inside = [rss for t, rss in w.samples if s["start"] <= t <= end]
        before = [rss for t, rss in w.samples if t <= end][-1:]
        rows.append(
            {
                "step": name,
                "stage": stage_of(name, s["assets"]),
                "wall_s": round(end - s["start"], 3),
                "peak_rss_gb": round(max(inside or before or [0]) / GB, 3),
                "status": s["status"],
                "partitioned": any(a in partitioned for a in s["assets"]),
            }
        )
    stages = {}
    for stage in (*STAGES, "other"):
        mine = [r for r in rows if r["stage"] == stage]
        if mine or stage != "other":
            stages[stage] = {
                "wall_s": round(sum(r["wall_s"] for r in mine), 3),
                "peak_rss_gb": max((r["peak_rss_gb"] for r in mine), default=0.0),
                "steps": [r["step"] for r in mine],
                "status": next((r["status"] for r in mine if r["status"] != "ok"), "ok")
                if mine
                else "not run",
            }
    done = next((e for e in events if e.get("event") == "done"), {})
    in_steps = sum(r["wall_s"] for r in rows)
    starts = [s["start"] for s in steps.values() if s["start"] is not None]
    return {
        "ok": bool(done.get("ok")) and w.returncode == 0,
        "stopped": w.stopped,
        "returncode": w.returncode,
        "wall_s": round(w.wall_s, 3),
        "run_s": round(w.ended - min(starts), 3) if starts else None,
        "overhead_s": round(w.wall_s - in_steps, 3),
        "peak_rss_gb": round(max(w.peak_rss, done.get("peak_rss_bytes", 0)) / GB, 3),
        "core_s": round(sum(stages[s]["wall_s"] for s in CORE_STAGES), 3),
        "stages": stages,
        "other_steps": [r["step"] for r in rows if r["stage"] == "other"],
        "steps": rows,
    }


def run_pipeline(
    settings: Path, name: str, logs: Path, cap: int, timeout: float, *options: str
) -> dict[str, Any]:
    events = settings.parent / f"{name}-events.jsonl"
    log = logs / f"{name}-pipeline.log"
    cmd = child("tests.benchmarks.pipeline_child", settings, events, *options)
    w = watch(cmd, log, cap, timeout)
    return {**attribute(read_events(events), w), "log": str(log)}


def run_reference(
    module: str, name: str, args: list[object], out: Path, logs: Path, cap: int, timeout: float
) -> dict[str, Any]:
    log = logs / f"{name}.log"
    w = watch(child(module, *args, out), log, cap, timeout)
    result = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    return {
        **result,
        "wall_s": round(w.wall_s, 3),
        "peak_rss_gb": round(w.peak_rss / GB, 3),
        "stopped": w.stopped,
        "failed": w.returncode != 0 and not w.stopped,
        "returncode": w.returncode,
        "log": str(log),
    }


def compare_counts(database: Path, counts_csv: Path) -> dict[str, Any]:
    """The pandas reference's local-definition counts against the pipeline's, by LSOA and year."""
    import duckdb
    import pandas as pd

    try:
        con = duckdb.connect(str(database), read_only=True)
        try:
            ours = con.execute(
                "SELECT area_level, area_code, replace(period, '/', '-') AS period, count"
                " FROM marts.sv_rates WHERE measure = 'all_serious_violence'"
                " AND source = 'police' AND area_level IN ('lsoa', 'county')"
            ).df()
        finally:
            con.close()
    except duckdb.Error as exc:  # no database or no rates table: report, do not fail the bench
        return {"compared": False, "reason": f"{type(exc).__name__}: {exc}"}
    ref = pd.read_csv(counts_csv, dtype={"area_code": str})
    ref = ref[ref["source"] == "police"]
    lsoa = ours[ours["area_level"] == "lsoa"].merge(
        ref[ref["area_level"] == "lsoa"],
        on=["area_code", "period"],
        how="outer",
        suffixes=("", "_ref"),
    )
    differ = lsoa["count"].fillna(0) != lsoa["count_ref"].fillna(0)
    area = ours[ours["area_level"] == "county"].set_index("period")["count"]
    area_ref = ref[ref["area_level"] == "area"].set_index("period")["count"]
    return {
        "compared": True,
        "area_counts_pipeline": {k: int(v) for k, v in area.sort_index().items()},
        "area_counts_reference": {k: int(v) for k, v in area_ref.sort_index().items()},
        "lsoa_year_cells": len(lsoa),
        "lsoa_year_cells_differing": int(differ.sum()),
    }


def reconciliation(database: Path, events: list[dict[str, Any]], files: dict[str, list[Path]]):
    """Issue 5 item 8, as evidence: every input's `_reconciles` check passed in this run (from the
    run's own check events); per police file, the lines the harness counts from the bytes equal
    the records stored + rejected + blank lines; and in marts.sv_rates the county row is the sum
    of its LSOAs for every source, period and measure. When the run stopped before publishing,
    build.sv_rates (the table publish would copy) is read instead, and `rates_table` says so."""
    import duckdb
    import pandas as pd

    checks = [e for e in events if e.get("event") == "check" and e["check"].endswith("_reconciles")]
    lines = pd.DataFrame(
        [
            {"source": source, "file": str(path), "harness_lines": data_lines(path)}
            for source in ("police_extract", "police_uk")
            for path in files.get(source, [])
        ],
        columns=["source", "file", "harness_lines"],
    ).astype({"source": "string", "file": "string", "harness_lines": "int64"})
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        return {"checked": False, "reason": f"{type(exc).__name__}: {exc}"}
    try:
        published = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts'"
            " AND table_name = 'sv_rates'"
        ).fetchone()[0]
        rates = "marts.sv_rates" if published else "build.sv_rates"
        con.register("_harness", lines)
        files_off = con.execute(
            """
            WITH stored AS (
                SELECT 'police_extract' AS source, _file AS file, count(*) AS n
                FROM raw.police_extract GROUP BY ALL
                UNION ALL
                SELECT 'police_uk', _file, count(*) FROM raw.police_uk GROUP BY ALL
            ), rejected AS (
                SELECT source, file, count(DISTINCT line) AS n FROM quarantine.rejects GROUP BY ALL
            )
            SELECT h.source, h.file, h.harness_lines, coalesce(s.n, 0) AS stored,
                   coalesce(r.n, 0) AS rejected, coalesce(l.blank_lines, 0) AS blank
            FROM _harness h
            LEFT JOIN stored s USING (source, file)
            LEFT JOIN rejected r USING (source, file)
            LEFT JOIN audit.loads l USING (source, file)
            WHERE h.harness_lines IS DISTINCT FROM
                  coalesce(s.n, 0) + coalesce(r.n, 0) + coalesce(l.blank_lines, 0)
            """
        ).df()
        county_off = con.execute(
            f"""
            WITH lsoas AS (
                SELECT source, period, measure, sum(count) AS lsoa_sum, count(*) AS lsoas
                FROM {rates} WHERE area_level = 'lsoa' GROUP BY ALL
            ), county AS (
                SELECT source, period, measure, count AS county_count
                FROM {rates} WHERE area_level = 'county'
            )
            SELECT * FROM county FULL JOIN lsoas USING (source, period, measure)
            WHERE county_count IS DISTINCT FROM lsoa_sum
            """
        ).df()
        rows = con.execute(f"SELECT count(*) FROM {rates} WHERE area_level = 'county'").fetchone()[
            0
        ]
    except duckdb.Error as exc:
        return {"checked": False, "reason": f"{type(exc).__name__}: {exc}"}
    finally:
        con.close()
    return {
        "checked": True,
        "rates_table": rates,
        "reconcile_checks": len(checks),
        "reconcile_checks_failed": sorted(e["check"] for e in checks if not e["passed"]),
        "police_files": len(lines),
        "police_lines_counted_by_harness": int(lines["harness_lines"].sum()) if len(lines) else 0,
        "police_files_not_reconciling": files_off.head(20).to_dict("records"),
        "county_rows": int(rows),
        "county_rows_not_sum_of_lsoas": county_off.head(20).astype(str).to_dict("records"),
        "holds": bool(
            checks
            and all(e["passed"] for e in checks)
            and files_off.empty
            and county_off.empty
            and rows > 0
        ),
    }


# ----------------------------------------------------------------------------- one more month


def add_one_month(
    size: Size, data_dir: Path, settings: Path, run_dir: Path, logs: Path, cap: int, timeout: float
) -> dict[str, Any]:
    """Time adding the latest month to a database built without it, as a monthly refresh does.

    The police inputs are read from a drop folder (`drop_dir`). The database is first built
    without the latest month (not the figure). Then the month arrives as data.police.uk
    publishes it (the month's folder) with the force extract of its financial year reissued
    with that month, both dropped in the drop folder; the drop-folder sensor recognises them
    and requests its run, which is timed: the monthly ingest partitions of those months (only
    the two new files are read) and every table they feed. `ingest_s` is the part that puts the
    month into raw.* with its blocking checks; the rest is the analysis rebuilt downstream.
    """
    month = sorted(p.name for p in (data_dir / "police_uk").iterdir() if p.is_dir())[-1]
    y, m = int(month[:4]), int(month[5:])
    fy = f"{y if m >= 4 else y - 1}-{(y + 1 if m >= 4 else y) % 100:02d}"
    base = run_dir / "data"
    drop = base / "drop"
    held_back: list[tuple[Path, Path]] = []
    for src in data_dir.rglob("*"):
        if src.is_dir() or src.name == "bench_stamp.json" or ".duckdb" in src.name:
            continue  # inputs only (someone may have run sna run in the data folder)
        relative = src.relative_to(data_dir)
        dst = base / relative
        if src.parent.parent.name == "police_uk":  # filed as the sensor files them
            dst = drop / "police_uk" / relative.relative_to("police_uk")
        elif src.parent.name == "police":
            dst = drop / "police_extract" / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.parent.name == month and src.parent.parent.name == "police_uk":
            held_back.append((src, drop / month / src.name))  # dropped as downloaded
        elif src.parent.name == "police" and src.name.endswith(f"_{fy}.csv"):
            _without_month(src, dst, month)
            held_back.append((src, drop / src.name))  # the reissued year, dropped
        else:
            os.link(src, dst)
    data = yaml.safe_load(settings.read_text(encoding="utf-8"))
    text = yaml.safe_dump(data).replace(str(data_dir), str(base))
    data = yaml.safe_load(text)
    data["inputs"]["police_uk"] = str(drop / "police_uk" / "**" / "*-street.csv")
    data["inputs"]["police_extract"] = str(drop / "police_extract" / "*.csv")
    data["drop_dir"] = str(drop)
    data["database"] = str(run_dir / "sna.duckdb")
    data["output_dir"] = str(run_dir / "out")
    month_settings = run_dir / "settings.yaml"
    month_settings.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    first = run_pipeline(month_settings, f"{size.name}-without-month", logs, cap, timeout)
    for src, dst in held_back:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
    second = run_pipeline(month_settings, f"{size.name}-add-month", logs, cap, timeout, "--dropped")
    ok = second["ok"]
    per_period = [r for r in second["steps"] if r["partitioned"]]
    return {
        "method": (
            f"drop-folder sensor runs: police.uk {month} and the {fy} force extract reissued with"
            " that month dropped; the ingest run of their months (only the two new files read),"
            " then the analysis run of their financial year. The figure is the steps of the"
            " partitioned assets and their checks: the month's ingest, then that year's"
            " core.incidents with its placement, rates, hotspots and concentration. The"
            " unpartitioned rest (map packs, emerging hotspots, trends, other marts, publish)"
            " needs every year, is rebuilt whole by the same run and is not in the figure"
        ),
        "month": month,
        "seconds": round(sum(r["wall_s"] for r in per_period), 3) if ok else None,
        "per_period_steps": {r["step"]: r["wall_s"] for r in per_period},
        "sensor_runs_s": second["wall_s"] if ok else None,
        "run_s": second["run_s"] if ok else None,
        "ingest_s": second["stages"]["ingest"]["wall_s"] if ok else None,
        "downstream_s": round(second["run_s"] - second["stages"]["ingest"]["wall_s"], 3)
        if ok
        else None,
        "run": _brief(second),
        "database_built_without_month": _brief(first),
    }


def _without_month(src: Path, dst: Path, month: str) -> None:
    """Copy a force extract without the rows whose offence date falls in month (yyyy-mm)."""
    with src.open(encoding="utf-8", newline="") as handle:
        lines = handle.readlines()
    column = next(csv.reader(lines[:1])).index("Offence Date From")
    keep = [lines[0]] + [
        line
        for line in lines[1:]
        if (d := next(csv.reader([line]))[column])[6:10] + "-" + d[3:5] != month
    ]
    with dst.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(keep)


def _brief(run: dict[str, Any]) -> dict[str, Any]:
    return {k: run[k] for k in ("ok", "stopped", "wall_s", "run_s", "peak_rss_gb", "core_s")} | {
        "stages": {k: v["wall_s"] for k, v in run["stages"].items()}
    }


# ----------------------------------------------------------------------------- one size


def bench_size(size: Size, data_root: Path, work: Path, cap: int, timeout: float) -> dict[str, Any]:
    data_dir, run_dir, logs = data_root / size.name, work / size.name, work / "logs"
    result: dict[str, Any] = {"size": asdict(size), "load_average_before": os.getloadavg()}
    result["generation"] = generate(size, data_dir, logs, cap, timeout)
    if result["generation"].get("failed"):
        log = Path(result["generation"]["log"]).read_text(encoding="utf-8")[-2_000:]
        return result | {"skipped": "the data could not be generated", "generation_log_tail": log}
    settings = settings_for(size, data_dir, run_dir / "full")
    files = csv_inputs(settings)
    result["data"] = {"dir": str(data_dir), **describe_files(files)}
    file_list = run_dir / "csv_files.txt"
    file_list.write_text("\n".join(str(p) for v in files.values() for p in v), encoding="utf-8")
    result["bare_read"] = run_reference(
        "tests.benchmarks.bare_read",
        f"{size.name}-bare-read",
        [file_list],
        run_dir / "bare_read.json",
        logs,
        cap,
        timeout,
    )
    result["pipeline"] = run_pipeline(settings, f"{size.name}-full-refresh", logs, cap, timeout)
    result["reconciliation"] = reconciliation(
        settings.parent / "sna.duckdb",
        read_events(settings.parent / f"{size.name}-full-refresh-events.jsonl"),
        files,
    )
    counts = run_dir / "pandas_counts.csv"
    result["pandas_reference"] = run_reference(
        "tests.benchmarks.pandas_reference",
        f"{size.name}-pandas-reference",
        [settings, counts],
        run_dir / "pandas_reference.json",
        logs,
        cap,
        timeout,
    )
    if result["pipeline"]["ok"] and counts.is_file():
        result["pandas_reference"]["matches_pipeline"] = compare_counts(
            settings.parent / "sna.duckdb", counts
        )
    if size.add_month:
        result["add_one_month"] = add_one_month(
            size, data_dir, settings, run_dir / "add_month", logs, cap, timeout
        )
    result["ratios"] = ratios(result)
    result["load_average_after"] = os.getloadavg()
    return result


def ratios(result: dict[str, Any]) -> dict[str, float | None]:
    """Ingest against the bare read, and the pandas reference against the pipeline's core stages."""
    pipe, bare, ref = result["pipeline"], result["bare_read"], result["pandas_reference"]
    ingest = pipe["stages"]["ingest"]
    ingest_done = pipe["ok"] or ingest["status"] == "ok"
    return {
        "ingest_vs_bare_read": round(ingest["wall_s"] / bare["seconds"], 2)
        if ingest_done and bare.get("seconds")
        else None,
        "pandas_vs_pipeline_core": round(ref["seconds"] / pipe["core_s"], 2)
        if pipe["ok"] and ref.get("seconds") and not ref["stopped"]
        else None,
    }


def _target(
    name: str, measured: float | None, limit: float, *, at_least: bool, why: str = ""
) -> dict:
    if measured is None:
        status = "not measured"
    else:
        status = "pass" if (measured >= limit if at_least else measured <= limit) else "miss"
    return {
        "target": name,
        "limit": limit,
        "measured": measured,
        "status": status,
        **({"note": why} if why else {}),
    }


def targets(sizes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Item 7 of the issue, each target with what was measured and pass / miss."""
    out = []
    county = sizes.get("county", {}).get("pipeline")
    out.append(
        _target(
            "county full refresh <= 15 s (the whole `sna run` process, after set-up)",
            county["wall_s"] if county and county["ok"] else None,
            TARGETS["county_full_refresh_s"],
            at_least=False,
            why=(county or {}).get("stopped") or "",
        )
    )
    national = sizes.get("national", {})
    pipe = national.get("pipeline")
    stopped = (pipe or {}).get("stopped") or ("" if not pipe or pipe["ok"] else "the run failed")
    out.append(
        _target(
            "national ingest + placement + classify + rates <= 180 s",
            pipe["core_s"] if pipe and pipe["ok"] else None,
            TARGETS["national_core_s"],
            at_least=False,
            why=stopped,
        )
    )
    out.append(
        _target(
            "national ingest <= 1.5 x the bare read",
            national.get("ratios", {}).get("ingest_vs_bare_read"),
            TARGETS["national_ingest_vs_bare_read"],
            at_least=False,
            why=stopped,
        )
    )
    for name, size in sizes.items():
        p = size.get("pipeline")
        if not p:
            continue
        out.append(
            _target(
                f"{name}: peak RSS <= 8 GB",
                p["peak_rss_gb"],
                TARGETS["peak_rss_gb"],
                at_least=False,
                why=p.get("stopped") or "",
            )
        )
        out.append(
            _target(
                f"{name}: >= 10x faster than the pandas reference (core stages)",
                size["ratios"]["pandas_vs_pipeline_core"],
                TARGETS["speedup_vs_pandas"],
                at_least=True,
                why=p.get("stopped") or size["pandas_reference"].get("stopped") or "",
            )
        )
    month = sizes.get("county", {}).get("add_one_month")
    out.append(
        _target(
            "adding one month to a county database <= 10 s",
            month["seconds"] if month else None,
            TARGETS["add_one_month_s"],
            at_least=False,
            why=month["method"] if month else "",
        )
    )
    return out


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    meminfo = Path("/proc/meminfo").read_text().splitlines()
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    return {
        "cores": os.cpu_count(),
        "ram_gb": round(int(meminfo[0].split()[1]) * 1024 / GB, 1),
        "cpu": next(
            (x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), ""
        ),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {
            p: version(p)
            for p in ("duckdb", "pandas", "pyarrow", "geopandas", "shapely", "numpy", "dagster")
        },
        "git_commit": git("rev-parse", "HEAD"),
        "git_branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "load_average": os.getloadavg(),
    }


# ----------------------------------------------------------------------------- report


def _gb(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def _s(v: float | None) -> str:
    return "" if v is None else f"{v:,.1f}"


def _trouble(reference: dict[str, Any]) -> str:
    """Why a reference has no figure, for the table ("" when it has one)."""
    if reference["stopped"]:
        return f" [red]({reference['stopped']})[/red]"
    return f" [red](failed: see {reference['log']})[/red]" if reference["failed"] else ""


def print_report(results: dict[str, Any], path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for name, size in results["sizes"].items():
        if "pipeline" not in size:
            console.print(f"[red]{name}: {size.get('skipped', 'not run')}[/red]")
            continue
        d, p = size["data"], size["pipeline"]
        title = (
            f"{name}: {d['police_rows']:,} police rows in"
            f" {d['files'].get('police_extract', 0) + d['files'].get('police_uk', 0):,} files"
            f" ({sum(d['bytes'].values()) / 1e9:.2f} GB of CSV)"
        )
        table = Table(title=title, title_justify="left")
        for column in ("stage", "wall s", "peak RSS GB", "steps"):
            table.add_column(column, justify="left" if column in ("stage", "steps") else "right")
        for stage, s in p["stages"].items():
            note = "" if s["status"] == "ok" else f" [red]({s['status']})[/red]"
            table.add_row(
                stage + note, _s(s["wall_s"]), _gb(s["peak_rss_gb"]), str(len(s["steps"]))
            )
        table.add_row("start-up and Dagster overhead", _s(p["overhead_s"]), "", "")
        status = "ok" if p["ok"] else f"[red]{p['stopped'] or 'FAILED'}[/red]"
        table.add_row(
            f"[bold]whole run[/bold] ({status})", _s(p["wall_s"]), _gb(p["peak_rss_gb"]), ""
        )
        partial = "" if p["ok"] else " [red](partial: the run did not finish)[/red]"
        table.add_row(f"ingest + placement + classify + rates{partial}", _s(p["core_s"]), "", "")
        bare, ref = size["bare_read"], size["pandas_reference"]
        table.add_row(
            f"(a) bare read, {bare.get('faster', '?')} (pyarrow {_s(bare.get('pyarrow_s'))},"
            f" duckdb {_s(bare.get('duckdb_s'))}){_trouble(bare)}",
            _s(bare.get("seconds")),
            _gb(bare["peak_rss_gb"]),
            "",
        )
        table.add_row(
            f"(b) pandas + geopandas reference{_trouble(ref)}",
            _s(ref.get("seconds")),
            _gb(ref["peak_rss_gb"]),
            "",
        )
        if "add_one_month" in size:
            month = size["add_one_month"]
            table.add_row(
                "add one month (its ingest + its year's analysis)", _s(month["seconds"]), "", ""
            )
            table.add_row(
                "  of which ingest of the month (raw.*, checked)", _s(month["ingest_s"]), "", ""
            )
            table.add_row(
                "  both sensor runs, with the unpartitioned rest and packs",
                _s(month["sensor_runs_s"]),
                "",
                "",
            )
        table.add_row(
            f"generation ({'reused' if size['generation']['reused'] else 'new'})",
            _s(size["generation"]["seconds"]),
            _gb(size["generation"]["peak_rss_gb"]),
            "",
        )
        console.print(table)
        rec = size.get("reconciliation", {})
        if rec.get("checked"):
            verdict = "[green]holds[/green]" if rec["holds"] else "[red]does NOT hold[/red]"
            console.print(
                f"  issue 5 item 8 {verdict}: {rec['reconcile_checks']} reconcile checks passed"
                f" ({len(rec['reconcile_checks_failed'])} failed); {rec['police_files']:,} police"
                f" files, {len(rec['police_files_not_reconciling'])} off against the harness's"
                f" line count; {rec['county_rows']:,} county rows,"
                f" {len(rec['county_rows_not_sum_of_lsoas'])} not the sum of their LSOAs"
            )
        elif rec:
            console.print(f"  issue 5 item 8 not checked: {rec['reason']}")
        if p["other_steps"]:
            console.print(f"  steps in no stage (see STAGE_OF): {', '.join(p['other_steps'])}")
    table = Table(title="Targets (issue 5, item 7)", title_justify="left")
    for column in ("target", "limit", "measured", "status"):
        table.add_column(column)
    colour = {"pass": "green", "miss": "red", "not measured": "yellow"}
    for t in results["targets"]:
        measured = "" if t["measured"] is None else f"{t['measured']:,.2f}"
        note = f" ({t['note']})" if t.get("note") and t["status"] != "pass" else ""
        table.add_row(
            t["target"],
            f"{t['limit']:g}",
            measured,
            f"[{colour[t['status']]}]{t['status']}[/]{note}",
        )
    console.print(table)
    console.print(f"Results: [bold]{path}[/bold]")


def results_path(folder: Path, today: dt.date) -> Path:
    """<date>.json, or <date>-2.json ... when a run of the same day is already there."""
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{today.isoformat()}.json", 1
    while path.exists():
        n += 1
        path = folder / f"{today.isoformat()}-{n}.json"
    return path


def run_benchmark(
    sizes: list[Size],
    *,
    results_dir: Path = RESULTS_DIR,
    data_dir: Path = DATA_DIR,
    cap_gb: float = 12.0,
    timeout_min: float = 40.0,
    keep: bool = False,
) -> Path:
    """Benchmark each size, write the results JSON, print the tables; return the JSON's path."""
    started = dt.datetime.now()
    work = data_dir / "runs" / started.strftime("%Y%m%d-%H%M%S")
    cap, timeout = int(cap_gb * GB), timeout_min * 60
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "sizes": [s.name for s in sizes],
            "rss_cap_gb": cap_gb,
            "timeout_min": timeout_min,
            "memory_sampled_every_s": SAMPLE_EVERY_S,
            "stage_of": [list(p) for p in STAGE_OF],
            "targets": TARGETS,
            "note": (
                "the machine may be shared: see load averages; the pipeline runs in a child"
                " process exactly as `sna run` does; files are read warm from the page cache"
                " (generated, then read by the bare read, the pipeline and the reference)"
            ),
        },
        "sizes": {},
    }
    for size in sizes:
        print(f"== {size.name}: {size}", flush=True)
        results["sizes"][size.name] = bench_size(size, data_dir, work, cap, timeout)
        if not keep:
            shutil.rmtree(work / size.name, ignore_errors=True)
    results["targets"] = targets(results["sizes"])
    results["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    results["logs"] = str(work / "logs")
    path = results_path(results_dir, started.date())
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_report(results, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_SIZES", ",".join(SIZES)),
        help=f"comma-separated, of {', '.join(SIZES)} (env BENCH_SIZES)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("BENCH_DATA", DATA_DIR))
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--rss-cap-gb", type=float, default=float(os.environ.get("BENCH_RSS_CAP_GB", 12))
    )
    parser.add_argument(
        "--timeout-min", type=float, default=float(os.environ.get("BENCH_TIMEOUT_MIN", 40))
    )
    parser.add_argument("--keep", action="store_true", help="keep databases and run folders")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.sizes.split(",") if n.strip()]
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {unknown}; choose from {', '.join(SIZES)}")
    run_benchmark(
        [SIZES[n] for n in names],
        results_dir=args.results_dir,
        data_dir=args.data_dir.resolve(),
        cap_gb=args.rss_cap_gb,
        timeout_min=args.timeout_min,
        keep=args.keep,
    )
    return 0
