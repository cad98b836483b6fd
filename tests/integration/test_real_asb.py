"""Anti-social behaviour on real Norfolk police.uk data: marts.asb_rates against the files.

The truth is the police.uk "Anti-social behaviour" rows counted with the csv module and placed
on the boundaries with shapely (tests/integration/conftest.py `truth_on`), never through the
pipeline's readers: the published county count must equal the rows inside Norfolk, and the rows
loaded must equal those in the county plus those outside it or without a location.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.integration.conftest import Geography, RealRun, police_rows, truth_on

pytestmark = pytest.mark.integration
ASB = frozenset({"Anti-social behaviour"})


def asb_rows_per_year(shared: Path, pattern: str) -> Counter:
    """ASB rows in the files per calendar year, with the csv module."""
    rows: Counter = Counter()
    for _path, records in police_rows(shared, pattern):
        for row in records:
            if row["Crime type"] == "Anti-social behaviour":
                rows[row["Month"][:4]] += 1
    return rows


@pytest.mark.parametrize(
    ("run_name", "pattern", "vintage"),
    [
        ("run_c", "2022-*/*-norfolk-street.csv", "2011"),
        ("run_a", "2024-*/*-norfolk-street.csv", "2021"),
    ],
)
def test_asb_rates_reconcile_with_the_police_uk_asb_rows(
    request: pytest.FixtureRequest,
    geography: Geography,
    shared_data: Path,
    run_name: str,
    pattern: str,
    vintage: str,
) -> None:
    run: RealRun = request.getfixturevalue(run_name)
    assert run.result.success, run.failed()
    assert not {k: v for k, v in run.failed().items() if "asb" in k}
    in_files = asb_rows_per_year(shared_data, pattern)
    truth = truth_on(geography, shared_data, pattern, vintage, types=ASB)
    county = dict(
        run.query(
            "SELECT period, count FROM marts.asb_rates"
            " WHERE area_level = 'county' AND measure = 'asb_incidents' AND source = 'police_uk'"
        )
    )
    assert county == dict(truth.county)  # ASB rows inside Norfolk, per year
    loaded = dict(
        run.query(
            "SELECT period, count(*) FROM core.incidents"
            " WHERE source = 'police_uk' AND crime_type = 'Anti-social behaviour' GROUP BY 1"
        )
    )
    assert loaded == dict(in_files)  # every ASB row of the files, none lost, none doubled
    outside = dict(
        run.query(
            "SELECT period, count(*) FROM core.incidents WHERE source = 'police_uk'"
            " AND crime_type = 'Anti-social behaviour' AND lsoa_code IS NULL GROUP BY 1"
        )
    )
    for period, n in in_files.items():
        assert county[period] + outside.get(period, 0) == n
    # the district rows add up to the county, and the rate is per 1,000 of the population
    districts = run.query(
        "SELECT period, sum(count), min(population) > 0 FROM marts.asb_rates"
        " WHERE area_level = 'district' AND source = 'police_uk' GROUP BY 1"
    )
    assert {p: n for p, n, _ in districts} == county
    assert all(positive for _, _, positive in districts)
    [(rate, count, population)] = run.query(
        "SELECT rate_per_1000, count, population FROM marts.asb_rates"
        " WHERE area_level = 'county' AND source = 'police_uk'"
        f" AND period = '{max(county)}'"
    )
    assert rate == pytest.approx(1000 * count / population, rel=1e-9)
    print(f"{run_name}: ASB rows in the files {dict(in_files)}, in the county {county}")
