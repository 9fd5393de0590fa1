-- How many certificates there are of each status, brand and type.
SELECT
    status,
    brand,
    type,
    COUNT(*) AS certificates
FROM certificates
GROUP BY status, brand, type
