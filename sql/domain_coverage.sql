-- One row per account and host name named by any of its certificates: the latest expire_time
-- among the account's valid, unexpired certificates that cover it, how many cover it, and
-- at_risk when that cover ends within the threshold or is gone. A name covered in one account is
-- not covered in another (domain_coverage_by_name rolls the accounts up). A wildcard covers
-- exactly one label: *.a.com covers x.a.com, not a.com nor y.x.a.com. Equality joins only, so
-- that BigQuery accepts the outer join.
WITH names AS (
    SELECT DISTINCT account, name, is_wildcard FROM certificate_domains
),
covers AS (
    SELECT account, certificate_id, name, is_wildcard, expire_time
    FROM certificate_domains
    WHERE status IN (:valid_statuses) AND expire_time > CURRENT_TIMESTAMP
),
matches AS (
    SELECT n.account, n.name, c.certificate_id, c.expire_time
    FROM names AS n
    JOIN covers AS c ON c.account = n.account AND c.name = n.name
    UNION ALL
    SELECT n.account, n.name, c.certificate_id, c.expire_time
    FROM names AS n
    JOIN covers AS c
        ON c.account = n.account
        AND SUBSTRING(c.name, 3) = SUBSTRING(n.name, STRPOS(n.name, '.') + 1)
    WHERE c.is_wildcard AND NOT n.is_wildcard AND STRPOS(n.name, '.') > 0
)
SELECT
    n.account,
    n.name,
    n.is_wildcard,
    MAX(m.expire_time) AS cover_expires_at,
    COUNT(DISTINCT m.certificate_id) AS covering_certificates,
    COALESCE(
        MAX(m.expire_time) <= CURRENT_TIMESTAMP + INTERVAL :expiring_within_days DAY, TRUE
    ) AS at_risk
FROM names AS n
LEFT JOIN matches AS m ON m.account = n.account AND m.name = n.name
GROUP BY n.account, n.name, n.is_wildcard
