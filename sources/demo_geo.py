"""Geography of the synthetic demo county: outline, settlements, LSOAs, wards and districts.

Helper of `sources.demo` (see its docstring for the planted structure). Everything here is
seeded through the `numpy.random.Generator` passed in, so the same seed gives the same county.
Coordinates are British National Grid metres (EPSG:27700).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Polygon

# Bounding box of the county outline (roughly where Norfolk sits on the grid).
E_MIN, E_MAX = 560_000.0, 660_000.0
N_MIN, N_MAX = 280_000.0, 345_000.0
# Angles (radians, from the outline centre, 0 = east, counter-clockwise) along which the outline
# is coast: the east and north edges, ending in a bay on the north-west (like the Wash).
COAST_FROM, COAST_TO = -0.65, 2.75
GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))


@dataclass(frozen=True)
class Settlement:
    """A city or town: its centre, radius and the share of the county's LSOAs it holds."""

    name: str
    kind: str  # "city" | "coastal" | "market"
    district: str  # name of the district it belongs to
    x: float
    y: float
    radius: float  # metres
    share: float  # share of all LSOAs


# name, kind, district, placement, share, urban LSOA area factor.
# placement: ("coast", angle) = on the coastline at that angle, moved inland by its radius;
#            ("rel", fx, fy)  = fraction of the bounding box.
_SETTLEMENTS = [
    ("Norchester", "city", "Norchester", ("rel", 0.63, 0.50), 0.17),
    ("Yarmere", "coastal", "Yarmere", ("coast", -0.05), 0.075),
    ("Lynnford", "coastal", "West Fenland", ("coast", 2.55), 0.065),
    ("Cromhithe", "coastal", "North Marsham", ("coast", 1.35), 0.03),
    ("Thetwell", "market", "Brackland", ("rel", 0.33, 0.16), 0.04),
    ("Dereby", "market", "Brackland", ("rel", 0.42, 0.55), 0.03),
    ("Dissingham", "market", "South Wenham", ("rel", 0.64, 0.10), 0.025),
]
URBAN_LSOA_AREA_M2 = 0.6e6  # area of one urban LSOA at n_lsoas=500 (scaled for other sizes)

# Districts in code order (E07900001..): the city is its own district. Seeds are where the
# rural LSOAs gather round (fractions of the bounding box).
DISTRICTS = [
    ("Norchester", []),
    ("Broadfield", [(0.66, 0.72), (0.78, 0.62)]),
    ("South Wenham", [(0.64, 0.10), (0.62, 0.30), (0.80, 0.28)]),
    ("Yarmere", [(0.95, 0.45)]),
    ("North Marsham", [(0.55, 0.90), (0.40, 0.85)]),
    ("West Fenland", [(0.10, 0.60), (0.15, 0.35), (0.25, 0.75)]),
    ("Brackland", [(0.33, 0.16), (0.42, 0.52), (0.40, 0.35)]),
]

# Invented districts of the neighbouring counties, where police.uk geocodes the ~1% of the
# force's crimes it places outside the force area. The county's north and east are sea, so they
# lie west and south: (name, side, centre along that side as a fraction of the bounding box).
NEIGHBOURS = [
    ("Fenmoor", "west", 0.30),
    ("Ousebridge", "west", 0.75),
    ("Breckmere", "south", 0.25),
    ("Wavenham", "south", 0.70),
]
OUTSIDE_BAND_M = (5_000.0, 40_000.0)  # how far beyond the county's bounding box they lie
OUTSIDE_LSOAS_PER_DISTRICT = 8
OUTSIDE_CODE_PREFIX = "E0199"  # E0199xxxx: never one of the county's E019xxxxx codes


@dataclass(frozen=True)
class OutsideLsoas:
    """Synthetic LSOAs of the neighbouring districts (arrays aligned, in code order)."""

    codes: np.ndarray  # (m,) "E0199xxxx"
    names: np.ndarray  # (m,) "<District> 012B"
    district: np.ndarray  # (m,) neighbouring district name
    x: np.ndarray  # (m, k) map points, whole metres, EPSG:27700
    y: np.ndarray  # (m, k)


def outside_lsoas(rng: np.random.Generator, k: int) -> OutsideLsoas:
    """LSOAs of the invented neighbouring districts, each with k map points.

    Every map point is OUTSIDE_BAND_M beyond the county's bounding box (so outside its outline):
    LSOA centres are drawn 1 km inside the band and map points scatter at most 800 m round them.
    """
    near, far = OUTSIDE_BAND_M[0] + 1_000, OUTSIDE_BAND_M[1] - 1_000
    names, districts, xs, ys = [], [], [], []
    m = OUTSIDE_LSOAS_PER_DISTRICT
    for name, side, pos in NEIGHBOURS:
        beyond = rng.uniform(near, far, m)
        if side == "west":
            along = N_MIN + pos * (N_MAX - N_MIN) + rng.uniform(-12_000, 12_000, m)
            cx, cy = E_MIN - beyond, np.clip(along, N_MIN, N_MAX)
        else:
            along = E_MIN + pos * (E_MAX - E_MIN) + rng.uniform(-15_000, 15_000, m)
            cx, cy = np.clip(along, E_MIN, E_MAX), N_MIN - beyond
        numbers = np.sort(rng.choice(np.arange(1, 31), size=m, replace=False))
        letters = rng.integers(0, 5, m)
        names += [f"{name} {n:03d}{'ABCDE'[c]}" for n, c in zip(numbers, letters, strict=True)]
        districts += [name] * m
        xs.append(np.round(cx[:, None] + rng.uniform(-800, 800, (m, k))))
        ys.append(np.round(cy[:, None] + rng.uniform(-800, 800, (m, k))))
    codes = [f"{OUTSIDE_CODE_PREFIX}{i + 1:04d}" for i in range(len(names))]
    return OutsideLsoas(
        codes=np.array(codes, dtype=object),
        names=np.array(names, dtype=object),
        district=np.array(districts, dtype=object),
        x=np.vstack(xs),
        y=np.vstack(ys),
    )


@dataclass(frozen=True)
class Geography:
    """The built county: outline, coast, settlements and one row per LSOA (arrays aligned)."""

    outline: Polygon
    coast: LineString
    settlements: tuple[Settlement, ...]
    points: np.ndarray  # (n, 2) generator point of each LSOA (inside its cell)
    cells: np.ndarray  # (n,) shapely polygons, clipped to the outline
    settlement: np.ndarray  # (n,) index into settlements, -1 for rural
    district: np.ndarray  # (n,) index into DISTRICTS
    ward: np.ndarray  # (n,) ward index (global, 0..n_wards-1)
    ward_district: np.ndarray  # (n_wards,) district of each ward


def _rel(fx: float, fy: float) -> tuple[float, float]:
    return E_MIN + fx * (E_MAX - E_MIN), N_MIN + fy * (N_MAX - N_MIN)


def county_outline(rng: np.random.Generator) -> tuple[Polygon, LineString, np.ndarray, np.ndarray]:
    """An irregular star-shaped blob filling the bounding box, rough along its coast.

    Returns the outline, the coastline (part of its boundary), and the angle and position of
    each outline vertex (to place coastal towns). A star-shaped polygon with a positive
    radius is always simple, so the outline is valid.
    """
    theta = np.linspace(-np.pi, np.pi, 1440, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 7):
        r += rng.uniform(0.02, 0.07) / (k / 2) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    coast_mask = 1.0 / (1.0 + np.exp(-(theta - COAST_FROM) / 0.05))
    coast_mask *= 1.0 / (1.0 + np.exp((theta - COAST_TO) / 0.05))
    rough = np.zeros_like(theta)
    for k in range(12, 60):
        rough += 0.02 / np.sqrt(k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r += rough * coast_mask
    r -= 0.16 * np.exp(-(((theta - 2.62) / 0.09) ** 2))  # the bay
    # inland boundary is gently wiggly too (rivers as county borders)
    for k in range(8, 20):
        r += 0.006 * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) * (1 - coast_mask)
    x, y = r * np.cos(theta), r * np.sin(theta)
    sx = (E_MAX - E_MIN) / (x.max() - x.min())
    sy = (N_MAX - N_MIN) / (y.max() - y.min())
    ex = E_MIN + (x - x.min()) * sx
    ny = N_MIN + (y - y.min()) * sy
    outline = Polygon(np.column_stack([ex, ny]).round(1))
    coast_idx = np.nonzero((theta >= COAST_FROM) & (theta <= COAST_TO))[0]
    coast = LineString(np.column_stack([ex[coast_idx], ny[coast_idx]]).round(1))
    return outline, coast, theta, np.column_stack([ex, ny])


def place_settlements(
    outline: Polygon, theta: np.ndarray, vertices: np.ndarray
) -> tuple[Settlement, ...]:
    """Centres and radii of the city and towns; radii do not depend on n_lsoas."""
    out = []
    for name, kind, district, placement, share in _SETTLEMENTS:
        factor = 1.0 if kind == "city" else 1.3
        radius = float(np.sqrt(share * 500 * URBAN_LSOA_AREA_M2 * factor / np.pi))
        if placement[0] == "coast":
            b = vertices[np.argmin(np.abs(theta - placement[1]))]
            v = np.asarray(outline.centroid.coords[0]) - b
            v /= np.hypot(*v)
            x, y = b + v * radius * 0.9
        else:
            x, y = _rel(placement[1], placement[2])
        out.append(Settlement(name, kind, district, float(x), float(y), radius, share))
    return tuple(out)


def _sunflower(n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """n points filling a disk, denser towards the centre, lightly jittered."""
    i = np.arange(n) + 0.5
    r = radius * (i / n) ** 0.8
    a = i * GOLDEN_ANGLE + rng.uniform(0, 2 * np.pi)
    spacing = radius / np.sqrt(max(n, 1))
    pts = np.column_stack([r * np.cos(a), r * np.sin(a)])
    return pts + rng.normal(0, 0.12 * spacing, size=pts.shape)


def generator_points(
    outline: Polygon,
    settlements: tuple[Settlement, ...],
    n_lsoas: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """One generator point per LSOA: sunflower disks in settlements, a jittered grid elsewhere."""
    shapely.prepare(outline)
    pts, owner = [], []
    counts = [max(2, round(s.share * n_lsoas)) for s in settlements]
    for k, (s, n) in enumerate(zip(settlements, counts, strict=True)):
        cand = _sunflower(int(n * 1.6) + 4, s.radius * 1.6 ** (1 / 1.6), rng) + (s.x, s.y)
        inside = shapely.contains_xy(outline, cand[:, 0], cand[:, 1])
        cand = cand[inside][:n]
        pts.append(cand)
        owner.append(np.full(len(cand), k))
    n_rural = n_lsoas - sum(len(p) for p in pts)
    centres = np.array([(s.x, s.y) for s in settlements])
    radii = np.array([s.radius for s in settlements])
    area = outline.area - float(np.sum(np.pi * radii**2))
    spacing = np.sqrt(2 * area / (np.sqrt(3) * n_rural))
    for _ in range(60):
        xs = np.arange(E_MIN - spacing, E_MAX + spacing, spacing)
        ys = np.arange(N_MIN - spacing, N_MAX + spacing, spacing * np.sqrt(3) / 2)
        gx, gy = np.meshgrid(xs, ys)
        gx = gx + (np.arange(len(ys))[:, None] % 2) * spacing / 2
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        grid = grid + rng.uniform(-0.3, 0.3, size=grid.shape) * spacing
        ok = shapely.contains_xy(outline, grid[:, 0], grid[:, 1])
        d = np.sqrt(((grid[:, None, :] - centres[None]) ** 2).sum(-1))
        ok &= (d > radii[None] + 0.1 * spacing).all(axis=1)
        ok &= shapely.distance(outline.exterior, shapely.points(grid)) > 0.15 * spacing
        grid = grid[ok]
        if len(grid) >= n_rural:
            keep = np.sort(rng.choice(len(grid), size=n_rural, replace=False))
            pts.append(grid[keep])
            owner.append(np.full(n_rural, -1))
            break
        spacing *= 0.97
    else:  # pragma: no cover - the loop always finds enough points for sane sizes
        raise RuntimeError("could not place rural LSOAs")
    return np.vstack(pts), np.concatenate(owner)


def voronoi_cells(points: np.ndarray, outline: Polygon) -> np.ndarray:
    """Voronoi cells of the points (in point order) clipped to the outline; they tile it."""
    env = outline.envelope.buffer(50_000)
    vor = shapely.voronoi_polygons(MultiPoint(points), extend_to=env, ordered=True)
    cells = shapely.intersection(shapely.get_parts(vor), outline)
    out = np.empty(len(cells), dtype=object)
    for i, g in enumerate(cells):
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            g = shapely.multipolygons(polys)
        if not g.is_valid:
            g = shapely.make_valid(g)
        out[i] = g
    return out


def rook_adjacency(cells: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """Neighbours sharing an edge (not just a corner)."""
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.length(shapely.intersection(cells[left], cells[right]))
    keep = shared > 1.0
    nbrs: list[set[int]] = [set() for _ in range(len(cells))]
    for a, b in zip(left[keep], right[keep], strict=True):
        nbrs[a].add(int(b))
        nbrs[b].add(int(a))
    return tuple(tuple(sorted(s)) for s in nbrs)


def make_contiguous(
    labels: np.ndarray,
    adjacency: tuple[tuple[int, ...], ...],
    group: np.ndarray | None = None,
    frozen: frozenset[int] = frozenset(),
) -> np.ndarray:
    """Reassign cells cut off from the main body of their label to a neighbouring label.

    `group` restricts moves to neighbours in the same group (wards within a district);
    labels in `frozen` neither lose nor gain cells (the city district).
    """
    labels = labels.copy()
    group = np.zeros(len(labels), dtype=int) if group is None else group
    for _ in range(50):
        changed = False
        for lab in np.unique(labels):
            if int(lab) in frozen:
                continue
            members = set(np.nonzero(labels == lab)[0].tolist())
            comps = []
            while members:
                start = members.pop()
                comp, stack = {start}, [start]
                while stack:
                    c = stack.pop()
                    for nb in adjacency[c]:
                        if nb in members:
                            members.discard(nb)
                            comp.add(nb)
                            stack.append(nb)
                comps.append(comp)
            if len(comps) <= 1:
                continue
            comps.sort(key=lambda c: (-len(c), min(c)))
            for comp in comps[1:]:
                for c in sorted(comp):
                    options = [
                        int(labels[nb])
                        for nb in adjacency[c]
                        if labels[nb] != lab
                        and group[nb] == group[c]
                        and int(labels[nb]) not in frozen
                    ]
                    if options:
                        vals, cnt = np.unique(options, return_counts=True)
                        labels[c] = vals[np.argmax(cnt)]
                        changed = True
        if not changed:
            break
    return labels


def _kmeans(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Plain Lloyd k-means with farthest-point initialisation (deterministic given rng)."""
    if k <= 1 or len(points) <= k:
        return np.arange(len(points)) if len(points) <= k else np.zeros(len(points), int)
    centres = [points[rng.integers(len(points))]]
    for _ in range(k - 1):
        d = np.min(((points[:, None] - np.array(centres)[None]) ** 2).sum(-1), axis=1)
        centres.append(points[np.argmax(d)])
    c = np.array(centres)
    lab = np.zeros(len(points), int)
    for _ in range(25):
        lab = np.argmin(((points[:, None] - c[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if np.any(lab == j):
                c[j] = points[lab == j].mean(axis=0)
    _, lab = np.unique(lab, return_inverse=True)
    return lab


def build_geography(rng: np.random.Generator, n_lsoas: int, n_wards: int) -> Geography:
    """Outline, settlements, LSOA cells, districts and wards for one seed."""
    outline, coast, theta, vertices = county_outline(rng)
    settlements = place_settlements(outline, theta, vertices)
    points, owner = generator_points(outline, settlements, n_lsoas, rng)
    cells = voronoi_cells(points, outline)
    adjacency = rook_adjacency(cells)

    names = [d[0] for d in DISTRICTS]
    district = np.full(len(points), -1)
    seeds, seed_d = [], []
    for d, (_, rel) in enumerate(DISTRICTS):
        for fx, fy in rel:
            seeds.append(_rel(fx, fy))
            seed_d.append(d)
    seeds_a, seed_d_a = np.array(seeds), np.array(seed_d)
    nearest = seed_d_a[np.argmin(((points[:, None] - seeds_a[None]) ** 2).sum(-1), axis=1)]
    for k, s in enumerate(settlements):
        district[owner == k] = names.index(s.district)
    district[owner == -1] = nearest[owner == -1]
    district = make_contiguous(district, adjacency, frozen=frozenset({0}))

    ward = np.zeros(len(points), int)
    counts = np.bincount(district, minlength=len(DISTRICTS))
    next_ward = 0
    for d in range(len(DISTRICTS)):
        idx = np.nonzero(district == d)[0]
        if len(idx) == 0:
            continue
        k = max(1, round(counts[d] * n_wards / len(points)))
        lab = _kmeans(points[idx], k, rng)
        ward[idx] = lab + next_ward
        next_ward += lab.max() + 1
    ward = make_contiguous(ward, adjacency, group=district)
    _, ward = np.unique(ward, return_inverse=True)
    ward_district = np.array([district[ward == w][0] for w in range(ward.max() + 1)])
    return Geography(
        outline=outline,
        coast=coast,
        settlements=settlements,
        points=points,
        cells=cells,
        settlement=owner,
        district=district,
        ward=ward,
        ward_district=ward_district,
    )


def sample_in_cells(
    cells: np.ndarray,
    idx: np.ndarray,
    rng: np.random.Generator,
    centre: np.ndarray | None = None,
    sd: np.ndarray | float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Whole-metre points inside cells[idx] by vectorised rejection sampling.

    With `centre` (n, 2) and `sd`, points are first drawn from a normal around the centre
    (hotspot clusters); those that keep missing the cell fall back to uniform sampling.
    """
    n = len(idx)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    bounds = shapely.bounds(cells)  # (L, 4)
    todo = np.arange(n)
    for attempt in range(200):
        if len(todo) == 0:
            break
        b = bounds[idx[todo]]
        if centre is not None and attempt < 6:
            s = sd if np.isscalar(sd) else np.asarray(sd)[todo]
            cx = centre[todo, 0] + rng.normal(0, 1, len(todo)) * s
            cy = centre[todo, 1] + rng.normal(0, 1, len(todo)) * s
        else:
            cx = rng.uniform(b[:, 0], b[:, 2])
            cy = rng.uniform(b[:, 1], b[:, 3])
        cx, cy = np.round(cx), np.round(cy)
        ok = shapely.contains_xy(cells[idx[todo]], cx, cy)
        x[todo[ok]] = cx[ok]
        y[todo[ok]] = cy[ok]
        todo = todo[~ok]
    if len(todo):  # tiny slivers: use a point guaranteed inside (may be fractional)
        rp = shapely.get_coordinates(shapely.point_on_surface(cells[idx[todo]]))
        x[todo], y[todo] = rp[:, 0], rp[:, 1]
    return x, y
