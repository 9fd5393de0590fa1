-- How many certificates each account has of each status, brand and type.
SELECT
    account,
    status,
    brand,
    type,
    COUNT(*) AS certificates
FROM certificates
GROUP BY account, status, brand, type
