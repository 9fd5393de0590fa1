CREATE OR REPLACE VIEW `my-project`.`scm`.`domain_coverage_by_name` AS
SELECT
  name,
  is_wildcard,
  COUNT(*) AS accounts,
  COUNT(CASE WHEN at_risk THEN 1 END) AS accounts_at_risk,
  MIN(cover_expires_at) AS soonest_cover_expires_at,
  COUNT(CASE WHEN at_risk THEN 1 END) > 0 AS at_risk
FROM `my-project`.`scm`.`domain_coverage`
GROUP BY
  name,
  is_wildcard
