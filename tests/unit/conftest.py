"""Shared unit-test fixtures: one synthetic county's published folder, rendered once per session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from outputs.publish import Publication, write_period
from tests import packdata


@dataclass(frozen=True)
class Rendered:
    publication: Publication
    folder: Path
    files: list[Path]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The synthetic county with every analytics table, public audience, period 2022/23."""
    publication = packdata.publication(with_tables=True, audience="public")
    folder = tmp_path_factory.mktemp("published") / "public" / "2022-23"
    files = write_period(publication, "2022/23", folder)
    return Rendered(publication, folder, files)
