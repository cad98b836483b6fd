-- Where each incident fell on the analysis geography, per source and period: nothing is dropped.
-- months        months of the period with any incident of the source (a part year shows: < 12)
-- status        in_area (counted in the rates), outside_area (its code or point is not in the
--               boundaries, or its code could not be placed), no_lsoa (neither code nor point:
--               placement no_location, or postcode_sector_only for A&E records with only a sector)
-- placement     how it was placed (transforms/geography.py: code, lookup_*, coordinates, ...)
-- code_vintage  the LSOA vintage(s) its recorded code belongs to: 2011, 2021, 2011+2021, or empty
CREATE OR REPLACE TABLE build.geography_coverage AS
WITH placed AS (
    SELECT
        source,
        period,
        CASE
            WHEN placement IN ('no_location', 'postcode_sector_only') THEN 'no_lsoa'
            WHEN lsoa_code IS NULL THEN 'outside_area'
            ELSE 'in_area'
        END AS status,
        placement,
        lsoa_vintage_recorded AS code_vintage,
        count(*) AS incidents,
        count(sv_category) AS serious_violence
    FROM core.incidents
    GROUP BY ALL
),
periods AS (
    SELECT source, period, count(DISTINCT occurred_month) AS months
    FROM core.incidents
    GROUP BY ALL
)
SELECT p.source, p.period, m.months, p.status, p.placement, p.code_vintage,
       p.incidents, p.serious_violence
FROM placed AS p
JOIN periods AS m ON m.source = p.source AND m.period IS NOT DISTINCT FROM p.period
ORDER BY p.source, p.period, p.status, p.placement, p.code_vintage;
