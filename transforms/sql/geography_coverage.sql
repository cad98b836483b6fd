-- Where each incident falls: inside the study area, outside it, or with no LSOA at all.
-- Nothing is dropped: rates use 'in_area' only, and this table says how many were left out and why.
CREATE OR REPLACE TABLE build.geography_coverage AS
SELECT
    i.source,
    CASE
        WHEN i.lsoa_code IS NULL THEN 'no_lsoa'
        WHEN a.lsoa_code IS NULL THEN 'outside_area'
        ELSE 'in_area'
    END AS status,
    count(*) AS incidents,
    count(i.sv_category) AS serious_violence
FROM core.incidents AS i
LEFT JOIN ref.lsoa AS a USING (lsoa_code)
GROUP BY ALL
ORDER BY source, status;
