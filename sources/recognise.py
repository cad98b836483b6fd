"""What a dropped file is, from its header alone: which registered input would read it.

Every input of `sources.registry` names the column maps its header is read with
(`InputSpec.header_maps`, by default its own `column_map`), so a new source is recognised as
soon as its spec and column map exist: nothing here lists sources. A CSV (or CSV.gz) file's
header, or a GeoPackage / shapefile / GeoJSON layer's field names, is matched against every
map with the reader's own `match_headers`; the input whose map accepts the header and claims
the most of its columns wins. A header no map accepts, or two inputs that claim it equally,
is not recognised, and the reason says which input came closest and what it lacks.

Pure: reads at most the first megabyte of a text file (the field list of a spatial file) and
never touches a database. `sna check` and the drop-folder sensor both use it.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

from sources._csv import _header, load_spec, match_headers, personal_identifier_columns
from sources._result import InputFormatError
from sources._text import decode
from sources.registry import INPUTS, InputSpec

SPATIAL_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb")
HEADER_BYTES = 1 << 20  # enough for any header line; the rest of the file is never read here
SKIPPED_SUFFIXES = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".xml", ".lock")


@dataclass(frozen=True)
class Recognised:
    """What a file was recognised as (`key`: a registry input key), or why it was not."""

    path: Path
    key: str | None
    header: tuple[str, ...] = ()
    columns_matched: int = 0
    layer: str | None = None  # spatial files: the layer read
    personal_identifiers: tuple[str, ...] = ()
    problem: str | None = None  # set when key is None
    closest: str | None = None  # not recognised: the input it looks like, lacking columns
    candidates: tuple[tuple[str, int], ...] = field(default=())  # (key, columns matched)

    @property
    def spec(self) -> InputSpec | None:
        return next((s for s in INPUTS if s.key == self.key), None)


def is_companion(path: Path) -> bool:
    """A shapefile's side files (.dbf, .shx, .prj ...) travel with the .shp, which is recognised."""
    return path.suffix.lower() in SKIPPED_SUFFIXES


def read_file_header(path: Path) -> tuple[list[str], str | None]:
    """The column names of a file: a CSV's header row (from its first megabyte, decoded as the
    reader decodes it), or the fields of a spatial file's layer holding an LSOA code (else its
    first). Returns (names, layer); raises InputFormatError for a file that cannot be opened."""
    if path.suffix.lower() in SPATIAL_SUFFIXES:
        return _spatial_fields(path)
    with path.open("rb") as fh:
        magic = fh.read(2)
    opener = gzip.open if magic == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            head = fh.read(HEADER_BYTES)
    except (OSError, EOFError) as exc:
        raise InputFormatError(path, problem=f"a damaged gzip file ({exc})") from exc
    if len(head) == HEADER_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]  # whole lines only: no character cut in half
    return _header(path, decode(path, head).data)[0], None


def _spatial_fields(path: Path) -> tuple[list[str], str | None]:
    import pyogrio

    if path.stat().st_size == 0:
        raise InputFormatError(path, problem="the file is empty (0 bytes): copy it again")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        first: list[str] | None = None
        for layer in layers:
            fields = [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
            first = fields if first is None else first
            if any(_accepts(fields, name) for name in _boundary_maps()):
                return fields, layer
    except pyogrio.errors.DataSourceError as exc:
        raise InputFormatError(
            path, problem=f"not a spatial file GDAL can read: {str(exc).split(';')[0]}"
        ) from exc
    return first or [], layers[0] if layers else None


def _boundary_maps() -> tuple[str, ...]:
    return tuple(m for s in INPUTS if "geopackage" in s.kinds for m in s.header_maps)


def _accepts(header: list[str], map_name: str) -> bool:
    try:
        match_headers(header, load_spec(map_name))
        return True
    except InputFormatError:
        return False


def recognise_header(
    header: list[str], path: Path = Path("?"), *, spatial: bool = False
) -> Recognised:
    """Which input reads a file with this header: the one whose column map accepts the header and
    claims the most of its columns (spatial files only match spatial inputs, and vice versa)."""
    scores: list[tuple[str, int]] = []
    near: tuple[str, list[str], int] | None = None  # closest refusal: key, missing, matched
    for spec in INPUTS:
        if ("geopackage" in spec.kinds) != spatial:
            continue
        best = None
        for map_name in spec.header_maps:
            try:
                found, _ = match_headers(header, load_spec(map_name), path)
            except InputFormatError as exc:
                matched = _partial(header, map_name)
                if matched and (near is None or matched > near[2]):
                    near = (spec.key, exc.missing, matched)
                continue
            best = max(best or 0, len(found))
        if best is not None:
            scores.append((spec.key, best))
    scores.sort(key=lambda s: -s[1])
    personal = tuple(personal_identifier_columns(header))
    common = {"path": path, "header": tuple(header), "personal_identifiers": personal}
    if scores and near is not None and near[2] > scores[0][1]:
        problem = (
            f"looks like {near[0]} ({near[2]} of its columns found) but lacks {', '.join(near[1])}"
        )
        return Recognised(key=None, problem=problem, closest=near[0], candidates=tuple(scores),
                          **common)  # fmt: skip
    if scores and (len(scores) == 1 or scores[0][1] > scores[1][1]):
        return Recognised(key=scores[0][0], columns_matched=scores[0][1],
                          candidates=tuple(scores), **common)  # fmt: skip
    if scores:
        tied = [k for k, n in scores if n == scores[0][1]]
        problem = (
            f"ambiguous: the header fits {' and '.join(tied)} equally ({scores[0][1]} columns"
            " each); add the distinguishing columns, or name the file in the settings"
        )
    elif near is not None:
        problem = (
            f"looks like {near[0]} ({near[2]} of its columns found) but lacks {', '.join(near[1])}"
        )
        return Recognised(key=None, problem=problem, closest=near[0], candidates=tuple(scores),
                          **common)  # fmt: skip
    else:
        problem = "not a known input: no column of its header is one any input reads"
    return Recognised(key=None, problem=problem, candidates=tuple(scores), **common)


def _partial(header: list[str], map_name: str) -> int:
    """How many of a map's columns a header has, when the map refuses it (for the hint)."""
    from sources._csv import _find, normalise_header

    norm = [normalise_header(h) for h in header]
    taken: set[int] = set()
    n = 0
    for col in load_spec(map_name).columns:
        idx = _find(norm, col, taken)
        if idx is not None:
            taken.add(idx)
            n += 1
    return n


def recognise(path: str | Path) -> Recognised:
    """Recognise one file by its header; a file that cannot be opened says why."""
    path = Path(path)
    spatial = path.suffix.lower() in SPATIAL_SUFFIXES
    try:
        header, layer = read_file_header(path)
    except InputFormatError as exc:
        return Recognised(path=path, key=None, problem=exc.problem)
    found = recognise_header(header, path, spatial=spatial)
    return Recognised(**{**found.__dict__, "layer": layer})
