"""index.html: one page linking every file of a period folder, with the county map and key findings
embedded, so it opens from the file system with no network access (no scripts, fonts or links out).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from outputs.findings import key_findings
from outputs.pack import overview_png
from outputs.tables import atomic_path

if TYPE_CHECKING:
    from outputs.publish import Publication

KINDS = {
    ".pdf": "Map pack (PDF, A4)",
    ".xlsx": "Workbook (Excel)",
    ".gpkg": "GeoPackage (QGIS, EPSG:27700)",
    ".csv": "Table (CSV, UTF-8)",
}
STYLE = """
body{font-family:"DejaVu Sans",Verdana,sans-serif;margin:2em auto;max-width:1100px;color:#1a1a1a}
.tag{display:inline-block;padding:.3em .6em;font-weight:bold;border:1px solid}
.public{background:#e5f5e0;color:#238b45;border-color:#238b45}
.partner{background:#fee0d2;color:#b2182b;border-color:#b2182b}
.proxy{background:#ffe0c2;color:#7f0000;border:1px solid #c0392b;padding:.4em;font-weight:bold}
table{border-collapse:collapse;margin:1em 0}td,th{padding:.25em .8em;border-bottom:1px solid #ddd;
text-align:left}td.n{text-align:right}img{max-width:100%;border:1px solid #ccc}
.muted{color:#555;font-size:.9em}
"""


def write_index(pub: Publication, period: str, path: str | Path, files: Sequence[Path]) -> Path:
    """Write index.html atomically: audience, period, county map, key findings, file list."""
    path = Path(path)
    pack = pub.pack
    info = pack.infos[period]
    county = pub.areas[0]
    png = base64.b64encode(overview_png(pack, county, period)).decode("ascii")
    findings = key_findings(
        pack.rates,
        area_level="county",
        area_code=county.code,
        period=period,
        infos=pack.infos,
        child_level="district",
        concentration=pack.table("concentration"),
        hotspots=pack.table("hotspots"),
    )
    e = html.escape
    rows = []
    for f in sorted(files, key=lambda p: (p.suffix != ".pdf", p.suffix, p.name)):
        size = f.stat().st_size / 1024
        rows.append(
            f'<tr><td><a href="{e(f.name)}">{e(f.name)}</a></td>'
            f"<td>{e(KINDS.get(f.suffix, f.suffix))}</td><td class=n>{size:,.0f} KB</td></tr>"
        )
    proxy = (
        '<p class="proxy">Proxy: data.police.uk open data (Violence and sexual offences + Robbery +'
        " Possession of weapons); not the local definition.</p>"
        if pack.is_proxy
        else ""
    )
    body = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(county.name)} serious violence needs assessment, {e(info.text)}</title>
<style>{STYLE}</style></head><body>
<p class="tag {e(pub.audience.name)}">{e(pub.audience.marking)}</p>
<h1>{e(county.name)}: serious violence needs assessment</h1>
<p>Period: <b>{e(info.text)}</b> &middot; Definition: {e(pack.definition.id)}
(sha256 {e(pack.definition.hash[:12])}) &middot; Run: {e(pack.run_id or "not recorded")}</p>
{proxy}
<h2>Key findings</h2>
<ul>{"".join(f"<li>{e(s)}</li>" for s in findings)}</ul>
<h2>Rate by LSOA</h2>
<img alt="Map of the serious violence rate per 1,000 residents by LSOA, {e(info.text)}"
 src="data:image/png;base64,{png}">
<h2>Files</h2>
<table><tr><th>File</th><th>What</th><th>Size</th></tr>{"".join(rows)}</table>
<p class="muted">{e(" ".join(pack.rules_text))} * = suppressed.</p>
<p class="muted">Contains public sector information licensed under the Open Government Licence
v3.0. Contains OS data &copy; Crown copyright and database right.</p>
</body></html>
"""
    with atomic_path(path) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return path
