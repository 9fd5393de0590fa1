-- One row per host name over every account: how many accounts name it, how many of them are at
-- risk for it (their cover ends within the threshold or is gone), and the soonest end of a cover
-- among the accounts that still have one.
SELECT
    name,
    is_wildcard,
    COUNT(*) AS accounts,
    COUNT(CASE WHEN at_risk THEN 1 END) AS accounts_at_risk,
    MIN(cover_expires_at) AS soonest_cover_expires_at,
    COUNT(CASE WHEN at_risk THEN 1 END) > 0 AS at_risk
FROM domain_coverage
GROUP BY name, is_wildcard
