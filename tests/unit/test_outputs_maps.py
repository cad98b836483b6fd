"""The county rates map pack: pages, text every page must carry, classes and the no-data class."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from matplotlib.colors import to_hex
from shapely.geometry import box

from outputs.maps import (
    NO_DATA_COLOUR,
    OGL_ATTRIBUTION,
    OS_ATTRIBUTION,
    PROXY_BANNER,
    PageMeta,
    classify_rates,
    dissolve_districts,
    map_page_figure,
    rates_map_pdf,
)

DEFINITION_ID = "norfolk-2024-test"
RUN_ID = "5f0c7a3e-2d41-4b8e-9a6f-1c2b3d4e5f60"
DEFINITION_HASH = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"


def synthetic_lsoas(
    nx: int = 6, ny: int = 4, size: float = 1000.0, seed: int = 7
) -> gpd.GeoDataFrame:
    """A grid of square LSOAs in British National Grid; west half is district A, east half B."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(nx):
        for j in range(ny):
            west = i < nx // 2
            rows.append(
                {
                    "lsoa_code": f"E01900{i * ny + j:03d}",
                    "district_code": "E07900001" if west else "E07900002",
                    "district_name": "Westmere" if west else "Eastbrook",
                    "geometry": box(
                        600_000 + i * size,
                        300_000 + j * size,
                        600_000 + (i + 1) * size,
                        300_000 + (j + 1) * size,
                    ),
                }
            )
    g = gpd.GeoDataFrame(rows, crs="EPSG:27700")
    g["population"] = rng.integers(1200, 2200, len(g))
    g["count"] = pd.array(rng.poisson(8, len(g)), dtype="Int64")
    g["rate_per_1000"] = pd.array(
        g["count"].to_numpy(float) / g["population"] * 1000, dtype="Float64"
    )
    return g


def district_table(lsoas: gpd.GeoDataFrame) -> pd.DataFrame:
    t = lsoas.groupby("district_name", as_index=False, sort=True).agg(
        count=("count", "sum"), population=("population", "sum")
    )
    t["rate_per_1000"] = t["count"] / t["population"] * 1000
    t["ci_lower"] = t["rate_per_1000"] * 0.8
    t["ci_upper"] = t["rate_per_1000"] * 1.2
    t["vs_county"] = ["higher", "similar"]
    return t


def write_pack(lsoas, path: Path, *, is_proxy: bool, table: pd.DataFrame | None = None) -> Path:
    return rates_map_pdf(
        lsoas,
        None,
        district_table(lsoas) if table is None else table,
        title="Testshire serious violence",
        period="2022/23",
        definition_id=DEFINITION_ID,
        definition_hash=DEFINITION_HASH,
        source_note="Force crime extract, April 2022 to March 2023",
        is_proxy=is_proxy,
        run_id=RUN_ID,
        path=path,
    )


def _pdf_string(data: bytes, i: int) -> tuple[bytes, int]:
    """Read a PDF literal string starting after '(' at i; return its bytes and the index after ')'."""
    out, depth = bytearray(), 1
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while True:
        c = data[i]
        if c == 0x5C:  # backslash escape
            n = data[i + 1]
            if 0x30 <= n <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", data[i + 1 : i + 4]).group(0)
                out.append(int(digits, 8) & 0xFF)
                i += 1 + len(digits)
            else:
                out.append(escapes.get(n, n))
                i += 2
            continue
        depth += c == 0x28
        depth -= c == 0x29
        if depth == 0:
            return bytes(out), i + 1
        out.append(c)
        i += 1


def _pdf_objects(data: bytes) -> dict[int, bytes]:
    return {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj\s(.*?)endobj", data, re.S)}


def _stream(obj: bytes) -> bytes:
    raw = re.search(rb"stream\r?\n(.*?)\r?\nendstream", obj, re.S).group(1)
    return zlib.decompress(raw) if b"/FlateDecode" in obj else raw


def _ref(obj: bytes, key: bytes) -> int:
    return int(re.search(rb"/" + key + rb"\s+(\d+) 0 R", obj).group(1))


def _to_unicode(cmap: bytes) -> dict[int, str]:
    """A ToUnicode CMap (bfchar and bfrange) as code -> text; ligatures map to several letters."""

    def text(hexes: bytes) -> str:
        return bytes.fromhex(hexes.decode()).decode("utf-16-be")

    out: dict[int, str] = {}
    for body in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", body):
            out[int(src, 16)] = text(dst)
    for body in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(rb"<(\w+)>\s*<(\w+)>\s*(\[[^\]]*\]|<\w+>)", body):
            lo, hi = int(lo, 16), int(hi, 16)
            if dst.startswith(b"["):
                for code, d in zip(range(lo, hi + 1), re.findall(rb"<(\w+)>", dst), strict=True):
                    out[code] = text(d)
            else:
                first = int(dst[1:-1], 16)
                for code in range(lo, hi + 1):
                    out[code] = chr(first + code - lo)
    return out


def pdf_page_texts(path: Path) -> list[str]:
    """The text drawn on each page, decoded through each font's ToUnicode map (as a viewer does).

    matplotlib (pdf.fonttype 42) writes Identity-H fonts: 2-byte codes in TJ strings, with
    kerning numbers between them and ligatures ("fi", "ff") in a separate font subset.
    """
    data = path.read_bytes()
    objs = _pdf_objects(data)
    pages_obj = next(o for o in objs.values() if re.search(rb"/Type\s*/Pages\b", o))
    kids = [
        int(k) for k in re.findall(rb"(\d+) 0 R", pages_obj.split(b"/Kids", 1)[1].split(b"]")[0])
    ]
    texts = []
    for kid in kids:
        page = objs[kid]
        resources = objs[_ref(page, b"Resources")] if b"/Resources " in page else page
        font_dict = objs[_ref(resources, b"Font")]
        cmaps = {
            name.decode(): _to_unicode(_stream(objs[_ref(objs[int(num)], b"ToUnicode")]))
            for name, num in re.findall(rb"/(\w+)\s+(\d+) 0 R", font_dict)
        }
        content = _stream(objs[_ref(page, b"Contents")])
        lines = []
        for block in re.findall(rb"\bBT\b(.*?)\bET\b", content, re.S):
            chunks, font, i = [], None, 0
            for m in re.finditer(rb"/(\w+)\s+[\d.]+\s+Tf|\(", block):
                if m.start() < i:
                    continue  # inside a string already read
                if m.group(0) != b"(":
                    font = cmaps[m.group(1).decode()]
                    continue
                raw, i = _pdf_string(block, m.end())
                codes = [int.from_bytes(raw[j : j + 2], "big") for j in range(0, len(raw), 2)]
                chunks.append("".join(font.get(c, "?") for c in codes))
            lines.append("".join(chunks))
        texts.append("\n".join(lines))
    return texts


def page_count(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", path.read_bytes()))


def test_pack_has_two_pages_with_definition_source_and_attributions(tmp_path):
    pdf = write_pack(synthetic_lsoas(), tmp_path / "pack.pdf", is_proxy=False)
    assert pdf.is_file()
    assert page_count(pdf) == 2
    pages = pdf_page_texts(pdf)
    assert len(pages) == 2
    for n, text in enumerate(pages, start=1):
        flat = text.replace("\n", " ")
        assert DEFINITION_ID in flat
        assert DEFINITION_HASH[:12] in flat
        assert f"Run: {RUN_ID}" in flat  # which run made the page (audit.runs has its inputs)
        assert OGL_ATTRIBUTION in flat
        assert OS_ATTRIBUTION in flat
        assert "Force crime extract, April 2022 to March 2023" in flat
        assert f"Page {n} of 2" in flat
        assert "Proxy" not in flat
    assert "Westmere" in pages[0] and "Eastbrook" in pages[0]  # district labels on the map
    assert "No data" in pages[0] and "5 km" not in pages[0]  # 6 km wide county: a 1 km bar
    assert "1 km" in pages[0]
    assert "95% CI" in pages[1] and "higher" in pages[1] and "Westmere" in pages[1]
    assert [p.name for p in tmp_path.iterdir()] == ["pack.pdf"]  # no temporary file left


def test_proxy_banner_on_every_page_iff_proxy(tmp_path):
    proxy = write_pack(synthetic_lsoas(), tmp_path / "proxy.pdf", is_proxy=True)
    local = write_pack(synthetic_lsoas(), tmp_path / "local.pdf", is_proxy=False)
    proxy_pages = pdf_page_texts(proxy)
    assert len(proxy_pages) == 2
    assert all(PROXY_BANNER in text for text in proxy_pages)
    assert not any(PROXY_BANNER in text for text in pdf_page_texts(local))
    assert b"PROXY" in proxy.read_bytes() and b"PROXY" not in local.read_bytes()  # Subject


def test_metadata_names_definition_and_output_is_reproducible(tmp_path):
    a = write_pack(synthetic_lsoas(), tmp_path / "a.pdf", is_proxy=False)
    b = write_pack(synthetic_lsoas(), tmp_path / "b.pdf", is_proxy=False)
    data = a.read_bytes()
    info = re.search(rb"/Subject \((.*?)\)\n", data).group(1)
    assert DEFINITION_ID.encode() in info and DEFINITION_HASH.encode() in info
    assert f"run {RUN_ID}".encode() in info
    assert b"/Title" in data
    assert b"/CreationDate" not in data
    assert data == b.read_bytes()


def test_many_districts_flow_onto_more_table_pages(tmp_path):
    lsoas = synthetic_lsoas()
    big = pd.DataFrame(
        {
            "district_name": [f"District {i:02d}" for i in range(45)],
            "count": 100,
            "population": 50_000,
            "rate_per_1000": 2.0,
            "ci_lower": 1.6,
            "ci_upper": 2.4,
            "vs_county": pd.array([pd.NA] * 45, dtype="string"),
        }
    )
    pdf = write_pack(lsoas, tmp_path / "big.pdf", is_proxy=False, table=big)
    assert page_count(pdf) == 4  # map + 20 + 20 + 5 rows
    pages = pdf_page_texts(pdf)
    assert "Page 4 of 4" in pages[3] and "District 44" in pages[3] and "District 40" in pages[3]
    assert "District 44" not in pages[2]


def test_failed_write_leaves_no_file_and_no_temp(tmp_path):
    bad_table = district_table(synthetic_lsoas()).drop(columns="ci_upper")
    with pytest.raises(KeyError, match="ci_upper"):
        write_pack(synthetic_lsoas(), tmp_path / "pack.pdf", is_proxy=False, table=bad_table)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).gamma(2.0, 3.0, 300),
        np.r_[np.zeros(40), np.random.default_rng(2).exponential(5.0, 60)],  # many ties at zero
        np.array([0.0, 0.0, 1.5, 1.5, 3.0]),  # fewer distinct values than k
        np.random.default_rng(3).lognormal(1.0, 1.0, 2500),  # large: sampled breaks
    ],
)
def test_classes_cover_min_to_max_and_every_value_is_in_its_class(values):
    rc = classify_rates(pd.Series(values))
    edges = np.r_[rc.lower, rc.bins]
    assert rc.lower == values.min() and rc.bins[-1] == values.max()
    assert np.all(np.diff(edges[1:]) > 0)
    assert 1 <= rc.k <= 5 and len(rc.labels) == len(rc.colours) == rc.k
    assert rc.k == min(5, len(np.unique(values)))
    assert (rc.classes >= 0).all() and sum(rc.counts()) == len(values)
    lo = np.where(rc.classes == 0, -np.inf, edges[rc.classes])
    hi = edges[rc.classes + 1]
    assert np.all((values > lo) & (values <= hi))
    assert rc.labels[0].startswith(f"{values.min():.1f}"[:3])


def test_classification_is_deterministic_for_large_inputs():
    values = np.random.default_rng(4).lognormal(1.0, 1.0, 3000)
    assert classify_rates(values).bins == classify_rates(values.copy()).bins


def test_missing_rates_go_to_the_no_data_class():
    rates = pd.array([1.0, pd.NA, 2.0, 3.0, None, 4.0], dtype="Float64")
    rc = classify_rates(pd.Series(rates))
    assert list(rc.classes == -1) == [False, True, False, False, True, False]
    assert rc.n_no_data == 2
    assert classify_rates(pd.Series([np.nan, np.inf])).k == 0


def test_nan_lsoas_are_drawn_grey_in_the_no_data_layer():
    lsoas = synthetic_lsoas()
    missing = [0, 5, 17]
    lsoas.loc[missing, "rate_per_1000"] = pd.NA
    meta = PageMeta("T", "2022", DEFINITION_ID, DEFINITION_HASH, "src", False)
    fig, rc = map_page_figure(lsoas, None, meta)
    ax = fig.axes[0]
    layers = {c.get_gid(): c for c in ax.collections if c.get_gid()}
    no_data = layers["no_data"]
    assert len(no_data.get_paths()) == len(missing)
    assert {to_hex(c) for c in no_data.get_facecolors()} == {NO_DATA_COLOUR}
    drawn = sum(
        len(layers[f"class_{i}"].get_paths()) for i in range(rc.k) if f"class_{i}" in layers
    )
    assert drawn == len(lsoas) - len(missing)
    for i in range(rc.k):
        if f"class_{i}" in layers:
            assert {to_hex(c) for c in layers[f"class_{i}"].get_facecolors()} == {rc.colours[i]}
    legend_labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend_labels[-2] == "No data  (3)"


def test_dissolve_districts_gives_one_outline_per_district():
    lsoas = synthetic_lsoas()
    d = dissolve_districts(lsoas)
    assert list(d["district_code"]) == ["E07900001", "E07900002"]
    assert list(d["district_name"]) == ["Westmere", "Eastbrook"]
    assert d.crs.to_epsg() == 27700
    assert d.area.sum() == pytest.approx(lsoas.area.sum())
    assert d.geometry.geom_type.eq("Polygon").all()


def test_lsoas_in_wgs84_are_mapped_in_bng(tmp_path):
    lsoas = synthetic_lsoas().to_crs("EPSG:4326")
    meta = PageMeta("T", "2022", DEFINITION_ID, DEFINITION_HASH, "src", False)
    fig, _ = map_page_figure(lsoas, None, meta)
    x0, x1 = fig.axes[0].get_xlim()
    assert 590_000 < x0 < 600_000 < 606_000 < x1 < 610_000


def test_dissolve_fills_hairline_holes_but_keeps_real_enclaves():
    cells = []
    for i in range(3):
        for j in range(3):
            geom = box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000)
            if (i, j) == (0, 0):
                geom = geom.difference(
                    box(400, 400, 405, 405)
                )  # a 25 m² gap, as generalisation leaves
            cells.append({"district_code": "B" if (i, j) == (1, 1) else "A", "geometry": geom})
    d = dissolve_districts(gpd.GeoDataFrame(cells, crs="EPSG:27700")).set_index("district_code")
    a = d.loc["A", "geometry"]
    assert a.geom_type == "Polygon"
    assert [round(shapely.Polygon(r).area) for r in a.interiors] == [1_000_000]  # district B, kept
    assert a.area == pytest.approx(8_000_000)


def test_a_class_of_zeros_is_labelled_zero():
    values = np.r_[np.zeros(50), np.linspace(10, 11, 25), np.linspace(30, 31, 25)]
    rc = classify_rates(values, k=3)
    assert rc.bins[0] == 0.0 and rc.labels[0] == "0.0"
    assert rc.counts()[0] == 50
