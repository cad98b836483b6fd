"""A rendered map page compared with a stored reference image, within a tolerance.

The reference is tests/data/reference/map_page.png: the synthetic county's rate map page (insets,
legend, labels, scale bar) at 40 dpi. After an intended change to the page, look at the new image
and regenerate the reference with:

    SNA_UPDATE_REFERENCE=1 .venv/bin/python -m pytest tests/unit/test_reference_image.py
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib as mpl
import numpy as np
from PIL import Image

from outputs import pack
from outputs.style import RC_PARAMS
from tests.unit.conftest import Rendered

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "map_page.png"
DPI = 40
MEAN_TOLERANCE = 2.0  # mean absolute difference per channel, 0-255
CHANGED_PIXELS = 0.01  # share of pixels allowed to differ by more than a quarter of the range


def render(rendered: Rendered) -> np.ndarray:
    publication = rendered.publication
    area = publication.areas[0]
    info = publication.pack.infos["2022/23"]
    meta = pack.PageMeta(area.name, info.text, "testshire-2024", "0" * 64, "Source: test", False,
                         "public", publication.audience.marking)  # fmt: skip
    with mpl.rc_context(RC_PARAMS):
        fig = pack._map_page(pack._Context(publication.pack, area, "2022/23", info, meta), "rates")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return np.asarray(Image.open(buffer).convert("RGB"), dtype=np.int16)


def test_map_page_matches_the_reference_image(rendered: Rendered) -> None:
    image = render(rendered)
    if os.environ.get("SNA_UPDATE_REFERENCE"):
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.astype(np.uint8)).save(REFERENCE, optimize=True)
    reference = np.asarray(Image.open(REFERENCE).convert("RGB"), dtype=np.int16)
    assert image.shape == reference.shape
    diff = np.abs(image - reference)
    assert diff.mean() < MEAN_TOLERANCE, f"mean difference {diff.mean():.2f}"
    assert (diff.max(axis=2) > 64).mean() < CHANGED_PIXELS


def test_the_comparison_would_catch_a_real_change(rendered: Rendered) -> None:
    """Moving the legend or losing a layer must fail the tolerance, not slip under it."""
    image = render(rendered)
    reference = np.asarray(Image.open(REFERENCE).convert("RGB"), dtype=np.int16)
    broken = image.copy()
    h, w, _ = broken.shape
    broken[int(h * 0.2) : int(h * 0.7), int(w * 0.05) : int(w * 0.5)] = 255  # the map gone
    diff = np.abs(broken - reference)
    assert diff.mean() >= MEAN_TOLERANCE or (diff.max(axis=2) > 64).mean() >= CHANGED_PIXELS
