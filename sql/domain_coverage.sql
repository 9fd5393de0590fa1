-- One row per host name named by any certificate: the latest expire_time among the valid,
-- unexpired certificates that cover it, how many cover it, and at_risk when that cover ends
-- within the threshold or is gone. A wildcard covers exactly one label: *.a.com covers x.a.com,
-- not a.com nor y.x.a.com. Equality joins only, so that BigQuery accepts the outer join.
WITH names AS (
    SELECT DISTINCT name, is_wildcard FROM certificate_domains
),
covers AS (
    SELECT certificate_id, name, is_wildcard, expire_time
    FROM certificate_domains
    WHERE status IN (:valid_statuses) AND expire_time > CURRENT_TIMESTAMP
),
matches AS (
    SELECT n.name, c.certificate_id, c.expire_time
    FROM names AS n
    JOIN covers AS c ON c.name = n.name
    UNION ALL
    SELECT n.name, c.certificate_id, c.expire_time
    FROM names AS n
    JOIN covers AS c ON SUBSTRING(c.name, 3) = SUBSTRING(n.name, STRPOS(n.name, '.') + 1)
    WHERE c.is_wildcard AND NOT n.is_wildcard AND STRPOS(n.name, '.') > 0
)
SELECT
    n.name,
    n.is_wildcard,
    MAX(m.expire_time) AS cover_expires_at,
    COUNT(DISTINCT m.certificate_id) AS covering_certificates,
    COALESCE(
        MAX(m.expire_time) <= CURRENT_TIMESTAMP + INTERVAL :expiring_within_days DAY, TRUE
    ) AS at_risk
FROM names AS n
LEFT JOIN matches AS m ON m.name = n.name
GROUP BY n.name, n.is_wildcard
