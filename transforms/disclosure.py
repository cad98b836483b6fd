"""Statistical disclosure control: primary and secondary suppression, NHS rounding, and the audit.

Rules live in `config/disclosure.yaml`, per audience (public | partner) and source of counts
(police, police_uk, asb, hes, ae). A count in a rule's range at a level the rule governs is
*primary* suppressed; NHS counts outside it are rounded to the nearest 5. Secondary suppression
then makes sure no suppressed cell can be worked out again:

- every published count is a *cell* keyed by (source, area_level, area_code, period, measure); the
  same key in two tables is the same cell, so a value suppressed in one table is suppressed in all
  (the difference between two published tables gives nothing away);
- cells are tied by additive equations: a ward is the sum of its LSOAs, a district of its wards,
  the county of its districts; the headline measure is the sum of its categories;
- `audit` finds every suppressed (or rounded) cell that the published cells pin down exactly: by
  interval propagation over the equations (counts are never negative, and a rounded NHS count is
  within 2 of what is printed) and by linear algebra (a cell is determined when its unit vector
  lies in the row space of the equations over the unknown cells, e.g. a cell bridging two
  rectangles of suppressed cells);
- `protect_counts` suppresses complementary cells (the smallest non-zero sibling first, the total
  only when no sibling is left) until the audit finds nothing.

Rates, intervals and comparisons computed from a suppressed count are suppressed with it
(`apply_protection`). Everything here is pure: data frames in, data frames out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import lsqr

DEFAULT_DISCLOSURE = Path(__file__).resolve().parents[1] / "config" / "disclosure.yaml"
AUDIENCES = ("public", "partner")
AREA_CHAIN = ("lsoa", "ward", "district", "county")
LEVELS = (*AREA_CHAIN, "grid")
SOURCES = ("police", "police_uk", "asb", "hes", "ae", "ambulance")  # core.incidents.source
KEY = ["source", "area_level", "area_code", "period", "measure"]
# Columns computed from a row's count: suppressed with it wherever they appear.
DERIVED_COLUMNS = (
    "rate_per_1000",
    "rate",
    "ci_lower",
    "ci_upper",
    "vs_county",
    "vs_england",
    "previous_count",
    "change",
    "change_p",
    "rate_ratio",
    "p_value",
)
STATUS_SHOWN, STATUS_ROUNDED, STATUS_PRIMARY, STATUS_SECONDARY = (
    "shown",
    "rounded",
    "primary",
    "secondary",
)


class DisclosureError(ValueError):
    """Rules that cannot be read, or cells that cannot be protected."""


@dataclass(frozen=True)
class SourceRule:
    """How one source's counts are published for one audience."""

    suppress: tuple[int, int] | None = None
    round_to: int | None = None
    levels: frozenset[str] | None = None  # None: every level

    def governs(self, level: str) -> bool:
        return self.levels is None or level in self.levels

    def describe(self) -> str:
        parts = []
        if self.suppress:
            parts.append(f"counts {self.suppress[0]}-{self.suppress[1]} suppressed")
        if self.round_to:
            parts.append(f"others rounded to the nearest {self.round_to}")
        where = "every level" if self.levels is None else ", ".join(sorted(self.levels))
        return f"{'; '.join(parts) or 'shown exactly'} ({where})"


@dataclass(frozen=True)
class AudienceRules:
    """The rules for one audience, and how its files are marked."""

    name: str
    label: str
    marking: str
    marker: str
    rules: Mapping[str, SourceRule] = field(default_factory=dict)

    def rule(self, source: str) -> SourceRule:
        if source not in self.rules:
            raise DisclosureError(
                f"no disclosure rule for source {source!r} (audience {self.name}); "
                f"config/disclosure.yaml has {sorted(self.rules)}"
            )
        return self.rules[source]


@dataclass(frozen=True)
class DisclosureConfig:
    default_audience: str
    marker: str
    audiences: Mapping[str, AudienceRules]

    def audience(self, name: str | None = None) -> AudienceRules:
        name = name or self.default_audience
        if name not in self.audiences:
            raise DisclosureError(f"unknown audience {name!r}: use one of {sorted(self.audiences)}")
        return self.audiences[name]


def _rule(raw: object, where: str) -> SourceRule:
    if not isinstance(raw, dict):
        raise DisclosureError(f"{where}: expected a mapping with suppress/round_to/levels")
    unknown = sorted(set(raw) - {"suppress", "round_to", "levels"})
    if unknown:
        raise DisclosureError(f"{where}: unknown key(s) {unknown}")
    suppress = raw.get("suppress")
    if suppress is not None:
        if not (
            isinstance(suppress, list)
            and len(suppress) == 2
            and all(isinstance(v, int) and v >= 1 for v in suppress)
            and suppress[0] <= suppress[1]
        ):
            raise DisclosureError(f"{where}: 'suppress' must be [min, max] with 1 <= min <= max")
        suppress = (int(suppress[0]), int(suppress[1]))
    round_to = raw.get("round_to")
    if round_to is not None and not (isinstance(round_to, int) and round_to >= 2):
        raise DisclosureError(f"{where}: 'round_to' must be a whole number of at least 2")
    levels = raw.get("levels", "all")
    if levels == "all":
        level_set = None
    else:
        if not isinstance(levels, list) or not levels:
            raise DisclosureError(f"{where}: 'levels' must be `all` or a list of {list(LEVELS)}")
        bad = sorted(set(levels) - set(LEVELS))
        if bad:
            raise DisclosureError(f"{where}: unknown level(s) {bad}; use {list(LEVELS)}")
        level_set = frozenset(levels)
    return SourceRule(suppress=suppress, round_to=round_to, levels=level_set)


def load_disclosure(path: str | Path = DEFAULT_DISCLOSURE) -> DisclosureConfig:
    """Read and validate `config/disclosure.yaml` (unknown keys, audiences or sources are errors)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DisclosureError(f"{path}: cannot read disclosure rules: {exc}") from exc
    unknown = sorted(set(raw) - {"version", "default_audience", "marker", "audiences"})
    if unknown:
        raise DisclosureError(f"{path}: unknown key(s) {unknown}")
    marker = str(raw.get("marker", "*"))
    audiences = {}
    for name, spec in (raw.get("audiences") or {}).items():
        if name not in AUDIENCES:
            raise DisclosureError(f"{path}: unknown audience {name!r}; use {list(AUDIENCES)}")
        rules_raw = (spec or {}).get("rules") or {}
        bad = sorted(set(rules_raw) - set(SOURCES))
        if bad:
            raise DisclosureError(f"{path}: audiences.{name}: unknown source(s) {bad}")
        rules = {s: _rule(r, f"{path}: audiences.{name}.rules.{s}") for s, r in rules_raw.items()}
        audiences[name] = AudienceRules(
            name=name,
            label=str(spec.get("label", name.title())),
            marking=str(spec.get("marking", name.upper())),
            marker=marker,
            rules=rules,
        )
    default = raw.get("default_audience", "public")
    if default not in audiences:
        raise DisclosureError(f"{path}: default_audience {default!r} has no rules")
    return DisclosureConfig(default_audience=default, marker=marker, audiences=audiences)


def round_half_up(values: np.ndarray, base: int) -> np.ndarray:
    """Round to the nearest multiple of `base`, halves upwards (12 -> 10, 13 -> 15 for base 5)."""
    return np.floor(np.asarray(values, dtype=float) / base + 0.5) * base


# --- cells and the equations that tie them -------------------------------------------------------


def count_cells(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The union of count cells of several tables, one row per key.

    Each table needs the KEY columns and `count`. The same key with two different counts means the
    tables disagree: that is an error, never silently resolved.
    """
    frames = [t[[*KEY, "count"]] for t in tables if len(t)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in KEY}).assign(
            count=pd.Series(dtype="Int64")
        )
    cells = pd.concat(frames, ignore_index=True)
    cells["count"] = pd.to_numeric(cells["count"], errors="coerce").astype("Int64")
    for column in KEY:
        cells[column] = cells[column].astype("str")
    distinct = cells.drop_duplicates()
    clash = distinct[distinct.duplicated(KEY, keep=False)]
    if len(clash):
        raise DisclosureError(
            "the same cell has different counts in two tables: "
            + clash.head(4).to_string(index=False)
        )
    return distinct.drop_duplicates(KEY).reset_index(drop=True)


def equations(
    cells: pd.DataFrame,
    geography: pd.DataFrame | None = None,
    partitions: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Additive equations over `cells` (by row position): total - sum(parts) = 0.

    geography: one row per LSOA with lsoa_code, ward_code, district_code, county_code (any may be
    missing): each present level sums to the next present level up, per source, period, measure.
    partitions: headline measure -> the measures that add up to it, per source, area and period.
    Returns a long frame (eq, cell, coef) with coef +1 for the total and -1 for each part.
    """
    c = cells.reset_index(drop=True).assign(cell=lambda f: np.arange(len(f)))
    rows = []
    group = ["source", "period", "measure"]
    present = [lv for lv in AREA_CHAIN if (c["area_level"] == lv).any()]
    if geography is not None and len(geography):
        for child, parent in zip(present, present[1:], strict=False):
            ccol, pcol = f"{child}_code", f"{parent}_code"
            if ccol not in geography or pcol not in geography:
                continue
            mapping = geography[[ccol, pcol]].dropna().astype("str").drop_duplicates(ccol)
            kids = c[c["area_level"] == child].merge(
                mapping, left_on="area_code", right_on=ccol, how="inner"
            )
            parents = c[c["area_level"] == parent][[*group, "area_code", "cell"]].rename(
                columns={"area_code": pcol, "cell": "total"}
            )
            rows.append(kids.merge(parents, on=[*group, pcol], how="inner")[["total", "cell"]])
    for headline, parts in (partitions or {}).items():
        area = ["source", "area_level", "area_code", "period"]
        totals = c[c["measure"] == headline][[*area, "cell"]].rename(columns={"cell": "total"})
        members = c[c["measure"].isin(list(parts))][[*area, "cell"]]
        rows.append(members.merge(totals, on=area, how="inner")[["total", "cell"]])
    if not rows:
        return pd.DataFrame({"eq": [], "cell": [], "coef": []}, dtype="int64")
    kind = []
    for i, frame in enumerate(rows):  # one equation per (kind of tie, total cell)
        kind.append(frame.assign(kind=i))
    links = pd.concat(kind, ignore_index=True)
    links["eq"] = pd.factorize(pd.MultiIndex.from_frame(links[["kind", "total"]]))[0]
    totals = links.drop_duplicates("eq")[["eq", "total"]].rename(columns={"total": "cell"})
    out = pd.concat(
        [totals.assign(coef=1), links[["eq", "cell"]].assign(coef=-1)], ignore_index=True
    )
    return out.astype("int64").sort_values(["eq", "coef"], ascending=[True, False], kind="stable")


# --- the audit -----------------------------------------------------------------------------------


def _integer_bounds(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):
        return np.ceil(lo - 1e-9), np.floor(hi + 1e-9)


def _propagate(
    eqs: pd.DataFrame, known: np.ndarray, value: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Tighten [lo, hi] of unknown cells through the equations until nothing changes."""
    lo, hi = lo.astype(float).copy(), hi.astype(float).copy()
    eq, cell, coef = (eqs[c].to_numpy() for c in ("eq", "cell", "coef"))
    n_eq = int(eq.max()) + 1 if len(eq) else 0
    is_known = known[cell]
    rhs = -np.bincount(eq[is_known], (coef * value[cell])[is_known], minlength=n_eq)
    u = ~is_known
    eq_u, cell_u, coef_u = eq[u], cell[u], coef[u]
    for _ in range(200):
        tlo = np.where(coef_u > 0, lo[cell_u], -hi[cell_u])
        thi = np.where(coef_u > 0, hi[cell_u], -lo[cell_u])
        # sums over each equation's unknown terms, with infinities counted apart
        lo_inf, hi_inf = ~np.isfinite(tlo), ~np.isfinite(thi)
        sum_lo = np.bincount(eq_u, np.where(lo_inf, 0.0, tlo), minlength=n_eq)
        sum_hi = np.bincount(eq_u, np.where(hi_inf, 0.0, thi), minlength=n_eq)
        n_lo_inf = np.bincount(eq_u, lo_inf, minlength=n_eq)
        n_hi_inf = np.bincount(eq_u, hi_inf, minlength=n_eq)
        others_lo = np.where(
            n_lo_inf[eq_u] - lo_inf > 0, -np.inf, sum_lo[eq_u] - np.where(lo_inf, 0.0, tlo)
        )
        others_hi = np.where(
            n_hi_inf[eq_u] - hi_inf > 0, np.inf, sum_hi[eq_u] - np.where(hi_inf, 0.0, thi)
        )
        term_lo, term_hi = rhs[eq_u] - others_hi, rhs[eq_u] - others_lo
        new_lo = np.where(coef_u > 0, term_lo, -term_hi)
        new_hi = np.where(coef_u > 0, term_hi, -term_lo)
        next_lo, next_hi = lo.copy(), hi.copy()
        np.maximum.at(next_lo, cell_u, np.nan_to_num(new_lo, nan=-np.inf))
        np.minimum.at(next_hi, cell_u, np.nan_to_num(new_hi, nan=np.inf))
        next_lo, next_hi = _integer_bounds(next_lo, next_hi)
        if np.array_equal(next_lo, lo) and np.array_equal(next_hi, hi):
            break
        lo, hi = next_lo, next_hi
    return lo, hi


def _null_space_rows(a) -> np.ndarray:
    """Norm of each variable's row in a basis of the null space of `a` (0 = determined).

    Small systems: exact, through the SVD. Large ones: the norm of the projection of a few random
    vectors onto the null space (LSQR on the sparse matrix), which is zero for a determined
    variable and, with probability one, not zero otherwise.
    """
    n = a.shape[1]
    if n <= DENSE_LIMIT:
        return _dense_null_rows(a.toarray()[None])[0]
    rng = np.random.default_rng(0)
    at = a.T.tocsr()
    total = np.zeros(n)
    for _ in range(3):
        w = rng.standard_normal(n)
        y = lsqr(at, w, atol=1e-14, btol=1e-14, iter_lim=20 * n)[0]
        total += (w - at @ y) ** 2
    return np.sqrt(total / 3)


def _dense_null_rows(blocks: np.ndarray) -> np.ndarray:
    """`_null_space_rows` of a stack of dense systems at once (shape: systems x rows x columns).

    Zero rows and columns added to pad systems to one shape change nothing for the real columns:
    a zero row adds no equation, and a zero column's null vector is zero at every other column.
    """
    _, s, vt = np.linalg.svd(blocks, full_matrices=True)
    top = np.maximum(1.0, s[:, :1])
    rank = (s > 1e-9 * top).sum(axis=1)
    null = np.arange(vt.shape[1])[None, :] >= rank[:, None]  # which rows of vt span the null space
    return np.sqrt(np.einsum("kij,ki->kj", vt**2, null.astype(float)))


DENSE_LIMIT = 200
DENSE_BATCH_BYTES = 64 * 2**20  # the stack of padded systems solved in one SVD call


def _determined_by_algebra(eqs: pd.DataFrame, unknown: np.ndarray) -> np.ndarray:
    """Unknown cells whose value follows from the equations alone (unit vector in the row space).

    The unknowns fall apart into connected components (cells linked by the equations they share;
    a country has tens of thousands, one a ward or two wide), and a cell is determined by its own
    component alone. Components of up to DENSE_LIMIT unknowns are solved exactly by SVD, many in
    one batched call (padded to a common shape); a larger one by a sparse projection of its own.
    """
    out = np.zeros(unknown.shape, dtype=bool)
    sub = eqs[unknown[eqs["cell"].to_numpy()]]
    if sub.empty:
        return out
    cells, col, row, n_comp, row_comp, col_comp = _components(sub)
    coef = sub["coef"].to_numpy(dtype=float)
    n_cols = len(cells)
    row_local, row_size = _local_index(row_comp, n_comp)
    col_local, col_size = _local_index(col_comp, n_comp)
    norms = np.empty(n_cols)
    entry_comp = col_comp[col]
    big = col_size > DENSE_LIMIT
    for comp in np.flatnonzero(big):
        take = entry_comp == comp
        a = csr_matrix(
            (coef[take], (row_local[row[take]], col_local[col[take]])),
            shape=(row_size[comp], col_size[comp]),
        )
        norms[col_comp == comp] = _null_space_rows(a)
    small = np.flatnonzero(~big)
    # one batch per padded shape (powers of two), so every system is solved in few SVD calls
    shape_r = _next_pow2(row_size[small])
    shape_c = _next_pow2(col_size[small])
    for r, c in sorted(set(zip(shape_r.tolist(), shape_c.tolist(), strict=True))):
        comps = small[(shape_r == r) & (shape_c == c)]
        per_batch = max(1, DENSE_BATCH_BYTES // (8 * (r * c + c * c + r * r)))
        for start in range(0, len(comps), per_batch):
            batch = comps[start : start + per_batch]
            slot = np.full(n_comp, -1)
            slot[batch] = np.arange(len(batch))
            take = slot[entry_comp] >= 0
            blocks = np.zeros((len(batch), r, c))
            np.add.at(
                blocks,
                (slot[entry_comp[take]], row_local[row[take]], col_local[col[take]]),
                coef[take],
            )
            rows_norm = _dense_null_rows(blocks)
            in_batch = np.flatnonzero(slot[col_comp] >= 0)
            norms[in_batch] = rows_norm[slot[col_comp[in_batch]], col_local[in_batch]]
    out[cells[norms <= 1e-6]] = True
    return out


def _components(sub: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Connected components of the equations `sub` (entries over unknown cells only): the cells,
    each entry's column and row, the number of components, and each row's and column's component."""
    cells, col = np.unique(sub["cell"].to_numpy(), return_inverse=True)
    _, row = np.unique(sub["eq"].to_numpy(), return_inverse=True)
    n_rows, n_cols = int(row.max()) + 1, len(cells)
    graph = coo_matrix(
        (np.ones(len(sub)), (row, n_rows + col)), shape=(n_rows + n_cols,) * 2
    )  # equations and unknowns, linked where a cell is in an equation
    n_comp, label = connected_components(graph, directed=False)
    return cells, col, row, n_comp, label[:n_rows], label[n_rows:]


def _changed_part(eqs: pd.DataFrame, unknown: np.ndarray, changed: np.ndarray) -> pd.DataFrame:
    """The equations of every component of unknown cells that holds a changed cell.

    What a reader can work out in a component depends only on its own equations and the values
    they print, so a component with no cell changed since the last audit gives the same answer.
    """
    sub = eqs[unknown[eqs["cell"].to_numpy()]]
    if sub.empty:
        return sub
    cells, col, row, n_comp, row_comp, col_comp = _components(sub)
    dirty = np.zeros(n_comp, dtype=bool)
    dirty[col_comp[changed[cells]]] = True
    eq_ids = np.unique(sub["eq"].to_numpy())[dirty[row_comp]]
    return eqs[np.isin(eqs["eq"].to_numpy(), eq_ids)]


def _local_index(label: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item's position among the items of its own label, and the size of each label."""
    order = np.argsort(label, kind="stable")
    size = np.bincount(label, minlength=n)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    local = np.empty(len(label), dtype=np.int64)
    local[order] = np.arange(len(label)) - start[label[order]]
    return local, size


def _next_pow2(n: np.ndarray) -> np.ndarray:
    return (2 ** np.ceil(np.log2(np.maximum(n, 1)))).astype(np.int64)


@dataclass(frozen=True)
class Audit:
    """What the published cells reveal: bounds on every hidden cell and which are pinned down."""

    lower: np.ndarray
    upper: np.ndarray
    disclosed: (
        np.ndarray
    )  # hidden (suppressed or rounded) cells whose exact value can be worked out


def audit(
    eqs: pd.DataFrame,
    published: np.ndarray,
    hidden: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
) -> Audit:
    """Which hidden cells can be recovered from the published ones through the equations.

    published: the value each visible cell shows (exact); hidden: suppressed or rounded cells;
    lower/upper: what a reader knows of each hidden cell before using the equations (1-4 for a
    primary suppressed police count, the rounding interval for an NHS count, 0-inf otherwise).
    """
    known = ~hidden
    value = np.where(known, np.nan_to_num(published.astype(float)), 0.0)
    lo = np.where(known, value, lower).astype(float)
    hi = np.where(known, value, upper).astype(float)
    if len(eqs):
        lo, hi = _propagate(eqs, known, value, lo, hi)
    pinned = hidden & (lo == hi)
    if len(eqs):
        pinned |= hidden & _determined_by_algebra(eqs, hidden)
    return Audit(lower=lo, upper=hi, disclosed=pinned)


# --- primary and secondary suppression -----------------------------------------------------------


def _reader_bounds(
    count: np.ndarray, status: np.ndarray, cells: pd.DataFrame, audience: AudienceRules
) -> tuple[np.ndarray, np.ndarray]:
    """What a reader knows of each hidden cell from the rules alone.

    Every suppression marker looks the same, so a suppressed cell is only known to be a count
    (0 or more): a reader cannot tell a primary cell from one hidden to protect it. A rounded NHS
    count lies within half the rounding base of what is printed, and above the suppressed range.
    """
    lo = np.zeros(len(count))
    hi = np.full(len(count), np.inf)
    for source, rows in cells.groupby("source").groups.items():
        rule = audience.rule(str(source))
        idx = np.asarray(rows)
        rounded = idx[status[idx] == STATUS_ROUNDED]
        if rule.round_to and len(rounded):
            shown = round_half_up(count[rounded], rule.round_to)
            half = rule.round_to / 2
            lo[rounded] = np.maximum(shown - half, (rule.suppress or (0, 0))[1] + 1)
            hi[rounded] = shown + half
    return _integer_bounds(lo, hi)


def _complements(
    eqs: pd.DataFrame, count: np.ndarray, hidden: np.ndarray, needy: pd.Series
) -> np.ndarray:
    """One more cell to hide in each needy equation: the smallest non-zero visible part, else the
    smallest visible part, else the total."""
    members = eqs[eqs["eq"].isin(needy.index)].copy()
    members = members[~hidden[members["cell"].to_numpy()]]
    if members.empty:
        return np.array([], dtype=int)
    c = np.nan_to_num(count[members["cell"].to_numpy()].astype(float), nan=np.inf)
    members["is_total"] = members["coef"] > 0
    members["zero"] = c == 0
    members["count"] = c
    members = members.sort_values(["eq", "is_total", "zero", "count", "cell"], kind="stable")
    return np.unique(members.drop_duplicates("eq")["cell"].to_numpy())


def protect_counts(
    cells: pd.DataFrame,
    audience: AudienceRules,
    *,
    geography: pd.DataFrame | None = None,
    partitions: Mapping[str, Sequence[str]] | None = None,
    max_rounds: int = 200,
) -> pd.DataFrame:
    """Apply an audience's rules to count cells; returns `cells` with `published` and `status`.

    status: "shown" (exact), "rounded" (NHS rule), "primary" (in the rule's range) or "secondary"
    (hidden so that no primary cell can be worked out). `published` is the value to print (NA when
    hidden). Missing counts stay missing and are not part of any equation's known values.

    >>> rules = AudienceRules("public", "Public", "PUBLIC", "*", {"police": SourceRule((1, 4))})
    >>> cells = pd.DataFrame({"source": "police", "area_level": ["lsoa", "lsoa", "lsoa", "ward"],
    ...     "area_code": ["A", "B", "C", "W"], "period": "2023/24", "measure": "all",
    ...     "count": [3, 10, 25, 38]})
    >>> geo = pd.DataFrame({"lsoa_code": ["A", "B", "C"], "ward_code": "W"})
    >>> protect_counts(cells, rules, geography=geo)["status"].tolist()
    ['primary', 'secondary', 'shown', 'shown']
    """
    out = cells.reset_index(drop=True).copy()
    count = pd.to_numeric(out["count"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    status = np.full(len(out), STATUS_SHOWN, dtype=object)
    published = count.copy()
    for (source, level), rows in out.groupby(["source", "area_level"]).groups.items():
        rule = audience.rule(str(source))
        if not rule.governs(str(level)):
            continue
        idx = np.asarray(rows)
        c = count[idx]
        if rule.suppress:
            lo, hi = rule.suppress
            primary = idx[(c >= lo) & (c <= hi)]
            status[primary] = STATUS_PRIMARY
        if rule.round_to:
            to_round = idx[(status[idx] == STATUS_SHOWN) & (c > 0)]
            status[to_round] = STATUS_ROUNDED
            published[to_round] = round_half_up(count[to_round], rule.round_to)
    eqs = equations(out, geography, partitions)
    missing = np.isnan(count)
    audited = None  # status at the last audit: later audits look only at what changed since
    eq_of_entry, cell_of_entry = eqs["eq"].to_numpy(), eqs["cell"].to_numpy()
    for _ in range(max_rounds):
        suppressed = np.isin(status, [STATUS_PRIMARY, STATUS_SECONDARY])
        hidden = suppressed | (status == STATUS_ROUNDED) | missing
        # equations with exactly one suppressed cell give it away: hide one more cell in each
        per_eq = np.bincount(eq_of_entry, suppressed[cell_of_entry])
        needy = pd.Series(1, index=pd.Index(np.flatnonzero(per_eq == 1)))
        extra = _complements(eqs, count, suppressed | missing, needy) if len(needy) else []
        if len(extra) == 0:
            lo, hi = _reader_bounds(count, status, out, audience)
            part = eqs if audited is None else _changed_part(eqs, hidden, status != audited)
            result = audit(part, published, hidden, lo, hi)
            audited = status.copy()
            leaking = result.disclosed & (suppressed | (status == STATUS_ROUNDED))
            if not leaking.any():
                break
            eq_of = eqs[np.isin(eqs["cell"].to_numpy(), np.flatnonzero(leaking))]["eq"].unique()
            extra = _complements(
                eqs, count, suppressed | missing, pd.Series(1, index=pd.Index(eq_of))
            )
            if len(extra) == 0:
                raise DisclosureError(
                    f"{int(leaking.sum())} suppressed cells can be worked out and no further cell"
                    " can be hidden: check the equations"
                )
        status[np.asarray(extra, dtype=int)] = STATUS_SECONDARY
    else:
        raise DisclosureError(f"secondary suppression did not settle in {max_rounds} rounds")
    hidden_now = np.isin(status, [STATUS_PRIMARY, STATUS_SECONDARY])
    published[hidden_now] = np.nan
    out["published"] = pd.array(
        np.where(np.isnan(published), None, published), dtype="Int64"
    )  # NA when hidden or missing
    out["status"] = status.astype(str)
    return out


def protect_counts_by_period(
    cells: pd.DataFrame,
    audience: AudienceRules,
    *,
    geography: pd.DataFrame | None = None,
    partitions: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """`protect_counts` one period at a time, rows in the order of `cells`.

    No equation ties two periods (areas add up within a period, categories within an area and
    period), and every step of the protection (primary rule, complements, audit) works equation
    by equation, so the cells come out the same as protecting all periods at once, with the
    memory of one period (a country's three years are six million cells).
    """
    cells = cells.reset_index(drop=True)
    parts = [
        protect_counts(
            cells.iloc[rows], audience, geography=geography, partitions=partitions
        ).set_axis(rows)
        for rows in cells.groupby("period", sort=False, dropna=False).indices.values()
    ]
    if not parts:
        return protect_counts(cells, audience, geography=geography, partitions=partitions)
    return pd.concat(parts).sort_index()


def rate_from_count(
    count: pd.Series, population: pd.Series, per: float = 1000
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Rate per `per` residents with its 95% interval (Byar, exact Poisson below 10), as Float64
    series on the count's index; missing or non-positive populations give missing rates."""
    from transforms.rates import count_ci  # scipy.stats: imported only when needed

    o = pd.to_numeric(count, errors="coerce").astype("float64").to_numpy()
    n = pd.to_numeric(population, errors="coerce").astype("float64").to_numpy()
    lower, upper = count_ci(o)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n > 0, per / n, np.nan)
    return tuple(
        pd.Series(v, index=count.index, dtype="Float64")
        for v in (o * scale, lower * scale, upper * scale)
    )


def apply_protection(
    table: pd.DataFrame,
    protected: pd.DataFrame,
    *,
    rate_columns: tuple[str, str, str] | None = ("rate_per_1000", "ci_lower", "ci_upper"),
    per: float = 1000,
    key_measure: pd.Series | None = None,
) -> pd.DataFrame:
    """A table as published: counts replaced by their published values, a `suppressed` flag, and
    every column derived from a hidden count blanked.

    Rows of NHS counts that were rounded get their rate and interval recomputed from the rounded
    count (`rate_columns`, population in `population`), so the rate cannot give the exact count
    back. `key_measure` overrides the measure used to find a row's cell (e.g. measure|victims).
    """
    out = table.reset_index(drop=True)  # a new frame: copy-on-write keeps `table` as it is
    keys = out[KEY].astype("str")
    if key_measure is not None:
        keys["measure"] = key_measure.astype("str").to_numpy()
    lookup = protected.assign(**{c: protected[c].astype("str") for c in KEY}).set_index(KEY)
    index = pd.MultiIndex.from_frame(keys)
    status = pd.Series(lookup["status"].reindex(index).to_numpy(), index=out.index)
    if status.isna().any():
        missing = keys[status.isna()].head(3).to_string(index=False)
        raise DisclosureError(f"rows without a protected cell (not in the cell table):\n{missing}")
    published = pd.Series(lookup["published"].reindex(index).to_numpy(), index=out.index)
    hidden = status.isin([STATUS_PRIMARY, STATUS_SECONDARY])
    out["count"] = published.astype("Int64")
    out["suppressed"] = hidden.to_numpy()
    for column in DERIVED_COLUMNS:
        if column in out.columns:
            out[column] = out[column].mask(hidden)
    rounded = (status == STATUS_ROUNDED).to_numpy()
    if rate_columns and rounded.any() and "population" in out and rate_columns[0] in out:
        rate, lower, upper = rate_from_count(
            out.loc[rounded, "count"], out.loc[rounded, "population"], per
        )
        for column, values in zip(rate_columns, (rate, lower, upper), strict=True):
            out.loc[rounded, column] = values.to_numpy()
    return out


def describe_rules(audience: AudienceRules, sources: Iterable[str]) -> list[str]:
    """One plain sentence per source, for the methods page and the workbook notes."""
    names = {
        "police": "Police recorded crime",
        "police_uk": "data.police.uk crime",
        "asb": "Anti-social behaviour",
        "hes": "Hospital admissions (HES)",
        "ae": "A&E attendances",
    }
    return [
        f"{names.get(s, s)}: {audience.rule(s).describe()}." for s in sources if s in audience.rules
    ]


def audit_published(
    shown: pd.DataFrame,
    exact: pd.DataFrame,
    audience: AudienceRules,
    *,
    geography: pd.DataFrame | None = None,
    partitions: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Cells a reader of every published table together could work out exactly.

    shown: one row per published count cell and table: KEY columns, `published` (the value printed,
    NA when the cell is hidden) and `hidden` (True for a suppression marker). A cell printed in any
    table counts as visible: that is the difference between two tables. exact: KEY and `count`, every
    cell of the tables (the unknowns and the equations between them).
    Returns the disclosed cells with their true count and the interval a reader can deduce.
    """
    cells = count_cells([exact])
    keyed = shown.assign(**{c: shown[c].astype("str") for c in KEY})
    visible = keyed[~keyed["hidden"].astype(bool)].drop_duplicates(KEY).set_index(KEY)["published"]
    index = pd.MultiIndex.from_frame(cells[KEY])
    value = pd.to_numeric(pd.Series(visible.reindex(index).to_numpy()), errors="coerce")
    printed = keyed.drop_duplicates(KEY).set_index(KEY).index
    on_file = index.isin(printed)
    count = pd.to_numeric(cells["count"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    hidden = on_file & value.isna().to_numpy()
    status = np.full(len(cells), STATUS_SHOWN, dtype=object)
    status[hidden] = STATUS_SECONDARY
    for (source, level), rows in cells.groupby(["source", "area_level"]).groups.items():
        idx = np.asarray(rows)
        rule = audience.rule(str(source))
        if rule.round_to and rule.governs(str(level)):
            status[idx[~hidden[idx] & on_file[idx] & (count[idx] > 0)]] = STATUS_ROUNDED
    lo, hi = _reader_bounds(count, status, cells, audience)
    # cells no file prints are not known to the reader either
    unseen = ~on_file
    lo[unseen], hi[unseen] = 0.0, np.inf
    rounded = status == STATUS_ROUNDED
    unknown = hidden | rounded | unseen | np.isnan(count)
    published = np.where(unknown, np.nan, value.to_numpy(dtype=float, na_value=np.nan))
    result = audit(equations(cells, geography, partitions), published, unknown, lo, hi)
    leaked = result.disclosed & (hidden | rounded)
    return cells[leaked].assign(
        reader_lower=result.lower[leaked], reader_upper=result.upper[leaked]
    )


# --- whole tables as published -------------------------------------------------------------------

# Tables with one count per (source, area, period, measure) cell: protected together.
CELL_TABLES = (
    "sv_rates",
    "asb_rates",
    "priority_under_25s",
    "priority_domestic_abuse",
    "priority_drugs_alcohol",
    "priority_places",
    "success_measures",
    "year_on_year",
)
# Tables whose counts have no totals published beside them: each value gets its rule alone.
VALUE_TABLES = {  # table -> (count columns, derived columns hidden with the first count)
    "trends": (("count", "rolling_12m"), ()),
    "time_profile": (("count",), ()),
    "hotspot_grid": (("count",), ()),  # the kernel density is a smooth surface: it stays
    "proportions": (("numerator", "denominator"), ("proportion", "ci_lower", "ci_upper")),
}


def _cell_key_measure(name: str, table: pd.DataFrame) -> pd.Series:
    if name == "success_measures" and "victims" in table:
        return table["measure"].astype("str") + "|" + table["victims"].astype("str")
    return table["measure"].astype("str")


def table_cells(name: str, table: pd.DataFrame) -> pd.DataFrame:
    cells = table[KEY + ["count"]].copy()
    cells["measure"] = _cell_key_measure(name, table).to_numpy()
    return cells


def apply_rule_to_values(
    values: pd.Series, sources: pd.Series, levels: pd.Series, audience: AudienceRules
) -> tuple[pd.Series, pd.Series]:
    """Primary rule and rounding applied value by value: (published values, hidden flags)."""
    v = pd.to_numeric(values, errors="coerce").astype("Float64")
    hidden = pd.Series(False, index=values.index)
    out = v.copy()
    for (source, level), idx in (
        pd.DataFrame({"s": sources, "l": levels}).groupby(["s", "l"]).groups.items()
    ):
        rule = audience.rule(str(source))
        if not rule.governs(str(level)):
            continue
        x = v.loc[idx]
        if rule.suppress:
            small = (x >= rule.suppress[0]) & (x <= rule.suppress[1])
            hidden.loc[idx] = small.fillna(False).to_numpy(dtype=bool)
        if rule.round_to:
            rounded = round_half_up(x.to_numpy(dtype=float, na_value=np.nan), rule.round_to)
            out.loc[idx] = pd.array(np.where(np.isnan(rounded), None, rounded), dtype="Float64")
    out = out.mask(hidden)
    return out, hidden


def protect_cells(
    tables: Mapping[str, pd.DataFrame | None],
    audience: AudienceRules,
    *,
    geography: pd.DataFrame | None,
    partitions: Mapping[str, Sequence[str]] | None,
) -> pd.DataFrame:
    """The count cells of the count tables (CELL_TABLES) of `tables`, protected as one set, so a
    cell hidden in one table is hidden in all: `published` and `status` per cell.

    tables: exact tables by name (None for one not built); each count table is taken once, for
    its cells, and not kept, so a mapping that reads on demand holds one at a time.
    """
    exact = count_cells(
        table_cells(n, t) for n in tables if n in CELL_TABLES and (t := tables[n]) is not None
    )
    return protect_counts_by_period(exact, audience, geography=geography, partitions=partitions)


def published_table(
    name: str,
    table: pd.DataFrame,
    protected: pd.DataFrame,
    audience: AudienceRules,
    *,
    rates_source: str,
) -> pd.DataFrame:
    """The exact table `name` as the audience may see it, given the protected cells.

    Count tables (CELL_TABLES) take their cells' published values. `hotspots.value` (the LSOA rate
    or count that was tested) is hidden where the rates cell is. Tables of counts with no published
    totals (VALUE_TABLES) get each rule value by value. Other tables (shares, correlations, model
    terms, coverage) carry no small counts and pass as they are. Every returned table that had
    counts gains a boolean `suppressed` column. The exact table is never changed.
    """
    if name in CELL_TABLES and len(table):
        rate_columns, per = ("rate_per_1000", "ci_lower", "ci_upper"), 1000.0
        if name == "success_measures":
            rate_columns = ("rate", "ci_lower", "ci_upper")
            rate_per = pd.to_numeric(table.get("rate_per"), errors="coerce").dropna()
            per = float(rate_per.iloc[0]) if len(rate_per) else per
        published = apply_protection(
            table,
            protected,
            rate_columns=rate_columns,
            per=per,
            key_measure=_cell_key_measure(name, table),
        )
        if "previous_count" in published:
            prev, prev_hidden = apply_rule_to_values(
                table["previous_count"], table["source"], table["area_level"], audience
            )
            published["previous_count"] = prev.round().astype("Int64").mask(published["suppressed"])
            gone = prev_hidden | published["suppressed"]
            for column in ("change", "change_p", "rate_ratio", "p_value"):
                if column in published:
                    published[column] = published[column].mask(gone)
        return published
    if name in VALUE_TABLES and len(table):
        counts, derived = VALUE_TABLES[name]
        t = table.copy(deep=False)  # copy-on-write: the exact table is never changed
        sources = t["source"] if "source" in t else pd.Series(rates_source, index=t.index)
        levels = (
            t["area_level"]
            if "area_level" in t
            else pd.Series("grid" if name == "hotspot_grid" else "county", index=t.index)
        )
        hidden_any = pd.Series(False, index=t.index)
        for column in counts:
            if column in t:
                values, hidden = apply_rule_to_values(t[column], sources, levels, audience)
                t[column] = values.round().astype("Int64")
                hidden_any |= hidden
        for column in derived:
            if column in t:
                t[column] = t[column].mask(hidden_any)
        t["suppressed"] = hidden_any.to_numpy()
        return t
    if name == "hotspots" and len(table) and "value" in table:
        t = table.copy(deep=False)  # copy-on-write: the exact table is never changed
        rates = protected[protected["source"] == rates_source]
        hidden = rates.set_index(["area_level", "area_code", "period", "measure"])["status"]
        index = pd.MultiIndex.from_frame(
            t[["area_level", "area_code", "period", "measure"]].astype("str")
        )
        status = pd.Series(hidden.reindex(index).to_numpy(), index=t.index)
        gone = status.isin([STATUS_PRIMARY, STATUS_SECONDARY])
        t["value"] = t["value"].mask(gone)
        t["suppressed"] = gone.to_numpy()
        return t
    return table.copy(deep=False)


# --- how the PDF packs print tables, so the checker can read them back ---------------------------

# The first header cell of a PDF table names the level of its rows.
PDF_LEVEL_HEADERS = {"LSOA": "lsoa", "Ward": "ward", "District": "district", "Area": "county"}
# The header of a count column names the source family of its counts ("Count" takes the row's
# "Source" cell instead).
PDF_COUNT_HEADERS = {
    "Offences": ("police", "police_uk"),
    "ASB incidents": ("asb",),
    "Admissions": ("hes",),
    "Attendances": ("ae",),
    "Count": (),
    "Previous": (),
}
PDF_SOURCE_NAMES = {"Police": "police", "police.uk": "police_uk", "ASB": "asb", "HES": "hes",
                    "A&E": "ae"}  # fmt: skip
PDF_DERIVED_HEADERS = ("Rate per 1,000", "Rate", "95% CI", "vs county", "Change")


def pdf_count_header(source: str) -> str:
    """The header a PDF table gives a count column of this source."""
    for header, sources in PDF_COUNT_HEADERS.items():
        if source in sources:
            return header
    return "Count"
